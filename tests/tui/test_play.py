"""The play screen, driven with Pilot: every /command and every key, checked on the save."""

from __future__ import annotations

import json

from simengine.sim.session import Session
from simengine.store import Save
from simengine.tui.app import SimApp
from simengine.tui.launcher import PlayOptions
from simengine.tui.modals import ConfirmModal, HelpModal, PromptModal
from simengine.tui.widgets import (
    InventoryPanel,
    ScenePanel,
    StatusBar,
    TimelinePanel,
)
from simengine.world.loader import load_world

from .conftest import HARBOUR, SIZE, enter, lines, play_screen, settle, text


async def test_a_turn_shows_the_players_line_then_the_story_and_updates_the_panels(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = play_screen(app)
        assert "You are Mara Fenwick, in The Tarred Gull." in text(app)
        await enter(pilot, "go to the market")
        session = screen.session
        assert session.tick == 1
        shown = lines(app)
        assert "— hour 1 —" in shown and "> go to the market" in shown
        after = shown[shown.index("> go to the market") + 1]
        assert "Saltmarket" in after  # the narration of the player's move
        assert screen.query_one(ScenePanel).view.place == "The Saltmarket"
        assert screen.query_one(InventoryPanel).view.name == "Mara Fenwick"
        assert screen.query_one(StatusBar).view.tick == 1
        assert screen.command_line.value == ""


async def test_undo_command_takes_back_turns_and_their_lines(app):
    async with app.run_test(size=SIZE) as pilot:
        for line in ("go to the market", "look around", "go to the tarred gull"):
            await enter(pilot, line)
        session = play_screen(app).session
        assert session.tick == 3
        await enter(pilot, "/undo 2")
        assert session.tick == 1
        assert len(session.save.log()) == len([e for e in session.save.log() if e.tick <= 1])
        shown = text(app)
        assert "— hour 2 —" not in shown and "> look around" not in shown
        assert "took back 2 hours; now at hour 1" in shown
        await enter(pilot, "/undo")
        assert session.tick == 0
        await enter(pilot, "/undo")
        assert "nothing to undo" in text(app)


async def test_a_long_undo_asks_first_and_redo_brings_the_turns_back(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "/wait 6")
        session = play_screen(app).session
        head = session.save.head()
        assert session.tick == 6
        await enter(pilot, "/undo 200")
        assert isinstance(app.screen, ConfirmModal) and session.tick == 6
        assert "Take back 6 hours, to hour 0?" in str(app.screen.query_one("#dialog-title")
                                                        .render())
        await pilot.press("n")
        await settle(pilot)
        assert session.tick == 6 and "nothing undone" in lines(app)[-1]
        await enter(pilot, "/undo 5")
        await pilot.press("y")
        await settle(pilot)
        assert session.tick == 1 and "(/redo brings them back)" in lines(app)[-1]
        await enter(pilot, "/undo 2")  # a few turns: no question
        assert session.tick == 0
        await enter(pilot, "/redo")
        assert session.tick == 1
        await enter(pilot, "/redo")
        assert session.tick == 6 and session.save.head() == head
        assert "brought back 5 hours; now at hour 6" in lines(app)[-1]
        assert "— hour 6 —" in lines(app)  # the story is shown again
        await enter(pilot, "/redo")
        assert "nothing to redo" in lines(app)[-1]
        await enter(pilot, "/undo")
        await enter(pilot, "look around")  # playing on from there ends the way back
        await enter(pilot, "/redo")
        assert "nothing to redo" in lines(app)[-1] and session.tick == 6


async def test_ctrl_z_undoes_and_is_greyed_out_at_the_start(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = play_screen(app)
        assert screen.check_action("undo", ()) is None  # nothing to take back yet
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert screen.session.tick == 0
        await enter(pilot, "go to the market")
        assert screen.check_action("undo", ()) is True
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert screen.session.tick == 0
        assert "> go to the market" not in lines(app)


async def test_regenerate_retells_the_last_turn_in_place(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "go to the market")
        session = play_screen(app).session
        first = [e.id for e in session.save.log()]
        await enter(pilot, "/regenerate")
        assert session.tick == 1
        again = session.save.log()
        assert [e.id for e in again] != first  # new events, same tick
        assert [e.intent for e in again if e.kind == "player"] == ["go to the market"]
        shown = lines(app)
        assert shown.count("— hour 1 —") == 1 and shown.count("> go to the market") == 1
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert session.tick == 1 and session.save.log()[0].id not in first


async def test_fork_command_starts_a_branch_and_the_timeline_shows_it(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "go to the market")
        await enter(pilot, "/fork alt")
        screen = play_screen(app)
        assert screen.session.branch == "alt"
        assert set(screen.session.branches()) == {"main", "alt"}
        rows = screen.query_one(TimelinePanel).view
        assert [(r.name, r.current) for r in rows] == [("main", False), ("alt", True)]
        assert "forked branch alt at hour 1" in text(app)
        await enter(pilot, "/fork alt")  # taken: a notice, no crash
        assert "already has a branch 'alt'" in text(app)
        await enter(pilot, "/fork no/slashes")
        assert "is not a usable branch name" in text(app)
        assert screen.session.branch == "alt"


async def test_ctrl_f_asks_for_a_name_then_forks(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "go to the market")
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert isinstance(app.screen, PromptModal)
        await pilot.press("ctrl+u", *"what-if", "enter")
        await settle(pilot)
        session = play_screen(app).session
        assert session.branch == "what-if"
        await pilot.press("ctrl+f")
        await pilot.pause()
        await pilot.press("escape")  # cancelled: nothing forked
        await settle(pilot)
        assert set(session.branches()) == {"main", "what-if"}
        await pilot.press("ctrl+f", "enter")  # the offered name
        await settle(pilot)
        assert session.branch == "alt"


async def test_branches_and_switch_go_between_timelines(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "go to the market")
        await enter(pilot, "/fork alt")
        await enter(pilot, "go to the tarred gull")
        await enter(pilot, "/wait 2")
        session = play_screen(app).session
        assert session.tick == 4
        await enter(pilot, "/branches")
        shown = text(app)
        last = session.save.event(session.save.head("alt")).tick  # hour 4 may be a quiet one
        assert "○ main: hour 1, " in shown and f"● alt: hour {last}, " in shown and last >= 3
        await enter(pilot, "/switch main")
        assert session.branch == "main" and session.tick == 1
        assert "> go to the tarred gull" not in lines(app)  # the log shows main's story
        assert "> go to the market" in lines(app)
        await enter(pilot, "/switch nowhere")
        assert "has no branch 'nowhere'" in text(app) and session.branch == "main"


async def test_clicking_a_branch_in_the_timeline_switches_to_it(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "go to the market")
        await enter(pilot, "/fork alt")
        session = play_screen(app).session
        play_screen(app).query_one(TimelinePanel).scroll_visible(animate=False)
        await pilot.pause()
        await pilot.click("#timeline", offset=(3, 1))  # row 0 under the title: main
        await settle(pilot)
        assert session.branch == "main"


async def test_wait_command_and_ctrl_t_let_time_pass(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "/wait 3")
        session = play_screen(app).session
        assert session.tick == 3
        assert all(e.kind != "player" for e in session.save.log())
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert session.tick == 4
        assert "— hour 4 —" in lines(app)


async def test_look_inventory_and_who_describe_the_scene(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "/look")
        shown = text(app)
        assert "The Tarred Gull" in shown and "Exits: 1 The Fish Dock, 2 The Saltmarket." in shown
        await enter(pilot, "/inventory")
        assert "You are Mara Fenwick: gold 20, rank deckhand." in text(app)
        assert "You carry: nothing." in text(app)
        await enter(pilot, "/who")
        shown = text(app)
        assert "Hesper Vane:" in shown and "Nell Gannet:" in shown
        assert "others are elsewhere" in shown
        assert play_screen(app).session.tick == 0  # reading changes nothing


async def test_save_says_where_and_export_writes_next_to_the_save(app, tmp_path):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "go to the market")
        await enter(pilot, "/save")
        assert f"saved the moment it happens: {tmp_path / 'game.db'}" in text(app)
        await enter(pilot, "/export")
        story = tmp_path / "game-main.md"
        assert story.read_text().startswith("# Greywater Harbour")
        assert f"wrote the story (markdown) to {story}" in text(app)
        await enter(pilot, "/export json")
        data = json.loads((tmp_path / "game-main.json").read_text())
        assert data["branches"] == {"main": play_screen(app).session.save.head()}
        await enter(pilot, "/export graphml")
        assert "<graphml" in (tmp_path / "game-main.graphml").read_text()
        await enter(pilot, "/export pdf")
        assert "/export writes markdown, json, graphml" in text(app)


async def test_help_command_lists_commands_and_f1_opens_the_help(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "/help")
        shown = text(app)
        for name in ("/undo", "/regenerate", "/fork", "/branches", "/switch", "/wait", "/look",
                     "/inventory", "/who", "/save", "/export", "/storyteller", "/quit"):
            assert name in shown, name
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        await pilot.press("escape")
        await pilot.pause()
        play_screen(app)  # back on the game


async def test_unknown_or_malformed_commands_are_notices_not_crashes(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "/dance")
        assert "unknown command /dance; the commands are: /undo /redo /regenerate" in text(app)
        await enter(pilot, "/undo lots")
        assert "/undo wants a number from 1 to 1000" in text(app)
        await enter(pilot, "/storyteller gpt")
        assert "/storyteller takes auto, ollama or procedural" in text(app)
        assert play_screen(app).session.tick == 0


async def test_input_history_walks_back_and_forth(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "/look")
        await enter(pilot, "/who")
        box = play_screen(app).command_line
        await pilot.press(*"dra")
        await pilot.press("up")
        assert box.value == "/who"
        await pilot.press("up", "up")
        assert box.value == "/look"  # the oldest stays
        await pilot.press("down")
        assert box.value == "/who"
        await pilot.press("down")
        assert box.value == "dra"  # back to the draft


async def test_input_history_survives_a_restart_of_the_same_save(app, game):
    session, _ = game
    path = session.save.path
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "go to the market")
        await enter(pilot, "/who")
    assert session.save.closed
    Session.new(load_world(HARBOUR), path.with_name("other.db")).close()
    for save, expected in ((path, ["go to the market", "/who"]), (path.with_name("other.db"), [])):
        reopened = SimApp(PlayOptions(host="http://127.0.0.1:9"), session=Session.load(save))
        async with reopened.run_test(size=SIZE) as pilot:
            await settle(pilot)
            box = play_screen(reopened).command_line
            assert box.history == expected  # per save: another game starts empty
            if expected:
                await pilot.press("up")
                assert box.value == "/who"


