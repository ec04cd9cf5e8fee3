"""The procedural storyteller: no model, seeded, and bound by the same rules as any.

NPC beats pick a weighted archetype whose preconditions hold in the world
(wander, meet, talk, trade, quarrel, befriend, find, arrive, discover, fall ill,
die) and build its ops; world beats bring weather, a newcomer or a new place;
player beats go through :mod:`~simengine.storytellers.parser` and
:mod:`~simengine.storytellers.player`, which propose what the words mean
*without* second-guessing it, so the engine's rules, not the parser, decide
what a player may do; a person the player addressed answers in their own beat. Every random
choice comes from a ``random.Random`` seeded from (storyteller seed, beat seed,
tick, actor): same inputs, same story.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import random
import weakref
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

from simengine.storytellers import gossip
from simengine.storytellers import player as players
from simengine.storytellers.base import Intent, RecentEvent, Scene, Steer
from simengine.storytellers.namegen import NameGen
from simengine.storytellers.narration import tell
from simengine.storytellers.parser import parse
from simengine.storytellers.scene import clip, pick_location
from simengine.storytellers.wording import HEALTH, MOOD, changeable_number
from simengine.world.calls import Call
from simengine.world.ops import (
    Adjust,
    Create,
    Kill,
    Move,
    NewEntity,
    Op,
    Proposal,
    Relate,
    Transfer,
    Unrelate,
)
from simengine.world.rules import Violation, invention_budget
from simengine.world.seeds import mix_seed
from simengine.world.state import FACT, WorldState
from simengine.world.text import fresh_id, ref

ARCHETYPES: tuple[str, ...] = (
    "wander", "meet", "talk", "trade", "quarrel", "befriend",
    "find", "arrive", "discover", "fall_ill", "die",
)
WEIGHTS: dict[str, float] = {
    "wander": 3.0, "meet": 2.0, "talk": 3.0, "trade": 4.0, "quarrel": 1.0, "befriend": 1.2,
    # Finding and arriving invent things: kept rarer so a story is not all trinkets
    # and strangers.
    "find": 0.6, "arrive": 0.4, "discover": 0.3, "fall_ill": 0.6, "die": 0.15,
}
WORLD_EVENTS: dict[str, float] = {"weather": 4.0, "arrive": 1.2, "discover": 0.8}
#: Nobody dies of an archetype in a world with fewer living characters than this.
MIN_POPULATION_FOR_DEATH = 6
_HOSTILE_ORDER = ("rival_of", "enemy_of", "distrusts")

#: A planned beat: its summary and its ops in bundles that stand or fall together.
Plan = tuple[str, list[list[Op]]]


@dataclass(frozen=True)
class TickMemory:
    """What already happened to an actor this tick, so a beat does not undo or mirror it.

    Attributes:
        partners: the people who already shared a beat with the actor this tick
            (B does not meet A right after A met B).
        items: the things that already changed hands or place this tick (no item
            goes back and forth in one tick).
        dealt: the things that changed hands or place in the last
            :data:`TRADE_REST` ticks: nobody sells or buys them back yet.
        came_from: the place the actor left lately (within :data:`TURN_BACK_REST`
            ticks): a stroll does not lead straight back there.
    """

    partners: frozenset[str] = frozenset()
    items: frozenset[str] = frozenset()
    dealt: frozenset[str] = frozenset()
    came_from: str | None = None


#: After an item changes hands, this many ticks pass before anyone trades it again
#: (no buying back what was just sold, no cutlass going to and fro).
TRADE_REST = 24
#: Ticks during which a wanderer does not turn straight back to where they came from.
TURN_BACK_REST = 6


class _Kinds:
    """What :func:`tick_memory` keeps of one state between beats.

    ``of``: id(event) -> (the event, its items, its locations, its characters).
    What an event's ids are never changes in one state (nothing leaves a world or
    changes kind): each event is sorted into kinds once, not at every beat that
    reads it. The event is kept with its kinds, so a recycled id() is never taken
    for it.

    ``history``, ``index``: the last history read and its events by actor;
    ``window``, ``dealt``: its events of the last :data:`TRADE_REST` ticks and how
    many of them moved each item. A session's next history (and window) is the last
    one with its oldest events gone and new ones added: only those are looked at,
    not all 240 events at every beat (events equal to those read before have the
    same ids, so the same items).
    """

    def __init__(self) -> None:
        self.of: dict[int, tuple] = {}
        self.history: list[RecentEvent] = []
        self.index: dict[str | None, list[RecentEvent]] = {}
        self.window: list[RecentEvent] = []
        self.dealt: Counter[str] = Counter()

    def sorted(self, state: WorldState, ev: RecentEvent) -> tuple:
        """(the event, its items, its locations, its characters), in their order."""
        hit = self.of.get(id(ev))
        if hit is None or hit[0] is not ev:
            if len(self.of) >= 4096:
                self.of.clear()
            ids = ev.involves
            hit = self.of[id(ev)] = (ev, state.of_kind(ids, "item"),
                                     state.of_kind(ids, "location"),
                                     state.of_kind(ids, "character"))
        return hit

    def dealt_in(self, state: WorldState, window: list[RecentEvent]) -> frozenset[str]:
        """The items among the ids of the events of ``window``."""
        old = self.window
        gone = _gone(old, window)
        if gone is None:  # another history (an undo, a branch): read afresh
            old, gone, self.dealt = [], 0, Counter()
        dealt = self.dealt
        for ev in old[:gone]:
            for item in self.sorted(state, ev)[1]:
                dealt[item] -= 1
                if not dealt[item]:
                    del dealt[item]  # no event of the window moved it
        for ev in window[len(old) - gone:]:
            dealt.update(self.sorted(state, ev)[1])
        self.window = window
        return frozenset(dealt)

    def by_actor(self, history: list[RecentEvent]) -> dict[str | None, list[RecentEvent]]:
        """The events of ``history`` by actor, each actor's in their order."""
        old = self.history
        gone = _gone(old, history)
        if gone is None:  # another history (an undo, a branch): read afresh
            old, gone, self.index = [], 0, {}
        for ev in old[:gone]:  # the oldest first, so each is the first of its actor's
            self.index[ev.actor].pop(0)
        for ev in history[len(old) - gone:]:
            self.index.setdefault(ev.actor, []).append(ev)
        self.history = history
        return self.index


