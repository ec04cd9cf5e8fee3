"""Snapshots of the launcher and the play screen at a fixed size (reviewed before accepting).

Nothing in them depends on the clock, a path or chance: the seed is fixed, the saves
directory is the test's own, the one save's "last played" is pinned and shown in UTC.
Update with ``pytest tests/tui --snapshot-update`` and look at the SVGs before keeping them.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from simengine.sim.session import Session
from simengine.store import Save
from simengine.tui.app import SimApp
from simengine.tui.launcher import PlayOptions
from simengine.world.loader import load_world

from .conftest import HARBOUR, WORLDS, enter, play_screen, settle

PLAYED = "2026-03-14T09:26:53.000+00:00"


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def one_save(_saves_in_tmp):
    """A harbour save with three quiet-ish ticks on main and a branch 'alt'."""
    session = Session.new(load_world(HARBOUR), _saves_in_tmp / "harbour-42.db", seed=42)
    asyncio.run(session.wait(3))
    session.save.fork("alt")
    session.close()
    with Save.open(_saves_in_tmp / "harbour-42.db") as save:
        save.set_meta("last_played", PLAYED)
    return _saves_in_tmp


def test_launcher(snap_compare, one_save, utc):
    app = SimApp(PlayOptions(world_dirs=[WORLDS]))
    assert snap_compare(app, terminal_size=(80, 24))


def play_app(game) -> SimApp:
    session, why = game
    return SimApp(PlayOptions(), session=session, why=why)


async def steady_cursor(pilot) -> None:
    """A blinking cursor would make the picture depend on the moment: keep it shown."""
    box = play_screen(pilot.app).command_line
    box.cursor_blink = False
    await pilot.press("end")  # any key shows the cursor again, and now it stays
    await pilot.pause()


async def two_turns(pilot) -> None:
    await settle(pilot)
    await enter(pilot, "go to the market")
    await enter(pilot, "ask Ysolde Brack about the cutter")
    await settle(pilot)
    await steady_cursor(pilot)


def test_play_screen(snap_compare, game):
    assert snap_compare(play_app(game), terminal_size=(80, 24), run_before=two_turns)


def test_play_screen_light_theme(snap_compare, game):
    async def light(pilot) -> None:
        await two_turns(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await steady_cursor(pilot)

    assert snap_compare(play_app(game), terminal_size=(80, 24), run_before=light)


def test_play_screen_large(snap_compare, game):
    assert snap_compare(play_app(game), terminal_size=(120, 40), run_before=two_turns)
