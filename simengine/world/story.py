"""Goals and endings: what a story is about, and how it ends.

A world file's ``[[goals]]`` and ``[[endings]]`` are conditions
(:mod:`simengine.world.conditions`) over the world graph; endings may also ask
``goal:ID``. :class:`Story` checks them against a state: a goal is done once
its condition has held (it stays done), and the first ending whose condition
holds ends the branch. What happened is the session's to record; this module
only reads the world and writes the epilogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from simengine.world.conditions import (
    NAMES,
    At,
    Condition,
    Holds,
    Not,
    Related,
    StateReader,
    Term,
    compiled,
    walk,
)
from simengine.world.text import joined, ref


@dataclass(frozen=True)
class Goal:
    id: str
    text: str
    done: Condition
    who: str | None = None  # None: the player's


@dataclass(frozen=True)
class Ending:
    id: str
    kind: str  # win, lose, other
    text: str
    when: Condition


class StoryReader(StateReader):
    """A state as a story condition reads it: the session's clock, the goals done."""

    def __init__(self, state: Any, tick: int, goals_done: Iterable[str] = ()):
        super().__init__(state)
        self.tick = tick
        self.goals_done = frozenset(goals_done)


@dataclass(frozen=True)
class Progress:
    """What a check found new: goals just done, and the ending reached (if any)."""

    goals: tuple[Goal, ...] = ()
    ending: Ending | None = None


#: What most checks find (one, not a new one at every beat).
NO_PROGRESS = Progress()


class Story:
    """A world's goals and endings, compiled (the loader has checked they parse)."""

    def __init__(self, goals: list[Goal], endings: list[Ending], player: str | None = None):
        self.goals = goals
        self.endings = endings
        self.player = player
        self.by_id = {g.id: g for g in goals}
        #: Each owner's goals in the world's order (open_goals is asked at every beat).
        self._owned: dict[str | None, list[Goal]] = {}
        for g in goals:
            self._owned.setdefault(self.owner(g), []).append(g)

    @classmethod
    def from_spec(cls, spec: Any) -> Story:
        goals = [Goal(g.id, g.text, compiled(g.done), g.who) for g in spec.goals]
        endings = [Ending(e.id, e.kind, e.text, compiled(e.when)) for e in spec.endings]
        return cls(goals, endings, spec.player.character if spec.player else None)

    def __bool__(self) -> bool:
        return bool(self.goals or self.endings)

    def owner(self, goal: Goal) -> str | None:
        return goal.who or self.player

    def check(self, state: Any, tick: int, done: Iterable[str],
              reached: Iterable[str] = ()) -> Progress:
        """Goals newly done and the first ending that holds (not one ``reached`` before).

        Goals are checked first, so an ending can ask for a goal done this very beat.
        """
        done = set(done)
        new = []
        reader = StoryReader(state, tick, done)
        for goal in self.goals:
            if goal.id not in done and goal.done(reader):
                new.append(goal)
                done.add(goal.id)
        reader = StoryReader(state, tick, done) if new else reader
        skip = set(reached)
        ending = next((e for e in self.endings if e.id not in skip and e.when(reader)), None)
        return Progress(tuple(new), ending) if new or ending else NO_PROGRESS

    def open_goals(self, done: Iterable[str], who: str | None = None) -> list[Goal]:
        """Goals not yet done (of ``who``, if given), in the order the world lists them."""
        done = set(done)
        goals = self.goals if who is None else self._owned.get(who, ())
        return [g for g in goals if g.id not in done]


# ------------------------------------------------------------------ threads
@dataclass(frozen=True)
class Thread:
    """What an open goal asks of the world, as the director reads it.

    ``places``: where someone should be; ``things``: what someone should hold;
    ``people``: whom the goal is about (relations, or who should be somewhere).
    """

    places: tuple[tuple[str, str], ...] = ()   # (who, place)
    things: tuple[tuple[str, str], ...] = ()   # (who, thing)
    people: tuple[str, ...] = ()


@lru_cache(maxsize=256)  # a goal's condition never changes: read it once
def thread(cond: Condition) -> Thread:
    """The concrete wants in a condition (``not`` parts are left out: they are no aim)."""
    negated = {id(n) for node in walk(cond.root) if isinstance(node, Not)
               for n in walk(node.part)}
    places, things, people = [], [], []
    for node in walk(cond.root):
        if id(node) in negated:
            continue
        if isinstance(node, At) and _plain(node.who) and _plain(node.place):
            places.append((node.who.word, node.place.word))
            people.append(node.who.word)
        elif isinstance(node, Holds) and _plain(node.who) and _plain(node.thing):
            things.append((node.who.word, node.thing.word))
        elif isinstance(node, Related) and _plain(node.source) and _plain(node.target):
            people.extend([node.source.word, node.target.word])
    return Thread(tuple(places), tuple(things), tuple(dict.fromkeys(people)))


def _plain(term: Term) -> bool:
    return term.word not in NAMES


# ----------------------------------------------------------------- epilogue
#: People the epilogue tells of by name; the rest of a big cast is counted.
EPILOGUE_CAST = 24


def epilogue(state: Any, story: Story, done: Iterable[str], ticks: int,
             tick_word: str = "tick") -> list[str]:
    """What became of the cast, the goals done and the ticks played, one line each.

    The first :data:`EPILOGUE_CAST` of the cast (and the player, always) by name,
    the rest counted: a world of 35,000 people ends in a page, not in 35,000 lines
    written into the save.
    """
    done = set(done)
    lines: list[str] = []
    told, rest = 0, 0
    player = state.player
    for c in state.sorted_ids("character"):
        node = state.entity(c)  # read once: a big cast is counted, node by node
        if node.get("origin") != "authored" and c != player:
            continue  # the cast the world began with (and the player): newcomers are many
        alive = node.get("alive") is not False  # (as state.is_alive reads it)
        if not alive and node.get("died_tick") is None:
            continue  # dead before the story began
        if told >= EPILOGUE_CAST and c != player:
            rest += 1
            continue
        told += 1
        name = state.name(c)
        if not alive:
            lines.append(f"{name} died ({tick_word} {node['died_tick']}).")
            continue
        where = state.where(c)
        held = [ref(state.name(i), "item") for i in state.inventory(c)][:3]
        line = f"{name} is at {ref(state.name(where), 'location')}" if where else \
            f"{name} lives on"
        lines.append(line + (f", holding {joined(held)}." if held else "."))
    if rest:
        lines.append(f"And {rest:,} more of the people the story began with.")
    for goal in story.goals:
        lines.append(f"[{'x' if goal.id in done else ' '}] {goal.text}")
    plural = "" if ticks == 1 else "s"
    lines.append(f"{ticks} {tick_word}{plural} played; "
                 f"{sum(g.id in done for g in story.goals)} of {len(story.goals)} goals done.")
    return lines