def _gone(old: list[RecentEvent], new: list[RecentEvent]) -> int | None:
    """How many of ``old``'s first events ``new`` has lost, if ``new`` goes on with the
    rest of ``old`` (equal events, in order); else None."""
    if not old or not new:
        return len(old)
    try:
        gone = old.index(new[0])
    except ValueError:
        return len(old)  # every one of them gone
    return gone if new[:len(old) - gone] == old[gone:] else None


#: id(state) -> (the state, held weakly; what tick_memory keeps of it).
_KINDS_OF: dict[int, tuple[weakref.ref, _Kinds]] = {}


def _kinds_of(state: WorldState) -> _Kinds:
    """The state's :class:`_Kinds` (one lookup a beat, not one an event)."""
    hit = _KINDS_OF.get(id(state))
    if hit is not None and hit[0]() is state:
        return hit[1]
    if len(_KINDS_OF) >= 16:
        _KINDS_OF.clear()
    kinds = _Kinds()
    _KINDS_OF[id(state)] = (weakref.ref(state), kinds)
    return kinds


_tick = operator.attrgetter("tick")


def tick_memory(scene: Scene, actor: str | None) -> TickMemory:
    """The actor's :class:`TickMemory` from the scene's recent events."""
    if actor is None:
        return TickMemory()
    state = scene.state
    kinds = _kinds_of(state)
    partners: set[str] = set()
    items: set[str] = set()
    here, before, arrived = state.where(actor), None, None
    horizon = scene.tick - TRADE_REST
    # The history is in tick order (newest last): its last TRADE_REST ticks are its tail.
    lately = scene.history[bisect.bisect_right(scene.history, horizon, key=_tick):]
    dealt = kinds.dealt_in(state, lately)
    seen = set(map(id, lately))  # the scene's recent events are the history's, as a rule
    more = [ev for ev in scene.recent if ev.tick > horizon and id(ev) not in seen]
    if more:
        dealt = dealt.union(*(kinds.sorted(state, ev)[1] for ev in more))
    mine = itertools.chain(kinds.by_actor(scene.history).get(actor, ()),
                           (ev for ev in scene.recent if ev.actor == actor))
    for ev in mine:  # oldest first
        # a move involves where it went: the place before is the last other
        places = kinds.sorted(state, ev)[2]
        if here in places:
            arrived = ev.tick
        before = next((e for e in places if e != here), before)
    came_from = before if arrived is not None and arrived > scene.tick - TURN_BACK_REST else None
    present = actor in state
    for ev in scene.recent:
        if ev.tick != scene.tick:
            continue
        # (of_kind leaves out the ids this state does not hold)
        _, moved, _, people = kinds.sorted(state, ev)
        items.update(moved)
        if (present and actor in ev.involves) or ev.actor == actor:
            partners.update(e for e in people if e != actor)
            if ev.actor and ev.actor != actor:
                partners.add(ev.actor)
    return TickMemory(frozenset(partners), frozenset(items), dealt, came_from)


