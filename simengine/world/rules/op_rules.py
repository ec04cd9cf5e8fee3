"""The built-in rules of single ops: references, the dead, travel, names, attributes, inventions.

Each rule is one :class:`~simengine.world.rules.base.Rule`: its id, what it says,
what it applies to and its check. A check may count on what the rules before it
in the registry ensured for the op (that its references resolve, that its
subject lives); ``registry.BUILT_IN`` keeps the order.
"""

from __future__ import annotations

import re

from simengine.world.ops import (
    ANY,
    Adjust,
    Connect,
    Create,
    Fact,
    Kill,
    Learn,
    Move,
    OpBase,
    Relate,
    SetAttr,
    Tell,
    Transfer,
    Unrelate,
)
from simengine.world.rules.base import (
    EVERY_OP,
    PROPOSAL,
    Rule,
    fmt,
    invention_budget,
    type_ok,
    untaught,
)
from simengine.world.rules.checking import Checking
from simengine.world.spec import SLUG_PATTERN, AttributeDef, lower_bound
from simengine.world.state import WorldState, normalize_name

# ------------------------------------------------------------------ references


def _new_entity_is_valid(c: Checking, op: OpBase | None) -> None:
    if isinstance(op, Fact):
        _new_fact_is_valid(c, op)
        return
    assert isinstance(op, Create)
    e = op.entity
    if not e.id or not re.match(SLUG_PATTERN, e.id):
        c.fail(f"a new entity needs a slug id, got {e.id!r}")
    elif c.v.exists(e.id):
        c.fail(f"id '{e.id}' is already taken")
    elif (e.traits or e.goals or e.knows) and e.kind != "character":
        c.fail(f"only a character has traits, goals and knows, not a {e.kind}")
    elif e.at is None and e.kind in ("character", "item"):
        c.fail(f"a new {e.kind} needs 'at' (where it is)")
    elif e.at is not None and e.kind == "faction":
        c.fail("a faction has no place ('at')")


def _new_fact_is_valid(c: Checking, op: Fact) -> None:
    """A ``fact`` op names an old fact (new text for it) or makes a new one, known by someone."""
    if c.turn.kind == "player" or c.v.kind(op.id) == "fact":
        return  # the player's scope refuses it; an old fact's text is know.unknown's
    if c.v.exists(op.id):
        c.fail(f"id '{op.id}' is already taken by a {c.v.kind(op.id)}")
    elif not re.match(SLUG_PATTERN, op.id):
        c.fail(f"a new fact needs a slug id, got {op.id!r}")
    elif op.entity is None and c.turn.kind != "world":
        c.fail("a new fact needs 'entity': the character who knows it")


def _references_resolve(c: Checking, op: OpBase | None) -> None:
    if op is None:
        actor = c.p.actor
        if actor is not None and actor not in c.s:
            c.fail(f"actor '{actor}' is not a known entity",
                   tuple(c.s.closest(actor, kind="character")))
        return
    for field, value in _references(c, op):
        if not c.v.exists(value):
            kinds = op.kinds_of(field)
            one = kinds[0] if len(kinds) == 1 else None
            c.fail(f"'{value}' is not a known entity", tuple(c.s.closest(value, kind=one)))


def _references(c: Checking, op: OpBase) -> list[tuple[str, str]]:
    """The op's references the rules check: a ``fact`` op's knower only for a new fact, a
    ``learn`` op's thing only once a living character and a fact are named."""
    if isinstance(op, Fact):
        knower = _knower(c, op)
        return [] if knower is None else [("entity", knower)]
    if isinstance(op, Learn) and op.item is not None and not (
            c.v.kind(op.entity) == "character" and c.v.alive(op.entity)
            and c.v.kind(op.fact) == "fact"):
        return [(f, v) for f, v in op.references() if f != "item"]
    return op.references()


def _right_kinds(c: Checking, op: OpBase | None) -> None:
    assert op is not None
    unknown = wrong = False
    for field, value in _references(c, op):
        kinds = op.kinds_of(field)
        if not c.v.exists(value):
            unknown = True  # ref.unknown said so, and left the op to this rule to refuse
        elif kinds != ANY and (kind := c.v.kind(value)) not in kinds:
            c.fail(f"'{value}' is a {kind}, expected {' or '.join(kinds)}")
            wrong = True
    if unknown:
        c.refuse()
    elif wrong:
        return
    elif isinstance(op, Connect) and op.source == op.target:
        c.fail("a place cannot connect to itself")
    elif isinstance(op, Tell) and op.entity == op.to and c.v.alive(op.entity):
        c.fail(f"'{op.entity}' cannot tell themselves a fact")
    elif (fact := _related_fact(c, op)) is not None:
        c.fail(f"'{fact}' is a fact: a character learns it by 'tell' or 'learn', not by a "
               "relation")


