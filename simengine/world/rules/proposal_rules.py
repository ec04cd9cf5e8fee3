"""The built-in rules of a beat as a whole: money, prices, the player, the actor.

Some look at single ops too (a price set on the player's word, an NPC moving the
player), but what they guard is the beat: money only changes hands, goods are
paid for, the player's turn reaches only their scene, and others' beats leave the
player's person and purse alone.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Any

from simengine.world.ops import Adjust, Create, Fact, Kill, Move, OpBase, SetAttr
from simengine.world.rules.base import (
    EVERY_OP,
    PROPOSAL,
    Rule,
    exact,
    exactly,
    fmt,
    untaught,
)
from simengine.world.rules.checking import Checking, Handover
from simengine.world.spec import PRICE_ATTRIBUTE, AttributeDef
from simengine.world.state import WorldState

# ------------------------------------------------------------------ the player


def _hands_off_the_player(c: Checking, op: OpBase | None) -> None:
    """Other beats do not move, wound, kill or rob the player unless ``npcs_may`` says so."""
    match op:
        case None:
            _players_own(c)
        case Move() if c.by_others(op.entity):
            c.fail(f"'{op.entity}' is the player's character and goes where the player says; "
                   "no other beat moves them")
        case Kill():
            _harm(c, op.entity, "kill")
        case Adjust() if (d := c.defs[op.attribute]).numeric and not d.conserved and op.by < 0:
            _harm(c, op.entity, "wound")


def _harm(c: Checking, e: str, deed: str) -> None:
    if c.by_others(e) and deed not in c.npcs_may:
        allowed = ", ".join(sorted(c.npcs_may)) or "nothing"
        c.fail(f"'{e}' is the player's character: in this world other beats may not {deed} "
               f"them (npcs_may: {allowed})")


def _players_own(c: Checking) -> None:
    """The player's money and belongings leave them only on the player's own turn,
    unless the world lets others rob them (``npcs_may``)."""
    player = c.s.player
    if player is None or player not in c.s or not c.s.is_alive(player):
        return
    if "rob" in c.npcs_may:
        return
    for h in c.handovers():
        if h.before == player and h.after != player:
            c.fail_at(h.index, "transfer", f"'{h.item}' is the player's; only the player gives "
                      "it away")
    cur = c.currency
    if cur:
        spent = [(i, op) for i, op in c.adjustments(cur) if op.entity == player]
        if spent and sum(exactly(op.by) for _, op in spent) < 0:
            c.fail_at(spent[-1][0], "adjust",
                      f"the player's {cur} is spent only on the player's own turn")


def _players_scene(c: Checking, op: OpBase | None) -> None:
    if op is None:
        _acted_by_its_actor(c)
        _consent(c)
        return
    scope, here = c.player_scope()
    scope = scope | set(c.v.new)
    player = c.player()
    if isinstance(op, Create):
        refs = [e for e in [op.entity.at] if e]
        if op.entity.kind == "location" and op.entity.at != here:
            c.fail("a place a player finds opens off where they stand")
            refs = []
        if op.entity.kind in ("character", "faction"):
            c.fail(f"a player speaks for their own character only; "
                   f"new {op.entity.kind}s come from the world, not the player's words")
        for name, value in op.entity.attributes.items():
            d = c.defs.get(name)
            priced = name == PRICE_ATTRIBUTE and value != 0  # "worth nothing" is fine
            if priced or (d and (d.protected or d.conserved)):
                c.fail(f"a player cannot bring '{name}' into being with their words")
    elif isinstance(op, Move):
        refs = [op.entity]  # where they may go is the travel rule's business
    else:  # a fact is known, not somewhere: the knowledge rules judge it
        refs = [value for _, value in op.references() if c.v.kind(value) != "fact"]
    for ref in refs:
        if ref not in scope and c.v.exists(ref):
            c.fail(f"'{ref}' is not in the player's scene; a player turn only touches the "
                   "player's character, the place they stand in and who and what is there")
    # Other people are the world's to move: a player's words do not make them go,
    # die, change, or feel anything (money changing hands is the consent check's).
    other = getattr(op, op.SUBJECT) if op.SUBJECT else None
    if (
        other is not None
        and other != player
        and c.v.kind(other) == "character"
        and c.v.alive(other)
        and not (isinstance(op, Adjust) and _conserved(c.defs.get(op.attribute)))
    ):
        c.fail(f"'{other}' is not the player's to {op.VERB}; "
               "others answer for themselves in their own beats")
    if isinstance(op, Fact):
        c.fail("what is true is the world's to say: a player's words do not make or change a "
               "fact (tell what you know, or learn it)")
        c.refuse()  # nor does the fact exist for the ops after it


def _conserved(d: AttributeDef | None) -> bool:
    return d is not None and d.conserved


def _acted_by_its_actor(c: Checking, op: OpBase | None = None) -> None:
    """The proposal's actor is the beat's (on a player's turn, the scope's business)."""
    actor = c.p.actor
    if actor is not None and actor in c.s and c.turn.actor and actor != c.turn.actor:
        c.fail(f"this beat is acted by '{c.turn.actor}', not '{actor}'")


def _consent(c: Checking) -> None:
    """Others give nothing away on a player's say-so: only trades for value, and
    nobody pays more than what they get was worth before the turn."""
    player = c.player()
    cur = c.currency
    received_value: dict[str, int | Fraction] = defaultdict(int)
    taken: dict[tuple[str, str], list[Handover]] = defaultdict(list)
    for h in c.handovers():
        if h.before == player and h.after is not None and h.after != player:
            received_value[h.after] += exactly(h.price)  # the player's goods, paid for
        if h.before is not None and h.before != player and c.was_alive(h.before):
            taken[(h.before, h.bundle)].append(h)
    for (before, bundle), items in taken.items():
        if sum(h.price for h in items) <= 0:
            c.fail_at(max(h.index for h in items), "transfer",
                      f"'{before}' holds '{bundle}'; a player cannot take it on their say-so")
    if not cur:
        return
    net: dict[str, int | Fraction] = defaultdict(int)
    last: dict[str, int] = {}
    for i, op in c.adjustments(cur):
        net[op.entity] += exactly(op.by)
        last[op.entity] = i
    for who, change in net.items():
        if who != player and change < 0 and received_value[who] < -change:
            c.fail_at(last[who], "adjust",
                      f"'{who}' does not part with {exact(-change)} {cur} on a player's say-so"
                      + (f" (what they get was worth {exact(received_value[who])})"
                         if received_value[who] else ""))


def _teach_scope(state: WorldState) -> list[str]:
    return ["A player's action touches only the player, their place and who and what is "
            "there; nobody gives anything away on the player's say-so."]


PLAYER_OWN = Rule("player.own", "No other beat moves the player, or harms or robs them beyond the "
                  "world's npcs_may.", ("move", "adjust", "kill", PROPOSAL),
                  _hands_off_the_player, turns=("npc", "world"), teach=untaught, fault="world")
SCOPE_PLAYER = Rule("scope.player", "A player's turn touches only the player, their place and "
                    "who and what is there.", (EVERY_OP, PROPOSAL), _players_scene,
                    turns=("player",), refuses=False, always=True,
                    teach=_teach_scope, fault="model")
ACTOR_MISMATCH = Rule("actor.mismatch", "A beat is acted by its own actor.", (PROPOSAL,),
                      _acted_by_its_actor, turns=("npc", "world"), teach=untaught, fault="model")

# ---------------------------------------------------------------------- prices


def _may_reprice(c: Checking, op: OpBase | None) -> None:
    """A price is the world's: never the player's word; else its owner's beat or the world's."""
    if isinstance(op, Create):
        e = op.entity
        if c.turn.kind == "player" and e.kind == "item" and PRICE_ATTRIBUTE not in e.attributes:
            d = c.defs.get(PRICE_ATTRIBUTE)
            if d is not None and "item" in d.kinds and d.numeric and (d.default or 0) > 0:
                c.fail(f"what a player brings into being carries no price: give '{e.id}' "
                       f"{PRICE_ATTRIBUTE} 0 (this world's default is {fmt(d.default)})")
        return
    assert isinstance(op, Adjust | SetAttr)
    e = op.entity
    if op.attribute != PRICE_ATTRIBUTE or c.v.kind(e) != "item":
        return
    if c.turn.kind == "player":
        c.fail(f"prices are the world's: a player's words do not set what '{e}' is worth")
        return
    owner = c.v.owner(e)
    if owner is None or not c.v.alive(owner) or c.turn.kind == "world" or owner == c.turn.actor:
        return
    c.fail(f"only '{owner}', who holds '{e}', can change its price")


def _gives_own(c: Checking, h: Handover) -> bool:
    """The owner may give: the player anything of theirs on their own turn, and an
    NPC may drop its own things (to nobody) on its own beat."""
    if c.turn.kind == "player":
        return h.before == c.player()
    return c.turn.kind == "npc" and h.before == c.turn.actor and h.after is None


def _paid_for(c: Checking, op: OpBase | None) -> None:
    cur = c.currency
    if not cur:
        return
    paid: dict[str, int | Fraction] = defaultdict(int)
    for _, adj in c.adjustments(cur):
        paid[adj.entity] += exactly(adj.by)
    owed: dict[str, list[Handover]] = defaultdict(list)
    for h in c.handovers():
        if h.before is None or not c.was_alive(h.before) or _gives_own(c, h):
            continue  # nobody's, the dead's, or the owner's to give
        if h.price > 0:
            owed[h.before].append(h)
    for holder, items in owed.items():
        due = sum(exactly(h.price) for h in items)
        if paid[holder] < due:
            names = ", ".join(
                f"'{h.item}' ({fmt(h.price)}"
                + (f", in '{h.bundle}')" if h.bundle != h.item else ")")
                for h in items
            )
            c.fail_at(max(h.index for h in items), "transfer",
                      f"{names} cost {exact(due)} {cur} in all, but '{holder}' is paid "
                      f"{exact(max(paid[holder], 0))}; pay the holder in the same proposal")


def _teach_prices(state: WorldState) -> list[str]:
    cur = state.currency
    if not cur:
        return []
    return [f"An item with a value leaves its holder only if the holder is paid at least that "
            f"much {cur} in the same proposal."]


PRICE_FIXED = Rule("price.fixed", "Prices are never set on the player's word, nor by someone not "
                   "holding the thing.", ("set", "adjust", "create"), _may_reprice,
                   teach=untaught, fault="world")
PRICE_UNPAID = Rule("price.unpaid", "An item with a value leaves its holder only if the holder is "
                    "paid at least that much in the same proposal.", (PROPOSAL,), _paid_for,
                    teach=_teach_prices, fault="world")

# ----------------------------------------------------------------------- money


def _money_changes_hands(c: Checking, op: OpBase | None) -> None:
    if op is not None:
        e = op.entity  # a newcomer starts with the default: money is not made
        for name, value in e.attributes.items():
            d = c.defs[name]
            if d.conserved and value != (d.default or 0):
                c.fail(f"'{name}' is conserved: a new {e.kind} starts with {fmt(d.default or 0)}")
                return
        return
    for name, d in c.defs.items():
        if not d.conserved:
            continue
        adj = c.adjustments(name)
        if not adj:
            continue
        # Exact arithmetic: 1e16 + 1 - 1e16 is 0 in floats, and a coin in a purse.
        total = sum(exactly(a.by) for _, a in adj)
        if total != 0:
            c.fail_at(adj[-1][0], "adjust",
                      f"'{name}' is conserved: adjustments must sum to 0, these sum to "
                      f"{exact(total)} (money only changes hands)")
        elif d.type == "float" and (drift := _drift(c, name, d, adj)) != 0:
            c.fail_at(adj[-1][0], "adjust",
                      f"'{name}' is conserved, but with these amounts the purses' total would "
                      f"drift by {exact(drift)} (rounding): use whole amounts")


def _drift(c: Checking, name: str, d: AttributeDef, adj: list[tuple[int, Adjust]]) -> Fraction:
    """How far the exact total moves when the adjustments are applied as apply() does."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for _, op in adj:
        if op.entity not in before:
            start = c.s.attr(op.entity, name) if op.entity in c.s else None
            if start is None:
                start = d.default if d.default is not None else 0
            before[op.entity] = after[op.entity] = start
        after[op.entity] = after[op.entity] + (int(op.by) if d.type == "int" else op.by)
    return sum((Fraction(after[e]) - Fraction(before[e]) for e in before), Fraction(0))


def _teach_money(state: WorldState) -> list[str]:
    cur = state.currency
    if not cur:
        return []
    return [f"{cur} is conserved: it only changes hands, so the {cur} adjustments in one "
            "proposal add up to 0."]


CURRENCY_CONSERVED = Rule("currency.conserved", "A conserved attribute (currency) only changes "
                          "hands: a proposal's adjustments sum to zero.", ("create", PROPOSAL),
                          _money_changes_hands, teach=_teach_money,
                          # Mostly a model's bookkeeping slip (a buyer pays, the seller is
                          # never paid): a repair completes what the player asked. A player
                          # who conjures money is refused after it all the same.
                          fault="model")
