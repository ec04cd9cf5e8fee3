"""The play screen's widgets: the story log, the side panels, the status line, the input.

Each panel draws a plain picture from :mod:`simengine.tui.views` that its
parent sets on it (reactives go down); the few that are clickable post a
``Message`` (messages go up). None of them knows about ``Session``.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.reactive import reactive
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static

from simengine.tui.commands import NAMES
from simengine.tui.views import (
    BranchRow,
    CastMember,
    GoalsView,
    PlayerView,
    SceneView,
    StatusView,
)

MAX_LINES = 400  # story lines kept on screen; the save keeps everything


# ------------------------------------------------------------------ story log
class StoryLog(VerticalScroll, can_focus=True):
    """The story so far: one line widget per beat, narration streaming into the last.

    Player lines, narration, notices and system lines get their own classes
    (``-player``, ``-narration``, ``-notice``, ``-system``, ``-tick``), so
    the stylesheet, not this code, decides how each looks in each theme.
    ``busy`` (what is being told) shows in the title. Beats the player did not
    witness are marked ``-elsewhere`` and, unless ``show_all``, hidden behind one
    ``-unseen`` line a tick that names who acted.
    """

    busy: reactive[str] = reactive("")
    show_all: reactive[bool] = reactive(False)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._current: Static | None = None
        self._parts: list[str] = []
        self._prefix = ""
        self._tick: int | None = None  # lines are tagged with their tick, so undo can drop them
        self._following = True  # at the newest line: keep it in view as lines come and go
        self._unseen: dict[int | None, tuple[Static, list[str]]] = {}  # per tick

    def on_mount(self) -> None:
        self.border_title = "story"
        self.watch(self, "scroll_y", self._scrolled, init=False)

    def _scrolled(self, scroll_y: float) -> None:
        self._following = scroll_y >= self.max_scroll_y - 1

    def on_resize(self) -> None:
        # A narrower log has more lines: stay at the newest one if the reader was there.
        if self._following:
            self.call_after_refresh(self.scroll_end, animate=False)

    def watch_busy(self, busy: str) -> None:
        self.border_title = f"story · {busy}" if busy else "story"

    def watch_show_all(self, show_all: bool) -> None:
        self.set_class(show_all, "-all")
        self._follow()

    def _follow(self) -> None:
        """Keep the newest line in view, unless the reader has scrolled up to read back."""
        if self._following:
            self.call_after_refresh(self.scroll_end, animate=False)

    def lines(self) -> list[str]:
        """The plain text of every line (for tests and /commands that read back)."""
        return [str(line.render()) for line in self.query(".line").results(Static)]

    def _add(self, text: str | Content, kind: str, *, before: Static | None = None) -> Static:
        line = Static(text, classes=f"line -{kind}", markup=False)
        line.story_tick = self._tick  # type: ignore[attr-defined]
        self._follow()
        if before is not None:
            self.mount(line, before=before)
        else:
            self.mount(line)
        extra = len(self.children) - MAX_LINES
        if extra > 0:
            self.remove_children(list(self.children[:extra]))
        return line

    def tick(self, label: str, tick: int) -> None:
        """A heading for a new tick; the lines after it belong to that tick."""
        self.finish()
        self._tick = tick
        self._add(f"— {label} —", "tick")

    def forget_from(self, tick: int) -> None:
        """Drop every line of ``tick`` and later (they were undone or are retold)."""
        self._current = None
        self._parts = []
        gone = [w for w in self.children
                if getattr(w, "story_tick", None) is not None and w.story_tick >= tick]
        if gone:
            self.remove_children(gone)
        self._unseen = {t: v for t, v in self._unseen.items() if t is None or t < tick}
        self._tick = tick - 1 if tick > 0 else None

    def player(self, text: str) -> None:
        self.finish()
        self._add(f"> {text}", "player")

    def begin(self, kind: str, elsewhere: bool = False) -> None:
        """Open a paragraph for a beat's narration (``player``, ``npc`` or ``world``);
        ``elsewhere``: the player does not (yet) seem to witness it."""
        self.finish()
        self._parts = []
        self._prefix = "" if kind == "player" else "· "
        self._current = self._add("", f"narration -by-{kind}")
        self._current.set_class(elsewhere, "-elsewhere")

    def chunk(self, text: str) -> None:
        if self._current is None:
            self.begin("npc")
        assert self._current is not None
        self._parts.append(text)
        self._follow()
        self._current.update(self._prefix + "".join(self._parts).lstrip())

    def finish(self, fallback: str = "", elsewhere: bool | None = None) -> None:
        """Close the open paragraph; ``fallback`` stands in when nothing streamed;
        ``elsewhere`` (if given) settles whether the player witnessed it."""
        if self._current is None:
            return
        if elsewhere is not None:
            self._current.set_class(elsewhere, "-elsewhere")
        if not "".join(self._parts).strip():
            if fallback:
                self._current.update(self._prefix + fallback.strip())
            else:
                self._current.remove()
        self._current = None
        self._parts = []

    def abandon(self) -> None:
        """The beat being told was stopped: mark its half-told paragraph as cut off."""
        if self._current is not None and "".join(self._parts).strip():
            self._current.update(self._prefix + "".join(self._parts).strip() + " …")
            self._current.add_class("-cut")
        elif self._current is not None:
            self._current.remove()
        self._current = None
        self._parts = []

    def narration(self, text: str, kind: str, elsewhere: bool = False) -> None:
        """A whole paragraph at once (replaying the saved story)."""
        self.begin(kind, elsewhere)
        self.chunk(text)
        self.finish()

    def notice(self, text: str, level: str = "info", elsewhere: bool = False) -> None:
        """A line about the game, not of the story: above the paragraph being told."""
        mark = "!" if level in ("warning", "error") else "·"
        line = self._add(f"{mark} {text}", f"notice -{level}", before=self._current)
        line.set_class(elsewhere, "-elsewhere")

    def unseen(self, who: str) -> None:
        """Count a beat of this tick that the player did not witness, by ``who``."""
        line, names = self._unseen.get(self._tick) or (None, [])
        if who not in names:
            names.append(who)
        if len(names) > 3:
            shown = f"{', '.join(names[:3])} and {len(names) - 3} more"
        else:
            shown = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        text = f"· elsewhere: {shown} (f3 shows all)"
        if line is None or not line.is_attached:
            line = self._add(text, "unseen", before=self._current)
        else:
            line.update(text)
        self._unseen[self._tick] = (line, names)

    def system(self, text: str | Content) -> None:
        self._add(text, "system", before=self._current)

    def clear(self) -> None:
        self._current = None
        self._parts = []
        self._tick = None
        self._unseen = {}
        self.remove_children()


# --------------------------------------------------------------------- panels
class Panel(Static):
    """A titled side panel that draws ``view`` whenever it changes."""

    TITLE = ""
    view: reactive[Any] = reactive(None, layout=True)

    def on_mount(self) -> None:
        self.border_title = self.TITLE

    def watch_view(self, view: Any) -> None:
        self.update(self.draw(view) if view is not None else "")

    def draw(self, view: Any) -> Content:
        raise NotImplementedError


def _field(label: str, values: tuple[str, ...] | list[str], empty: str = "none") -> Content:
    text = ", ".join(values) if values else empty
    return Content.assemble((f"{label} ", "$text-muted"), text)


class GoalsPanel(Panel):
    """The story's goals: ✓ done, ○ open; the ending, once one is reached."""

    TITLE = "goals"

    def watch_view(self, view: Any) -> None:
        self.display = view is not None  # a world without goals shows no panel
        super().watch_view(view)

    def draw(self, view: GoalsView) -> Content:
        lines = []
        for goal in view.goals:
            mark, style = ("✓ ", "$text-muted") if goal.done else ("○ ", "")
            whose = (f"{goal.whose}: ", "$text-muted") if goal.whose else ""
            lines.append(Content.assemble(mark, whose, (goal.text, style)))
        if view.ending:
            lines.append(Content.styled(f"ended ({view.ending}) · /continue", "bold"))
        return Content("\n").join(lines) if lines else Content.styled("no goals", "$text-muted")


