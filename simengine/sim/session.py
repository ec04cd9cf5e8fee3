"""``Session``: one game. A world state, a save and a storyteller, ticking.

``step()`` advances one tick: the scheduler picks the beats (the player's
intent, reactions in the player's scene, people elsewhere acting, now and then
a world event) and each goes propose -> canon -> check -> repair -> apply ->
commit -> narrate. Subscribers (the CLI, the TUI) hear every narration chunk and
every committed event as it happens.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simengine.sim.decide import Decision, decide
from simengine.sim.metrics import Metrics
from simengine.sim.narrate import describe
from simengine.store import Save
from simengine.store.events import Event
from simengine.storytellers.base import Intent, RecentEvent, Storyteller, StorytellerError
from simengine.storytellers.player import explanations, plan_turn
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.storytellers.scene import TokenEstimator, build_scene
from simengine.world.lore import LoreActivation
from simengine.world.spec import WorldSpec
from simengine.world.state import WorldState
from simengine.world.text import clean_text

RECENT_KEEP = 40
MAX_PLAYER_TEXT = 2000


# ------------------------------------------------------------------ messages
@dataclass(frozen=True)
class BeatStarted:
    tick: int
    kind: str
    actor: str | None
    text: str


@dataclass(frozen=True)
class NarrationChunk:
    event_id: int
    text: str


@dataclass(frozen=True)
class Committed:
    """An event is in the save; ``decision`` says how it got there."""

    event: Event
    decision: Decision
    narration: str = ""
    #: The lore the beat's scene brought in and what its budget dropped (None: no scene).
    lore: LoreActivation | None = None
    #: On a player's turn, what stopped each refused part, in the world's words.
    refused: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    """Something for the player to know that is not part of the story."""

    text: str
    level: str = "info"  # info, warning, error
    topic: str = ""  # "fallback": a storyteller fell back (a UI may say so only once)


Message = BeatStarted | NarrationChunk | Committed | Notice


@dataclass
class TickResult:
    tick: int
    events: list[Committed] = field(default_factory=list)


def _seed_for(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


class Session:
    """One game: state + save + storyteller, and the tick pipeline.

    Args:
        save: an open, writable save.
        storyteller: who proposes and narrates.
        seed: the session's seed (default: the one the save remembers, or the world's).
        fallback: the storyteller for a beat the main one cannot tell (default: procedural).
        narrate: narrate each event (headless runs may turn it off; the summary stands in).
        retries: repair rounds per beat.
        budget_tokens: the scene's size.
    """

    def __init__(
        self,
        save: Save,
        storyteller: Storyteller | None = None,
        *,
        seed: int | None = None,
        fallback: Storyteller | None = None,
        narrate: bool = True,
        retries: int = 2,
        budget_tokens: int = 1500,
        npc_rate: float | None = None,
        world_event_rate: float | None = None,
        max_npc_beats: int = 3,
        voice: str | None = None,
    ):
        self.save = save
        remembered = save.get_meta("seed")
        self.seed = (
            seed
            if seed is not None
            else (remembered if remembered is not None else save.spec.world.seed)
        )
        if remembered is None:
            save.set_meta("seed", self.seed)
        self.estimator = TokenEstimator()
        # (the setter hooks a model's real prompt sizes up to the estimator)
        self.storyteller = storyteller or ProceduralStoryteller(seed=self.seed)
        self.fallback = fallback or (
            self.storyteller
            if isinstance(self.storyteller, ProceduralStoryteller)
            else ProceduralStoryteller(seed=self.seed)
        )
        self.narrate_events = narrate
        self.retries = retries
        self.budget_tokens = budget_tokens
        st = save.spec.storyteller
        self.npc_rate = st.npc_rate if npc_rate is None else npc_rate
        self.world_event_rate = (
            st.world_event_rate if world_event_rate is None else world_event_rate
        )
        self.max_npc_beats = max_npc_beats
        self.voice = voice or "third"
        self.metrics = Metrics.from_dict(save.get_meta("metrics"))
        self._subscribers: list[Callable[[Message], Any]] = []
        self._reload()

    # ------------------------------------------------------------ opening
    @classmethod
    def new(
        cls, spec: WorldSpec, path: str | Path, *, branch: str = "main", **kwargs: Any
    ) -> Session:
        """Start a new game of ``spec`` in a new save at ``path``."""
        return cls(Save.create(path, spec, branch=branch), **kwargs)

    @classmethod
    def load(cls, path: str | Path, *, branch: str | None = None, **kwargs: Any) -> Session:
        """Continue the game in a save (on ``branch``, or where it was left)."""
        save = Save.open(path)
        try:
            if branch is not None:
                if branch not in save.branches():
                    save.fork(branch)
                save.switch(branch)
            return cls(save, **kwargs)
        except BaseException:
            save.close()
            raise

    def close(self) -> None:
        self.save.set_meta("metrics", self.metrics.to_dict())
        self.save.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reload(self) -> None:
        """Re-read the head state and recent events (after open, undo, fork, switch)."""
        # The save's own head state, shared: each append advances it, so the session
        # never holds a second copy of a big world.
        self.state: WorldState = self.save.live_state()
        self.state.name_index()  # built once here, so no beat pays for it in a big world
        log = self.save.log(limit=RECENT_KEEP)
        self.recent: deque[RecentEvent] = deque((self._recent(e) for e in log), maxlen=RECENT_KEEP)
        last = log[-1].tick if log else 0
        # Quiet ticks commit no event; the clock remembers them, valid for its head only.
        clock = self.save.get_meta(f"clock:{self.branch}") or {}
        if clock.get("head") == self.save.head() and clock.get("tick", -1) >= last:
            last = clock["tick"]
        # The state's own tick is that of the last event applied (what a replay gives);
        # the session's clock may be ahead of it by quiet ticks.
        self.tick = last

    def _set_clock(self, tick: int, *, metrics: bool = False) -> None:
        self.tick = tick
        values: dict[str, Any] = {f"clock:{self.branch}": {"tick": tick, "head": self.save.head()}}
        if metrics:
            values["metrics"] = self.metrics.to_dict()
        self.save.set_metas(values)  # one commit for the tick's bookkeeping

    @staticmethod
    def _recent(e: Event) -> RecentEvent:
        involved = {e.actor} if e.actor else set()
        for op in e.ops:
            involved.update(op.touches())
        return RecentEvent(e.tick, e.actor, e.summary, tuple(sorted(involved)))

    @property
    def storyteller(self) -> Storyteller:
        return self._storyteller

    @storyteller.setter
    def storyteller(self, teller: Storyteller) -> None:
        self._storyteller = teller
        if hasattr(self, "_voice"):
            self._tell_in(teller)
        if hasattr(teller, "on_prompt_tokens"):
            # Ollama reports real prompt sizes: scenes are then cut to the true budget.
            teller.on_prompt_tokens = self.estimator.calibrate

    @property
    def fallback(self) -> Storyteller:
        return self._fallback

    @fallback.setter
    def fallback(self, teller: Storyteller) -> None:
        self._fallback = teller
        if hasattr(self, "_voice"):
            self._tell_in(teller)

    @property
    def voice(self) -> str:
        """``second`` tells the player's own doings as "you"; ``third`` by name."""
        return self._voice

    @voice.setter
    def voice(self, voice: str) -> None:
        if voice not in ("second", "third"):
            raise ValueError(f"voice must be 'second' or 'third', not {voice!r}")
        self._voice = voice
        self._tell_in(self.storyteller)
        self._tell_in(self.fallback)

    def _tell_in(self, teller: Storyteller) -> None:
        if hasattr(teller, "voice"):
            teller.voice = self._voice  # type: ignore[attr-defined]

    # ----------------------------------------------------------- listening
    def subscribe(self, callback: Callable[[Message], Any]) -> Callable[[], None]:
        """Hear every message; returns a function that stops listening."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _publish(self, message: Message) -> None:
        for callback in list(self._subscribers):
            callback(message)

    # ------------------------------------------------------------- facts
    @property
    def player(self) -> str | None:
        return self.state.player if self.state.player in self.state else None

    @property
    def branch(self) -> str:
        return self.save.current_branch

    def branches(self) -> dict[str, int | None]:
        return self.save.branches()

    # ---------------------------------------------------------- the tick
    def plan(self, tick: int, player_text: str | None) -> list[Intent]:
        """The beats of one tick, in commit order. Deterministic in (seed, tick, state)."""
        rng = random.Random(_seed_for(self.seed, "schedule", tick, self._salt()))
        beats: list[Intent] = []
        player = self.player
        alive_player = player is not None and self.state.is_alive(player)
        if player_text is not None and alive_player:
            beats.append(
                Intent("player", player, player_text[:MAX_PLAYER_TEXT], rng.randrange(2**31))
            )
            here = self.state.where(player)
            others = [c for c in self.state.people_at(here) if c != player] if here else []
            if others:
                # The one the player spoke to, gave to or attacked answers; else anyone here.
                reactor, seed = rng.choice(others), rng.randrange(2**31)
                memory = getattr(self.fallback, "named", None)
                turn = plan_turn(self.state, player, player_text[:MAX_PLAYER_TEXT],
                                 random.Random(seed), memory(player) if memory else None)
                cue = ""
                if turn.addressee in others:
                    reactor, cue = turn.addressee, turn.cue
                beats.append(Intent("npc", reactor, "", seed, cue))
        acted = {b.actor for b in beats}
        for actor in sorted(self._movers(rng, player, acted)):
            beats.append(Intent("npc", actor, "", rng.randrange(2**31)))
        if rng.random() < self.world_event_rate:
            beats.append(Intent("world", None, "", rng.randrange(2**31)))
        return beats

    def _movers(self, rng: random.Random, player: str | None, acted: set) -> list[str]:
        """People elsewhere who act this tick: each with chance ``npc_rate``, at most
        ``max_npc_beats``. Walks the cast from a random place, skipping ahead by
        geometric gaps, so a tick costs the same in a cast of ten or of ten thousand."""
        cast = self.state.sorted_ids("character")
        if not cast or self.npc_rate <= 0 or self.max_npc_beats <= 0:
            return []
        start, walked, movers = rng.randrange(len(cast)), 0, []
        log_miss = math.log(1.0 - self.npc_rate) if self.npc_rate < 1 else None
        while len(movers) < self.max_npc_beats:
            gap = 0 if log_miss is None else int(math.log(1.0 - rng.random()) / log_miss)
            walked += gap + 1
            if walked > len(cast):
                break
            c = cast[(start + walked - 1) % len(cast)]
            if c != player and c not in acted and self.state.is_alive(c):
                movers.append(c)
        return movers

    def _near_player(self, intent: Intent) -> bool:
        """A beat the player is part of or can see: theirs, or in the place they stand."""
        if intent.kind == "player" or self.player is None:
            return True
        here = self.state.where(self.player)
        there = self.state.where(intent.actor) if intent.actor else None
        return here is not None and here == there

    def _salt(self) -> int:
        return int(self.save.get_meta(f"salt:{self.branch}:{self.tick + 1}", 0) or 0)

    async def step(self, player_text: str | None = None) -> TickResult:
        """Advance one tick. ``player_text`` is the player's action, if any."""
        player_text = None if player_text is None else clean_text(player_text)  # untrusted
        tick = self.tick + 1
        result = TickResult(tick)
        if player_text is not None and self.player and not self.state.is_alive(self.player):
            self._publish(Notice(f"{self.state.name(self.player)} is dead and cannot act; "
                                 "undo to go back, or wait to watch the world go on", "warning"))
        for intent in self.plan(tick, player_text):
            if intent.actor is not None and not self.state.is_alive(intent.actor):
                continue  # died earlier this tick
            committed = await self._beat(tick, intent)
            result.events.append(committed)
        self.metrics.ticks += 1
        self._set_clock(tick, metrics=True)
        return result

    async def act(self, text: str) -> TickResult:
        """A player turn: the player's words, then the world answers."""
        return await self.step(text)

    async def wait(self, n: int = 1) -> list[TickResult]:
        """Let ``n`` ticks pass with no player action."""
        return [await self.step() for _ in range(n)]

    async def _beat(self, tick: int, intent: Intent) -> Committed:
        started = time.perf_counter()
        self._publish(BeatStarted(tick, intent.kind, intent.actor, intent.text))
        scene = build_scene(
            self.state,
            intent,
            list(self.recent),
            budget_tokens=self.budget_tokens,
            estimator=self.estimator,
            tick=tick,
        )
        teller = self.storyteller
        if self.save.spec.storyteller.elsewhere == "procedural" and not self._near_player(intent):
            teller = self.fallback
        decision = await decide(
            teller, scene, intent, self.state, retries=self.retries, fallback=self.fallback
        )
        proposal = decision.proposal
        refused: list[str] = []
        if intent.kind == "player" and decision.rejected:
            refused = self._explain(scene, intent, decision)
        if decision.rejected:
            # Part of what was proposed did not happen: the model's own summary may tell
            # of it, so the event says only what was committed.
            summary = describe(proposal.ops, self.state, intent)
            if not proposal.ops and intent.actor:
                summary = f"{self.state.name(intent.actor)} tries, but nothing comes of it"
            if refused:
                summary = f"{summary} ({refused[0]})"[:400]
        else:
            summary = proposal.summary.strip() or describe(proposal.ops, self.state, intent)
        attempt = None
        if refused:
            attempt = {
                "attempt": intent.text,
                "rules": [v.rule for v in decision.rejected],
                "messages": [str(v) for v in decision.rejected],
                "told": refused,
            }
        try:
            event = self.save.append(
                tick=tick,
                kind=intent.kind,
                ops=proposal.ops,
                actor=proposal.actor or intent.actor,
                intent=intent.text,
                summary=summary,
                storyteller=decision.storyteller,
                calls=decision.calls,
                refusal=attempt,
            )
        except BaseException:
            self._reload()  # the shared state may hold ops of an append that did not commit
            raise
        self.state = self.save.live_state()  # the same object, advanced by the append
        self.tick = tick  # even if the tick is cut short after this, its number is used
        self.recent.append(self._recent(event))
        self.metrics.count_decision(decision, intent.kind)
        if decision.fallback_reason:
            self._publish(
                Notice(
                    f"{decision.storyteller} told this beat: {decision.fallback_reason}", "warning",
                    "fallback",
                )
            )
        narration, calls = "", []
        if self.narrate_events:
            teller = (
                self.storyteller if decision.storyteller == self.storyteller.name else self.fallback
            )
            narration, calls = await self._narrate(teller, scene, event, decision)
        in_model = sum((c.latency_ms or 0) for c in [*decision.calls, *calls]) / 1000
        self.metrics.engine_seconds += max(time.perf_counter() - started - in_model, 0.0)
        committed = Committed(event, decision, narration, scene.lore, tuple(refused))
        self._publish(committed)
        return committed

    def _explain(self, scene, intent: Intent, decision: Decision) -> list[str]:
        """The player's rejections in the world's words (the teller that planned knows best)."""
        for teller in (self.storyteller, self.fallback):
            explain = getattr(teller, "explain", None)
            if explain is not None and teller.name == decision.storyteller:
                return list(explain(scene, intent, decision.rejected))
        return explanations(self.state, None, decision.rejected)

    async def _narrate(
        self, teller: Storyteller, scene, event: Event, decision: Decision
    ) -> tuple[str, list]:
        """Stream the narration of a committed event; returns it and the calls it took.

        Cut short (a quit, an undo), it keeps what was told so far.
        """
        accepted = decision.proposal.model_copy(update={"summary": event.summary})
        parts: list[str] = []
        calls: list = []
        try:
            await self._tell(teller, scene, accepted, decision, event.id, parts)
            calls = teller.drain_calls()
            if not parts and teller is not self.fallback:
                # The model's narration failed: tell it plainly rather than not at all.
                await self._tell(self.fallback, scene, accepted, decision, event.id, parts)
        finally:
            calls = calls or teller.drain_calls()
            text = "".join(parts).strip() or event.summary
            self.metrics.count_calls(calls)
            self.save.set_narration(event.id, text, calls=calls)
        return text, calls

    async def _tell(self, teller, scene, accepted, decision, event_id: int, parts: list[str]):
        try:
            async for chunk in teller.narrate(scene, accepted, decision.rejected):
                parts.append(chunk)
                self._publish(NarrationChunk(event_id, chunk))
        except StorytellerError as exc:
            self._publish(Notice(f"narration cut short: {exc.reason}", "warning"))

    # ---------------------------------------------------------- timelines
    def undo(self, n: int = 1) -> None:
        """Take back the last ``n`` ticks (every beat of each); nothing is deleted."""
        target = max(self.tick - max(n, 0), 0)
        beats = sum(1 for e in self.save.log() if e.tick > target)
        before = (self.save.head(), self.tick)
        if beats:
            self.save.undo(beats)
            key = f"redo:{self.branch}"
            self.save.set_meta(key, [*(self.save.get_meta(key) or []), before])
        self._reload()
        self._set_clock(target)

    def redo(self) -> int:
        """Go forward again to where the last undo took the branch from; returns the
        ticks regained (0: nothing to redo, or the branch has gone on since)."""
        key = f"redo:{self.branch}"
        stack = self.save.get_meta(key) or []
        if not stack:
            return 0
        (target, tick), head = stack[-1], self.save.head()
        event = self.save.event(target)
        while event.parent_id is not None and event.parent_id != head:
            event = self.save.event(event.parent_id)  # is the head an ancestor of it?
        if head is not None and event.parent_id != head:
            self.save.set_meta(key, [])  # the story went on after the undo: nothing to redo
            return 0
        before = self.tick
        with self.save.db.atomic():  # the tree is untouched; only the head moves forward
            self.save.db.execute("UPDATE branches SET head = ? WHERE name = ?",
                                 [target, self.branch])
        self.save.set_meta(key, stack[:-1])
        self._reload()
        self._set_clock(tick)
        return tick - before

    def fork(self, name: str, at: int | None = None) -> None:
        """Start a branch ``name`` at an event (default: here) and switch to it."""
        tick = self.tick
        if at is None:
            self.save.fork(name)
        else:
            self.save.fork(name, at=at)
        self.save.switch(name)
        self._reload()
        if at is None:
            self._set_clock(tick)  # the new branch starts at this very moment

    def switch(self, name: str) -> None:
        self.save.switch(name)
        self._reload()

    async def regenerate(self) -> TickResult:
        """Undo the last tick and tell it again, differently."""
        if self.tick == 0:
            return await self.step()
        tick = self.tick
        player_beat = next(
            (e for e in self.save.log(limit=RECENT_KEEP) if e.tick == tick and e.kind == "player"),
            None,
        )
        self.undo(1)
        # A new salt for this tick on this branch: the schedule and every beat's seed change.
        key = f"salt:{self.branch}:{tick}"
        self.save.set_meta(key, int(self.save.get_meta(key, 0) or 0) + 1)
        return await self.step(player_beat.intent if player_beat else None)
