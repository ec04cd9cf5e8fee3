"""Random play, legit and hostile, through the real pipeline; an independent audit of every event.

Each step is a beat: a turn (the player's, an NPC's, the world's) and a proposal
mixing fair trades with cheats (teleports, looting the dead, look-alike names,
money from nowhere, netted-down bundles, priced pebbles ...). It goes through
what a session does with a model's proposal: canon resolves it, the rules check
it, what fails is dropped (``drop_failing``), the rest is applied.

The auditor below reads the raw graph before and after each committed event.
It shares no code with ``rules.py`` (nor with ``normalize_name``: look-alikes
come from Unicode's table in the confusable-homoglyphs package), so a rule that
let something through is caught here rather than excused by the same mistake.
"""

from __future__ import annotations

import json
import unicodedata
from fractions import Fraction
from importlib import resources

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from simengine.sim.decide import drop_failing
from simengine.world.canon import resolve
from simengine.world.ops import (
    Adjust,
    Connect,
    Create,
    Kill,
    Move,
    NewEntity,
    Proposal,
    Relate,
    SetAttr,
    Transfer,
)
from simengine.world.rules import Turn, check
from simengine.world.state import WorldState

PLAYER = "mara"
CURRENCY = "gold"


# ------------------------------------------------------------------ the auditor
def _latin_look_alikes() -> dict[str, str]:
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    out = {}
    for latin in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ":
        for entry in data.get(latin, []):
            if len(entry["c"]) == 1:
                out.setdefault(entry["c"], latin)
    return out


LOOK = _latin_look_alikes()


def same_name_key(name: str) -> str:
    """The auditor's own idea of one name: compatibility forms, case, invisibles, look-alikes."""
    text = unicodedata.normalize("NFKC", "".join(LOOK.get(c, c) for c in name))
    text = "".join(LOOK.get(c, c) for c in text if unicodedata.category(c) != "Cf")
    words = "".join(c if c.isalnum() else " " for c in text.casefold()).split()
    if words and words[0] in ("the", "a", "an"):
        words = words[1:]
    return " ".join(words)


class Snapshot:
    """What the auditor reads from the raw graph: no WorldState method is used."""

    def __init__(self, state: WorldState):
        g = state.graph
        self.nodes = {n: json.loads(json.dumps(d)) for n, d in g.nodes(data=True)}
        self.at: dict[str, list[str]] = {n: [] for n in self.nodes}
        for source, target, key in g.edges(keys=True):
            if key == "at":
                self.at[source].append(target)

    def kind(self, e: str) -> str:
        return self.nodes[e]["kind"]

    def alive(self, e: str) -> bool:
        return self.nodes[e].get("alive") is not False

    def up(self, e: str) -> list[str]:
        """The chain of holders above ``e`` (stops at a loop, which is reported elsewhere)."""
        chain, seen = [], {e}
        while len(self.at.get(e, [])) == 1:
            e = self.at[e][0]
            chain.append(e)  # on a loop, the first holder seen twice ends the chain
            if e in seen:
                break
            seen.add(e)
        return chain

    def owner(self, e: str) -> str | None:
        return next((h for h in self.up(e) if self.kind(h) == "character"), None)

    def held_by(self, c: str) -> set[str]:
        return {e for e in self.nodes if self.kind(e) == "item" and c in self.up(e)}

    def gold(self, c: str) -> Fraction:
        return Fraction(self.nodes[c]["attributes"].get(CURRENCY, 0))

    def price(self, e: str) -> Fraction:
        value = self.nodes[e]["attributes"].get("value", 0)
        return max(Fraction(value), Fraction(0))


