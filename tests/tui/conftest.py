"""Shared pieces of the TUI tests: a game on the harbour world, and ways to drive it."""

from __future__ import annotations

from pathlib import Path

import pytest

from simengine.cli.common import open_or_start
from simengine.tui.app import SimApp
from simengine.tui.launcher import PlayOptions
from simengine.tui.play import PlayScreen
from simengine.tui.widgets import StoryLog

ROOT = Path(__file__).parent.parent.parent
WORLDS = ROOT / "worlds"
HARBOUR = WORLDS / "harbour.toml"
SIZE = (100, 32)


@pytest.fixture
def game(tmp_path):
    """A new procedural game of the harbour world, seed 42, saved in tmp_path/game.db.

    Opened here (a plain fixture, outside the test's event loop) because choosing a
    storyteller runs its own loop.
    """
    session, why = open_or_start(str(HARBOUR), save_path=tmp_path / "game.db",
                                 storyteller="procedural", seed=42)
    yield session, why
    if not session.save.closed:
        session.close()


@pytest.fixture
def app(game):
    session, why = game
    return SimApp(PlayOptions(host="http://127.0.0.1:9"), session=session, why=why)


def play_screen(app: SimApp) -> PlayScreen:
    screen = app.screen
    assert isinstance(screen, PlayScreen), screen
    return screen


def lines(app: SimApp) -> list[str]:
    return play_screen(app).query_one(StoryLog).lines()


def text(app: SimApp) -> str:
    return "\n".join(lines(app))


async def settle(pilot) -> None:
    """Let every worker finish and the screen catch up."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def enter(pilot, line: str) -> None:
    """Type a line into the input (as a paste: fast) and press Enter, then settle."""
    box = play_screen(pilot.app).command_line
    box.value = line
    box.cursor_position = len(line)
    await pilot.press("enter")
    await settle(pilot)
