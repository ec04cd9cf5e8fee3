"""Small dialogs over the play screen: ask for a name, show the help."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from simengine.tui.commands import help_rows

#: The play screen's keys, as the help lists them (the footer shows the same).
KEYS: tuple[tuple[str, str], ...] = (
    ("ctrl+z", "undo the last turn"),
    ("ctrl+r", "tell the last turn again"),
    ("ctrl+f", "fork a branch here"),
    ("ctrl+t", "let time pass (one turn)"),
    ("escape", "stop the turn being told"),
    ("up / down", "earlier lines you typed"),
    ("f1", "this help"),
    ("f2", "light / dark theme"),
    ("f3", "every beat, or only what you witness"),
    ("ctrl+p", "all commands"),
    ("ctrl+q", "quit (the game is saved)"),
)


class PromptModal(ModalScreen[str | None]):
    """Ask for one line of text; Enter answers it, Escape answers None."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "", note: str = ""):
        super().__init__(classes="dialog")
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield Input(self.value, placeholder=self.placeholder, id="dialog-input",
                        select_on_focus=True)
            yield Label(self.note or "Enter confirms · Escape cancels", id="dialog-note")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """A yes-or-no question; y or Enter answers yes, n or Escape answers no."""

    BINDINGS = [Binding("y,enter", "answer(True)", "yes"),
                Binding("n,escape", "answer(False)", "no")]

    def __init__(self, question: str, note: str = ""):
        super().__init__(classes="dialog")
        self.question = question
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="dialog-title")
            if self.note:
                yield Static(self.note, markup=False)
            yield Label("y or Enter: yes · n or Escape: no", id="dialog-note")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def help_grid(rows: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> Grid:
    """Two columns: what to type or press, and what it does (wrapping in its column)."""
    cells = []
    for key, what in rows:
        cells += [Static(key, classes="help-key", markup=False),
                  Static(what, classes="help-what", markup=False)]
    return Grid(*cells, classes="help-grid")


class HelpModal(ModalScreen[None]):
    """Every command and key; any of Escape, F1 or q closes it."""

    BINDINGS = [Binding("escape,f1,q", "close", "close")]

    def __init__(self) -> None:
        super().__init__(classes="dialog")

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-help"):
            yield Label("simengine · help", id="dialog-title")
            with VerticalScroll():
                yield Label("Type what you do, or a command:", classes="help-heading")
                yield help_grid(help_rows())
                yield Label("Keys:", classes="help-heading")
                yield help_grid(KEYS)
            yield Label("Escape to close", id="dialog-note")

    def action_close(self) -> None:
        self.dismiss(None)
