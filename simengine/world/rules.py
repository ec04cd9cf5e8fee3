"""The hard rules: what no proposal may do, whoever wrote it.

``check(proposal, state, turn)`` walks the ops in order against a *view* of the
state as the proposal would leave it so far (an overlay: the state itself is
never touched) and returns every :class:`Violation` it finds. Each violation
names its rule, the op it is about and a message fit to send back to a model.

Rule ids:

=====================  ==========================================================
``ref.unknown``        a reference that names no entity
``kind.mismatch``      an op on the wrong kind of entity (moving an item ...)
``travel.adjacent``    a move to a place not connected to where the mover is
``dead.act``           the dead act, move, change, gain items or die again
``attr.unknown``       an attribute the world does not define for that kind
``attr.type``          a value of the wrong type, or ``set`` on a number
``attr.bounds``        a value outside the attribute's min and max
``attr.protected``     a protected attribute changed by an event
``currency.conserved`` a conserved attribute's adjustments do not sum to zero
``price.unpaid``       a priced item leaves its holder without payment to them
``price.fixed``        a price set on the player's word, or by someone not holding the thing
``name.unique``        a second living entity of a kind with the same name
``creativity.budget``  more inventions than the world's creativity allows
``create.invalid``     a new entity without a valid id or place
``containment.cycle``  a thing put inside itself
``relation.kind``      a relation kind the world does not know
``scope.player``       a player turn reaching beyond the player's scene
``actor.mismatch``     a beat's proposal acted by someone other than its actor
``player.own``         a beat not the player's moves the player, or harms or robs them
                       beyond what the world allows (``[world] npcs_may``)
``story.essential``    a beat not the player's kills a character the world marks
                       ``essential`` (the story needs them; only the player may)
``world.<id>``         an author rule of the world file (``[[rules]]``); its message is
                       the rule's ``says``
=====================  ==========================================================
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from simengine.world.authored import author_rules, context
from simengine.world.knowledge import RULE_IDS as KNOW_RULE_IDS
from simengine.world.knowledge import check_fact, check_learn, check_tell
from simengine.world.ops import (
    ANY,
    Adjust,
    Connect,
    Create,
    Kill,
    Move,
    Op,
    Proposal,
    Relate,
    SetAttr,
    Transfer,
    Unrelate,
    op_label,
    references,
)
from simengine.world.spec import (
    DEFAULT_NPCS_MAY,
    PRICE_ATTRIBUTE,
    SLUG_PATTERN,
    AttributeDef,
    lower_bound,
)
from simengine.world.state import WorldState, location_along, normalize_name, up_holders
from simengine.world.text import number

RULE_IDS = (
    "ref.unknown",
    "kind.mismatch",
    "travel.adjacent",
    "dead.act",
    "attr.unknown",
    "attr.type",
    "attr.bounds",
    "attr.protected",
    "currency.conserved",
    "price.unpaid",
    "price.fixed",
    "name.unique",
    "creativity.budget",
    "create.invalid",
    "containment.cycle",
    "relation.kind",
    "scope.player",
    "actor.mismatch",
    "player.own",
    "story.essential",
    *KNOW_RULE_IDS,
)


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``str(v)`` is the message a model gets back for repair."""

    rule: str
    op_index: int | None
    message: str
    op_name: str | None = None
    suggestions: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = "proposal" if self.op_index is None else op_label(self.op_index, self)
        hint = f" (did you mean: {', '.join(self.suggestions)}?)" if self.suggestions else ""
        return f"{where}: {self.message}{hint}"

    @property
    def op(self) -> str | None:  # lets op_label read the op name
        return self.op_name

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "op_index": self.op_index,
            "message": str(self),
            "suggestions": list(self.suggestions),
        }


@dataclass(frozen=True)
class Turn:
    """Whose beat a proposal belongs to: the player's, an NPC's or the world's."""

    kind: Literal["player", "npc", "world"] = "world"
    actor: str | None = None


def invention_budget(creativity: float) -> int:
    """How many new entities one proposal may invent: 0 at creativity 0, 4 at 1."""
    return math.floor(creativity * 4 + 1e-9)


