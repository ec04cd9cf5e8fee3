"""Knowledge rules: who may tell, learn or make a fact, checked like the others.

Facts are nodes of the state graph (kind ``fact``) and knowing one is a
``knows`` edge from a character (see :class:`~simengine.world.state.WorldState`'s
``knows``, ``known_by``, ``facts_known``). Three ops change knowledge: ``tell``
(a character tells another a fact, both in one place), ``learn`` (a character
learns a fact from a thing at hand that reveals it, or by witnessing it told,
shown or found where they stand, earlier in the same beat) and ``fact`` (a new
fact, canon within the creativity budget and known by its inventor; or new text
for a fact, so lore changes with the story).

The checks here read and extend the rule checker's view (``chk.v``): what the
ops before this one taught, and where each fact came out this beat.

Rule ids:

=================  ===========================================================
``know.unknown``   telling (or changing) a fact the character does not know
``know.absent``    telling someone who is not in the teller's place
``know.source``    learning from a thing that is not at hand or does not reveal it
``know.witness``   learning by witnessing what nothing in the beat showed there
=================  ===========================================================

The dead tell and learn nothing (``dead.act``, like every other deed of theirs).
"""

from __future__ import annotations

import re
from typing import Any

from simengine.world.spec import SLUG_PATTERN

RULE_IDS = ("know.unknown", "know.absent", "know.source", "know.witness")


def _place(chk: Any, who: str) -> str | None:
    return chk.v.location_of(who)


def _teach(chk: Any, who: str, fact: str, where: str | None) -> None:
    chk.v.learned.add((who, fact))
    if where is not None:
        chk.v.shown.setdefault(fact, set()).add(where)


def check_tell(chk: Any, op: Any) -> None:
    """``tell``: the teller knows the fact, is alive, and the listener is there."""
    ok = chk.known(op.entity, "character") & chk.known(op.to, "character")
    if not (chk.known(op.fact, "fact") & ok):
        return
    if not chk.living(op.entity, "tell anything") or not chk.living(op.to, "learn anything"):
        return
    if op.entity == op.to:
        chk.fail("kind.mismatch", f"'{op.entity}' cannot tell themselves a fact")
        return
    if not chk.v.knows(op.entity, op.fact):
        chk.fail("know.unknown", f"'{op.entity}' does not know '{op.fact}', so cannot tell it "
                 "(a character tells only the facts the scene says they know)")
        return
    here, there = _place(chk, op.entity), _place(chk, op.to)
    if here is None or here != there:
        chk.fail("know.absent", f"'{op.to}' is in '{there}', not with '{op.entity}' in "
                 f"'{here}': tell only someone who is there")
        return
    _teach(chk, op.to, op.fact, here)


def check_learn(chk: Any, op: Any) -> None:
    """``learn``: from a thing at hand that reveals the fact, or by witnessing it here."""
    if not (chk.known(op.entity, "character") & chk.known(op.fact, "fact")):
        return
    if not chk.living(op.entity, "learn anything"):
        return
    here = _place(chk, op.entity)
    if op.item is not None:
        if not chk.known(op.item, "item"):
            return
        shows = chk.s.reveals(op.item) if op.item in chk.s else []
        if op.fact not in shows:
            told = ", ".join(shows) or "nothing"
            chk.fail("know.source", f"'{op.item}' does not reveal '{op.fact}' (it reveals: "
                     f"{told})")
            return
        if chk.v.location_of(op.item) != here:
            chk.fail("know.source", f"'{op.item}' is not at hand: it is in "
                     f"'{chk.v.location_of(op.item)}', and '{op.entity}' is in '{here}'")
            return
    elif here is None or here not in chk.v.shown.get(op.fact, ()):
        chk.fail("know.witness", f"nothing earlier in this beat shows '{op.fact}' where "
                 f"'{op.entity}' stands: learn it from a thing at hand ('item'), or be told")
        return
    _teach(chk, op.entity, op.fact, here)


def check_fact(chk: Any, op: Any) -> None:
    """``fact``: a new fact (an invention, known by ``entity``) or new text for one."""
    actor = chk.p.actor or chk.turn.actor
    if chk.turn.kind == "player":
        chk.fail("scope.player", "what is true is the world's to say: a player's words do "
                 "not make or change a fact (tell what you know, or learn it)")
        return
    if chk.v.exists(op.id) and chk.v.kind(op.id) == "fact":
        if chk.turn.kind != "world" and actor and not chk.v.knows(actor, op.id):
            chk.fail("know.unknown", f"'{actor}' does not know '{op.id}', so cannot change "
                     "what it says")
        return
    if chk.v.exists(op.id):
        chk.fail("create.invalid", f"id '{op.id}' is already taken by a {chk.v.kind(op.id)}")
        return
    if not re.match(SLUG_PATTERN, op.id):
        chk.fail("create.invalid", f"a new fact needs a slug id, got {op.id!r}")
        return
    knower = op.entity
    if knower is None and chk.turn.kind != "world":
        chk.fail("create.invalid", "a new fact needs 'entity': the character who knows it")
        return
    if knower is not None and not (chk.known(knower, "character")
                                   and chk.living(knower, "learn anything")):
        return
    if not chk.invents():
        return
    chk.v.new[op.id] = {"kind": "fact", "name": op.id, "at": None, "attributes": {},
                        "known_by": [knower] if knower else []}
    if knower is not None:
        _teach(chk, knower, op.id, _place(chk, knower))
