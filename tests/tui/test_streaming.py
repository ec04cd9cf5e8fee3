"""Against the fake Ollama: narration streams in, the UI stays live, nothing stale lands,
and quitting mid-stream keeps the save whole. No timing assertions: each test waits for a
state (a chunk has arrived, the turn is still running), then checks behaviour."""

from __future__ import annotations

import pytest

from simengine.cli.common import open_or_start
from simengine.sim.session import NarrationChunk
from simengine.store import Save
from simengine.testing.fake_ollama import FakeOllama, Fault
from simengine.tui.app import SimApp
from simengine.tui.launcher import PlayOptions
from simengine.tui.modals import HelpModal, PromptModal
from simengine.tui.widgets import StatusBar

from .conftest import HARBOUR, SIZE, lines, play_screen, settle, text

#: Long enough that the story is still streaming when the test acts on it.
PROSE = " ".join(["The fog leans on the windows of the Tarred Gull while Mara listens."] * 6)
LOOK = {"actor": "mara", "summary": "Mara looks about the Tarred Gull", "ops": []}


@pytest.fixture
def slow_ollama():
    """A fake Ollama that writes 20 tokens a second; its first narration is long."""
    with FakeOllama(latency_per_token=0.05) as fake:
        fake.enqueue(LOOK, PROSE)
        yield fake


@pytest.fixture
def model_app(slow_ollama, tmp_path):
    session, why = open_or_start(str(HARBOUR), save_path=tmp_path / "game.db",
                                 storyteller="ollama", host=slow_ollama.url, seed=42)
    app = SimApp(PlayOptions(host=slow_ollama.url), session=session, why=why)
    chunks: list[str] = []
    session.subscribe(lambda m: chunks.append(m.text) if isinstance(m, NarrationChunk) else None)
    yield app, session, chunks
    if not session.save.closed:
        session.close()


