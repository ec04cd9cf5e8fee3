"""An imported world in the play screen: the card's opening first, and ``/lore``."""

from __future__ import annotations

import pytest
from importkit import FIXTURES

from simengine.cli.common import open_or_start
from simengine.importers import import_files
from simengine.tui.app import SimApp
from simengine.tui.launcher import PlayOptions
from simengine.tui.play import PlayScreen
from simengine.tui.widgets import StoryLog


@pytest.fixture
def app(tmp_path):
    world = tmp_path / "sera.toml"
    world.write_text(import_files([FIXTURES / "seraphina_v2.json"]).text)
    session, why = open_or_start(str(world), save_path=tmp_path / "g.db",
                                 storyteller="procedural", seed=7)
    yield SimApp(PlayOptions(host="http://127.0.0.1:9"), session=session, why=why)
    if not session.save.closed:
        session.close()


def story(app: SimApp) -> str:
    screen = app.screen
    assert isinstance(screen, PlayScreen)
    return "\n".join(screen.query_one(StoryLog).lines())


async def enter(pilot, line: str) -> None:
    screen = pilot.app.screen
    screen.command_line.value = line
    screen.command_line.cursor_position = len(line)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_the_opening_then_lore_on_asking(app):
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        assert "You wake to birdsong." in story(app)  # the card's first message
        await enter(pilot, "/lore")
        assert "No lore came up in the last beat." in story(app)
        await enter(pilot, "I ask Seraphina about the shadowbeast that came in the dark")
        await enter(pilot, "/lore")
        text = story(app)
        assert "Lore in the last beat:" in text
        assert "Fading magic" in text  # the constant entry is always there