# ------------------------------------------------------------ world facts
def _value(state: WorldState, e: str, attribute: str) -> float:
    current = state.attr(e, attribute)
    if current is None:
        d = state.attribute_def(attribute)
        current = d.default if d and d.default is not None else 0
    return current if isinstance(current, int | float) and not isinstance(current, bool) else 0


def _room_to_lower(state: WorldState, e: str, attribute: str) -> float:
    """How far an attribute can fall and stay above its minimum (by at least 1)."""
    d = state.attribute_def(attribute)
    current = _value(state, e, attribute)
    if d is None or d.min is None:
        return max(current, 0) + 25
    return current - d.min - 1


def _others_here(state: WorldState, actor: str, memory: TickMemory | None = None) -> list[str]:
    """The living people here besides ``actor`` (not those it already dealt with this tick)."""
    here = state.where(actor)
    skip = memory.partners if memory else frozenset()
    return [p for p in state.people_at(here) if p != actor and p not in skip] if here else []


_acquainted = gossip.acquainted


def _budget(state: WorldState) -> int:
    return invention_budget(float(state.world.get("creativity", 0.5)))


def _currency(state: WorldState) -> str | None:
    cur = state.currency
    d = state.attribute_def(cur) if cur else None
    if d is None or not d.numeric or d.protected or "character" not in d.kinds:
        return None
    return cur


def _amount(state: WorldState, attribute: str, value: float) -> int | float | None:
    """``value`` as the attribute's type takes it, or None if it cannot be paid exactly."""
    d = state.attribute_def(attribute)
    if d is not None and d.type == "int":
        return int(value) if float(value).is_integer() else None
    return value


def trades(state: WorldState, actor: str,
           memory: TickMemory | None = None) -> list[tuple[str, str, str, int | float]]:
    """(buyer, seller, item, price) deals the actor could make with someone here."""
    return list(_deals(state, actor, _others_here(state, actor, memory), memory))


def _deals(state: WorldState, actor: str, others: list[str],
           memory: TickMemory | None) -> Iterator[tuple[str, str, str, int | float]]:
    """:func:`trades` with ``others`` (:func:`_others_here`) at hand, one deal at a time:
    whether there is any deal is found at the first."""
    cur = _currency(state)
    if cur is None:
        return
    d = state.attribute_def(cur)
    moved = (memory.items | memory.dealt) if memory else frozenset()
    held = state.inventory(actor) if others else []  # (what the actor sells to each)
    for other in others:
        for buyer, seller in ((actor, other), (other, actor)):
            if state.player in (buyer, seller) and actor != state.player:
                continue  # the player's purse and goods move on the player's word only
            for item in held if seller == actor else state.inventory(seller):
                if item in moved:
                    continue  # it changed hands lately: no buying back, no to and fro
                price = _amount(state, cur, state.price(item))
                if not price or price <= 0 or _value(state, buyer, cur) < price:
                    continue
                if d and d.max is not None and _value(state, seller, cur) + price > d.max:
                    continue
                yield buyer, seller, item, price