async def until(pilot, condition, rounds: int = 2000) -> None:
    """Yield to the app until ``condition()`` holds (bounded, so a bug fails, not hangs)."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the app never got there")


async def test_narration_streams_in_and_the_status_shows_the_model(model_app):
    app, session, chunks = model_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = play_screen(app)
        assert screen.query_one(StatusBar).view.teller == "qwen2.5:3b · – tok/s"
        await pilot.press(*"look around", "enter")
        await until(pilot, lambda: len(chunks) >= 3)
        streaming = [line for line in lines(app) if line.startswith("The fog leans")]
        assert streaming and len(streaming[0]) < len(PROSE)  # part of it, so far
        await settle(pilot)
        assert PROSE in lines(app)
        status = screen.query_one(StatusBar).view
        assert status.teller.startswith("qwen2.5:3b · ") and status.teller.endswith(" tok/s")
        assert "–" not in status.teller  # measured


async def test_typing_and_keys_work_while_the_model_streams(model_app):
    app, session, chunks = model_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = play_screen(app)
        await pilot.press(*"look around", "enter")
        await until(pilot, lambda: len(chunks) >= 2)
        await pilot.press(*"ask Nell")
        assert screen.command_line.value == "ask Nell"
        assert screen.running  # the turn is still being told
        await pilot.press("f1")  # a binding is handled mid-stream too
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        await pilot.press("escape")
        await pilot.pause()
        assert screen.running
        await pilot.press("enter")  # words while busy wait in the input line
        await pilot.pause()
        assert screen.command_line.value == "ask Nell"
        assert "the last turn is still being told" in "\n".join(lines(app))
        await pilot.press("escape")  # stop the telling
        await settle(pilot)
        assert not screen.running


async def test_undo_mid_stream_drops_the_rest_of_the_reply(model_app):
    app, session, chunks = model_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"look around", "enter")
        await until(pilot, lambda: len(chunks) >= 2)
        assert session.tick == 1  # the beat is committed; its narration is streaming
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert session.tick == 0 and session.save.log() == []
        before = lines(app)
        heard = len(chunks)
        await pilot.pause(0.3)  # the server keeps talking to a cancelled client
        await settle(pilot)
        assert len(chunks) == heard  # the session heard nothing more
        assert lines(app) == before
        assert not any(line.startswith("The fog leans") for line in before)
        assert "took back 1 hour; now at hour 0" in before[-1]


async def test_quitting_mid_stream_keeps_every_committed_beat_whole(model_app, tmp_path):
    app, session, chunks = model_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"look around", "enter")
        await until(pilot, lambda: len(chunks) >= 2)
        committed = session.save.head()
        assert committed is not None
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert session.save.closed
    with Save.open(tmp_path / "game.db", readonly=True) as save:
        assert save.verify() == []
        assert save.head() == committed
        event = save.event(committed)
        assert event.intent == "look around" and event.summary  # whole, if untold
        assert save.state_at(committed, use_snapshots=False) == save.state()
    Save.open(tmp_path / "game.db").close()  # nobody holds the lock


async def test_switching_to_a_model_inside_the_game(game, slow_ollama):
    session, why = game
    app = SimApp(PlayOptions(host=slow_ollama.url), session=session, why=why)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = play_screen(app)
        screen.command_line.value = "/storyteller ollama qwen2.5:3b"
        await pilot.press("enter")
        await settle(pilot)
        assert session.storyteller.name == "ollama:qwen2.5:3b"
        assert screen.query_one(StatusBar).view.teller == "qwen2.5:3b · – tok/s"
        assert f"storyteller: ollama:qwen2.5:3b: Ollama 0.13.5 at {slow_ollama.url}" in (
            "\n".join(lines(app)))
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Storyteller: Ollama", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptModal)
        await pilot.press("ctrl+u", *"llama3.2", "enter")
        await settle(pilot)
        assert "storyteller unchanged: model 'llama3.2' is not pulled" in (
            "\n".join(lines(app)))
        assert session.storyteller.name == "ollama:qwen2.5:3b"


async def test_retell_mid_stream_tells_that_turn_again(model_app):
    app, session, chunks = model_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"look around", "enter")
        await until(pilot, lambda: len(chunks) >= 2)
        interrupted = session.save.head()
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert session.tick == 1 and session.save.head() != interrupted
        assert [e.intent for e in session.save.log() if e.kind == "player"] == ["look around"]
        shown = lines(app)
        assert shown.count("> look around") == 1 and shown.count("— hour 1 —") == 1


@pytest.fixture
def silent_ollama(tmp_path):
    """A game whose model says nothing for a while on its first call."""
    with FakeOllama() as fake:
        session, why = open_or_start(str(HARBOUR), save_path=tmp_path / "game.db",
                                     storyteller="ollama", host=fake.url, seed=42)
        fake.enqueue(Fault.hang(3))
        yield SimApp(PlayOptions(host=fake.url), session=session, why=why), session
        if not session.save.closed:
            session.close()


async def test_undo_before_anything_is_committed_just_stops_the_turn(silent_ollama):
    app, session = silent_ollama
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = play_screen(app)
        await pilot.press(*"look around", "enter")
        await until(pilot, lambda: bool(screen.running))
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert session.tick == 0 and session.save.log() == []
        shown = lines(app)
        assert "stopped the turn being told" in shown[-1]
        assert "> look around" not in shown
    assert session.save.closed


@pytest.fixture
def vanishing_ollama(tmp_path):
    """A model game whose server has just gone away; yields the app, session and port."""
    with FakeOllama() as first:
        session, why = open_or_start(str(HARBOUR), save_path=tmp_path / "game.db",
                                     storyteller="ollama", host=first.url, seed=42)
        port = int(first.url.rsplit(":", 1)[1])
    session.storyteller.retries, session.storyteller.backoff = 0, 0.0
    yield SimApp(PlayOptions(host=first.url), session=session, why=why), session, port
    if not session.save.closed:
        session.close()


async def test_a_model_that_goes_away_is_said_once_and_shown_in_the_status(vanishing_ollama):
    app, session, port = vanishing_ollama
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for words in ("look around", "wait a while"):
            await pilot.press(*words, "enter")
            await settle(pilot)
        shown = lines(app)
        assert sum("is out (Ollama is not reachable" in line for line in shown) == 1
        assert not any("told this beat" in line for line in shown)
        assert app.screen.query_one(StatusBar).view.teller == "procedural (Ollama unreachable)"
        with FakeOllama(port=port):  # back again
            await pilot.press(*"look around", "enter")
            await settle(pilot)
            assert "ollama:qwen2.5:3b answers again" in text(app)
            assert app.screen.query_one(StatusBar).view.teller.startswith("qwen2.5:3b · ")