class _View:
    """The state as the ops checked so far would leave it. Reads through to the state."""

    def __init__(self, state: WorldState):
        self.s = state
        self.holders: dict[str, str] = {}
        self.dead: set[str] = set()
        self.attrs: dict[tuple[str, str], Any] = {}
        self.new: dict[str, dict[str, Any]] = {}
        self.links: set[tuple[str, str]] = set()
        #: (character, fact) pairs the ops so far teach, and where each fact came out.
        self.learned: set[tuple[str, str]] = set()
        self.shown: dict[str, set[str]] = {}

    def exists(self, e: str) -> bool:
        return e in self.new or e in self.s

    def kind(self, e: str) -> str | None:
        return self.new[e]["kind"] if e in self.new else self.s.kind(e)

    def name(self, e: str) -> str:
        return self.new[e]["name"] if e in self.new else self.s.name(e)

    def alive(self, e: str) -> bool:
        if e in self.dead:
            return False
        return True if e in self.new else self.s.is_alive(e)

    def holder(self, e: str) -> str | None:
        if e in self.holders:
            return self.holders[e]
        if e in self.new:
            return self.new[e].get("at")
        return self.s.holder(e)

    def owner(self, e: str) -> str | None:
        """The character holding ``e``, directly or through containers, if any."""
        seen: set[str] = set()
        current = self.holder(e)
        while current is not None and current not in seen:
            seen.add(current)
            kind = self.kind(current)
            if kind == "character":
                return current
            if kind != "item":
                return None
            current = self.holder(current)
        return None

    def location_of(self, e: str) -> str | None:
        return location_along(e, self.kind, self.holder)

    def knows(self, who: str, fact: str) -> bool:
        """Whether ``who`` knows ``fact`` as the ops so far leave the world."""
        if (who, fact) in self.learned:
            return True
        if fact in self.new:  # a fact made this beat: known by whom it says
            return who in self.new[fact].get("known_by", ())
        return self.s.knows(who, fact)

    def dead_holder(self, e: str) -> str | None:
        """The dead character at or up the chain of holders from ``e``, if any.

        The whole chain, not the nearest holder: a ring put in a key in a pouch a
        dead man carries is the dead man's gain all the same.
        """
        seen: set[str] = set()
        current: str | None = e
        while current is not None and current not in seen and self.exists(current):
            seen.add(current)
            if self.kind(current) == "character" and not self.alive(current):
                return current
            current = self.holder(current)
        return None

    def contents(self, e: str) -> list[str]:
        """What ``e`` directly holds as the ops so far leave it."""
        out = [c for c in (self.s.contents(e) if e in self.s else []) if c not in self.holders]
        out += [c for c, h in self.holders.items() if h == e]
        out += [c for c, n in self.new.items() if n.get("at") == e and c not in self.holders
                and n["kind"] != "location"]  # a new place's `at` is a passage, not a pocket
        return out

    def inside(self, e: str) -> list[str]:
        """Everything within ``e``, however deep (each once, even in a broken tree)."""
        out: list[str] = []
        seen = {e}
        stack = self.contents(e)
        while stack:
            c = stack.pop()
            if c not in seen:
                seen.add(c)
                out.append(c)
                stack.extend(self.contents(c))
        return out

    def within(self, e: str, container: str) -> bool:
        return up_holders(container, e, self.holder)

    def connected(self, a: str, b: str) -> bool:
        """One move apart. A passage made by ``connect`` this beat does not count yet."""
        if a in self.new and self.new[a].get("at") == b:
            return True
        if b in self.new and self.new[b].get("at") == a:
            return True
        return a in self.s and b in self.s and b in self.s.exits(a)

    def attr(self, e: str, a: str) -> Any:
        if (e, a) in self.attrs:
            return self.attrs[(e, a)]
        if e in self.new:
            return self.new[e]["attributes"].get(a)
        return self.s.attr(e, a)

    def price(self, item: str) -> float:
        """What ``item`` cost when the proposal began (a new thing: what it was made with)."""
        if item in self.s:
            return self.s.price(item)
        value = self.new[item]["attributes"].get(PRICE_ATTRIBUTE) if item in self.new else None
        if value is None:
            d = self.s.attribute_def(PRICE_ATTRIBUTE)
            value = d.default if d is not None else 0
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 0
        return max(value, 0)


def _type_ok(d: AttributeDef, value: Any) -> bool:
    if d.type == "bool":
        return isinstance(value, bool)
    if d.type == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if d.type == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


class _ViewReader:
    """What a condition reads (world.conditions.Reader), through the checker's view."""

    def __init__(self, view: _View):
        self.v = view
        self.tick = view.s.tick

    def kind(self, e: str) -> str | None:
        return self.v.kind(e) if self.v.exists(e) else None

    def holder(self, e: str) -> str | None:
        return self.v.holder(e) if self.v.exists(e) else None

    def alive(self, e: str) -> bool:
        return self.v.alive(e) if self.v.exists(e) else False

    def attr(self, e: str, a: str) -> Any:
        return self.v.attr(e, a) if self.v.exists(e) else None

    def related(self, source: str, relation: str, target: str) -> bool:
        s = self.v.s
        return source in s and target in s and s.has_relation(source, relation, target)

    def knows(self, who: str, fact: str) -> bool:
        return self.v.knows(who, fact)