def _related_fact(c: Checking, op: OpBase | None) -> str | None:
    """The fact a relation names, when both its ends are known (knowing is not a relation)."""
    if not isinstance(op, Relate | Unrelate) or not (c.v.exists(op.source)
                                                     and c.v.exists(op.target)):
        return None
    return next((e for e in (op.source, op.target) if c.v.kind(e) == "fact"), None)


def _known_relation(c: Checking, op: OpBase | None) -> None:
    if _related_fact(c, op) is not None:
        return  # kind.mismatch says why
    relation = getattr(op, "relation", None)
    if relation not in c.s.relation_kinds or relation in ("at", "connects"):
        c.fail(f"unknown relation '{relation}' (known: {', '.join(c.s.relation_kinds)})")


def _teach_references(state: WorldState) -> list[str]:
    return ["Refer to entities by the ids the scene shows; anything else must be created first."]


def _teach_attributes(state: WorldState) -> list[str]:
    return ["Use only the attributes and relation kinds listed above."]


CREATE_INVALID = Rule("create.invalid", "A new entity needs a valid id and a place.",
                      ("create", "fact"), _new_entity_is_valid, teach=untaught, fault="model")
# ref.unknown does not refuse the op itself, so kind.mismatch still speaks about its
# other references; kind.mismatch refuses it.
REF_UNKNOWN = Rule("ref.unknown", "Every reference names a known entity (by id, name or alias).",
                   (EVERY_OP, PROPOSAL), _references_resolve, refuses=False,
                   teach=_teach_references, fault="model")
KIND_MISMATCH = Rule("kind.mismatch", "Ops apply to the right kinds: people move, items change "
                     "hands.", (EVERY_OP,), _right_kinds, teach=untaught, fault="model")
RELATION_KIND = Rule("relation.kind", "Only the relation kinds the world knows.",
                     ("relate", "unrelate"), _known_relation, teach=untaught, fault="model")

# -------------------------------------------------------------------- the dead


def _receives(c: Checking, target: str) -> None:
    """The dead gain nothing: not in their hands, nor in anything they carry."""
    dead = c.v.dead_holder(target)
    if dead is not None:
        through = f" (it would be in '{target}', which they hold)" if dead != target else ""
        c.fail(f"{c.dead_since(dead)} and cannot receive items{through}")


def _the_dead_do_nothing(c: Checking, op: OpBase | None) -> None:
    if op is None:
        actor = c.p.actor
        if actor is not None and actor in c.s and c.s.kind(actor) == "character" \
                and not c.s.is_alive(actor):
            c.fail(f"{c.dead_since(actor)} and cannot act")
        return
    if op.SUBJECT and op.DEAD_CANNOT:
        subject = getattr(op, op.SUBJECT)
        if c.v.kind(subject) == "character" and not c.v.alive(subject):
            c.fail(f"{c.dead_since(subject)} and cannot {op.DEAD_CANNOT}")
            return
    learner = op.to if isinstance(op, Tell) else _knower(c, op)
    if learner is not None and c.v.kind(learner) == "character" and not c.v.alive(learner):
        c.fail(f"{c.dead_since(learner)} and cannot learn anything")
        return
    placed = op.placed()
    if placed is not None and placed[1] is not None:
        thing, where = placed
        new = op.brings()
        if (new.kind if new is not None else c.v.kind(thing)) == "item":
            _receives(c, where)


def _knower(c: Checking, op: OpBase) -> str | None:
    """Who would know the new fact a ``fact`` op makes (None: no new fact, or a player's)."""
    if isinstance(op, Fact) and c.turn.kind != "player" and not c.v.exists(op.id):
        return op.entity
    return None


def _essential_lives(c: Checking, op: OpBase | None) -> None:
    assert isinstance(op, Kill)
    if op.entity in c.s and c.s.entity(op.entity).get("essential"):
        c.fail(f"'{op.entity}' is essential to this story and does not die by chance; only "
               "the player's own deed may kill them")
        # The rest is checked as if they had died: what a proposal builds on the death
        # (the dead walking off) is refused for that too.
        c.v.dead.add(op.entity)