class ScenePanel(Panel):
    """Place, exits, who and what is here."""

    TITLE = "scene"

    def draw(self, view: SceneView) -> Content:
        parts = [Content.styled(view.place, "bold"), _field("exits:", view.exits),
                 _field("here:", view.people, "nobody")]
        if view.dead:
            parts.append(_field("dead:", view.dead))
        parts.append(_field("things:", view.things))
        return Content("\n").join(parts)


class InventoryPanel(Panel):
    """The player: numbers and labels, and what they carry."""

    TITLE = "you"

    def draw(self, view: PlayerView) -> Content:
        name = view.name if view.alive else f"{view.name} (dead)"
        stats = " · ".join(f"{k} {v}" for k, v in view.attributes)
        parts = [Content.styled(name, "bold")]
        if stats:
            parts.append(Content(stats))
        parts.append(_field("carrying:", view.carrying, "nothing"))
        return Content("\n").join(parts)


class CastPanel(Panel):
    """Everyone else in the world and where they are; the people here first."""

    TITLE = "cast"

    def draw(self, view: tuple[CastMember, ...]) -> Content:
        if not view:
            return Content.styled("nobody else", "$text-muted")
        lines = []
        for member in view:
            if not member.alive:
                lines.append(Content.styled(f"† {member.name}", "$text-muted strike"))
                continue
            mark = "● " if member.here else "  "
            name = member.name + (" *" if member.invented else "")
            lines.append(Content.assemble(mark, (name, "bold" if member.here else ""),
                                          (f" · {member.place}", "$text-muted")))
        return Content("\n").join(lines)


