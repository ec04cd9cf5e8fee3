"""The built-in rules of knowledge: who may tell, learn or change a fact.

Facts are nodes of the state graph (kind ``fact``) and knowing one is a
``knows`` edge from a character (see :class:`~simengine.world.state.WorldState`'s
``knows``, ``known_by``, ``facts_known``). Three ops change knowledge: ``tell``
(a character tells another a fact, both in one place), ``learn`` (a character
learns a fact from a thing at hand that reveals it, or by witnessing it told,
shown or found where they stand, earlier in the same beat) and ``fact`` (a new
fact, canon within the creativity budget and known by its inventor; or new text
for a fact, so lore changes with the story). A ``create`` may bring a character
in knowing facts (``knows``): facts the world has, and no secret unless the actor
knows it; nobody overhears what a newcomer arrives knowing.

The checks read the rules' view: what the ops before this one taught
(``View.learn``, ``View.put_fact``) and where each fact came out this beat. The
rules the other ops meet hold for these too: references and kinds (one cannot
tell oneself a fact, nor relate to one), the dead tell and learn nothing
(``dead.act``), a new fact is an invention (``create.invalid``,
``creativity.budget``) and a player's words make no fact (``scope.player``).
"""

from __future__ import annotations

from simengine.world.ops import Create, Fact, Learn, OpBase, Tell
from simengine.world.rules.base import Rule, untaught
from simengine.world.rules.checking import Checking


def _knows_it(c: Checking, op: OpBase | None) -> None:
    if isinstance(op, Tell):
        if not c.v.knows(op.entity, op.fact):
            c.fail(f"'{op.entity}' does not know '{op.fact}', so cannot tell it (a character "
                   "tells only the facts the scene says they know)")
        return
    assert isinstance(op, Fact)
    actor = c.actor()
    if c.turn.kind in ("player", "world") or not actor or c.v.kind(op.id) != "fact":
        return
    if not c.v.knows(actor, op.id):
        c.fail(f"'{actor}' does not know '{op.id}', so cannot change what it says")


def _listener_here(c: Checking, op: OpBase | None) -> None:
    assert isinstance(op, Tell)
    here, there = c.v.location_of(op.entity), c.v.location_of(op.to)
    if here is None or here != there:
        c.fail(f"'{op.to}' is in '{there}', not with '{op.entity}' in '{here}': tell only "
               "someone who is there")


def _thing_reveals_it(c: Checking, op: OpBase | None) -> None:
    assert isinstance(op, Learn)
    if op.item is None:
        return
    shows = c.s.reveals(op.item) if op.item in c.s else []
    if op.fact not in shows:
        told = ", ".join(shows) or "nothing"
        c.fail(f"'{op.item}' does not reveal '{op.fact}' (it reveals: {told})")
        return
    here, there = c.v.location_of(op.entity), c.v.location_of(op.item)
    if there != here:
        c.fail(f"'{op.item}' is not at hand: it is in '{there}', and '{op.entity}' is in '{here}'")


def _witnessed(c: Checking, op: OpBase | None) -> None:
    assert isinstance(op, Learn)
    if op.item is not None:
        return
    here = c.v.location_of(op.entity)
    if here is None or here not in c.v.shown.get(op.fact, ()):
        c.fail(f"nothing earlier in this beat shows '{op.fact}' where '{op.entity}' stands: "
               "learn it from a thing at hand ('item'), or be told")


def _newcomer_knows(c: Checking, op: OpBase | None) -> None:
    assert isinstance(op, Create)
    e = op.entity
    if not e.knows:
        return  # (``create.invalid`` refused knows on anything but a character)
    actor = c.actor()
    for fact in e.knows:
        if c.v.kind(fact) != "fact":
            c.fail(f"'{fact}' is not a known fact: a newcomer knows only facts the world has",
                   tuple(c.s.closest(fact, kind="fact")))
            return
        # A secret leaves its knowers only through one of them. (The player conjures
        # no people at all: ``scope.player``.)
        if c.v.s.is_secret(fact) and not (actor and c.v.knows(actor, fact)):
            c.fail(f"'{fact}' is a secret {f'{actor!r} does not know' if actor else 'here'}: "
                   "a newcomer may not arrive knowing it (give them a fact that is not [secret])")
            return


KNOW_UNKNOWN = Rule("know.unknown", "A character tells (or changes) only a fact they know.",
                    ("tell", "fact"), _knows_it, teach=untaught, fault="world")
KNOW_ABSENT = Rule("know.absent", "A character tells only someone in the same place.", ("tell",),
                   _listener_here, teach=untaught, fault="world")
KNOW_SOURCE = Rule("know.source", "Learning from a thing needs the thing at hand, and that it "
                   "reveals the fact.", ("learn",), _thing_reveals_it, teach=untaught,
                   fault="world")
KNOW_NEWCOMER = Rule("know.newcomer", "A new character arrives knowing only facts the world "
                     "has, and no secret the actor does not know.", ("create",),
                     _newcomer_knows, teach=untaught, fault="world")
KNOW_WITNESS = Rule("know.witness", "Overhearing needs the fact told, found or shown where one "
                    "stands, earlier in the same beat.", ("learn",), _witnessed, teach=untaught,
                    fault="world")
