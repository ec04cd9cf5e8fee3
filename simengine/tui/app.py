"""``SimApp``: the Textual app. It holds the screens, the app-wide keys and the open game.

With a session it opens straight on the play screen; without one, on the
launcher. Whatever way it ends (``/quit``, ctrl+q, the terminal closing), the
turn in flight is stopped first and the session closed, so every committed
beat stays in the save and the save's lock is let go.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from simengine.sim.session import Session
from simengine.tui.launcher import LauncherScreen, PlayOptions
from simengine.tui.play import PlayScreen

DARK, LIGHT = "textual-dark", "textual-light"


class SimApp(App[None]):
    """The simengine terminal UI: the launcher and the play screen."""

    TITLE = "simengine"
    CSS_PATH = "app.tcss"
    BINDINGS = [Binding("f2", "toggle_theme", "theme", show=False)]

    def __init__(self, options: PlayOptions | None = None, *, session: Session | None = None,
                 why: str = ""):
        super().__init__()
        self.options = options or PlayOptions()
        self.session = session
        self.why = why
        #: (save path, branch) of the game last closed, for the goodbye line.
        self.saved: tuple[Path, str] | None = None

    def on_mount(self) -> None:
        # Pushed rather than returned by get_default_screen: only pushed screens get
        # their CSS_PATH loaded.
        if self.session is not None:
            self.push_screen(PlayScreen(self.session, self.why, host=self.options.host))
        else:
            self.push_screen(LauncherScreen(self.options))

    def start_play(self, session: Session, why: str) -> None:
        """Leave the launcher for the play screen of a freshly opened game."""
        self.session, self.why = session, why
        self.switch_screen(PlayScreen(session, why, host=self.options.host))

    @property
    def play_screen(self) -> PlayScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, PlayScreen)), None)

    async def action_quit(self) -> None:
        """Stop the turn in flight, close the save, then leave."""
        screen = self.play_screen
        if screen is not None:
            await screen.stop_and_wait()
        self.close_session()
        self.exit()

    def close_session(self) -> None:
        """Close the game's session (idempotent): metrics written, save and lock let go."""
        if self.session is not None and not self.session.save.closed:
            self.saved = (self.session.save.path, self.session.branch)
            self.session.close()

    def on_unmount(self) -> None:
        self.close_session()

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        other = "light" if self.theme == DARK else "dark"
        yield SystemCommand(f"Use the {other} theme", "f2 switches between light and dark",
                            self.action_toggle_theme)
