"""Calls asked ahead (a tick's later decide calls sent while its earlier beats are
told): the same story as one call after another, with the server kept busier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simengine.sim.session import Session
from simengine.storytellers.ollama import OllamaStoryteller
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.testing.fake_ollama import FakeOllama
from simengine.world.loader import load_world

HARBOUR = Path(__file__).parent.parent.parent / "worlds" / "harbour.toml"
FAULTS = {"unknown_name": 0.1, "dead_actor": 0.1, "unbalanced_currency": 0.1, "teleport": 0.1,
          "invalid_json": 0.05}


async def tell(tmp_path: Path, name: str, *, ahead: bool, slots: int) -> tuple[list, list, int]:
    """Ten ticks of the harbour against a fake with per-call latency; returns the
    events, the logged calls (phase, response) and the most requests in flight."""
    with FakeOllama(mode="noisy", seed=9, latency_per_call=0.02, slots=slots) as fake:
        fake.set_faults(FAULTS)
        teller = OllamaStoryteller(host=fake.url, timeout=10, backoff=0.001, seed=5)
        session = Session.new(load_world(HARBOUR), tmp_path / f"{name}.db", seed=5,
                              storyteller=teller, fallback=ProceduralStoryteller(seed=5),
                              narrate=False, npc_rate=0.5, max_npc_beats=3, ahead=ahead)
        try:
            await session.wait(10)
            events = [json.dumps(e.wire(), sort_keys=True) for e in session.save.log()]
            calls = [(c["event_id"], c["phase"], json.dumps(c["response"]))
                     for c in session.save.calls()]
        finally:
            session.close()
        return events, calls, fake.peak_in_flight


@pytest.mark.parametrize("slots", [1, 4])
async def test_asking_ahead_tells_the_same_story(tmp_path, slots):
    one_by_one = await tell(tmp_path, "seq", ahead=False, slots=slots)
    ahead = await tell(tmp_path, "ahead", ahead=True, slots=slots)
    assert len(one_by_one[0]) > 15  # several beats a tick, so there was something to overlap
    assert ahead[0] == one_by_one[0]  # every event, ops and summaries included
    assert ahead[1] == one_by_one[1]  # the same calls logged against the same events
    assert one_by_one[2] == 1
    if slots > 1:
        assert ahead[2] > 1  # and the calls really were in flight together


async def test_a_call_asked_ahead_is_kept_when_the_request_is_the_same(tmp_path):
    """What the scene carries but no model reads (the session's memory of every event,
    this tick's events beside those its text shows) does not make the call stale; a
    change in what the model reads does."""
    from dataclasses import replace

    from simengine.sim.ahead import ask_ahead, drop_all
    from simengine.storytellers.base import Intent

    with FakeOllama(mode="plausible", seed=9) as fake:
        teller = OllamaStoryteller(host=fake.url, timeout=10, backoff=0.001, seed=5)
        session = Session.new(load_world(HARBOUR), tmp_path / "s.db", seed=5,
                              storyteller=teller, narrate=False)
        try:
            await session.wait(2)  # some events to remember
            intent = Intent("npc", "mara", "", 7)
            scene = session._scene(3, intent)
            ahead = ask_ahead(teller, scene, intent)
            remembered = replace(scene, history=[*scene.history, *scene.history[:1]],
                                 recent=[*scene.recent, *scene.history[:1]])
            assert ahead.fits(remembered, teller, intent)
            moved = replace(scene, context=scene.context + "\n- tick 3: Mara sells her coat")
            assert not ahead.fits(moved, teller, intent)
            assert not ahead.fits(scene, teller, replace(intent, seed=8))
            await drop_all([ahead])
        finally:
            session.close()


async def test_a_beat_where_an_earlier_beat_acts_is_not_asked_ahead(tmp_path, monkeypatch):
    """That earlier beat changes the later one's scene (someone comes or goes, an item
    changes hands), so its call would be dropped: a slot busied for nothing."""
    import simengine.sim.session as session_module

    with FakeOllama(mode="noisy", seed=9) as fake:
        teller = OllamaStoryteller(host=fake.url, timeout=10, backoff=0.001, seed=5)
        session = Session.new(load_world(HARBOUR), tmp_path / "s.db", seed=5,
                              storyteller=teller, fallback=ProceduralStoryteller(seed=5),
                              narrate=False, npc_rate=0.5, max_npc_beats=3, ahead=True)
        planned, asked, crowded = [], [], []
        plan, real_ask = session.plan, session_module.ask_ahead

        def spy_plan(tick, player_text):
            planned.append(plan(tick, player_text))
            where = session.state.where
            beats = planned[-1]
            crowded.extend(b for i, b in enumerate(beats)
                           if any(where(b.actor) == where(e.actor) for e in beats[:i]))
            return planned[-1]

        def spy_ask(teller, scene, intent):
            asked.append(intent)
            return real_ask(teller, scene, intent)

        monkeypatch.setattr(session, "plan", spy_plan)
        monkeypatch.setattr(session_module, "ask_ahead", spy_ask)
        try:
            await session.wait(10)
        finally:
            session.close()
    assert crowded and asked  # beats of both kinds came up
    assert not set(asked) & set(crowded)
    assert set(asked) == {b for beats in planned for b in beats[1:]} - set(crowded)