class _Checker:
    def __init__(self, proposal: Proposal, state: WorldState, turn: Turn):
        self.p = proposal
        self.s = state
        self.turn = turn
        self.v = _View(state)
        self.defs = state.attribute_defs()
        self.currency = state.currency
        self.out: list[Violation] = []
        self.i: int | None = None
        self.op_name: str | None = None
        self.moved: set[str] = set()
        self.here: str | None = None
        self.scope: set[str] = set()
        self.creates = 0
        self.budget = invention_budget(float(state.world.get("creativity", 0.5)))
        self.npcs_may = set(state.world.get("npcs_may", DEFAULT_NPCS_MAY))
        self._handovers: list[_Handover] | None = None
        self.authored = author_rules(state)
        self.reader = _ViewReader(self.v)

    # --------------------------------------------------------------- helpers
    def fail(self, rule: str, message: str, suggestions: tuple[str, ...] = ()) -> None:
        self.out.append(Violation(rule, self.i, message, self.op_name, suggestions))

    def fail_at(self, index: int, op_name: str, rule: str, message: str) -> None:
        """A violation of a whole-proposal rule, pinned on the op that tips it over."""
        self.out.append(Violation(rule, index, message, op_name))

    def dead_since(self, e: str) -> str:
        if e in self.v.dead:
            return f"'{e}' dies earlier in this proposal"
        tick = self.s.entity(e).get("died_tick")
        if tick is None:
            return f"'{e}' is dead (since before the story began)"
        return f"'{e}' is dead since tick {tick}"

    def known(self, e: str, *kinds: str) -> bool:
        """Reference check: exists and, if kinds are given, is one of them."""
        if not self.v.exists(e):
            self.fail(
                "ref.unknown",
                f"'{e}' is not a known entity",
                tuple(self.s.closest(e, kind=kinds[0] if len(kinds) == 1 else None)),
            )
            return False
        if kinds and self.v.kind(e) not in kinds:
            self.fail(
                "kind.mismatch", f"'{e}' is a {self.v.kind(e)}, expected {' or '.join(kinds)}"
            )
            return False
        return True

    def living(self, e: str, doing: str) -> bool:
        if self.v.kind(e) == "character" and not self.v.alive(e):
            self.fail("dead.act", f"{self.dead_since(e)} and cannot {doing}")
            return False
        return True

    def attribute(self, e: str, name: str) -> AttributeDef | None:
        d = self.defs.get(name)
        kind = self.v.kind(e)
        if d is None:
            known = ", ".join(sorted(n for n, x in self.defs.items() if kind in x.kinds)) or "none"
            self.fail("attr.unknown", f"no attribute '{name}' in this world (for {kind}: {known})")
            return None
        if kind not in d.kinds:
            self.fail("attr.unknown", f"attribute '{name}' does not apply to a {kind}")
            return None
        if d.protected:
            self.fail("attr.protected", f"'{name}' of '{e}' is protected and never changes")
            return None
        return d

    def may_reprice(self, e: str, attribute: str) -> bool:
        """A price is the world's: never the player's word; else its owner's beat or the world's."""
        if attribute != PRICE_ATTRIBUTE or self.v.kind(e) != "item":
            return True
        if self.turn.kind == "player":
            self.fail("price.fixed", f"prices are the world's: a player's words do not set what "
                      f"'{e}' is worth")
            return False
        owner = self.v.owner(e)
        if owner is None or not self.v.alive(owner) or self.turn.kind == "world":
            return True
        if owner == self.turn.actor:
            return True
        self.fail("price.fixed", f"only '{owner}', who holds '{e}', can change its price")
        return False

    def bounds(self, e: str, name: str, d: AttributeDef, value: Any) -> bool:
        low = lower_bound(name, d)
        if low is not None and value < low:
            self.fail("attr.bounds",
                      f"'{name}' of '{e}' would be {number(value)}, below {number(low)}")
            return False
        if d.max is not None and value > d.max:
            self.fail(
                "attr.bounds", f"'{name}' of '{e}' would be {number(value)}, above {number(d.max)}"
            )
            return False
        return True

    # ------------------------------------------------------------------ ops
    def by_others(self, e: str) -> bool:
        """``e`` is the player's character and this beat is someone else's.

        (A beat acted by the player's own character is never scheduled as an NPC's;
        fixtures that do so speak for the player's character itself.)
        """
        return (
            e == self.s.player and self.turn.kind != "player" and self.turn.actor != e
        )

    def player_own(self, e: str, deed: str) -> bool:
        """True (and a violation) when a beat not the player's would ``deed`` the player."""
        if not self.by_others(e) or deed in self.npcs_may:
            return False
        allowed = ", ".join(sorted(self.npcs_may)) or "nothing"
        self.fail("player.own", f"'{e}' is the player's character: in this world other beats "
                  f"may not {deed} them (npcs_may: {allowed})")
        return True

    def invents(self) -> bool:
        """Count one invention; False (and a violation) past the world's budget."""
        self.creates += 1
        if self.creates > self.budget:
            self.fail(
                "creativity.budget",
                f"this world allows {self.budget} invention(s) per beat (a new passage counts); "
                "invent less",
            )
            return False
        return True

    def run(self) -> list[Violation]:
        self.check_actor()
        if self.turn.kind == "player":
            self.scope = self.player_scope()
        for i, op in enumerate(self.p.ops):
            self.i, self.op_name = i, op.op
            if self.turn.kind == "player":
                self.check_scope(op)
            if isinstance(op, Create) and not self.invents():
                continue
            if self.authored:
                self.check_authored(op)
            self.check_op(op)
        self.i = self.op_name = None
        self.check_currency()
        if self.turn.kind == "player":
            self.check_consent()
        else:
            self.check_players_own()
        return self.out

    def check_op(self, op: Op) -> None:
        """The op's own rules (``op_<kind>`` below); an op without them has its references
        checked against the kinds the op says they may be."""
        own = getattr(self, f"op_{op.op}", None)
        if own is not None:
            own(op)
            return
        for field, kinds in op.REFS.items():
            self.known(getattr(op, field), *(() if kinds == ANY else kinds))

    def check_authored(self, op: Op) -> None:
        """The world's own ``[[rules]]``, on the world as the ops before this one leave it."""
        actor = self.p.actor or self.turn.actor
        ctx = context(op, actor, lambda e: self.v.location_of(e) if self.v.exists(e) else None)
        for rule in self.authored:
            if rule.broken(op, self.reader, ctx):
                self.fail(rule.rule_id, rule.says)

    def check_actor(self) -> None:
        actor = self.p.actor
        if actor is None:
            return
        if actor not in self.s:
            self.fail(
                "ref.unknown",
                f"actor '{actor}' is not a known entity",
                tuple(self.s.closest(actor, kind="character")),
            )
            return
        if self.turn.actor and actor != self.turn.actor:
            rule = "scope.player" if self.turn.kind == "player" else "actor.mismatch"
            self.fail(rule, f"this beat is acted by '{self.turn.actor}', not '{actor}'")
        if self.s.kind(actor) == "character" and not self.s.is_alive(actor):
            self.fail("dead.act", f"{self.dead_since(actor)} and cannot act")

    def op_move(self, op: Move) -> None:
        if not (self.known(op.entity, "character") & self.known(op.to, "location")):
            return
        if not self.living(op.entity, "move"):
            return
        if self.by_others(op.entity):
            self.fail("player.own", f"'{op.entity}' is the player's character and goes where "
                      "the player says; no other beat moves them")
            return
        here = self.v.location_of(op.entity)
        travel = self.s.world.get("travel", "adjacent")
        if travel == "adjacent" and op.entity in self.moved:
            self.fail("travel.adjacent", f"'{op.entity}' already moved this beat; one step a beat")
            return
        self.moved.add(op.entity)
        if travel == "adjacent" and here is not None and here != op.to:
            if not self.v.connected(here, op.to):
                exits = ", ".join(self.s.exits(here)) if here in self.s else ""
                new = {(here, op.to), (op.to, here)} & self.v.links
                why = "; a passage made this beat is crossed from the next beat on" if new else ""
                self.fail(
                    "travel.adjacent",
                    f"'{op.to}' is not reachable from '{here}' in one move "
                    f"(exits: {exits or 'none'}){why}",
                )
                return
        self.v.holders[op.entity] = op.to

    def op_transfer(self, op: Transfer) -> None:
        if not (self.known(op.item, "item") & self.known(op.to, "location", "character", "item")):
            return
        if not self.receives(op.to):
            return
        if self.v.within(op.item, op.to):
            self.fail(
                "containment.cycle", f"'{op.item}' cannot go inside '{op.to}', which it holds"
            )
            return
        self.v.holders[op.item] = op.to

    def receives(self, target: str) -> bool:
        """The dead gain nothing: not in their hands, nor in anything they carry."""
        dead = self.v.dead_holder(target)
        if dead is None:
            return True
        through = f" (it would be in '{target}', which they hold)" if dead != target else ""
        self.fail("dead.act", f"{self.dead_since(dead)} and cannot receive items{through}")
        return False

    def op_adjust(self, op: Adjust) -> None:
        if not self.known(op.entity) or not self.living(op.entity, "change"):
            return
        d = self.attribute(op.entity, op.attribute)
        if d is None:
            return
        if d.numeric and not d.conserved and op.by < 0 and self.player_own(op.entity, "wound"):
            return
        if not d.numeric:
            self.fail("attr.type", f"'{op.attribute}' is a {d.type}; use set, not adjust")
            return
        if d.type == "int" and not (isinstance(op.by, int) or float(op.by).is_integer()):
            self.fail("attr.type", f"'{op.attribute}' is an int; 'by' {op.by} does not fit")
            return
        if not self.may_reprice(op.entity, op.attribute):
            return
        current = self.v.attr(op.entity, op.attribute)
        if current is None:
            current = d.default if d.default is not None else 0
        new = current + (int(op.by) if d.type == "int" else op.by)
        if self.bounds(op.entity, op.attribute, d, new):
            self.v.attrs[(op.entity, op.attribute)] = new

    def op_set(self, op: SetAttr) -> None:
        if not self.known(op.entity) or not self.living(op.entity, "change"):
            return
        d = self.attribute(op.entity, op.attribute)
        if d is None:
            return
        if d.numeric:
            self.fail("attr.type", f"'{op.attribute}' is a number; use adjust with 'by'")
            return
        if not _type_ok(d, op.value):
            self.fail("attr.type", f"'{op.attribute}' takes a {d.type}, not {op.value!r}")
            return
        if not self.may_reprice(op.entity, op.attribute):
            return
        self.v.attrs[(op.entity, op.attribute)] = op.value

    def op_relate(self, op: Relate | Unrelate) -> None:
        ok = self.known(op.source) & self.known(op.target)
        fact = next((e for e in (op.source, op.target) if ok and self.v.kind(e) == "fact"), None)
        if fact is not None:
            self.fail("kind.mismatch", f"'{fact}' is a fact: a character learns it by 'tell' "
                      "or 'learn', not by a relation")
            return
        if op.relation not in self.s.relation_kinds or op.relation in ("at", "connects"):
            self.fail(
                "relation.kind",
                f"unknown relation '{op.relation}' (known: {', '.join(self.s.relation_kinds)})",
            )
            return
        if ok:
            self.living(op.source, "change their relations")

    op_unrelate = op_relate

    def op_connect(self, op: Connect) -> None:
        if self.known(op.source, "location") & self.known(op.target, "location"):
            if op.source == op.target:
                self.fail("kind.mismatch", "a place cannot connect to itself")
                return
            pair = (op.source, op.target)
            if self.v.connected(*pair) or pair in self.v.links or pair[::-1] in self.v.links:
                return  # already there: nothing invented
            if self.invents():
                self.v.links.add(pair)

    def op_tell(self, op: Any) -> None:
        check_tell(self, op)

    def op_learn(self, op: Any) -> None:
        check_learn(self, op)

    def op_fact(self, op: Any) -> None:
        check_fact(self, op)

    def op_kill(self, op: Kill) -> None:
        if self.known(op.entity, "character") and self.living(op.entity, "die again"):
            essential = op.entity in self.s and self.s.entity(op.entity).get("essential")
            if essential and self.turn.kind != "player":
                self.fail("story.essential", f"'{op.entity}' is essential to this story and "
                          "does not die by chance; only the player's own deed may kill them")
                # The rest is checked as if they had died: what a proposal builds on the
                # death (the dead walking off) is refused for that too.
                self.v.dead.add(op.entity)
            elif not self.player_own(op.entity, "kill"):
                self.v.dead.add(op.entity)

    def op_create(self, op: Create) -> None:
        e = op.entity
        if not e.id or not re.match(SLUG_PATTERN, e.id):
            self.fail("create.invalid", f"a new entity needs a slug id, got {e.id!r}")
            return
        if self.v.exists(e.id):
            self.fail("create.invalid", f"id '{e.id}' is already taken")
            return
        need_at = {
            "character": ("location",),
            "item": ("location", "character", "item"),
            "location": ("location",),
            "faction": (),
        }[e.kind]
        if (e.traits or e.goals) and e.kind != "character":
            self.fail("create.invalid", f"only a character has traits and goals, not a {e.kind}")
            return
        if e.at is None and e.kind in ("character", "item"):
            self.fail("create.invalid", f"a new {e.kind} needs 'at' (where it is)")
            return
        if e.at is not None:
            if not need_at:
                self.fail("create.invalid", "a faction has no place ('at')")
                return
            if not self.known(e.at, *need_at):
                return
            if e.kind == "item" and not self.receives(e.at):
                return
        key = normalize_name(e.name)
        clash = [x for x in self.s.living_named(e.name, e.kind)] + [
            x
            for x, n in self.v.new.items()
            if n["kind"] == e.kind and normalize_name(n["name"]) == key
        ]
        if clash:
            taken = self.v.name(clash[0])
            alike = "" if taken == e.name else f"; {ascii(e.name)} looks the same"
            self.fail(
                "name.unique",
                f"a living {e.kind} is already named '{taken}' ('{clash[0]}'){alike}",
            )
            return
        for name, value in e.attributes.items():
            d = self.defs.get(name)
            if d is None or e.kind not in d.kinds:
                self.fail("attr.unknown", f"no attribute '{name}' for a {e.kind} in this world")
                return
            if not _type_ok(d, value):
                self.fail("attr.type", f"'{name}' takes a {d.type}, not {value!r}")
                return
            if d.conserved and value != (d.default or 0):
                self.fail(
                    "currency.conserved",
                    f"'{name}' is conserved: a new {e.kind} starts with {number(d.default or 0)}",
                )
                return
            if d.numeric and not self.bounds(e.id, name, d, value):
                return
        if self.turn.kind == "player" and e.kind == "item" and PRICE_ATTRIBUTE not in e.attributes:
            d = self.defs.get(PRICE_ATTRIBUTE)
            if d is not None and "item" in d.kinds and d.numeric and (d.default or 0) > 0:
                self.fail("price.fixed", f"what a player brings into being carries no price: "
                          f"give '{e.id}' {PRICE_ATTRIBUTE} 0 (this world's default is "
                          f"{number(d.default)})")
                return
        self.v.new[e.id] = {
            "kind": e.kind,
            "name": e.name,
            "at": e.at,
            "attributes": dict(e.attributes),
        }

    # ------------------------------------------------------- whole-proposal
    def adjustments(self, attribute: str) -> list[tuple[int, Adjust]]:
        return [
            (i, op)
            for i, op in enumerate(self.p.ops)
            if isinstance(op, Adjust) and op.attribute == attribute
        ]

    def check_currency(self) -> None:
        for name, d in self.defs.items():
            if not d.conserved:
                continue
            adj = self.adjustments(name)
            if not adj:
                continue
            # Exact arithmetic: 1e16 + 1 - 1e16 is 0 in floats, and a coin in a purse.
            total = sum(_exactly(op.by) for _, op in adj)
            if total != 0:
                self.fail_at(
                    adj[-1][0],
                    "adjust",
                    "currency.conserved",
                    f"'{name}' is conserved: adjustments must sum to 0, these sum to "
                    f"{_exact(total)} (money only changes hands)",
                )
            elif d.type == "float" and (drift := self.drift(name, d, adj)) != 0:
                self.fail_at(
                    adj[-1][0],
                    "adjust",
                    "currency.conserved",
                    f"'{name}' is conserved, but with these amounts the purses' total would "
                    f"drift by {_exact(drift)} (rounding): use whole amounts",
                )
        self.check_prices()

    def drift(self, name: str, d: AttributeDef, adj: list[tuple[int, Adjust]]) -> Fraction:
        """How far the exact total moves when the adjustments are applied as apply() does."""
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for _, op in adj:
            if op.entity not in before:
                start = self.s.attr(op.entity, name) if op.entity in self.s else None
                if start is None:
                    start = d.default if d.default is not None else 0
                before[op.entity] = after[op.entity] = start
            after[op.entity] = after[op.entity] + (int(op.by) if d.type == "int" else op.by)
        return sum((Fraction(after[e]) - Fraction(before[e]) for e in before), Fraction(0))

    def handovers(self) -> list[_Handover]:
        """Every item whose owner the proposal changes, once, with the owners before and after.

        Owners are characters, found through containers: a pearl in a chest in the
        merchant's hands is the merchant's, and goes with the chest. Only where a
        thing starts and ends counts, so dropping it first or hiding it in a bag on
        the way changes nothing.
        """
        if self._handovers is not None:
            return self._handovers
        replay = _View(self.s)
        start: dict[str, str | None] = {}
        last: dict[str, tuple[int, str]] = {}
        for i, op in enumerate(self.p.ops):
            if isinstance(op, Create) and op.entity.id and not replay.exists(op.entity.id):
                e = op.entity
                replay.new[e.id] = {
                    "kind": e.kind,
                    "name": e.name,
                    "at": e.at,
                    "attributes": dict(e.attributes),
                }
            if not isinstance(op, Transfer) or replay.kind(op.item) != "item":
                continue
            if not replay.exists(op.to) or replay.within(op.item, op.to):
                continue  # the checker reports these; nothing moves
            for e in (op.item, *replay.inside(op.item)):
                if e not in start:
                    start[e] = replay.owner(e)
                last[e] = (i, op.item)
            replay.holders[op.item] = op.to
        out = []
        for e, before in start.items():
            after = replay.owner(e)
            if before != after:
                i, bundle = last[e]
                out.append(_Handover(i, e, bundle, before, after, replay.price(e)))
        self._handovers = out
        return out

    def was_alive(self, who: str) -> bool:
        """Alive when the proposal began (someone new counts as alive)."""
        return self.s.is_alive(who) if who in self.s else self.v.exists(who)

    def gives_own(self, h: _Handover) -> bool:
        """The owner may give: the player anything of theirs on their own turn, and an
        NPC may drop its own things (to nobody) on its own beat."""
        if self.turn.kind == "player":
            return h.before == (self.turn.actor or self.s.player)
        return self.turn.kind == "npc" and h.before == self.turn.actor and h.after is None

    def check_prices(self) -> None:
        cur = self.currency
        if not cur:
            return
        paid: dict[str, int | Fraction] = defaultdict(int)
        for _, op in self.adjustments(cur):
            paid[op.entity] += _exactly(op.by)
        owed: dict[str, list[_Handover]] = defaultdict(list)
        for h in self.handovers():
            if h.before is None or not self.was_alive(h.before) or self.gives_own(h):
                continue  # nobody's, the dead's, or the owner's to give
            if h.price > 0:
                owed[h.before].append(h)
        for holder, items in owed.items():
            due = sum(_exactly(h.price) for h in items)
            if paid[holder] < due:
                names = ", ".join(
                    f"'{h.item}' ({number(h.price)}"
                    + (f", in '{h.bundle}')" if h.bundle != h.item else ")")
                    for h in items
                )
                self.fail_at(
                    max(h.index for h in items),
                    "transfer",
                    "price.unpaid",
                    f"{names} cost {_exact(due)} {cur} in all, but '{holder}' is paid "
                    f"{_exact(max(paid[holder], 0))}; pay the holder in the same "
                    "proposal",
                )

    # -------------------------------------------------------------- players
    def player_scope(self) -> set[str]:
        player = self.turn.actor or self.s.player
        if player is None or player not in self.s:
            return set()
        here = self.s.where(player)
        scope = {player}
        if here:
            scope.add(here)
            stack = list(self.s.contents(here))
            while stack:
                e = stack.pop()
                if e not in scope:
                    scope.add(e)
                    stack.extend(self.s.contents(e))
        stack = list(self.s.contents(player))
        while stack:
            e = stack.pop()
            scope.add(e)
            stack.extend(self.s.contents(e))
        self.here = here
        return scope

    def check_scope(self, op: Op) -> None:
        scope = self.scope | set(self.v.new)
        player = self.turn.actor or self.s.player
        if isinstance(op, Create):
            refs = [e for e in [op.entity.at] if e]
            if op.entity.kind == "location" and op.entity.at != self.here:
                self.fail("scope.player", "a place a player finds opens off where they stand")
                refs = []
            if op.entity.kind in ("character", "faction"):
                self.fail(
                    "scope.player",
                    f"a player speaks for their own character only; "
                    f"new {op.entity.kind}s come from the world, not the player's words",
                )
            for name, value in op.entity.attributes.items():
                d = self.defs.get(name)
                priced = name == PRICE_ATTRIBUTE and value != 0  # "worth nothing" is fine
                if priced or (d and (d.protected or d.conserved)):
                    self.fail(
                        "scope.player",
                        f"a player cannot bring '{name}' into being with their words",
                    )
        elif isinstance(op, Move):
            refs = [op.entity]  # where they may go is the travel rule's business
        else:  # a fact is known, not somewhere: the knowledge rules judge it
            refs = [value for _, value in references(op) if self.v.kind(value) != "fact"]
        for ref in refs:
            if ref not in scope and self.v.exists(ref):
                self.fail(
                    "scope.player",
                    f"'{ref}' is not in the player's scene; a player turn only touches the "
                    "player's character, the place they stand in and who and what is there",
                )
        # Other people are the world's to move: a player's words do not make them go,
        # die, change, or feel anything (money changing hands is the consent check's).
        subject = op.SUBJECT
        other = getattr(op, subject) if subject else None
        if (
            other is not None
            and other != player
            and self.v.kind(other) == "character"
            and self.v.alive(other)
            and not (
                isinstance(op, Adjust)
                and self.defs.get(op.attribute)
                and self.defs[op.attribute].conserved
            )
        ):
            self.fail(
                "scope.player",
                f"'{other}' is not the player's to {op.VERB}; "
                "others answer for themselves in their own beats",
            )

    def check_players_own(self) -> None:
        """The player's money and belongings leave them only on the player's own turn,
        unless the world lets others rob them (``npcs_may``)."""
        player = self.s.player
        if player is None or player not in self.s or not self.s.is_alive(player):
            return
        if "rob" in self.npcs_may:
            return
        for h in self.handovers():
            if h.before == player and h.after != player:
                self.fail_at(
                    h.index,
                    "transfer",
                    "player.own",
                    f"'{h.item}' is the player's; only the player gives it away",
                )
        cur = self.currency
        if cur:
            spent = [(i, op) for i, op in self.adjustments(cur) if op.entity == player]
            if spent and sum(_exactly(op.by) for _, op in spent) < 0:
                self.fail_at(
                    spent[-1][0],
                    "adjust",
                    "player.own",
                    f"the player's {cur} is spent only on the player's own turn",
                )

    def check_consent(self) -> None:
        """Others give nothing away on a player's say-so: only trades for value, and
        nobody pays more than what they get was worth before the turn."""
        player = self.turn.actor or self.s.player
        cur = self.currency
        received_value: dict[str, int | Fraction] = defaultdict(int)
        taken: dict[tuple[str, str], list[_Handover]] = defaultdict(list)
        for h in self.handovers():
            if h.before == player and h.after is not None and h.after != player:
                received_value[h.after] += _exactly(h.price)  # the player's goods, paid for
            if h.before is not None and h.before != player and self.was_alive(h.before):
                taken[(h.before, h.bundle)].append(h)
        for (before, bundle), items in taken.items():
            if sum(h.price for h in items) <= 0:
                self.fail_at(
                    max(h.index for h in items),
                    "transfer",
                    "scope.player",
                    f"'{before}' holds '{bundle}'; a player cannot take it on their say-so",
                )
        if not cur:
            return
        net: dict[str, int | Fraction] = defaultdict(int)
        last: dict[str, int] = {}
        for i, op in self.adjustments(cur):
            net[op.entity] += _exactly(op.by)
            last[op.entity] = i
        for who, change in net.items():
            if who != player and change < 0 and received_value[who] < -change:
                self.fail_at(
                    last[who],
                    "adjust",
                    "scope.player",
                    f"'{who}' does not part with {_exact(-change)} {cur} on a player's say-so"
                    + (f" (what they get was worth {_exact(received_value[who])})"
                       if received_value[who] else ""),
                )