def _quarrels(state: WorldState, actor: str,
              others: list[str]) -> Iterator[tuple[str, str | None]]:
    """(other, the hostile tie to add or None) for each of ``others`` the actor could
    quarrel with, one at a time."""
    kinds = state.relation_kinds
    mood = changeable_number(state, MOOD)
    for other in others:
        rel = next((r for r in _HOSTILE_ORDER
                    if r in kinds and not state.has_relation(actor, r, other)), None)
        if rel or (mood and _room_to_lower(state, actor, mood) >= 1):
            yield other, rel


def _populous(state: WorldState) -> bool:
    """At least MIN_POPULATION_FOR_DEATH living characters (stops counting there)."""
    living = 0
    for e in state.entities("character"):
        living += state.is_alive(e)
        if living >= MIN_POPULATION_FOR_DEATH:
            return True
    return False


def archetype_options(state: WorldState, actor: str, memory: TickMemory | None = None, *,
                      others: list[str] | None = None) -> dict[str, float]:
    """The archetypes whose preconditions hold for ``actor`` now, with their weights.

    ``memory`` (what the actor already did this tick) rules out beats that would
    mirror or undo it. ``others``: :func:`_others_here`, if the caller has it.
    """
    if state.kind(actor) != "character" or not state.is_alive(actor):
        return {}
    here = state.where(actor)
    if others is None:
        others = _others_here(state, actor, memory)
    kinds = state.relation_kinds
    moved = memory.items if memory else frozenset()
    budget = _budget(state)
    ok: dict[str, bool] = {
        "wander": bool(here and state.exits(here)),
        "meet": "knows" in kinds and any(not _acquainted(state, actor, o) for o in others),
        "talk": bool(others),
        "trade": next(_deals(state, actor, others, memory), None) is not None,
        "quarrel": next(_quarrels(state, actor, others), None) is not None,
        "befriend": "friend_of" in kinds and any(not state.has_relation(actor, "friend_of", o)
                                                 for o in others),
        "find": bool(here and (any(i not in moved for i in state.things_at(here))
                               or budget >= 1)),
        "arrive": bool(here) and budget >= 1,
        "discover": bool(here) and budget >= 1,
        "fall_ill": False,
        # The story needs its essential people: they never die of an archetype.
        "die": (actor != state.player and _populous(state)
                and not state.entity(actor).get("essential")),
    }
    health = changeable_number(state, HEALTH)
    ok["fall_ill"] = bool(health) and _room_to_lower(state, actor, health) >= 1
    weights = {a: WEIGHTS[a] for a in ARCHETYPES if ok[a]}
    if "die" in weights and health:
        d = state.attribute_def(health)
        if d and d.min is not None and d.max is not None and d.max > d.min:
            share = (_value(state, actor, health) - d.min) / (d.max - d.min)
            if share <= 0.2:  # the sick die more readily
                weights["die"] *= 8
    return weights


def _weighted(weights: dict[str, float], rng: random.Random) -> str | None:
    if not weights:
        return None
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def choose_archetype(state: WorldState, actor: str, rng: random.Random,
                     memory: TickMemory | None = None, steer: Steer | None = None, *,
                     others: list[str] | None = None) -> str:
    """A weighted, seeded choice among the archetypes possible for ``actor`` (else 'talk').

    A director's ``steer`` scales the weights (more quarrels in a crisis, no deaths
    outside one). ``others``: :func:`_others_here`, if the caller has it.
    """
    weights = archetype_options(state, actor, memory, others=others)
    if steer is not None:
        weights = {a: f for a, w in weights.items() if (f := w * steer.factor(a)) > 0}
    return _weighted(weights, rng) or "talk"


def choose_world_event(state: WorldState, rng: random.Random,
                       steer: Steer | None = None) -> str:
    """Weather, a newcomer or a new place, as the creativity budget (and director) allow."""
    weights = dict(WORLD_EVENTS)
    if _budget(state) < 1:
        weights = {"weather": weights["weather"]}
    if steer is not None:
        weights = {e: w * (1.0 if e == "weather" else steer.factor(e)) for e, w in weights.items()}
    return _weighted(weights, rng) or "weather"


