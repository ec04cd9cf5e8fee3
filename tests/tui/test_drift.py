"""In the TUI, a drifting sentence of the model's never reaches the story log: on the
player's own beat the telling goes on plainly (procedurally: the player waits for no
third call), and a notice says why."""

from __future__ import annotations

import pytest

from simengine.cli.common import open_or_start
from simengine.sim.session import NarrationChunk
from simengine.testing.fake_ollama import FakeOllama, Fault
from simengine.tui.app import SimApp
from simengine.tui.launcher import PlayOptions

from .conftest import HARBOUR, SIZE, settle, text


@pytest.fixture
def drifting(tmp_path):
    with FakeOllama(latency_per_token=0.002) as fake:
        fake.enqueue_streamed(Fault.drift_name)
        session, why = open_or_start(str(HARBOUR), save_path=tmp_path / "game.db",
                                     storyteller="ollama", host=fake.url, seed=42)
        chunks: list[str] = []
        session.subscribe(lambda m: chunks.append(m.text) if isinstance(m, NarrationChunk)
                          else None)
        yield SimApp(PlayOptions(host=fake.url), session=session, why=why), session, chunks
        if not session.save.closed:
            session.close()


async def test_the_story_log_never_shows_a_drifting_sentence(drifting):
    app, session, chunks = drifting
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"look around", "enter")
        await settle(pilot)
        (kept,) = session.save.drifts()
        lie = kept["attempts"][0]["sentence"]
        assert kept["attempts"][0]["kinds"] == ["name"] and kept["outcome"] == "procedural"
        shown = text(app)
        assert lie not in shown and not any(lie in c for c in chunks)
        assert "the narration strayed from what happened" in shown
        assert "told plainly instead" in shown
        assert "is nobody and nothing in this scene" in shown
        event = session.save.event(kept["event_id"])
        assert event.narration and event.narration.split(".")[0] in shown  # the plain telling
