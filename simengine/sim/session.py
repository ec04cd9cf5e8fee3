"""``Session``: one game. A world state, a save and a storyteller, ticking.

``step()`` advances one tick: the scheduler picks the beats (the player's
intent, reactions in the player's scene, people elsewhere acting, now and then
a world event) and each goes propose -> canon -> check -> repair -> apply ->
commit -> narrate. Subscribers (the CLI, the TUI) hear every narration chunk and
every committed event as it happens.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from simengine.sim.ahead import Ahead, ask_ahead, drop_all
from simengine.sim.decide import PLAYER_CALLS, Decision, decide
from simengine.sim.director import Director, aims, intensity, leads, player_clues
from simengine.sim.metrics import Metrics
from simengine.sim.narrate import describe
from simengine.store import Save
from simengine.store.events import Event
from simengine.storytellers.base import (
    Intent,
    RecentEvent,
    Scene,
    Storyteller,
    StorytellerError,
)
from simengine.storytellers.drift import DriftGuard, Retell
from simengine.storytellers.player import explanations, plan_turn
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.storytellers.scene import SCENE_BUDGET, TokenEstimator, build_scene
from simengine.world.lore import LoreActivation
from simengine.world.seeds import mix_seed
from simengine.world.spec import WorldSpec
from simengine.world.state import WorldState
from simengine.world.story import Ending, Goal, Story, epilogue
from simengine.world.text import clean_text

RECENT_KEEP = 40
#: Events a session remembers for its storytellers' memory (who traded what lately).
HISTORY_KEEP = 240
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
    #: A narration that drifted from the ops: its outcome and attempts (None: it did not).
    drift: dict[str, Any] | None = None


@dataclass(frozen=True)
class Notice:
    """Something for the player to know that is not part of the story."""

    text: str
    level: str = "info"  # info, warning, error
    topic: str = ""  # "fallback": a storyteller fell back (a UI may say so only once)


@dataclass(frozen=True)
class GoalDone:
    """A goal of the story is done (it stays done on this branch)."""

    goal: Goal
    tick: int
    event: Event


@dataclass(frozen=True)
class StoryEnded:
    """An ending ends the story: its text and the epilogue, one line each."""

    ending: Ending
    tick: int
    epilogue: tuple[str, ...]
    event: Event


Message = BeatStarted | NarrationChunk | Committed | Notice | GoalDone | StoryEnded
#: Who tells the story's own events (a goal done, an ending, play going on after it).
STORY_TELLER = "story"


@dataclass
class TickResult:
    tick: int
    events: list[Committed] = field(default_factory=list)


class Session:
    """One game: state + save + storyteller, and the tick pipeline.

    Args:
        save: an open, writable save.
        storyteller: who proposes and narrates.
        seed: the session's seed (default: the one the save remembers, or the world's).
        fallback: the storyteller for a beat the main one cannot tell (default: procedural).
        narrate: narrate each event (headless runs may turn it off; the summary stands in).
        retries: repair rounds per beat.
        budget_tokens: the size of a scene's changing part (the world's prefix is cached).
        ahead: send a tick's later decide calls while its earlier beats are told
            (:mod:`simengine.sim.ahead`; for a model server with several slots,
            as batch runs use; the story is the same either way): True for every
            later beat, a number for at most that many (0 or False: none).
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
        budget_tokens: int = SCENE_BUDGET,
        npc_rate: float | None = None,
        world_event_rate: float | None = None,
        max_npc_beats: int = 3,
        voice: str | None = None,
        ahead: bool | int = False,
    ):
        self.save = save
        remembered = save.get_meta("seed")
        self.seed = (
            seed
            if seed is not None
            else (remembered if remembered is not None else save.settings.world.seed)
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
        st = save.settings.storyteller
        self.npc_rate = st.npc_rate if npc_rate is None else npc_rate
        self.world_event_rate = (
            st.world_event_rate if world_event_rate is None else world_event_rate
        )
        self.max_npc_beats = max_npc_beats
        self.ahead = ahead
        self.voice = voice or "third"
        self.metrics = Metrics.from_dict(save.get_meta("metrics"))
        self.story = Story.from_spec(save.settings)
        self.director = Director(save.settings.story.director, self.seed)
        self._subscribers: list[Callable[[Message], Any]] = []
        #: Branch -> tick -> its salt, as the save holds them (see _salt).
        self._salts: dict[str, dict[int, int]] = {}
        #: What the last story check that found nothing new looked at (see _check_story).
        self._checked: tuple | None = None
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
        log = self.save.log(limit=HISTORY_KEEP)
        self.recent: deque[RecentEvent] = deque((self._recent(e) for e in log), maxlen=HISTORY_KEEP)
        last = log[-1].tick if log else 0
        # Quiet ticks commit no event; the clock remembers them, valid for its head only.
        clock = self.save.get_meta(f"clock:{self.branch}") or {}
        if clock.get("head") == self.save.head() and clock.get("tick", -1) >= last:
            last = clock["tick"]
        # The state's own tick is that of the last event applied (what a replay gives);
        # the session's clock may be ahead of it by quiet ticks.
        self.tick = last
        # What the director remembers: how much each recent event stirred the story.
        self._stirred: deque[tuple[int, float]] = deque(
            ((e.tick, intensity(e.ops)) for e in log), maxlen=RECENT_KEEP)
        died = [self.state.entity(c).get("died_tick") for c in self.state.characters(alive=False)]
        self._last_death = max((t for t in died if t is not None), default=None)
        self._read_story()

    def _read_story(self) -> None:
        """The goals done and endings reached on this branch, from its story events."""
        self.goals_done: dict[str, int] = {}
        self.endings_reached: list[str] = []
        self.ending: Ending | None = None
        if not self.story or self.save.head() is None:
            return
        rows = self.save.db.execute(
            "WITH RECURSIVE line(id) AS (SELECT ? UNION ALL SELECT e.parent_id FROM events e "
            "JOIN line ON e.id = line.id WHERE e.parent_id IS NOT NULL) "
            "SELECT ev.tick, ev.intent FROM events ev JOIN line ON ev.id = line.id "
            "WHERE ev.storyteller = ? ORDER BY ev.depth", [self.save.head(), STORY_TELLER],
        ).fetchall()
        endings = {e.id: e for e in self.story.endings}
        for tick, intent in rows:
            what, _, ident = str(intent).partition(":")
            if what == "goal" and ident in self.story.by_id:
                self.goals_done.setdefault(ident, tick)
            elif what == "ending" and ident in endings:
                self.endings_reached.append(ident)
                self.ending = endings[ident]
            elif what == "continue":
                self.ending = None

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
        rng = random.Random(mix_seed(self.seed, "schedule", tick, self._salt()))
        beats: list[Intent] = []
        player = self.player
        deaths = self.director.deaths_allowed(tick, self._last_death)
        steer = self.director.steer(tick, self.tension(tick - 1), deaths=deaths)
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
                # A model's decide call for the player carries the reactions too: the
                # player waits for two calls (decide, narrate), not four.
                if not getattr(self.storyteller, "reactions_in_turn", False):
                    beats.append(Intent("npc", reactor, "", seed, cue))
        acted = {b.actor for b in beats}
        movers = set(self._movers(rng, player, acted))
        if self.story and self.npc_rate > 0:  # (no NPC beats asked for: none)
            # Someone an open goal of the player's names comes into the player's path.
            lead = leads(self.state, self.story, self.goals_done, player)
            if lead and lead[0] not in acted and rng.random() < 0.5:
                movers.add(lead[0])
        for actor in sorted(movers):
            beats.append(Intent("npc", actor, "", rng.randrange(2**31)))
        if rng.random() < self.director.event_rate(tick, self.world_event_rate):
            beats.append(Intent("world", None, "", rng.randrange(2**31)))
        # Who can move the player's goals on is read once for all of the tick's beats.
        clue = (player_clues(self.state, self.story, self.goals_done, player)
                if player and self.story and any(b.kind == "npc" for b in beats) else None)
        return [self._steered(b, steer, player, clue) for b in beats]

    def _steered(self, intent: Intent, steer: Any, player: str | None,
                 clue: Callable[[str], bool] | None = None) -> Intent:
        """The beat with the director's steer, and the actor's own aim and goals
        (``clue``: :func:`player_clues` of the world as it is, if the caller has it)."""
        if intent.kind == "npc" and intent.actor:
            toward, goals = aims(self.state, self.story, self.goals_done, intent.actor, player,
                                 clue)
            steer = steer.aimed(toward, goals)
        return intent.steered(steer)

    def tension(self, tick: int | None = None) -> float:
        """The story's measured tension at ``tick`` (default: now), 0 to 1."""
        return self.director.tension(self.tick if tick is None else tick, self._stirred)

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

    def _salt(self, tick: int | None = None) -> int:
        """The salt of ``tick`` (default: the next) on this branch: 0 until a regenerate
        gave it one.

        Asked at every tick, and salts are few (one per tick told again): the branch's
        are read from the save once, then kept; regenerate, their only writer, keeps
        what it writes.
        """
        salts = self._salts.get(self.branch)
        if salts is None:
            salts = self._salts[self.branch] = {
                int(tick): int(value or 0)
                for tick, value in self.save.metas(f"salt:{self.branch}:").items()
                if tick.isdigit()}
        return salts.get(self.tick + 1 if tick is None else tick, 0)

    async def step(self, player_text: str | None = None) -> TickResult:
        """Advance one tick. ``player_text`` is the player's action, if any."""
        player_text = None if player_text is None else clean_text(player_text)  # untrusted
        if self.ending is not None:
            self._publish(Notice(f"The story has ended ({self.ending.id}). Use /continue (or "
                                 "Session.continue_story) to play on in a new branch.", "warning"))
            return TickResult(self.tick)
        tick = self.tick + 1
        result = TickResult(tick)
        if player_text is not None and self.player and not self.state.is_alive(self.player):
            self._publish(Notice(f"{self.state.name(self.player)} is dead and cannot act; "
                                 "undo to go back, or wait to watch the world go on", "warning"))
        beats = self.plan(tick, player_text)
        waiting = self._ask_ahead(tick, beats, len(beats) if self.ahead is True
                                  else int(self.ahead)) if self.ahead else {}
        try:
            for intent in beats:
                if intent.actor is not None and not self.state.is_alive(intent.actor):
                    continue  # died earlier this tick
                ahead = waiting.pop(intent, None)
                if intent.kind == "npc" and intent.steer is not None and result.events:
                    # Aims as things stand now (plan's hold until a beat changes the world).
                    intent = self._steered(intent, intent.steer, self.player)
                if self._last_death == tick and intent.steer is not None:
                    intent = replace(intent, steer=intent.steer.without("die"))  # one a tick
                committed = await self._beat(tick, intent, ahead)
                result.events.append(committed)
                if self._check_story(tick):
                    break  # an ending ends the tick too
            else:
                self._check_story(tick)  # a quiet tick's clock can still end the story
        finally:
            await drop_all(waiting.values())
        self.metrics.ticks += 1
        self._set_clock(tick, metrics=True)
        return result

    # ---------------------------------------------------------- the story
    def _check_story(self, tick: int) -> bool:
        """Record goals newly done and an ending reached; True when the story ended.

        The world as the last check found it (the same branch head, tick, goals done
        and endings) holds nothing new: a tick checks after its last beat and again at
        its end, and the second check is not made.
        """
        if not self.story:
            return False
        seen = (self.branch, self.save.head(), tick, tuple(self.goals_done),
                tuple(self.endings_reached))
        if seen == self._checked:
            return False
        progress = self.story.check(self.state, tick, self.goals_done, self.endings_reached)
        if not progress.goals and progress.ending is None:
            self._checked = seen
        for goal in progress.goals:
            event = self._story_event(tick, f"goal:{goal.id}", f"Goal done: {goal.text}")
            self.goals_done[goal.id] = tick
            self._publish(GoalDone(goal, tick, event))
        ending = progress.ending
        if ending is None:
            return False
        lines = tuple(self.epilogue(tick))
        event = self._story_event(tick, f"ending:{ending.id}",
                                  f"The end ({ending.kind}): {ending.id}",
                                  "\n".join([ending.text, "", *lines]))
        self.endings_reached.append(ending.id)
        self.ending = ending
        self._publish(StoryEnded(ending, tick, lines, event))
        return True

    def epilogue(self, tick: int | None = None) -> list[str]:
        """What became of the cast, the goals done and the ticks played."""
        return epilogue(self.state, self.story, self.goals_done,
                        self.tick if tick is None else tick, self.save.settings.world.tick)

    def _story_event(self, tick: int, intent: str, summary: str, narration: str = "") -> Event:
        event = self.save.append(tick=tick, kind="world", intent=intent, summary=summary,
                                 narration=narration or summary, storyteller=STORY_TELLER)
        self.tick = tick
        self.recent.append(self._recent(event))
        self._stirred.append((tick, 0.0))  # as a reload reads it back: it stirs nothing
        return event

    def continue_story(self, name: str | None = None) -> str:
        """Play on after an ending, in a new branch from here; returns its name.

        The ending stays on its branch; the new branch remembers it was reached (it
        does not end the story again) and may reach another.
        """
        if self.ending is None:
            raise ValueError("the story has not ended; there is nothing to continue after")
        ending, taken = self.ending, self.branches()
        base = name or f"{self.branch}-after-{ending.id}"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        self.fork(name)
        self._story_event(self.tick, f"continue:{ending.id}",
                          f"The story goes on after {ending.id}")
        self.ending = None
        self._set_clock(self.tick)
        return name

    async def act(self, text: str) -> TickResult:
        """A player turn: the player's words, then the world answers."""
        return await self.step(text)

    async def wait(self, n: int = 1) -> list[TickResult]:
        """Let ``n`` ticks pass with no player action (fewer, if the story ends)."""
        results = []
        for _ in range(n):
            if self.ending is not None:
                break
            results.append(await self.step())
        return results

    def _scene(self, tick: int, intent: Intent) -> Scene:
        scene = build_scene(
            self.state,
            intent,
            list(self.recent)[-RECENT_KEEP:],
            budget_tokens=self.budget_tokens,
            estimator=self.estimator,
            tick=tick,
        )
        # What already happened this tick, even where the scene's budget left it out, so
        # a beat does not undo or mirror it (an item bought twice over in one tick).
        scene.recent.extend(ev for ev in self.recent if ev.tick == tick and ev not in scene.recent)
        scene.history = list(self.recent)
        return scene

    def _teller_for(self, intent: Intent) -> Storyteller:
        elsewhere = self.save.settings.storyteller.elsewhere
        if elsewhere == "procedural" and not self._near_player(intent):
            return self.fallback
        return self.storyteller

    def _ask_ahead(self, tick: int, beats: list[Intent], most: int) -> dict[Intent, Ahead]:
        """The first decide call of up to ``most`` of ``beats`` after the first, sent
        now on the world as it is.

        A beat whose actor stands where an earlier beat's actor stands is not asked:
        that earlier beat changes its scene (someone comes or goes, an item changes
        hands), so the call would almost always be dropped, a slot busied for nothing.
        """
        waiting: dict[Intent, Ahead] = {}
        busy = {self.state.where(beats[0].actor)} if beats and beats[0].actor else set()
        for intent in beats[1:]:
            if len(waiting) >= most:
                break
            here = self.state.where(intent.actor) if intent.actor else None
            teller = self._teller_for(intent)
            if here not in busy and getattr(teller, "twin", None) is not None:
                sent = ask_ahead(teller, self._scene(tick, intent), intent)
                if sent is not None:
                    waiting[intent] = sent
            if here is not None:
                busy.add(here)
        return waiting

    async def _beat(self, tick: int, intent: Intent, ahead: Ahead | None = None) -> Committed:
        started = time.perf_counter()
        self._publish(BeatStarted(tick, intent.kind, intent.actor, intent.text))
        scene = self._scene(tick, intent)
        teller = self._teller_for(intent)
        if ahead is not None and not ahead.fits(scene, teller, intent):
            await drop_all([ahead])  # the world it was asked on has changed: ask again
            ahead = None
        decision = await decide(
            teller, scene, intent, self.state, retries=self.retries, fallback=self.fallback,
            first=ahead,
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
        self._stirred.append((tick, intensity(event.ops)))
        if any(op.deadly() for op in event.ops):
            self._last_death = tick
        self.metrics.count_decision(decision, intent.kind)
        if decision.fallback_reason:
            self._publish(
                Notice(
                    f"{decision.storyteller} told this beat: {decision.fallback_reason}", "warning",
                    "fallback",
                )
            )
        narration, calls, drift = "", [], None
        if self.narrate_events:
            teller = (
                self.storyteller if decision.storyteller == self.storyteller.name else self.fallback
            )
            narration, calls, drift = await self._narrate(teller, scene, event, decision)
        in_model = sum(c.model_seconds for c in [*decision.calls, *calls])
        self.metrics.engine_seconds += max(time.perf_counter() - started - in_model, 0.0)
        committed = Committed(event, decision, narration, scene.lore, tuple(refused), drift)
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
    ) -> tuple[str, list, dict | None]:
        """Stream the narration of a committed event; returns it, the calls it took and
        its drift (what a model's prose told that did not happen, if it did).

        A model's prose reaches the player sentence by sentence, each checked against
        the ops (:mod:`~simengine.storytellers.drift`); a drifting one is retold once,
        then told procedurally. Cut short (a quit, an undo), it keeps what was told so far.

        On the player's beat the player waits for every call, and the beat makes at most
        :data:`~simengine.sim.decide.PLAYER_CALLS`: when the decide phase spent them (a
        repair, a re-ask), the beat is told procedurally at once, and a drifting telling
        is told procedurally rather than retold when no call is left.
        """
        accepted = decision.proposal.model_copy(update={"summary": event.summary})
        parts: list[str] = []
        calls: list = []
        left = PLAYER_CALLS - len(decision.calls) if event.kind == "player" else None
        if left is not None and left < 1:
            teller = self.fallback  # instant and exact: the player has waited long enough
        guard = (None if isinstance(teller, ProceduralStoryteller)
                 else DriftGuard.for_beat(scene, accepted, self.state, decision.rejected))
        outcome = "retold"
        try:
            await self._tell(teller, scene, accepted, decision, event.id, parts, guard)
            calls = teller.drain_calls()
            if guard and guard.drifted:
                guard.judge(calls)
                if getattr(teller, "retells", False) and (left is None or left > len(calls)):
                    await self._tell(teller, scene, accepted, decision, event.id, parts, guard,
                                     guard.retell())
                    retold = teller.drain_calls()
                    guard.judge(retold)
                    calls += retold
            if (not parts or (guard and guard.attempts and not guard.held)) \
                    and teller is not self.fallback:
                # The model's narration failed or drifted (and was not retold): tell it
                # plainly rather than wrongly.
                outcome = "procedural"
                await self._tell(self.fallback, scene, accepted, decision, event.id, parts)
        finally:
            calls = calls or teller.drain_calls()
            text = "".join(parts).strip() or event.summary
            drift = guard.record(outcome) if guard else None
            self.metrics.count_calls(calls)
            self.save.set_narration(event.id, text, calls=calls, drift=drift)
        if drift:
            then = "told again" if outcome == "retold" else "told plainly instead"
            self._publish(Notice(f"the narration strayed from what happened "
                                 f"({drift['attempts'][0]['reasons'][0]}); {then}", "info",
                                 "drift"))
        return text, calls, drift

    async def _tell(self, teller, scene, accepted, decision, event_id: int, parts: list[str],
                    guard: DriftGuard | None = None, retell: Retell | None = None):
        told_here = False
        try:
            told = (teller.narrate(scene, accepted, decision.rejected, retell=retell) if retell
                    else teller.narrate(scene, accepted, decision.rejected))
            async for chunk in guard.filter(told) if guard else told:
                if parts and not told_here and not chunk[:1].isspace():
                    chunk = " " + chunk  # a retelling or plain telling goes on after prose
                told_here = True
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
        self.save.move_head(target)  # the tree is untouched; only the head moves forward
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
        salt = self._salt(tick) + 1
        self.save.set_meta(f"salt:{self.branch}:{tick}", salt)
        self._salts[self.branch][tick] = salt
        return await self.step(player_beat.intent if player_beat else None)