def _teach_the_dead(state: WorldState) -> list[str]:
    return ["The dead do not act, move, speak, change or receive items (others may take their "
            "things)."]


DEAD_ACT = Rule("dead.act", "The dead do not act, move, change or receive items (others may take "
                "their things).", (EVERY_OP, PROPOSAL), _the_dead_do_nothing,
                teach=_teach_the_dead, fault="world")

STORY_ESSENTIAL = Rule("story.essential", "A character the world marks essential dies only by "
                       "the player's own deed, never in another beat.", ("kill",),
                       _essential_lives, turns=("npc", "world"), teach=untaught, fault="world")

# ------------------------------------------------------------ places and names


def _one_step(c: Checking, op: OpBase | None) -> None:
    assert isinstance(op, Move)
    if c.s.world.get("travel", "adjacent") != "adjacent":
        return
    moved: set[str] = c.memo.setdefault("moved", set())
    if op.entity in moved:
        c.fail(f"'{op.entity}' already moved this beat; one step a beat")
        return
    moved.add(op.entity)
    here = c.v.location_of(op.entity)
    if here is not None and here != op.to and not c.v.connected(here, op.to):
        exits = ", ".join(c.s.exits(here)) if here in c.s else ""
        new = {(here, op.to), (op.to, here)} & c.v.links
        why = "; a passage made this beat is crossed from the next beat on" if new else ""
        c.fail(f"'{op.to}' is not reachable from '{here}' in one move "
               f"(exits: {exits or 'none'}){why}")


def _teach_travel(state: WorldState) -> list[str]:
    if state.world.get("travel", "adjacent") == "adjacent":
        return ["A character moves one step at a time, to an exit of the place they are in."]
    return ["A character may move to any known place."]


def _not_in_itself(c: Checking, op: OpBase | None) -> None:
    assert isinstance(op, Transfer)
    if c.v.within(op.item, op.to):
        c.fail(f"'{op.item}' cannot go inside '{op.to}', which it holds")


def _unique_name(c: Checking, op: OpBase | None) -> None:
    assert isinstance(op, Create)
    e = op.entity
    key = normalize_name(e.name)
    clash = list(c.s.living_named(e.name, e.kind)) + [
        x for x, n in c.v.new.items() if n["kind"] == e.kind and normalize_name(n["name"]) == key
    ]
    if clash:
        taken = c.v.name(clash[0])
        alike = "" if taken == e.name else f"; {ascii(e.name)} looks the same"
        c.fail(f"a living {e.kind} is already named '{taken}' ('{clash[0]}'){alike}")


def _teach_names(state: WorldState) -> list[str]:
    return ["Names are unique among the living: never create a second one. A new character "
            "or item needs 'at'; a new place's 'at' is the place it is reached from."]


TRAVEL_ADJACENT = Rule("travel.adjacent", "With travel = \"adjacent\", a character moves one "
                       "step a beat, to an exit of the place they are in.", ("move",), _one_step,
                       teach=_teach_travel, fault="world")
CONTAINMENT_CYCLE = Rule("containment.cycle", "Nothing goes inside itself.", ("transfer",),
                         _not_in_itself, teach=untaught, fault="world")
NAME_UNIQUE = Rule("name.unique", "Names are unique among the living entities of a kind.",
                   ("create",), _unique_name, teach=_teach_names, fault="model")

# ------------------------------------------------------------------ attributes


def _new_attributes(op: OpBase) -> list[tuple[str, object]]:
    """The attributes a ``create`` gives its newcomer."""
    return list(op.entity.attributes.items()) if isinstance(op, Create) else []


def _defined(c: Checking, op: OpBase | None) -> None:
    if isinstance(op, Create):
        e = op.entity
        for name, _ in _new_attributes(op):
            d = c.defs.get(name)
            if d is None or e.kind not in d.kinds:
                c.fail(f"no attribute '{name}' for a {e.kind} in this world")
                return
        return
    assert isinstance(op, Adjust | SetAttr)
    name, kind = op.attribute, c.v.kind(op.entity)
    d = c.defs.get(name)
    if d is None:
        known = ", ".join(sorted(n for n, x in c.defs.items() if kind in x.kinds)) or "none"
        c.fail(f"no attribute '{name}' in this world (for {kind}: {known})")
    elif kind not in d.kinds:
        c.fail(f"attribute '{name}' does not apply to a {kind}")