# -------------------------------------------------------------- planning
def plan_archetype(
    archetype: str, state: WorldState, actor: str, rng: random.Random,
    memory: TickMemory | None = None, *, others: list[str] | None = None,
) -> Plan | None:
    """Summary and ops for one archetype, or None if it cannot be built here and now.

    A beat never proposes a tie the pair already has or a weaker one ("they meet"
    after they were friends), and with ``memory`` never mirrors or undoes what the
    actor already did this tick. ``others``: :func:`_others_here`, if the caller has it.
    """
    here = state.where(actor)
    name = state.name(actor)
    if others is None:
        others = _others_here(state, actor, memory)
    if archetype == "wander":
        if not (exits := state.exits(here) if here else []):
            return None
        onward = [x for x in exits if not memory or x != memory.came_from]
        dest = rng.choice(onward or exits)
        return f"{name} goes to {state.name(dest)}", [[Move(entity=actor, to=dest)]]
    if archetype in ("meet", "talk", "befriend"):
        rel = {"meet": "knows", "talk": "knows", "befriend": "friend_of"}[archetype]
        if archetype == "talk":
            pool = others
        elif archetype == "meet":  # anyone tied to the actor already knows them
            pool = [o for o in others if not _acquainted(state, actor, o)]
        else:
            pool = [o for o in others if not state.has_relation(actor, rel, o)]
        if not pool or rel not in state.relation_kinds:
            return None
        other = rng.choice(pool)
        ops: list[Op] = []
        # "knows" says less than any tie the pair already has: then it is not news.
        weaker = rel == "knows" and _acquainted(state, actor, other)
        if not weaker and not state.has_relation(actor, rel, other):
            ops.append(Relate(source=actor, relation=rel, target=other))
        if archetype != "talk" and not weaker and not state.has_relation(other, rel, actor):
            ops.append(Relate(source=other, relation=rel, target=actor))
        if archetype == "befriend":
            ops += [Unrelate(source=actor, relation=r, target=other)
                    for r in _HOSTILE_ORDER if state.has_relation(actor, r, other)]
        verb = {"meet": "meets", "talk": "talks with", "befriend": "befriends"}[archetype]
        return f"{name} {verb} {state.name(other)}", [[op] for op in ops]
    if archetype == "trade":
        deals = list(_deals(state, actor, others, memory))
        if not deals:
            return None
        buyer, seller, item, price = rng.choice(deals)
        cur = _currency(state)
        assert cur is not None
        bundle: list[Op] = [
            Adjust(entity=buyer, attribute=cur, by=-price),
            Adjust(entity=seller, attribute=cur, by=price),
            Transfer(item=item, to=buyer),
        ]
        summary = (f"{state.name(buyer)} buys {state.name(item)} from {state.name(seller)} "
                   f"for {price} {cur}")
        return summary, [bundle]
    if archetype == "quarrel":
        pairs = list(_quarrels(state, actor, others))
        if not pairs:
            return None
        other, rel = rng.choice(pairs)
        bundles: list[list[Op]] = []
        if rel:
            bundles.append([Relate(source=actor, relation=rel, target=other)])
        if state.has_relation(actor, "friend_of", other):
            bundles.append([Unrelate(source=actor, relation="friend_of", target=other)])
        mood = changeable_number(state, MOOD)
        room = _room_to_lower(state, actor, mood) if mood else 0
        if mood and room >= 1:
            by = -int(min(room, rng.randint(1, 3)))
            bundles.append([Adjust(entity=actor, attribute=mood, by=by)])
        return f"{name} quarrels with {state.name(other)}", bundles
    if archetype == "find":
        moved = memory.items if memory else frozenset()
        lying = [i for i in state.things_at(here) if i not in moved] if here else []
        if lying and (_budget(state) < 1 or rng.random() < 0.7):
            item = rng.choice(lying)
            return f"{name} finds {state.name(item)}", [[Transfer(item=item, to=actor)]]
        if _budget(state) < 1:
            return None
        new = _invent("item", state, actor, rng)
        if new is None:
            return None
        return f"{name} finds a {new.name}", [[Create(entity=new)]]
    if archetype == "arrive":
        new = _invent("character", state, here, rng)
        if new is None:
            return None
        return f"{new.name} arrives at {state.name(here)}", [[Create(entity=new)]]
    if archetype == "discover":
        new = _invent("location", state, here, rng)
        if new is None:
            return None
        bundle = [Create(entity=new), Move(entity=actor, to=new.id or "")]
        return f"{name} discovers {new.name}", [bundle]
    if archetype == "fall_ill":
        health = changeable_number(state, HEALTH)
        room = _room_to_lower(state, actor, health) if health else 0
        if not health or room < 1:
            return None
        drop = int(min(room, rng.randint(5, 25)))
        return f"{name} falls ill", [[Adjust(entity=actor, attribute=health, by=-drop)]]
    if archetype == "die":
        cause = NameGen.for_world(state).cause_of_death(rng)
        return f"{name} dies of {cause}", [[Kill(entity=actor, cause=cause)]]
    return None


