"""The fake Ollama's plausible mode plays along with the player, as a real model would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simengine.cli.common import open_or_start
from simengine.testing.fake_ollama import FakeOllama

HARBOUR = Path(__file__).parent.parent.parent / "worlds" / "harbour.toml"


@pytest.fixture
def model_game(tmp_path):
    with FakeOllama(mode="plausible") as fake:
        session, _ = open_or_start(str(HARBOUR), save_path=tmp_path / "g.db",
                                   storyteller="ollama", host=fake.url, seed=4)
        yield session
        session.close()


def player_event(session, words):
    result = asyncio.run(session.act(words))
    event = next(c for c in result.events if c.event.kind == "player")
    assert event.decision.storyteller.startswith("ollama:")  # the model told it, no fallback
    return event


def test_it_goes_where_asked_speaks_when_spoken_to_and_buys(model_game):
    s = model_game
    player_event(s, "go to the market")
    assert s.state.where("mara") == "market"
    asked = player_event(s, "ask Ysolde Brack about the cutter")
    assert "Ysolde Brack" in asked.narration and '"' in asked.narration and "cutter" in (
        asked.narration.lower())
    if s.state.where("merchant") == "market":  # she may have walked off in her own beat
        gold = s.state.attr("mara", "gold")
        player_event(s, "buy the lantern")
        assert s.state.holder("lantern") == "mara"
        assert s.state.attr("mara", "gold") == gold - s.state.price("lantern")


def test_it_says_why_nothing_happened_and_its_narration_varies(model_game):
    s = model_game
    away = player_event(s, "give 5 gold to Ysolde")  # she is in the market, Mara is not
    assert "Ysolde Brack, who is not here" in away.event.summary and not away.event.ops
    far = player_event(s, "go to the lighthouse")
    assert "finds none" in far.event.summary and s.state.where("mara") == "tavern"
    narrations = []
    for words in ("look around", "wait", "look around", "hum a tune", "look around"):
        narrations += [c.narration for c in asyncio.run(s.act(words)).events]
    assert not any("The air settles again." in n for n in narrations)
    endings = {n.rsplit(". ", 1)[-1] for n in narrations}
    assert len(endings) >= 3, narrations