def audit(before: Snapshot, after: Snapshot, turn: Turn) -> list[str]:
    """Every invariant the committed event broke, in words."""
    bad: list[str] = []
    # Currency totals are exact, and money is whole.
    totals = [sum((s.gold(c) for c in s.nodes if s.kind(c) == "character"), Fraction(0))
              for s in (before, after)]
    if totals[0] != totals[1]:
        bad.append(f"gold total went from {totals[0]} to {totals[1]}")
    for e, d in after.nodes.items():
        gold = d["attributes"].get(CURRENCY)
        if gold is not None and (type(gold) is not int or gold < 0):
            bad.append(f"{e} holds {gold!r} gold")
        value = d["attributes"].get("value", 0)
        old = before.nodes.get(e, {}).get("attributes", {}).get("value", 0)
        if d["kind"] == "item" and value < 0 and (e not in before.nodes or value != old):
            bad.append(f"{e} was given a negative price")
    # One place each, of the right kind; nothing inside itself.
    for e in after.nodes:
        kind, places = after.kind(e), after.at[e]
        if kind in ("character", "item") and len(places) != 1:
            bad.append(f"{e} is in {len(places)} places")
        elif kind == "character" and after.kind(places[0]) != "location":
            bad.append(f"{e} stands in {places[0]}, not a place")
        elif kind == "item" and after.kind(places[0]) == "faction":
            bad.append(f"{e} is inside a faction")
        elif kind == "item" and e in after.up(e):
            bad.append(f"{e} is inside itself")
    # The dead gain nothing, however deep.
    for c in before.nodes:
        if before.kind(c) == "character" and not before.alive(c):
            gained = after.held_by(c) - before.held_by(c)
            if gained:
                bad.append(f"dead {c} gained {sorted(gained)}")
    # Names are unique among the living of a kind, look-alikes included.
    seen: dict[tuple[str, str], str] = {}
    for e, d in after.nodes.items():
        if after.alive(e):
            key = (d["kind"], same_name_key(d["name"]))
            if key in seen:
                bad.append(f"{e} ({d['name']!r}) and {seen[key]} share a name")
            seen[key] = e
    if turn.kind != "player":
        # Other beats never move the player, nor (by default) rob or kill them.
        if before.at[PLAYER] != after.at[PLAYER]:
            bad.append(f"a {turn.kind} beat moved the player")
        if not after.alive(PLAYER) and before.alive(PLAYER):
            bad.append(f"a {turn.kind} beat killed the player")
        # A dead player is robbed of nothing: the dead's things may be taken, as anyone's.
        if before.alive(PLAYER) and (
            before.held_by(PLAYER) - after.held_by(PLAYER)
            or after.gold(PLAYER) < before.gold(PLAYER)
        ):
            bad.append(f"a {turn.kind} beat robbed the player")
    # Priced things leave the living only for payment (the owner may give: the player
    # anything of theirs on their turn, an NPC may drop its own on its beat).
    for c in before.nodes:
        if before.kind(c) != "character" or not before.alive(c):
            continue
        if turn.kind == "player" and c == PLAYER:
            continue
        lost = [i for i in before.held_by(c) if after.owner(i) != c]
        if turn.kind == "npc" and c == turn.actor:
            lost = [i for i in lost if after.owner(i) is not None]
        due = sum((before.price(i) for i in lost), Fraction(0))
        if due > 0 and after.gold(c) - before.gold(c) < due:
            bad.append(f"{c} lost {sorted(lost)} worth {due} for "
                       f"{after.gold(c) - before.gold(c)}")
        # On the player's word, nobody pays more than what they get was worth.
        if turn.kind == "player":
            got = sum((before.price(i) for i in before.held_by(PLAYER)
                       if after.owner(i) == c), Fraction(0))
            if before.gold(c) - after.gold(c) > got:
                bad.append(f"{c} paid {before.gold(c) - after.gold(c)} for {got} on the "
                           "player's word")
    # Prices are the world's: never set on the player's word.
    if turn.kind == "player":
        for e in before.nodes:
            if before.kind(e) == "item" and before.price(e) != after.price(e):
                bad.append(f"the player repriced {e}")
    for e in set(after.nodes) - set(before.nodes):
        if turn.kind == "player" and after.kind(e) == "item" and after.price(e) > 0:
            bad.append(f"the player made {e} with a price")
    return bad


