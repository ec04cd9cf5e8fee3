"""The panels' pictures, built from a world state and a session."""

from __future__ import annotations

import asyncio

from simengine.sim.session import Session
from simengine.tui.views import (
    cast_view,
    player_view,
    relations_view,
    scene_view,
    short_reason,
    status_view,
    teller_status,
    timeline_view,
)
from simengine.world.loader import load_world
from simengine.world.state import WorldState

from .conftest import HARBOUR


def test_scene_player_cast_and_relations_of_the_harbour():
    state = WorldState.from_spec(load_world(HARBOUR))
    scene = scene_view(state)
    assert scene.place == "The Tarred Gull"
    assert scene.exits == ("1 The Fish Dock", "2 The Saltmarket")
    assert scene.people == ("Hesper Vane", "Nell Gannet") and scene.things == ()
    me = player_view(state)
    assert me.name == "Mara Fenwick" and ("gold", "20") in me.attributes
    cast = cast_view(state)
    assert [c.name for c in cast[:2]] == ["Hesper Vane", "Nell Gannet"]  # the people here
    assert all(c.here for c in cast[:2]) and not cast[2].here
    assert cast[-1].name == "Silas Crane" and not cast[-1].alive  # the dead last
    assert "friend of Silas Crane" in relations_view(state)


def test_timeline_and_status_follow_the_session(tmp_path):
    session = Session.new(load_world(HARBOUR), tmp_path / "s.db", seed=42)
    asyncio.run(session.act("go to the market"))
    session.fork("alt")
    rows = timeline_view(session)
    assert [(r.name, r.tick, r.current, r.unit) for r in rows] == [
        ("main", 1, False, "hour"), ("alt", 1, True, "hour")]
    status = status_view(session, "procedural storyteller (no model needed)", None)
    assert (status.world, status.tick_label, status.tick, status.branch, status.teller) == (
        "Greywater Harbour", "hour", 1, "alt", "procedural")
    session.close()


def test_the_storyteller_label_is_short_and_the_reason_whole():
    why = ("procedural storyteller: Ollama is not reachable at http://127.0.0.1:11434 — "
           "start it with `ollama serve`")
    assert teller_status("procedural", why, None) == ("procedural · Ollama not reachable", why)
    assert teller_status("ollama:qwen2.5:3b", "ok", 18.4) == ("qwen2.5:3b · 18 tok/s", "ok")
    assert teller_status("ollama:qwen2.5:3b", "ok", None)[0] == "qwen2.5:3b · – tok/s"
    assert short_reason("model 'qwen2.5:7b' is not pulled on http://x — run `ollama pull`") == (
        "qwen2.5:7b not pulled")
    assert teller_status("replay", "replaying a.jsonl", None) == ("replay", "replaying a.jsonl")