@dataclass(frozen=True)
class _Handover:
    """An item that ends a proposal with another owner than it began with."""

    index: int  # the last transfer that moved it (or the container it is in)
    item: str
    bundle: str  # what was transferred: the item itself, or the container it went in
    before: str | None
    after: str | None
    price: float  # its own price as it stood before the proposal, never below 0


def _exactly(n: float) -> int | Fraction:
    """``n`` as an exact number: an int when whole (the usual case, and fast)."""
    if type(n) is int:
        return n
    if isinstance(n, float) and n.is_integer():
        return int(n)
    return Fraction(n)


def _exact(n: int | Fraction) -> str:
    if isinstance(n, int) or n.denominator == 1:
        return str(int(n))
    return number(float(n))


def touches(ops: Iterable[Op], entity: str, state: WorldState | None = None) -> bool:
    """Whether ``ops`` concern ``entity``: name it, or move or change something it holds.

    With ``state``, an op on an item the entity carries (however deep) counts too:
    a beat that takes the player's purse touches the player.
    """
    for op in ops:
        refs = [value for _, value in references(op)]
        if entity in refs:
            return True
        if state is not None and any(
            ref in state and state.kind(ref) == "item" and state.is_within(ref, entity)
            for ref in refs
        ):
            return True
    return False


def check(proposal: Proposal, state: WorldState, turn: Turn | None = None) -> list[Violation]:
    """Every rule the proposal breaks, in op order. Never mutates ``state``."""
    return _Checker(proposal, state, turn or Turn()).run()