def world_plan(event: str, state: WorldState, location: str | None, rng: random.Random) -> Plan:
    """A world beat at ``location``: weather (no ops), a newcomer or a new place."""
    where = state.name(location) if location else "the world"
    if event in ("arrive", "discover"):
        new = _invent("character" if event == "arrive" else "location", state, location, rng)
        if new is not None:
            verb = "arrives at" if event == "arrive" else "is found beyond"
            return f"{new.name} {verb} {where}", [[Create(entity=new)]]
    phrase = NameGen.for_world(state).weather(rng)
    return f"{phrase[:1].upper()}{phrase[1:]} over {where}", []


NEWCOMER_TRAITS = ("wary", "curious", "talkative", "proud", "greedy", "kind", "restless",
                   "secretive", "brave", "nervous", "honest", "sly", "patient", "quick-tempered")


def newcomer_goal(state: WorldState, at: str, rng: random.Random) -> str:
    """A reason for a newcomer to be in the story: someone, something or a loss here."""
    people = [c for c in state.sorted_ids("character")[:201] if c != state.player][:200]
    dead = [c for c in people if not state.is_alive(c)]
    living = [c for c in people if state.is_alive(c)]
    priced = [i for i in state.sorted_ids("item")[:200] if state.price(i) > 0]
    options = [f"find work at {ref(state.name(at), 'location')}"]
    if dead:
        options.append(f"learn what became of {state.name(rng.choice(dead))}")
    if living:
        who = state.name(rng.choice(living))
        options += [f"find {who}", f"settle an old debt with {who}"]
    if priced:
        options.append(f"get hold of {ref(state.name(rng.choice(priced)), 'item')}")
    return rng.choice(options)


def newcomer_rumour(state: WorldState, rng: random.Random) -> list[str]:
    """A fact a newcomer brings (none where nobody knows more than another): never a secret,
    never lore that everyone knows, so asking them about it gets an answer worth having."""
    if not state.private_knowledge():
        return []
    facts = itertools.islice(state.entities(FACT), 200)
    rumours = [f for f in facts if not state.is_secret(f) and not state.is_public(f)]
    return [rng.choice(rumours)] if rumours else []


def _invent(kind: str, state: WorldState, at: str | None, rng: random.Random) -> NewEntity | None:
    """A new character, place or item at ``at``: a fresh name, a slug id, no attributes.

    Attributes are left to the world's defaults, so an invention never mints
    currency, a price or a protected value. A new character comes with two traits,
    a goal tied to the world (someone to find, a death to learn about ...) and, where
    people know different things, a rumour (:func:`newcomer_rumour`).
    """
    if at is None or at not in state or _budget(state) < 1:
        return None
    gen = NameGen.for_world(state)
    made = {"character": gen.person, "location": gen.place, "item": gen.thing}[kind](rng, state)
    if made is None:
        return None
    extra: dict = {}
    if kind == "character":
        extra = {"traits": rng.sample(NEWCOMER_TRAITS, 2),
                 "goals": [newcomer_goal(state, at, rng)],
                 "knows": newcomer_rumour(state, rng)}
    return NewEntity(id=fresh_id(made[0], state.__contains__, kind), kind=kind,  # type: ignore[arg-type]
                     name=made[0], description=made[1], at=at, **extra)


def _prune(plan: Plan, feedback: Sequence[Violation]) -> Plan:
    """Drop every bundle an indexed violation names; anything unindexed drops it all."""
    summary, bundles = plan
    named = {getattr(v, "op_index", None) for v in feedback}
    if None in named:
        return summary, []
    owner = dict(enumerate(b for b, bundle in enumerate(bundles) for _ in bundle))
    if any(n not in owner for n in named):
        return summary, []
    dropped = {owner[n] for n in named}
    return summary, [bundle for b, bundle in enumerate(bundles) if b not in dropped]


