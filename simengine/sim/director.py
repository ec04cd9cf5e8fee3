"""The director: paces a story along a tension curve and steers beats toward its goals.

Like RimWorld's storytellers, the director keeps a curve of how much should be
going wrong: a build-up, a crisis, then relief, over and over, in cycles whose
lengths vary with the seed. The world file picks a style (``[story] director``):
``steady`` (the default), ``dramatic`` (shorter cycles, higher peaks) or
``calm`` (long cycles, soft peaks).

Each beat's :class:`~simengine.storytellers.base.Steer` says how far the measured
tension (what the last ticks' events did: deaths, wounds, quarrels, arrivals)
lags the curve, and so which archetypes the procedural storyteller favours and
what a model's prompt is told. Deaths come only in a crisis and never more
often than the style allows; nobody the world marks ``essential`` dies by
chance. People with open goals head for what the goal names, and a person or
thing an open player goal names is brought toward the player.

Everything is a function of (seed, tick, the save's recent events): same save,
same direction.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from simengine.storytellers.base import Steer
from simengine.world.ops import Adjust, Op
from simengine.world.state import WorldState
from simengine.world.story import Story, Thread, thread


@dataclass(frozen=True)
class Style:
    """A director's temperament."""

    cycle: int          # mean ticks from one build-up to the next
    peak: float         # the curve's height in a crisis (0..1)
    floor: float        # its height in relief
    death_gap: int      # at least this many ticks between deaths by chance
    event_rate: float   # factor on the world's world_event_rate in a crisis


STYLES: dict[str, Style] = {
    "steady": Style(cycle=30, peak=0.8, floor=0.05, death_gap=40, event_rate=2.0),
    "dramatic": Style(cycle=22, peak=1.0, floor=0.1, death_gap=20, event_rate=3.0),
    "calm": Style(cycle=48, peak=0.5, floor=0.0, death_gap=90, event_rate=1.2),
}
#: Shares of a cycle: build-up until BUILD, crisis until CRISIS, then relief.
BUILD, CRISIS = 0.6, 0.78
#: How fast the memory of an event fades, per tick.
DECAY = 0.8
#: Archetypes that raise tension, and those that ease it.
STIRRING = ("quarrel", "fall_ill", "die", "arrive", "discover")
SOOTHING = ("talk", "befriend", "meet", "trade")


def intensity(ops: Sequence[Op]) -> float:
    """How much an event stirs the story: a death most, a chat or a sale hardly at all."""
    paid = frozenset(op.attribute for op in ops if isinstance(op, Adjust) and op.by > 0)
    return min(sum(op.stirs(paid) for op in ops), 1.5)


class Director:
    """The tension curve of one session, and the steer it gives each beat."""

    def __init__(self, style: str = "steady", seed: int = 0):
        self.style_name = style if style in STYLES else "steady"
        self.style = STYLES[self.style_name]
        self.seed = seed
        self._cycles: list[tuple[int, int]] = []  # (start tick, length), as far as asked

    # ------------------------------------------------------------ the curve
    def _cycle_at(self, tick: int) -> tuple[int, int]:
        """(start tick, length) of the cycle ``tick`` falls in."""
        cycles = self._cycles
        while not cycles or tick >= cycles[-1][0] + cycles[-1][1]:
            start = cycles[-1][0] + cycles[-1][1] if cycles else 0
            rng = random.Random(f"{self.seed}:director:{len(cycles)}")
            cycles.append((start, max(8, round(self.style.cycle * (0.75 + 0.5 * rng.random())))))
        lo, hi = 0, len(cycles) - 1
        while lo < hi:  # the last cycle starting at or before tick
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if cycles[mid][0] <= tick else (lo, mid - 1)
        return cycles[lo]

    def position(self, tick: int) -> float:
        """Where ``tick`` stands in its cycle, 0 (start of a build-up) to 1."""
        start, length = self._cycle_at(max(tick, 0))
        return (tick - start) / length

    def phase(self, tick: int) -> str:
        p = self.position(tick)
        return "build-up" if p < BUILD else "crisis" if p < CRISIS else "relief"

    def target(self, tick: int) -> float:
        """The tension the curve asks for at ``tick`` (0..1)."""
        p, s = self.position(tick), self.style
        if p < BUILD:  # a slow rise, steeper near the top
            return s.floor + (s.peak - s.floor) * 0.8 * (p / BUILD) ** 1.5
        if p < CRISIS:
            return s.peak
        return s.floor + (s.peak - s.floor) * 0.4 * (1 - (p - CRISIS) / (1 - CRISIS))

    @staticmethod
    def tension(tick: int, history: Iterable[tuple[int, float]]) -> float:
        """The measured tension at ``tick``: recent events' intensity, fading with time."""
        # (the events that stirred nothing, most of them, add nothing)
        total = sum(v * DECAY ** max(tick - t, 0) for t, v in history if v and t <= tick)
        return 1 - math.exp(-total)  # 0..1, a few deaths saturate it

    # ------------------------------------------------------------ steering
    def deaths_allowed(self, tick: int, last_death: int | None) -> bool:
        """A death by chance may come now: in a crisis, and not soon after another."""
        recent = last_death is not None and tick - last_death < self.style.death_gap
        return self.phase(tick) == "crisis" and not recent

    def event_rate(self, tick: int, base: float) -> float:
        """The chance of a world event this tick: disasters cluster in crises."""
        factor = {"build-up": 1.0, "crisis": self.style.event_rate, "relief": 0.3}
        return min(1.0, base * factor[self.phase(tick)])

    def steer(self, tick: int, tension: float, *, deaths: bool) -> Steer:
        """The steer for beats of ``tick``: favour stirring or soothing archetypes."""
        pressure = max(-1.0, min(1.0, self.target(tick) - tension))
        stir = math.exp(4 * pressure)
        weights = [(a, round(stir, 3)) for a in STIRRING if a != "die"]
        weights += [(a, round(1 / stir, 3)) for a in SOOTHING]
        weights.append(("die", round(stir, 3) if deaths else 0.0))
        return Steer(self.phase(tick), round(pressure, 3), tuple(weights))