# ------------------------------------------------------------------ the players
CHARACTERS = ["mara", "merchant", "silas", "oswin-look", "newcomer"]
ITEMS = ["lantern", "ship", "rope", "chest", "pearl", "curse", "pouch", "key", "trinket"]
PLACES = ["dock", "market", "vault-road", "vault", "cove"]
NAMES = ["Oswin", "\u041eswin", "Os\u200dwin", "\uff2fswin", "OSWIN", "Mara", "\u039cara",
         "Ivo", "\u0406vo", "Pearl", "P\u0435arl", "Cove", "Market", "the Market", "Rope"]
ANY = CHARACTERS + ITEMS + PLACES + NAMES + ["guild"]

amount = st.sampled_from([1, 2, 5, 60, 200, -1, -5, -60, -200, 0.5, 1e15, -1e15, 10**15])
ops = st.one_of(
    st.builds(Move, entity=st.sampled_from(CHARACTERS + NAMES), to=st.sampled_from(PLACES)),
    st.builds(Transfer, item=st.sampled_from(ITEMS + NAMES),
              to=st.sampled_from(CHARACTERS + ITEMS + PLACES)),
    st.builds(Adjust, entity=st.sampled_from(CHARACTERS + ITEMS),
              attribute=st.sampled_from(["gold", "value", "health"]), by=amount),
    st.builds(SetAttr, entity=st.sampled_from(CHARACTERS), attribute=st.just("mood"),
              value=st.sampled_from(["wary", "glad"])),
    st.builds(Relate, source=st.sampled_from(CHARACTERS), relation=st.just("knows"),
              target=st.sampled_from(CHARACTERS + NAMES)),
    st.builds(Connect, source=st.sampled_from(PLACES), target=st.sampled_from(PLACES + NAMES)),
    st.builds(Kill, entity=st.sampled_from(CHARACTERS)),
    st.builds(
        Create,
        entity=st.builds(
            NewEntity,
            id=st.sampled_from([None, "trinket", "oswin-look", "newcomer", "cove"]),
            kind=st.sampled_from(["character", "item", "location"]),
            name=st.sampled_from(NAMES),
            at=st.sampled_from([None, *PLACES, *CHARACTERS, "chest", "pouch", "key"]),
            attributes=st.sampled_from([{}, {"value": 60}, {"value": -199}, {"value": 0},
                                        {"gold": 0}, {"gold": 5}]),
        ),
    ),
)


#: What things cost at the start (the chest holds the pearl and a "curse").
PRICES = {"lantern": 5, "ship": 500, "pearl": 200, "chest": 200}


@st.composite
def trades(draw):
    """A fair or unfair trade: money one way, a thing the other, maybe through a bag."""
    buyer, seller = draw(st.sampled_from([("mara", "merchant"), ("merchant", "mara"),
                                          ("mara", "silas"), ("newcomer", "merchant")]))
    thing = draw(st.sampled_from(ITEMS))
    worth = PRICES.get(thing, 0)
    price = draw(st.sampled_from([worth, worth, worth - 1, worth + 1, 1]))
    route = draw(st.sampled_from(["direct", "drop first", "in a bag"]))
    moves = {"direct": [Transfer(item=thing, to=buyer)],
             "drop first": [Transfer(item=thing, to="dock"), Transfer(item=thing, to=buyer)],
             "in a bag": [Transfer(item=thing, to="chest"), Transfer(item="chest", to=buyer)]}
    return [Adjust(entity=buyer, attribute=CURRENCY, by=-price),
            Adjust(entity=seller, attribute=CURRENCY, by=price), *moves[route]]


turns = st.sampled_from([Turn("player", "mara"), Turn("npc", "merchant"), Turn("world")])
beat = st.tuples(turns, st.one_of(st.lists(ops, max_size=6),
                                  st.tuples(trades(), st.lists(ops, max_size=2)).map(
                                      lambda t: [*t[0], *t[1]])))


