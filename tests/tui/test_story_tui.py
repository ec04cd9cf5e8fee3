"""Goals on screen from the first turn, a notice when one is done, an ending and /continue."""

from __future__ import annotations

import pytest

from simengine.cli.common import open_or_start
from simengine.tui.app import SimApp
from simengine.tui.launcher import PlayOptions
from simengine.tui.widgets import GoalsPanel

from .conftest import SIZE, WORLDS, enter, play_screen, settle, text


@pytest.fixture
def frontier(tmp_path):
    """A procedural game of the frontier world (opened outside the test's event loop)."""
    session, why = open_or_start(str(WORLDS / "frontier.toml"), save_path=tmp_path / "g.db",
                                 storyteller="procedural", seed=42)
    yield session, why
    if not session.save.closed:
        session.close()


async def test_goals_show_a_goal_done_is_told_and_an_ending_ends_until_continue(frontier):
    session, why = frontier
    app = SimApp(PlayOptions(host="http://127.0.0.1:9"), session=session, why=why)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = play_screen(app)
        panel = screen.query_one(GoalsPanel)
        assert panel.display
        assert [(g.text, g.done) for g in panel.view.goals][0] == (
            "Find out what Amos Tuttle was holding when he died.", False)
        assert "Your goals: Find out what Amos Tuttle was holding" in text(app)
        await enter(pilot, "go to the creek")
        await enter(pilot, "take the map from amos")
        assert "✓ Goal done: Find out what Amos Tuttle was holding when he died." in text(app)
        assert panel.view.goals[0].done
        for line in ("go to the crossing", "go to the glory hole", "go to the mine shaft"):
            await enter(pilot, line)
        shown = text(app)
        assert "By lantern light the east drift opens" in shown
        assert "5 hours played; 2 of 4 goals done." in shown  # the map left unread
        assert panel.view.ending == "win: the-real-seam"
        tick = session.tick
        await enter(pilot, "go to the glory hole")
        assert session.tick == tick and "The story has ended" in text(app)
        await enter(pilot, "/goals")
        assert "✓ Follow Amos's map down to the real seam." in text(app)
        # a goal of someone else's, not named twice when its text already names them
        assert "Cole Ransome gets his hands on Claim Seven" in text(app)
        assert "Cole Ransome: Cole Ransome" not in text(app)
        await enter(pilot, "/continue")
        assert session.branch == "main-after-the-real-seam" and panel.view.ending == ""
        await enter(pilot, "go to the glory hole")
        assert session.tick == tick + 1


async def test_a_world_without_goals_shows_no_goals_panel(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = play_screen(app)
        screen.session.story.goals.clear()
        screen.session.story.endings.clear()
        screen.refresh_views()
        await pilot.pause()
        assert not screen.query_one(GoalsPanel).display
        await enter(pilot, "/goals")
        assert "This world sets no goals" in text(app)