async def test_the_palette_offers_the_same_actions(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "go to the market")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Undo the last", "enter")
        await settle(pilot)
        assert play_screen(app).session.tick == 0
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Let time pass", "enter")
        await settle(pilot)
        assert play_screen(app).session.tick == 1


async def test_storyteller_command_shows_and_switches_the_storyteller(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "/storyteller")
        assert "Storyteller: procedural." in text(app)
        await enter(pilot, "/storyteller ollama")  # nothing listens on port 9
        shown = text(app)
        assert "storyteller unchanged: Ollama is not reachable at http://127.0.0.1:9" in shown
        await enter(pilot, "/storyteller auto")
        screen = play_screen(app)
        assert screen.session.storyteller.name == "procedural"
        assert screen.why.startswith("procedural storyteller: Ollama is not reachable")
        teller = screen.query_one(StatusBar).view.teller
        assert teller == "procedural · Ollama not reachable"


async def test_f2_switches_between_the_dark_and_the_light_theme(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark"
        await pilot.press("f2")
        assert app.theme == "textual-light"
        await pilot.press("f2")
        assert app.theme == "textual-dark"


async def test_quit_command_closes_the_save_whole(app, tmp_path):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "go to the market")
        await enter(pilot, "/wait 2")
        session = play_screen(app).session
        head = session.save.head()
        await pilot.press(*"/quit", "enter")
        await pilot.pause()
    assert session.save.closed
    with Save.open(tmp_path / "game.db", readonly=True) as save:
        assert save.verify() == []
        assert save.head() == head
    Save.open(tmp_path / "game.db").close()  # the write lock was let go


async def test_ctrl_q_quits(app, tmp_path):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "go to the market")
        session = play_screen(app).session
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert session.save.closed
    with Save.open(tmp_path / "game.db", readonly=True) as save:
        assert save.verify() == [] and len(save.log()) >= 1


async def test_a_world_with_no_player_is_watched_not_played(tmp_path):
    world = tmp_path / "watch.toml"
    world.write_text(HARBOUR.read_text().replace('[player]\ncharacter = "mara"', ""))
    spec = load_world(world)
    assert spec.player is None
    app = SimApp(PlayOptions(), session=Session.new(spec, tmp_path / "w.db", seed=1))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = play_screen(app)
        assert "This world has no player character: you watch." in text(app)
        assert screen.query_one(InventoryPanel).view.name.startswith("no player: you watch")
        assert screen.query_one(InventoryPanel).view.alive  # not "nobody (dead)"
        await enter(pilot, "go to the market")
        assert "no player character to act" in lines(app)[-1] and screen.session.tick == 0
        await enter(pilot, "/wait 2")
        assert screen.session.tick == 2