# ------------------------------------------------------------------ threads
def aims(state: WorldState, story: Story, done: Iterable[str], actor: str, player: str | None,
         leads_player: Callable[[str], bool] | None = None,
         ) -> tuple[str | None, tuple[str, ...]]:
    """Where ``actor`` should head (or None) and the words of its open goals.

    An actor with an open goal heads for the person it names, the place it names, or
    whoever holds the thing it names; a person who can move an open *player* goal on
    (:func:`clues`) heads for the player, so leads come into the player's path. Where
    the aim is reached, the answer is ``here``: stay (the one to tell is here, the
    player has found the lead).

    ``leads_player``: :func:`player_clues` of this state, story, ``done`` and player,
    when the caller asks aims of several actors before the world changes (a tick's
    plan): read once for them all.
    """
    done = set(done)
    here = state.where(actor)
    own = story.open_goals(done, actor) if actor != player else []
    words = tuple(g.text for g in own) or tuple(state.entity(actor).get("goals") or ())[:2]
    if here is None:
        return None, words
    for goal in own:
        t = thread(goal.done)
        for who in t.people:  # someone to find: to tell them, or to be with them
            if who != actor and state.kind(who) == "character" and state.is_alive(who):
                there = state.where(who)
                if there:
                    return (here if there == here else _first_step(state, here, there)), words
        for who, place in t.places:
            if who == actor and place in state and place != here:
                return _first_step(state, here, _place_of(state, place)), words
        for who, thing in t.things:
            holder = _place_of(state, thing) if who == actor and thing in state else None
            if holder and holder != here:
                return _first_step(state, here, holder), words
    if player and player in state and actor != player and state.is_alive(player):
        there = state.where(player)
        if there and (leads_player or player_clues(state, story, done, player))(actor):
            return (here if there == here else _first_step(state, here, there)), words
    return None, words


def clues(state: WorldState, t: Thread) -> list[str]:
    """Who can move a goal on: the people it names, whoever holds a thing it names,
    and, for a fact it names, those who know it (not everyone: a secret few) and
    whoever holds a thing that reveals it."""
    return list(_clues(state, t))


def _clues(state: WorldState, t: Thread) -> Iterator[str]:
    """:func:`clues`, one at a time: who is found first is not checked for the rest."""
    seen: set[str | None] = set()
    for e in _named(state, t):
        if e not in seen:
            seen.add(e)
            if e and state.kind(e) == "character":
                yield e


def _named(state: WorldState, t: Thread) -> Iterator[str | None]:
    """Everyone :func:`clues` may name, in its order, some more than once (and None
    for a thing nobody holds)."""
    for e in t.people:
        if state.is_fact(e):
            if not state.is_public(e):
                yield from state.known_by(e)
                yield from (state.holder(i) for i in state.revealers(e))
        else:
            yield e
    yield from (state.holder(x) for _, x in t.things if x in state)


def is_clue(state: WorldState, t: Thread, who: str) -> bool:
    """Whether ``who`` is one of :func:`clues` of ``t``."""
    return clue_test(state, (t,))(who)


def player_clues(state: WorldState, story: Story, done: Iterable[str],
                 player: str) -> Callable[[str], bool]:
    """:func:`clue_test` of the player's open goals: who can move one of them on."""
    return clue_test(state, [thread(goal.done) for goal in story.open_goals(done, player)])


def clue_test(state: WorldState, threads: Iterable[Thread]) -> Callable[[str], bool]:
    """A test of whether someone is one of :func:`clues` of any of ``threads``, on the
    world as it is now.

    Asked of every actor at every beat (:func:`aims`): what does not depend on who is
    asked is read once (the people the threads name, whoever holds a thing they name
    or a thing that reveals a fact they name, the facts to know), and a fact's
    knowers are never listed and sorted: ``who``'s knowing is looked up.
    """
    named: set[str | None] = set()
    facts: list[str] = []
    for t in threads:
        for e in t.people:
            if not state.is_fact(e):
                named.add(e)
            elif not state.is_public(e):
                facts.append(e)
                named.update(state.holder(i) for i in state.revealers(e))
        named.update(state.holder(x) for _, x in t.things if x in state)
    named.discard(None)  # (a thing nobody holds)

    def test(who: str) -> bool:
        return state.kind(who) == "character" and (
            who in named or any(state.knows(who, f) for f in facts))

    return test


def _place_of(state: WorldState, e: str) -> str | None:
    """The location ``e`` is at (itself, for a location)."""
    return e if state.kind(e) == "location" else state.where(e)


def _first_step(state: WorldState, here: str, there: str | None) -> str | None:
    return state.toward(here, there) if there else None


def leads(state: WorldState, story: Story, done: Iterable[str], player: str | None,
          limit: int = 1) -> list[str]:
    """Living people an open player goal names (or who hold what it names), not with
    the player: the director gives them a beat, so they come into the player's path."""
    if not player or player not in state or not story:
        return []
    there = state.where(player)
    out: list[str] = []
    named = (who for goal in story.open_goals(done, player)
             for who in _clues(state, thread(goal.done)))
    for who in named:
        if len(out) == limit:
            break  # the first few are asked for: where the rest are is not looked up
        if (who and who != player and who in state and state.kind(who) == "character"
                and state.is_alive(who) and state.where(who) != there and who not in out):
            out.append(who)
    return out[:limit]