# --------------------------------------------------------- player words
# The parser and the player's plans live in parser.py and player.py; these names
# stay importable from here.
def parse_command(text: object) -> tuple[str, str, str]:
    """``(verb, object, target)`` of the first command in a player's words."""
    first = parse(text)[0]
    return first.verb, first.obj, first.target


class ProceduralStoryteller:
    """A storyteller without a model: seeded archetypes, parsed player words, templates.

    Args:
        seed: mixed into every choice, so two tellers with different seeds tell
            different stories of the same world.
        voice: ``second`` tells the player's own doings as "you"; ``third`` by name.
    """

    name = "procedural"

    def __init__(self, seed: int = 0, voice: str = "third"):
        self.seed = seed
        self.voice = voice
        self.last_archetype: str | None = None
        self._last: OrderedDict[tuple, Plan] = OrderedDict()
        # What a beat's plan reads as, for narrate: (tick, actor) -> player turn or answer.
        self._told: OrderedDict[tuple, players.TurnPlan | players.Reaction] = OrderedDict()
        self._named: dict[str, tuple] = {}  # the player's last thing and person named ("it")
        self._topics: dict[frozenset, str] = {}  # what each pair talked of last

    def rng_for(self, scene: Scene, intent: Intent) -> random.Random:
        """The RNG of one beat: a function of the seeds, the tick and the actor only."""
        return random.Random(mix_seed("propose", self.seed, intent.kind, intent.seed,
                                      scene.tick, intent.actor or ""))

    def _remember(self, key: tuple, told: players.TurnPlan | players.Reaction) -> None:
        self._told[key] = told
        self._told.move_to_end(key)
        while len(self._told) > 64:
            self._told.popitem(last=False)

    def plan(self, scene: Scene, intent: Intent) -> Plan:
        """The beat this storyteller wants, before any feedback."""
        state, rng = scene.state, self.rng_for(scene, intent)
        actor = intent.actor or (state.player if intent.kind == "player" else None)
        if intent.kind == "world" or actor is None:
            location = scene.location if scene.location in state else pick_location(
                state, intent.seed)
            event = choose_world_event(state, rng, intent.steer)
            self.last_archetype = event
            return world_plan(event, state, location, rng)
        if actor not in state or not state.is_alive(actor):
            self.last_archetype = None
            return f"{state.name(actor)} does nothing", []
        if intent.kind == "player":
            self.last_archetype = "player"
            turn = players.plan_turn(state, actor, intent.text, rng,
                                     self._named.get(actor), scene.recent)
            self._named[actor] = turn.named
            self._remember((scene.tick, actor), turn)
            return turn.summary or f"{state.name(actor)} hesitates", turn.bundles
        if intent.cue and state.player:
            # What the player heard this tick and last: an answer is not said twice.
            heard: list[str] = []
            for key in ((scene.tick, state.player), (scene.tick - 1, state.player),
                        (scene.tick - 1, actor)):
                told = self._told.get(key)
                if isinstance(told, players.TurnPlan):
                    heard += [line for step in told.steps for line in step.you + step.they]
                elif told is not None:
                    heard += told.you + told.they
            answer = players.react(state, actor, state.player, intent.cue, rng, scene.recent,
                                   heard)
            if answer is not None:
                self.last_archetype = "answer"
                self._remember((scene.tick, actor), answer)
                return answer.summary, answer.bundles
        memory = tick_memory(scene, actor)
        # Its own RNG: in a world without gossip, the story is what it always was.
        told = gossip.plan_gossip(state, actor, random.Random(mix_seed(
            "gossip", self.seed, intent.seed, scene.tick, actor)), memory.partners)
        if told is not None:
            self.last_archetype = "gossip"
            summary, bundles = told
            said = bundles[0][0]
            line = summary.rstrip(".") + "."
            you = (f'{state.name(actor)} tells you: "{state.fact_text(said.fact)}"'  # type: ignore
                   if said.to == state.player else line)  # type: ignore[union-attr]
            self._remember((scene.tick, actor), players.Reaction(summary, bundles, [you], [line]))
            return told
        steer = intent.steer
        here = state.where(actor)
        if (steer and steer.toward and here and steer.toward in state.exits(here)
                and rng.random() < 0.6):  # an aim: the goal's place, or the player's path
            archetype = "wander"
            planned: Plan | None = (f"{state.name(actor)} goes to {state.name(steer.toward)}",
                                    [[Move(entity=actor, to=steer.toward)]])
        else:
            if steer and steer.toward is not None and steer.toward == here:
                steer = steer.without("wander")  # where its aim is: it stays
            others = _others_here(state, actor, memory)  # (asked once for both)
            archetype = choose_archetype(state, actor, rng, memory, steer, others=others)
            planned = plan_archetype(archetype, state, actor, rng, memory, others=others)
        if planned is None:  # a builder can still fail (every invented name taken ...)
            archetype = "talk" if _others_here(state, actor, memory) else "look"
            planned = plan_archetype(archetype, state, actor, rng, memory) or (
                f"{state.name(actor)} waits", [])
        self.last_archetype = archetype
        self._told.pop((scene.tick, actor), None)
        return planned

    def named(self, actor: str) -> tuple | None:
        """The last thing and person the player named ("take it", "ask him")."""
        return self._named.get(actor)

    def refusals(self, scene: Scene, intent: Intent) -> list[Violation]:
        """What the player's words named that the world could not act on (``parse.*``)."""
        told = self._told.get((scene.tick, intent.actor))
        if intent.kind != "player" or not isinstance(told, players.TurnPlan):
            return []
        return told.refusals

    def explain(self, scene: Scene, intent: Intent,
                rejected: Sequence[Violation]) -> list[str]:
        """The rejections of a player's turn in the world's words, one line each."""
        told = self._told.get((scene.tick, intent.actor))
        plan = told if isinstance(told, players.TurnPlan) else None
        return players.explanations(scene.state, plan, list(rejected))

    async def propose(
        self, scene: Scene, intent: Intent, feedback: Sequence[Violation] = ()
    ) -> Proposal:
        key = (intent.kind, intent.actor, intent.seed, intent.text, scene.tick)
        if feedback:
            base = self._last.get(key) or self.plan(scene, intent)
            plan = _prune(base, feedback)
            if not plan[1]:
                who = scene.state.name(intent.actor) if intent.actor else "The world"
                plan = (f"{who} hesitates, and lets the moment pass", [])
        else:
            plan = self.plan(scene, intent)
        self._last[key] = plan
        self._last.move_to_end(key)
        while len(self._last) > 64:
            self._last.popitem(last=False)
        actor = intent.actor
        if actor is not None and (actor not in scene.state or not scene.state.is_alive(actor)):
            actor = None  # the dead do not act: not even emptily
        ops = [op for bundle in plan[1] for op in bundle]
        return Proposal(actor=actor, summary=clip(plan[0], 400), ops=ops)

    async def narrate(
        self, scene: Scene, accepted: Proposal, rejected: Sequence[Violation] = ()
    ) -> AsyncIterator[str]:
        """Two to four sentences about what the accepted proposal did, one per chunk."""
        ops = [op.model_dump(mode="json") for op in accepted.ops]
        reasons = [str(v) for v in rejected]
        rng = random.Random(mix_seed("narrate", self.seed, scene.tick, accepted.actor,
                                     accepted.summary, ops, reasons))
        told = self._told.get((scene.tick, accepted.actor))
        planned = ([op for b in told.bundles for op in b] if isinstance(told, players.TurnPlan)
                   else [op for b in told.bundles for op in b] if told is not None else [])
        if told is not None and all(op in planned for op in accepted.ops):
            sentences = players.tell_planned(scene.state, told, accepted, list(rejected),
                                             self.voice)
        else:
            sentences = tell(scene, accepted, list(rejected), rng, voice=self.voice,
                             topics=self._topics)
            while len(self._topics) > 512:  # the pairs talked of least lately go first
                self._topics.pop(next(iter(self._topics)))
        for i, sentence in enumerate(sentences):
            yield sentence if i == len(sentences) - 1 else sentence + " "

    def drain_calls(self) -> list[Call]:
        """No model calls are ever made."""
        return []
