"""The storyteller seam: who proposes what happens, and who tells it.

A storyteller implements two async methods. ``propose`` turns a scene and an
intent into a :class:`~simengine.world.ops.Proposal` (wire format v1);
``narrate`` streams prose about what the engine accepted. Everything else
(name resolution, rules, repair, commit) is the engine's job.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

from simengine.world.calls import Call
from simengine.world.lore import LoreActivation
from simengine.world.ops import Proposal
from simengine.world.rules import Violation
from simengine.world.state import WorldState

BeatKind = Literal["player", "npc", "world"]


@dataclass(frozen=True)
class Steer:
    """What the director asks of one beat (see ``sim/director.py``).

    Attributes:
        phase: where the tension curve stands: ``build-up``, ``crisis`` or ``relief``.
        pressure: how much more drama the story wants now, -1 (calm it) to 1 (stir it).
        weights: factors for the procedural archetypes' weights (``("quarrel", 2.0)``).
        toward: a place the actor should head for (their goal, or the player's path).
        goals: the actor's open goals, in words, for a model's prompt.
    """

    phase: str = "build-up"
    pressure: float = 0.0
    weights: tuple[tuple[str, float], ...] = ()
    toward: str | None = None
    goals: tuple[str, ...] = ()
    #: ``weights`` by archetype, for :meth:`factor` (asked for every archetype of every
    #: beat); an archetype's first weight is its factor.
    _factors: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_factors", dict(reversed(self.weights)))

    def factor(self, archetype: str) -> float:
        return self._factors.get(archetype, 1.0)

    def aimed(self, toward: str | None, goals: tuple[str, ...]) -> Steer:
        """This steer for one actor: where it heads and its open goals (what
        ``replace`` gives, without its walk over the fields: asked twice a beat)."""
        return Steer(self.phase, self.pressure, self.weights, toward, goals)

    def without(self, archetype: str) -> Steer:
        """The same steer with ``archetype`` ruled out."""
        weights = tuple((a, f) for a, f in self.weights if a != archetype)
        return replace(self, weights=(*weights, (archetype, 0.0)))


#: The mark a narration cut off mid-stream ends with (``{}``: why, in a few words).
CUT_NOTE = "[… the telling was cut off here: {}]"


@dataclass(frozen=True)
class Intent:
    """What a beat is about: a player's words, or an NPC or world beat.

    Attributes:
        kind: who drives the beat.
        actor: the acting entity id (None for a world event).
        text: the player's words, untrusted; empty for NPC and world beats.
        seed: a per-beat seed drawn from the session's RNG.
        cue: for a person the player just addressed, ``verb:topic`` of what the
            player did to them (``ask:the murder``, ``attack:``), so they can answer.
        steer: the director's wishes for the beat (None: no director).
    """

    kind: BeatKind
    actor: str | None = None
    text: str = ""
    seed: int = 0
    cue: str = ""
    steer: Steer | None = None

    def steered(self, steer: Steer | None) -> Intent:
        """This intent with ``steer`` (what ``replace`` gives, without its walk over
        the fields: asked for every beat, some twice)."""
        return Intent(self.kind, self.actor, self.text, self.seed, self.cue, steer)


@dataclass(frozen=True)
class RecentEvent:
    """A committed event as a scene remembers it."""

    tick: int
    actor: str | None
    summary: str
    involves: tuple[str, ...] = ()


@dataclass
class Scene:
    """Bounded context for one beat.

    ``prefix`` is stable across calls (instructions, world bible) so a server can
    reuse its KV cache; ``context`` is the changing part: the focus first (it
    changes slowly), then the tick, the place, the scene block and lore. ``ids`` lists every
    entity id the scene shows, which canon resolves against first.
    """

    focus: str | None
    location: str | None
    ids: list[str]
    prefix: str
    context: str
    tick: int
    state: WorldState = field(repr=False)
    recent: list[RecentEvent] = field(default_factory=list)
    #: Every event the session still remembers, the scene's or not (newest last): for a
    #: storyteller's own memory (who sold what lately); never shown to a model.
    history: list[RecentEvent] = field(default_factory=list)
    #: The lore entries this scene brought in, and those its budget dropped.
    lore: LoreActivation = field(default_factory=LoreActivation)
    #: The machine-readable facts of the scene block (None: a scene built by hand).
    facts: dict[str, Any] | None = None


class StorytellerError(Exception):
    """A storyteller could not produce a proposal; ``reason`` says why, for people."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class Storyteller(Protocol):
    """Anything that proposes and narrates."""

    name: str

    async def propose(
        self, scene: Scene, intent: Intent, feedback: Sequence[Violation] = ()
    ) -> Proposal: ...

    def narrate(
        self, scene: Scene, accepted: Proposal, rejected: Sequence[Violation] = ()
    ) -> AsyncIterator[str]: ...

    def drain_calls(self) -> list[Call]: ...


def propose_sync(
    teller: Storyteller, scene: Scene, intent: Intent, feedback: Sequence[Violation] = ()
) -> Proposal:
    """Blocking ``propose`` for scripts and tests."""
    return asyncio.run(teller.propose(scene, intent, feedback))


def narrate_sync(
    teller: Storyteller, scene: Scene, accepted: Proposal, rejected: Sequence[Violation] = ()
) -> str:
    """Blocking ``narrate``: the whole text at once."""

    async def collect() -> str:
        return "".join([chunk async for chunk in teller.narrate(scene, accepted, rejected)])

    return asyncio.run(collect())
