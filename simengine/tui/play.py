"""The play screen: the story log, the side panels, the input line and its commands.

Everything the game is lives in :class:`~simengine.sim.session.Session`; this
screen only asks it to act, listens to what it publishes and draws the
result. A turn runs in an async worker on the app's event loop, so the input
stays live while a model streams. Each turn carries a generation number:
undo, retell, switch, fork, stop and quit bump it, and anything an older turn
still says is dropped, so a stale reply never lands after an undo.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from simengine.sim.session import (
    BeatStarted,
    Committed,
    GoalDone,
    Message,
    NarrationChunk,
    Notice,
    Session,
    StoryEnded,
)
from simengine.store import SaveError
from simengine.store.events import Event
from simengine.storytellers.parser import VERBS
from simengine.tui.commands import Command, Invalid, Say, help_rows, parse
from simengine.tui.modals import ConfirmModal, HelpModal, PromptModal
from simengine.tui.palette import PlayCommands
from simengine.tui.reports import GameReports
from simengine.tui.views import (
    cast_view,
    goals_view,
    is_outage,
    outage,
    player_view,
    relations_view,
    scene_view,
    status_view,
    timeline_view,
)
from simengine.tui.widgets import (
    CastPanel,
    GoalsPanel,
    HistoryInput,
    InventoryPanel,
    RelationsPanel,
    ScenePanel,
    StatusBar,
    StoryLog,
    TimelinePanel,
)
from simengine.tui.witness import Replay, Vantage, vantage, witnessed
from simengine.world.text import fresh_name, ref

REPLAY_EVENTS = 60  # saved events shown when a game is continued or a branch switched
ASK_UNDO = 3  # undoing more turns than this asks first
HISTORY_KEY = "input_history"  # the lines typed, kept in the save's meta


class PlayScreen(GameReports, Screen):
    """One game being played. See the module docstring for how turns run."""

    CSS_PATH = "play.tcss"
    COMMANDS = {PlayCommands}
    # Below 72 columns the panels give way to the story (/look, /who, /inventory remain);
    # below 20 rows the input line loses its border.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (72, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall")]
    BINDINGS = [
        Binding("ctrl+z", "undo", "undo"),
        Binding("ctrl+r", "regenerate", "retell"),
        Binding("ctrl+f", "fork", "fork"),
        Binding("ctrl+t", "wait", "wait"),
        Binding("f1", "help", "help"),
        Binding("f3", "toggle_all", "all beats"),
        Binding("escape", "stop", "stop", show=False),
    ]

    busy: reactive[str] = reactive("")  # what is being told right now; "" when idle

    def __init__(self, session: Session, why: str = "", *, host: str | None = None):
        super().__init__()
        self.session = session
        # In play the player is "you", unless the world file asks for the third person.
        session.voice = session.save.settings.story.voice or "second"
        self.why = why
        self.host = host
        self.speed: float | None = None
        self.fallen: str | None = None  # why the model is out, while the fallback tells
        self._before: Vantage | None = None  # the player's vantage as the beat began
        self._generation = 0  # bumped whenever the turn in flight must be forgotten
        self._live = -1  # the generation whose messages are listened to
        self._job: tuple[str, str | None, int] | None = None
        self._job_start = session.tick
        self._tick_shown: int | None = None
        self._mark = (session.metrics.completion_tokens, session.metrics.model_seconds)
        self._unsubscribe: Any = None

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="body"):
            yield StoryLog(id="story")
            with VerticalScroll(id="side"):
                yield GoalsPanel(id="goals")
                yield ScenePanel(id="scene")
                yield InventoryPanel(id="you")
                yield TimelinePanel(id="timeline")
                yield RelationsPanel(id="relations")
                yield CastPanel(id="cast")
        yield HistoryInput(placeholder="What do you do?  (/help lists commands)", id="command")
        yield Footer()

    @property
    def story(self) -> StoryLog:
        return self.query_one(StoryLog)

    @property
    def command_line(self) -> HistoryInput:
        return self.query_one(HistoryInput)

    def on_mount(self) -> None:
        self._unsubscribe = self.session.subscribe(self._hear)
        kept = self.session.save.get_meta(HISTORY_KEY) or []
        self.command_line.history = [str(line) for line in kept][-self.command_line.keep:]
        self.replay_story(intro=True)
        self.refresh_views()
        self.command_line.focus()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def refresh_views(self) -> None:
        """Redraw every panel from the session (each redraws only if it changed)."""
        if self.session.save.closed:
            return
        state = self.session.state
        self.query_one(GoalsPanel).view = goals_view(self.session)
        self.query_one(ScenePanel).view = scene_view(state)
        self.query_one(InventoryPanel).view = player_view(state)
        self.query_one(CastPanel).view = cast_view(state)
        self.query_one(RelationsPanel).view = relations_view(state)
        self.query_one(TimelinePanel).view = timeline_view(self.session)
        self.query_one(StatusBar).view = status_view(self.session, self.why, self.speed,
                                                     self.fallen)
        self.refresh_bindings()

    def watch_busy(self, busy: str) -> None:
        if self.is_mounted:
            self.story.busy = busy
            self.refresh_bindings()

    # ------------------------------------------------------------ the story
    def tick_label(self, tick: int) -> str:
        return f"{self.session.save.settings.world.tick} {tick}"

    def show_tick(self, tick: int) -> None:
        if tick != self._tick_shown:
            self.story.tick(self.tick_label(tick), tick)
            self._tick_shown = tick

    def replay_story(self, intro: bool = False) -> None:
        """Redraw the log from the save: the branch's last events, as told."""
        story = self.story
        story.clear()
        self._tick_shown = None
        if intro:
            world = self.session.save.settings.world
            story.system(f"{world.name}. {' '.join(world.premise.split())}".strip())
            story.notice(f"storyteller: {self.why}" if self.why else
                         f"storyteller: {self.session.storyteller.name}")
        events = self.session.save.log(limit=REPLAY_EVENTS)
        opening = self.session.save.settings.world.opening
        if intro and not events and opening:
            story.narration(opening, "world")  # a card's first message
        if events:
            watcher = Replay(self.session.save.state_at(events[0].parent_id))
            for event in events:
                self._replay_event(event, not watcher.seen(event))
        player = self.session.player
        if player is not None:
            state = self.session.state
            where = state.where(player)
            place = f", in {ref(state.name(where), 'location')}" if where else ""
            verb = "You are" if state.is_alive(player) else "You were"
            story.system(f"{verb} {state.name(player)}{place}. Type what you do; "
                         "/help lists the commands.")
        else:
            story.system("This world has no player character: you watch. /wait N or "
                         "ctrl+t lets time pass; /help lists the commands.")
        open_goals = [g.text for g in self.session.story.goals
                      if g.id not in self.session.goals_done and g.who is None]
        if open_goals and self.session.ending is None:
            story.system("Your goals: " + " · ".join(open_goals))
        if self.session.ending is not None:
            story.notice(self._ended_hint(), "warning")

    def _ended_hint(self) -> str:
        ending = self.session.ending
        assert ending is not None
        return (f"The story has ended ({ending.kind}: {ending.id}). /continue plays on in a "
                "new branch; /undo takes back the last turn.")

    def _replay_event(self, event: Event, elsewhere: bool = False) -> None:
        self.show_tick(event.tick)
        if event.kind == "player" and event.intent:
            self.story.player(event.intent)
        told = event.narration or event.summary
        self.story.narration(told, event.kind, elsewhere)
        if event.kind == "player":
            for refusal in self.session.save.refusals(event.id):
                for line in refusal["told"]:
                    if line not in told:
                        self.story.notice(line, "warning")
        if elsewhere:
            self.story.unseen(self._who(event.actor))

    def _who(self, actor: str | None) -> str:
        state = self.session.state
        return state.name(actor) if actor and actor in state else "the world"

    def _hear(self, message: Message) -> None:
        """Session messages, as they happen (on the app's loop: workers are async)."""
        if self._live != self._generation or not self.is_mounted:
            return  # a turn that was undone, stopped or switched away from
        story = self.story
        if isinstance(message, BeatStarted):
            self.show_tick(message.tick)
            before = self._before = vantage(self.session.state, message.actor)
            # Until it is committed, a beat seems seen when its actor stands by the player.
            near = (message.kind == "player" or before.player is None
                    or (before.place is not None and before.actor_place == before.place))
            story.begin(message.kind, elsewhere=not near)
            who = self.session.state.name(message.actor) if message.actor else "the world"
            self.busy = f"{who} …"
        elif isinstance(message, NarrationChunk):
            story.chunk(message.text)
        elif isinstance(message, Committed):
            event, state = message.event, self.session.state
            after = vantage(state, event.actor)
            place = state.name(after.place) if after.place else ""
            elsewhere = not witnessed(event.kind, event.ops, event.summary,
                                      self._before or after, after, place)
            told = message.narration or event.summary
            story.finish(told, elsewhere=elsewhere)
            self.last_lore = message.lore
            # A refused attempt reads as `!` lines, in the world's words (unless told already).
            for line in message.refused:
                if line not in told:
                    story.notice(line, "warning")
            if not message.refused:
                for violation in message.decision.rejected:
                    story.notice(f"not accepted: {violation}", "warning", elsewhere=elsewhere)
            if elsewhere:
                story.unseen(self._who(event.actor))
            self._fell_back(message)
            self._measure(message)
            self.refresh_views()
        elif isinstance(message, GoalDone):
            story.notice(f"✓ Goal done: {message.goal.text}")
            self.refresh_views()
        elif isinstance(message, StoryEnded):
            self.show_tick(message.tick)
            story.narration(message.ending.text, "world")
            for line in message.epilogue:
                story.system(line)
            story.notice(self._ended_hint(), "warning")
            self.refresh_views()
        elif isinstance(message, Notice):
            if message.topic != "fallback":  # said once, by _fell_back
                story.notice(message.text, message.level)

    def _fell_back(self, committed: Committed) -> None:
        """Say once that the model is out, and once that it is back; the status shows it."""
        decision, main = committed.decision, self.session.storyteller.name
        reason = decision.fallback_reason
        if reason and is_outage(reason):
            if self.fallen is None or outage(reason) != outage(self.fallen):
                self.story.notice(f"{main} is out ({reason}); the procedural storyteller "
                                  "tells the story until it answers again", "warning")
            self.fallen, self.speed = reason, None  # the old speed is no longer news
        elif reason:
            self.story.notice(f"{decision.storyteller} told this beat: {reason}", "warning")
        elif self.fallen is not None and decision.storyteller == main:
            self.fallen = None
            self.story.notice(f"{main} answers again")

    def _measure(self, committed: Committed) -> None:
        """Tokens a second of the storyteller's model, from this beat's narration calls."""
        metrics = self.session.metrics
        tokens, seconds = metrics.completion_tokens, metrics.model_seconds
        d_tokens, d_seconds = tokens - self._mark[0], seconds - self._mark[1]
        self._mark = (tokens, seconds)
        # The decide calls spend most of their time reading the prompt; leave them out
        # when the narration is there to measure, so the number is the writing speed.
        decide = committed.decision.calls
        n_tokens = d_tokens - sum(c.completion_tokens or 0 for c in decide)
        n_seconds = d_seconds - sum((c.latency_ms or 0) / 1000 for c in decide)
        if n_tokens > 0 and n_seconds > 0:
            self.speed = n_tokens / n_seconds
        elif d_tokens > 0 and d_seconds > 0:
            self.speed = d_tokens / d_seconds

    # ------------------------------------------------------------ the turns
    def start(self, job: str, text: str | None = None, count: int = 1) -> None:
        """Begin a turn: ``act`` (text), ``wait`` (count) or ``regenerate``.

        Marked busy here, before the worker runs, so a second key press in the same
        moment cannot start a second turn.
        """
        self._job = (job, text, count)
        self._job_start = self.session.tick
        self._live = self._generation
        self.busy = "telling …"
        self.tell(self._generation, job, text, count)

    @work(exclusive=True, group="tick", exit_on_error=False)
    async def tell(self, generation: int, job: str, text: str | None, count: int) -> None:
        """The turn itself, in an async worker on the app's loop (see :meth:`start`)."""
        try:
            if job == "act":
                self._quiet(await self.session.act(text or ""))
            elif job == "wait":
                for _ in range(count):
                    if self.session.ending is not None:
                        break  # told by StoryEnded; nothing happens after an ending
                    self._quiet(await self.session.step())
            elif job == "regenerate":
                self._quiet(await self.session.regenerate())
        finally:
            if generation == self._generation and self.is_mounted:
                self.story.finish()
                self._job = None
                self.busy = ""
                self.refresh_views()

    def _quiet(self, result: Any) -> None:
        if not result.events:  # nobody acted: say so, or the tick passes unseen
            self.show_tick(result.tick)
            unit = self.session.save.settings.world.tick
            self.story.system(f"(a quiet {unit})")

    @property
    def running(self) -> list[Worker]:
        return [w for w in self.workers if w.node is self and w.group == "tick"
                and w.state in (WorkerState.PENDING, WorkerState.RUNNING)]

    def stop_tick(self) -> bool:
        """Stop the turn in flight and forget whatever it still says; True if one ran."""
        was_running = bool(self.running or self.busy)
        self.workers.cancel_group(self, "tick")
        self._generation += 1
        if was_running:
            self.story.abandon()
            self.busy = ""
        return was_running

    async def stop_and_wait(self) -> None:
        """Stop the turn in flight and wait until it has unwound (before closing the save)."""
        workers = self.running
        self.stop_tick()
        for worker in workers:
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "tick" and event.state == WorkerState.ERROR:
            self.story.abandon()
            self.story.notice(f"the turn failed: {event.worker.error}", "error")
            self.busy = ""
            self.refresh_views()

    # ------------------------------------------------------------- the input
    @on(Input.Submitted, "#command")
    def submitted(self, event: Input.Submitted) -> None:
        line = event.value
        parsed = parse(line)
        if parsed is None:
            return
        if isinstance(parsed, Say) and self.busy:
            self.story.notice("the last turn is still being told; your words wait in the "
                              "input line (escape stops the telling)")
            return
        self.command_line.remember(line)
        self.command_line.value = ""
        if not self.session.save.closed:  # kept in the save: up-arrow works after a restart
            self.session.save.set_meta(HISTORY_KEY, self.command_line.history)
        if isinstance(parsed, Say):
            self.act(parsed.text)
        elif isinstance(parsed, Invalid):
            self.story.notice(parsed.message, "warning")
        else:
            self.run_command(parsed)

    def act(self, text: str) -> None:
        if self.session.ending is not None:
            self.story.notice(self._ended_hint(), "warning")
            return
        if self.session.player is None:
            self.story.notice("this world has no player character to act; /wait lets time "
                              "pass", "warning")
            return
        self.show_tick(self.session.tick + 1)
        self.story.player(text)
        self.start("act", text)

    def run_command(self, command: Command) -> None:
        """Do one parsed ``/command`` (the palette and the bindings come here too)."""
        getattr(self, f"cmd_{command.name}")(command)

    # --------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("undo", "regenerate") and self.session.tick == 0 and not self.busy:
            return None  # shown, greyed out: nothing to take back yet
        if action == "wait" and self.busy:
            return None
        if action == "stop" and not self.busy:
            return False
        return True

    def action_undo(self) -> None:
        self.run_command(Command("undo", count=1))

    def action_regenerate(self) -> None:
        self.run_command(Command("regenerate"))

    def action_wait(self) -> None:
        self.run_command(Command("wait", count=1))

    def action_help(self) -> None:
        self.app.push_screen(HelpModal())

    def action_toggle_all(self) -> None:
        self.run_command(Command("all"))

    def action_stop(self) -> None:
        if self.stop_tick():
            self.story.notice("stopped; what was already told stays in the story")
            self.refresh_views()

    def action_fork(self) -> None:
        name = fresh_name("alt", self.session.branches().__contains__)

        def forked(answer: str | None) -> None:
            if answer:
                self.run_command(Command("fork", word=answer))

        self.app.push_screen(
            PromptModal(f"Fork a branch at {self.tick_label(self.session.tick)}", name,
                        "branch name", "Letters, digits, - _ and . · Enter forks · "
                        "Escape cancels"), forked)

    def ask_model(self) -> None:
        current = self.session.storyteller.name
        model = current.split(":", 1)[1] if current.startswith("ollama:") else (
            self.session.save.settings.storyteller.model or "")

        def chosen(answer: str | None) -> None:
            if answer:
                self.run_command(Command("storyteller", word="ollama", extra=answer))

        self.app.push_screen(PromptModal("Tell the story with which Ollama model?", model,
                                         "for example qwen2.5:3b"), chosen)

    @on(TimelinePanel.Chosen)
    def branch_clicked(self, event: TimelinePanel.Chosen) -> None:
        self.run_command(Command("switch", word=event.branch))

    # -------------------------------------------------------------- commands
    def cmd_undo(self, command: Command) -> None:
        n = command.count or 1
        if n > ASK_UNDO and self.session.tick > ASK_UNDO:
            back = min(n, self.session.tick)
            where = self.tick_label(self.session.tick - back)

            def answered(yes: bool | None) -> None:
                if yes:
                    self._undo_now(n)
                else:
                    self.story.notice("nothing undone")

            self.app.push_screen(ConfirmModal(
                f"Take back {back} {self._unit(back)}, to {where}?",
                "Nothing is deleted: /redo brings them back, as long as you do not play on "
                "from there first."), answered)
            return
        self._undo_now(n)

    def _undo_now(self, n: int) -> None:
        """Take back ``n`` turns now (the turn in flight counts as one)."""
        stopped = self.stop_tick()
        if stopped and self.session.tick == self._job_start:
            n -= 1  # the turn on screen had not committed anything: stopping it undoes it
            self.story.forget_from(self._job_start + 1)
        if n and self.session.tick > 0:
            before = self.session.tick
            self.session.undo(n)
            self.story.forget_from(self.session.tick + 1)
            self._tick_shown = None
            undone = before - self.session.tick
            self.story.notice(f"took back {undone} {self._unit(undone)}; now at "
                              f"{self.tick_label(self.session.tick)} (/redo brings "
                              f"{'it' if undone == 1 else 'them'} back)")
        elif stopped:
            self.story.notice("stopped the turn being told")
        else:
            self.story.notice("nothing to undo: this is the beginning")
        self.refresh_views()

    def cmd_redo(self, command: Command) -> None:
        if self.busy:
            self.story.notice("the last turn is still being told")
            return
        regained = self.session.redo()
        if regained:
            self.replay_story()
            self.story.notice(f"brought back {regained} {self._unit(regained)}; now at "
                              f"{self.tick_label(self.session.tick)}")
        else:
            self.story.notice("nothing to redo: no undo to go back on, or the story went on "
                              "since")
        self.refresh_views()

    def cmd_regenerate(self, command: Command) -> None:
        job = self._job
        stopped = self.stop_tick()
        if stopped and job is not None and self.session.tick == self._job_start:
            # Nothing of the turn in flight was committed: tell it again from the start.
            self.story.forget_from(self._job_start + 1)
            self._tick_shown = None
            self._restart(job)
            return
        if self.session.tick == 0:
            self.story.notice("nothing to tell again yet")
            self.refresh_views()
            return
        tick = self.session.tick
        said = [e.intent for e in self.session.save.log(limit=16)
                if e.tick == tick and e.kind == "player" and e.intent]
        self.story.forget_from(tick)
        self._tick_shown = None
        self.story.notice(f"telling {self.tick_label(tick)} again")
        if said:  # the player's words stay; the world answers them anew
            self.show_tick(tick)
            self.story.player(said[0])
        self.start("regenerate")

    def _restart(self, job: tuple[str, str | None, int]) -> None:
        kind, text, count = job
        if kind == "act" and text is not None:
            self.act(text)
        else:
            self.start(kind, text, count)

    def cmd_wait(self, command: Command) -> None:
        if self.busy:
            self.story.notice("the last turn is still being told")
            return
        if self.session.ending is not None:
            self.story.notice(self._ended_hint(), "warning")
            return
        self.start("wait", None, command.count or 1)

    def cmd_fork(self, command: Command) -> None:
        name = command.word or ""
        self.stop_tick()
        try:
            self.session.fork(name)
        except (SaveError, ValueError) as exc:
            self.story.notice(str(exc), "error")
        else:
            self.story.notice(f"forked branch {name} at {self.tick_label(self.session.tick)}; "
                              "you are playing on it now")
        self.refresh_views()

    def cmd_switch(self, command: Command) -> None:
        name = command.word or ""
        if name == self.session.branch:
            self.story.notice(f"already on branch {name}")
            return
        self.stop_tick()
        try:
            self.session.switch(name)
        except SaveError as exc:
            self.story.notice(str(exc), "error")
            self.refresh_views()
            return
        self.replay_story()
        self.story.notice(f"switched to branch {name}, at {self.tick_label(self.session.tick)}")
        self.refresh_views()

    def cmd_goals(self, command: Command) -> None:
        view = goals_view(self.session, everyone=True)
        if view is None:
            self.story.system("This world sets no goals: the story goes where it goes.")
            return
        for goal in view.goals:
            # Whose goal, unless its text already starts with them ("Cole Ransome gets ...").
            named = goal.whose and not goal.text.startswith(goal.whose)
            whose = f"{goal.whose}: " if named else ""
            self.story.system(f"{'✓' if goal.done else '○'} {whose}{goal.text}")
        if view.ending:
            self.story.notice(self._ended_hint(), "warning")

    def cmd_continue(self, command: Command) -> None:
        if self.session.ending is None:
            self.story.notice("the story has not ended; there is nothing to continue after")
            return
        self.stop_tick()
        name = self.session.continue_story()
        self.story.notice(f"the story goes on in branch {name}; the ending stays on its own "
                          "branch (/switch to go back)")
        self.refresh_views()

    def cmd_branches(self, command: Command) -> None:
        for row in timeline_view(self.session):
            mark = "●" if row.current else "○"
            self.story.system(f"{mark} {row.name}: {self.tick_label(row.tick)}, "
                              f"{row.events} events")

    def cmd_all(self, command: Command) -> None:
        story = self.story
        story.show_all = not story.show_all
        if story.show_all:
            story.notice("showing every beat, near and far (f3 or /all: only what you witness)")
        else:
            story.notice("showing what you witness; the rest is one line a tick (f3 or /all: "
                         "every beat)")

    def cmd_help(self, command: Command) -> None:
        self.story.system("Type what you do, in plain words; these verbs are understood:")
        for verb, usage in VERBS.items():
            self.story.system(f"  {verb} — {usage}")
        self.story.system("Or one of these commands:")
        for usage, what in help_rows():
            self.story.system(f"  {usage} — {what}")
        self.story.system("Keys: ctrl+z undo · ctrl+r retell · ctrl+f fork · ctrl+t wait · "
                          "escape stop · f1 help · f2 theme · f3 every beat · ctrl+p commands · "
                          "ctrl+q quit")

    def cmd_quit(self, command: Command) -> None:
        self.app.call_later(self.app.action_quit)  # async: stops the turn, closes the save

    def _unit(self, n: int) -> str:
        unit = self.session.save.settings.world.tick
        return unit if n == 1 else f"{unit}s"

    # /look, /who, /inventory, /save, /export and /storyteller live in GameReports
    # (reports.py), to keep this module about turns.