class RelationsPanel(Panel):
    """The player's ties to others, both ways."""

    TITLE = "relations"

    def draw(self, view: tuple[str, ...]) -> Content:
        if not view:
            return Content.styled("no ties yet", "$text-muted")
        return Content("\n").join(Content(line) for line in view)


class TimelinePanel(Panel):
    """The save's branches: ● the one being played, ○ the others; click one to switch."""

    TITLE = "timeline"

    class Chosen(Message):
        """The player clicked a branch."""

        def __init__(self, branch: str):
            super().__init__()
            self.branch = branch

    def draw(self, view: tuple[BranchRow, ...]) -> Content:
        lines = []
        for row in view:
            mark = "●" if row.current else "○"
            style = "bold" if row.current else ""
            lines.append(Content.assemble((f"{mark} {row.name}", style),
                                          (f" {row.unit} {row.tick} · {row.events} events",
                                           "$text-muted")))
        return Content("\n").join(lines)

    def on_click(self, event: Click) -> None:
        rows = self.view or ()
        offset = event.get_content_offset(self)
        if offset is not None and 0 <= offset.y < len(rows) and not rows[offset.y].current:
            self.post_message(self.Chosen(rows[offset.y].name))


# ----------------------------------------------------------------- status bar
class StatusBar(Horizontal):
    """World · tick · branch on the left; the storyteller (and how fast) on the right."""

    view: reactive[StatusView | None] = reactive(None)

    def compose(self):
        yield Label(id="where")
        yield Label(id="gap")
        yield Label(id="teller")

    def watch_view(self, view: StatusView | None) -> None:
        if view is None or not self.is_mounted:
            return
        self.query_one("#where", Label).update(
            f"{view.world} · {view.tick_label} {view.tick} · branch {view.branch}")
        teller = self.query_one("#teller", Label)
        teller.update(view.teller)
        teller.tooltip = view.teller_detail or None

    def on_mount(self) -> None:
        self.watch_view(self.view)


# ---------------------------------------------------------------------- input
class HistoryInput(Input):
    """The input line: up and down walk back through what was typed before."""

    BINDINGS = [
        Binding("up", "history(-1)", "previous", show=False),
        Binding("down", "history(1)", "next", show=False),
    ]

    def __init__(self, *args: Any, keep: int = 200, **kwargs: Any):
        kwargs.setdefault("suggester", SuggestFromList(NAMES, case_sensitive=False))
        super().__init__(*args, **kwargs)
        self.history: list[str] = []
        self.keep = keep
        self._index: int | None = None
        self._draft = ""

    def remember(self, line: str) -> None:
        if line.strip() and (not self.history or self.history[-1] != line):
            self.history.append(line)
            del self.history[: -self.keep]
        self._index = None

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._index is None:
            if step > 0:
                return
            self._draft = self.value
            index = len(self.history) - 1
        else:
            index = self._index + step
        if index >= len(self.history):
            self._index = None
            self.value = self._draft
        else:
            self._index = max(index, 0)
            self.value = self.history[self._index]
        self.cursor_position = len(self.value)

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        # Editing a recalled line makes it a new draft, not a history entry.
        if self._index is not None and event.value != self.history[self._index]:
            self._index = None