def _unprotected(c: Checking, op: OpBase | None) -> None:
    assert isinstance(op, Adjust | SetAttr)
    d = c.defs[op.attribute]
    if d.protected:
        c.fail(f"'{op.attribute}' of '{op.entity}' is protected and never changes")


def _typed(c: Checking, op: OpBase | None) -> None:
    if isinstance(op, Create):
        for name, value in _new_attributes(op):
            d = c.defs[name]
            if not type_ok(d, value):
                c.fail(f"'{name}' takes a {d.type}, not {value!r}")
                return
        return
    assert isinstance(op, Adjust | SetAttr)
    d = c.defs[op.attribute]
    if isinstance(op, Adjust):
        if not d.numeric:
            c.fail(f"'{op.attribute}' is a {d.type}; use set, not adjust")
        elif d.type == "int" and not (isinstance(op.by, int) or float(op.by).is_integer()):
            c.fail(f"'{op.attribute}' is an int; 'by' {op.by} does not fit")
    elif d.numeric:
        c.fail(f"'{op.attribute}' is a number; use adjust with 'by'")
    elif not type_ok(d, op.value):
        c.fail(f"'{op.attribute}' takes a {d.type}, not {op.value!r}")


def _within_bounds(c: Checking, e: str, name: str, d: AttributeDef, value: object) -> bool:
    """False (and an ``attr.bounds`` violation) when ``value`` leaves the attribute's range."""
    low = lower_bound(name, d)
    if low is not None and value < low:  # type: ignore[operator]
        c.fail(f"'{name}' of '{e}' would be {fmt(value)}, below {fmt(low)}")
        return False
    if d.max is not None and value > d.max:  # type: ignore[operator]
        c.fail(f"'{name}' of '{e}' would be {fmt(value)}, above {fmt(d.max)}")
        return False
    return True


def _in_range(c: Checking, op: OpBase | None) -> None:
    if isinstance(op, Create):
        for name, value in _new_attributes(op):
            d = c.defs[name]
            if d.numeric and not _within_bounds(c, str(op.entity.id), name, d, value):
                return
        return
    assert isinstance(op, Adjust)
    value = c.v.added(op.entity, op.attribute, op.by)
    _within_bounds(c, op.entity, op.attribute, c.defs[op.attribute], value)


def _teach_protected(state: WorldState) -> list[str]:
    return ["Protected attributes never change."]


def _teach_types(state: WorldState) -> list[str]:
    return ["Numbers stay within their range; set is for text and true/false, adjust for numbers."]


ATTR_UNKNOWN = Rule("attr.unknown", "Only the attributes the world defines for that kind.",
                    ("adjust", "set", "create"), _defined, teach=_teach_attributes, fault="model")
ATTR_PROTECTED = Rule("attr.protected", "Protected attributes never change.", ("adjust", "set"),
                      _unprotected, teach=_teach_protected, fault="world")
ATTR_TYPE = Rule("attr.type", "Values keep their type; set is for text and true/false, adjust "
                 "for numbers.", ("adjust", "set", "create"), _typed, teach=_teach_types,
                 fault="model")
ATTR_BOUNDS = Rule("attr.bounds", "Numbers stay within their min and max; a price is never "
                   "negative.", ("adjust", "create"), _in_range, teach=untaught, fault="world")

# ------------------------------------------------------------------ inventions


def _within_budget(c: Checking, op: OpBase | None) -> None:
    if isinstance(op, Fact) and (c.turn.kind == "player" or c.v.exists(op.id)):
        return  # new text for an old fact invents nothing; a player's facts are refused
    if isinstance(op, Connect):
        pair = (op.source, op.target)
        if c.v.connected(*pair) or pair in c.v.links or pair[::-1] in c.v.links:
            return  # already there: nothing invented
    c.memo["invented"] = c.memo.get("invented", 0) + 1
    if c.memo["invented"] > c.budget:
        c.fail(f"this world allows {c.budget} invention(s) per beat (a new passage counts); "
               "invent less")


def _teach_budget(state: WorldState) -> list[str]:
    budget = invention_budget(float(state.world.get("creativity", 0.5)))
    if not budget:
        return ["Invent nothing new in this world: use what exists."]
    return [f"Invent at most {budget} new entit{'y' if budget == 1 else 'ies'} per proposal."]


CREATIVITY_BUDGET = Rule("creativity.budget", "Invent no more new entities (or passages) a beat "
                         "than the world's creativity allows.", ("create", "connect", "fact"),
                         _within_budget, teach=_teach_budget, fault="model")
