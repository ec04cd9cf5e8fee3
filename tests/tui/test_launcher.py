"""The launcher: worlds and saves listed (broken ones too), a choice opens the game."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from textual.widgets import OptionList, RadioSet

from simengine.sim.session import Session
from simengine.store import Save
from simengine.tui.app import SimApp
from simengine.tui.launcher import LauncherScreen, PlayOptions, find_saves, find_worlds
from simengine.world.loader import load_world

from .conftest import HARBOUR, SIZE, play_screen, settle


@pytest.fixture
def worlds(tmp_path):
    folder = tmp_path / "worlds"
    folder.mkdir()
    shutil.copy(HARBOUR, folder / "harbour.toml")
    (folder / "broken.toml").write_text('[world]\nid = "broken"\nname = "Broken"\ncreativty = 1\n')
    return folder


@pytest.fixture
def saves(_saves_in_tmp):
    """One harbour save two ticks in, with a branch, and one file that is no save."""
    session = Session.new(load_world(HARBOUR), _saves_in_tmp / "evening.db", seed=42)
    asyncio.run(session.act("go to the market"))
    asyncio.run(session.act("look around"))
    session.save.fork("alt")
    session.close()
    (_saves_in_tmp / "junk.db").write_bytes(b"this is not a database" * 100)
    return _saves_in_tmp


def test_find_worlds_lists_broken_files_with_their_problem(worlds):
    found = {w.path.name: w for w in find_worlds([worlds])}
    assert found["harbour.toml"].name == "Greywater Harbour" and not found["harbour.toml"].error
    assert "creativty" in found["broken.toml"].error


def test_find_saves_lists_unreadable_saves_as_such(saves):
    found = {s.path.name: s for s in find_saves()}
    evening = found["evening.db"]
    assert (evening.world, evening.branches, evening.current) == (
        "Greywater Harbour", ("main", "alt"), "main")
    assert evening.tick == 2 and evening.last_played
    assert found["junk.db"].error and not found["junk.db"].world


def prompts(app: SimApp, which: str) -> list[tuple[str, bool]]:
    options = app.screen.query_one(f"#{which}", OptionList)
    return [(str(options.get_option_at_index(i).prompt), options.get_option_at_index(i).disabled)
            for i in range(options.option_count)]


async def test_the_launcher_shows_worlds_and_saves(worlds, saves):
    app = SimApp(PlayOptions(world_dirs=[worlds]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LauncherScreen)
        shown = prompts(app, "worlds")
        assert shown[0][0].startswith("broken.toml\ncannot be played:") and shown[0][1]
        assert shown[1][0].startswith("Greywater Harbour  harbour.toml") and not shown[1][1]
        listed = prompts(app, "saves")
        evening = next(p for p, _ in listed if p.startswith("evening"))
        assert "hour 2 on main · branches: main, alt" in evening
        assert any(p.startswith("junk.db\ncannot be opened:") and off for p, off in listed)
        assert app.screen.query_one(RadioSet).pressed_index == 0  # as the world says
        await pilot.press("s")
        assert isinstance(app.focused, RadioSet)
        Session.new(load_world(HARBOUR), saves / "later.db", seed=1).close()
        await pilot.press("f5")
        await pilot.pause()
        assert any(p.startswith("later") for p, _ in prompts(app, "saves"))


async def test_choosing_a_world_starts_a_new_game(worlds, saves):
    app = SimApp(PlayOptions(world_dirs=[worlds], seed=7))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")  # to the worlds list
        await pilot.press("enter")  # the highlighted world: harbour (broken is disabled)
        await settle(pilot)
        screen = play_screen(app)
        assert screen.session.save.spec.world.id == "harbour"
        assert screen.session.seed == 7 and screen.session.tick == 0
        assert screen.session.save.path.parent == saves
        assert screen.session.storyteller.name == "procedural"


async def test_choosing_a_save_continues_it_with_the_chosen_storyteller(worlds, saves):
    app = SimApp(PlayOptions(world_dirs=[worlds], storyteller="procedural",
                             host="http://127.0.0.1:9"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        radio = app.screen.query_one(RadioSet)
        assert radio.pressed_button is not None and str(radio.pressed_button.label) == "procedural"
        await pilot.press("c", "enter")
        await settle(pilot)
        screen = play_screen(app)
        assert screen.session.save.path == saves / "evening.db"
        assert screen.session.tick == 2 and screen.session.branch == "main"
        assert "— hour 2 —" in screen.story.lines()  # the story so far is shown
        assert screen.why == "procedural storyteller (no model needed)"


async def test_a_save_in_use_elsewhere_is_an_error_not_a_crash(worlds, saves):
    holder = Save.open(saves / "evening.db")  # another game has it open
    try:
        app = SimApp(PlayOptions(world_dirs=[worlds]))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("c", "enter")
            await settle(pilot)
            assert isinstance(app.screen, LauncherScreen)
            status = str(app.screen.query_one("#launch-status").render())
            assert "evening.db" in status
            assert app.screen.opening is False  # the player may choose again
    finally:
        holder.close()


async def test_a_first_run_puts_the_keys_on_the_worlds(tmp_path):
    """No saves yet: Down moves through the worlds and Enter starts the highlighted one."""
    folder = tmp_path / "worlds"
    folder.mkdir()
    for name in ("frontier.toml", "harbour.toml"):
        shutil.copy(HARBOUR.parent / name, folder / name)
    app = SimApp(PlayOptions(world_dirs=[folder], seed=3))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.focused is app.screen.query_one("#worlds", OptionList)
        await pilot.press("down", "enter")  # frontier is first; down to the harbour
        await settle(pilot)
        assert play_screen(app).session.save.spec.world.id == "harbour"


async def test_no_worlds_found_names_the_folders_searched(tmp_path):
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    app = SimApp(PlayOptions(world_dirs=[empty]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        (message, disabled), = prompts(app, "worlds")
        assert disabled and message == f"no world files found; looked in {empty}"


def test_a_world_shipped_twice_is_listed_once_and_a_changed_copy_too(tmp_path, worlds):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copy(HARBOUR, shipped / "harbour.toml")
    names = [w.path for w in find_worlds([worlds, shipped])]
    assert names.count(worlds / "harbour.toml") == 1 and shipped / "harbour.toml" not in names
    (shipped / "harbour.toml").write_text(HARBOUR.read_text() + "\n# changed\n")
    assert shipped / "harbour.toml" in [w.path for w in find_worlds([worlds, shipped])]