def starting_world(spec) -> WorldState:
    """The mini harbour with a chest worth opening and a dead man's pouch."""
    state = WorldState.from_spec(spec)
    attrs = dict(state.graph.graph["attributes"])
    attrs["value"] = {**attrs["value"], "min": None}  # prices' implied minimum holds
    state.graph.graph["attributes"] = attrs
    for rich in ("mara", "merchant"):  # enough money for the ship, so fair trades happen
        state.graph.nodes[rich]["attributes"]["gold"] += 600
    state.apply([
        Create(entity=NewEntity(id="chest", kind="item", name="Chest", at="merchant")),
        Create(entity=NewEntity(id="pearl", kind="item", name="Pearl", at="chest",
                                attributes={"value": 200})),
        Create(entity=NewEntity(id="curse", kind="item", name="Curse", at="chest")),
        Create(entity=NewEntity(id="pouch", kind="item", name="Pouch", at="silas")),
        Create(entity=NewEntity(id="key", kind="item", name="Brass Key", at="pouch")),
    ])
    # A negative number an older engine let in: it must not net the chest's price down.
    state.graph.nodes["curse"]["attributes"]["value"] = -199
    return state


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(beats=st.lists(beat, min_size=1, max_size=8))
@example(beats=[  # the player dies on their turn; someone then takes what they carried
    (Turn(kind="player", actor="mara"),
     [Transfer(item="rope", to="mara"), Kill(entity="mara", cause="")]),
    (Turn(kind="npc", actor="merchant"), [Transfer(item="rope", to="dock")]),
])
def test_no_committed_event_breaks_an_invariant(mini_spec, beats):
    state = starting_world(mini_spec)
    assert audit(Snapshot(state), Snapshot(state), Turn("world")) == []
    for tick, (turn, proposed) in enumerate(beats, 1):
        if turn.actor is not None and not state.is_alive(turn.actor):
            continue  # as in a session: the dead get no beats
        resolution = resolve(Proposal(actor=turn.actor, ops=proposed), state, turn)
        kept, _ = drop_failing(resolution.proposal, state, turn)
        assert check(kept, state, turn) == []
        if not kept.ops:
            continue
        before = Snapshot(state)
        state.apply(kept.ops, tick=tick)
        problems = audit(before, Snapshot(state), turn)
        assert problems == [], (turn, kept.ops, problems)


def test_the_auditor_catches_what_the_rules_forbid(mini_spec):
    """The auditor is not blind: forced-through cheats are each reported."""
    cheats = [
        (Turn("npc", "merchant"), [Adjust(entity="mara", attribute="gold", by=5)], "gold total"),
        (Turn("world"), [Transfer(item="lantern", to="pouch")], "dead silas gained"),
        (Turn("npc", "merchant"), [Move(entity="mara", to="market")], "moved the player"),
        (Turn("player", "mara"), [Transfer(item="lantern", to="mara")], "lost ['lantern']"),
        (Turn("player", "mara"), [Adjust(entity="lantern", attribute="value", by=50)],
         "repriced lantern"),
        (Turn("world"), [Create(entity=NewEntity(id="x", kind="character", name="\u041eswin",
                                                 at="dock"))], "share a name"),
        (Turn("world"), [Transfer(item="chest", to="pearl")], "inside itself"),
        (Turn("npc", "merchant"), [Adjust(entity="lantern", attribute="value", by=-9)],
         "negative price"),
        (Turn("npc", "merchant"), [Adjust(entity="merchant", attribute="gold", by=-1),
                                   Adjust(entity="mara", attribute="gold", by=1),
                                   Transfer(item="chest", to="mara")], "worth 200 for -1"),
    ]
    for turn, forced, phrase in cheats:
        state = starting_world(mini_spec)
        before = Snapshot(state)
        state.apply(forced, tick=1)  # straight past the rules
        problems = audit(before, Snapshot(state), turn)
        assert any(phrase in p for p in problems), (forced, problems)
