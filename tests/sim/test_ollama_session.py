"""Whole runs through the real ollama client against the fake server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.sim.session import Session
from simengine.storytellers.ollama import OllamaStoryteller
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.testing.fake_ollama import FakeOllama
from simengine.testing.fixtures import tiny_world_spec
from simengine.world.loader import load_world
from simengine.world.ops import Proposal
from simengine.world.rules import Turn, check

WORLDS = Path(__file__).parent.parent.parent / "worlds"


@pytest.fixture
def noisy():
    with FakeOllama(mode="noisy", seed=3) as fake:
        fake.set_faults({"unknown_name": 0.1, "dead_actor": 0.1, "unbalanced_currency": 0.1,
                         "teleport": 0.1, "protected_change": 0.1, "invalid_json": 0.03,
                         "schema_invalid": 0.03})
        yield fake


async def test_a_noisy_model_never_breaks_a_rule(noisy, tmp_path):
    spec = load_world(WORLDS / "harbour.toml")
    teller = OllamaStoryteller(host=noisy.url, timeout=5, backoff=0.001, seed=42)
    session = Session.new(spec, tmp_path / "n.db", seed=42, storyteller=teller,
                          fallback=ProceduralStoryteller(seed=42), narrate=False)
    await session.wait(50)
    m = session.metrics.to_dict()
    save = session.save
    state = save.initial_state()
    for e in save.log():
        actor = e.actor if e.kind != "world" else None
        assert check(Proposal(actor=actor, ops=e.ops), state, Turn(e.kind, actor)) == [], e
        state.apply(e.ops, tick=e.tick, event_id=e.id)
    assert state == session.state
    assert m["inventions"] > 0, m  # some inventions become canon
    assert m["repairs_succeeded"] > 0, m  # some proposals are repaired
    assert m["ops_rejected_total"] > 0, m  # some are rejected
    assert m["calls"].get("decide", 0) > 0 and m["prompt_tokens"] > 0
    assert len(save.calls()) >= m["calls"]["decide"]  # every call is in the save
    assert any(e.storyteller.startswith("ollama:") for e in save.log())
    session.close()


def event_log(path: Path) -> list[str]:
    from simengine.store import Save

    with Save.open(path, readonly=True) as save:
        return [json.dumps(e.wire(), sort_keys=True) for e in save.log()]


def test_a_recorded_run_replays_byte_identical_with_no_server(tmp_path):
    world = str(WORLDS / "frontier.toml")
    cassette = tmp_path / "run.jsonl"
    script = tmp_path / "turns.txt"
    script.write_text("I walk to the assay office\nI ask about claims\n/wait 2\nI look around\n")
    runner = CliRunner()
    with FakeOllama(mode="noisy", seed=9) as fake:
        fake.set_faults({"teleport": 0.2, "unbalanced_currency": 0.2})
        recorded = runner.invoke(main, ["run", world, "--ticks", "8", "--seed", "5",
                                        "--storyteller", "ollama", "--host", fake.url,
                                        "--script", str(script), "--record", str(cassette),
                                        "--save", str(tmp_path / "a.db")])
        assert recorded.exit_code == 0, recorded.output
    assert cassette.exists() and cassette.read_text().count("\n") > 8
    replayed = runner.invoke(main, ["run", world, "--ticks", "8", "--seed", "5",
                                    "--storyteller", f"replay:{cassette}",
                                    "--script", str(script), "--save", str(tmp_path / "b.db")])
    assert replayed.exit_code == 0, replayed.output
    a, b = event_log(tmp_path / "a.db"), event_log(tmp_path / "b.db")
    assert a and "\n".join(a).encode() == "\n".join(b).encode()
    assert any('"storyteller": "ollama:' in line for line in a)


def test_a_replay_calibrates_its_scenes_as_the_recorded_run_did(tmp_path):
    """A server counting 1.5 characters a token makes the live run cut its scenes
    shorter; the replay must learn the same counts from the cassette, or its
    prompts (and so the story) drift from the recording."""
    world = str(WORLDS / "harbour.toml")
    cassette = tmp_path / "run.jsonl"
    runner = CliRunner()
    with FakeOllama(mode="plausible", seed=4, chars_per_token=1.5) as fake:
        recorded = runner.invoke(main, ["run", world, "--ticks", "6", "--seed", "2",
                                        "--storyteller", "ollama", "--host", fake.url,
                                        "--record", str(cassette),
                                        "--save", str(tmp_path / "a.db")])
        assert recorded.exit_code == 0, recorded.output
    assert '"prompt_tokens"' in cassette.read_text()
    replayed = runner.invoke(main, ["run", world, "--ticks", "6", "--seed", "2",
                                    "--storyteller", f"replay:{cassette}",
                                    "--save", str(tmp_path / "b.db")])
    assert replayed.exit_code == 0, replayed.output
    a, b = event_log(tmp_path / "a.db"), event_log(tmp_path / "b.db")
    assert a and a == b


async def test_a_players_turn_waits_for_two_model_calls_and_the_reaction_rides_along(tmp_path):
    spec = load_world(WORLDS / "harbour.toml")
    with FakeOllama(mode="plausible", seed=4) as fake:
        teller = OllamaStoryteller(host=fake.url, timeout=10)
        session = Session.new(spec, tmp_path / "p.db", seed=4, storyteller=teller,
                              npc_rate=0.0, world_event_rate=0.0)
        result = await session.act("I ask Nell Gannet about Silas Crane")
        asked = [e for e in fake.log if (e.get("body") or {}).get("messages")]
        assert [bool(e["body"].get("format")) for e in asked] == [True, False]  # decide, narrate
        (beat,) = result.events  # no separate reaction beat: Nell answers in the player's
        assert beat.event.kind == "player" and "Nell Gannet" in beat.event.summary
        # The model's time is what the server reports (its total_duration), not the
        # client's set-up and HTTP: each call keeps the server's figure apart.
        (decided,) = beat.decision.calls
        assert decided.model_ms is not None and decided.latency_ms is not None
        assert decided.model_seconds == decided.model_ms / 1000
        session.close()
    procedural = Session.new(spec, tmp_path / "q.db", seed=4, npc_rate=0.0,
                             world_event_rate=0.0)
    kinds = [c.event.kind for c in (await procedural.act("I ask Nell about Silas")).events]
    assert kinds == ["player", "npc"]  # the procedural teller still answers in its own beat
    procedural.close()


def chat_phases(fake) -> list[str]:
    """The fake's generation requests in order: decide and repair carry a schema."""
    asked = [e["body"] for e in fake.log if (e.get("body") or {}).get("messages")]
    return ["narrate" if not b.get("format") else
            "repair" if any("assistant" == m["role"] for m in b["messages"]) else "decide"
            for b in asked]


async def test_a_players_request_the_world_forbids_takes_two_calls_and_is_told(tmp_path):
    with FakeOllama() as fake:
        fake.enqueue({"actor": "mara", "summary": "Mara cheers up and sets off for the keep",
                      "ops": [{"op": "set", "entity": "mara", "attribute": "mood",
                               "value": "hopeful"},
                              {"op": "move", "entity": "mara", "to": "keep"}]})
        session = Session.new(tiny_world_spec(), tmp_path / "w.db", seed=4, npc_rate=0.0,
                              world_event_rate=0.0,
                              storyteller=OllamaStoryteller(host=fake.url, timeout=10))
        (beat,) = (await session.act("I cheer up and walk to the keep")).events
        assert chat_phases(fake) == ["decide", "narrate"]  # no repair: none could help
        assert [op.op for op in beat.event.ops] == ["set"]  # the valid part is done
        assert [v.rule for v in beat.decision.rejected] == ["travel.adjacent"]
        assert beat.refused  # and the player reads what stopped the rest
        assert beat.event.storyteller.startswith("ollama:") and beat.narration.strip()
        session.close()


async def test_a_repaired_player_turn_is_told_plainly_within_two_calls(tmp_path):
    with FakeOllama() as fake:
        fake.enqueue({"actor": "mara", "summary": "Mara feels lucky",
                      "ops": [{"op": "set", "entity": "mara", "attribute": "luck",
                               "value": "good"}]},
                     {"actor": "mara", "summary": "Mara cheers up",
                      "ops": [{"op": "set", "entity": "mara", "attribute": "mood",
                               "value": "hopeful"}]})
        session = Session.new(tiny_world_spec(), tmp_path / "m.db", seed=4, npc_rate=0.0,
                              world_event_rate=0.0,
                              storyteller=OllamaStoryteller(host=fake.url, timeout=10))
        (beat,) = (await session.act("I feel lucky")).events
        assert chat_phases(fake) == ["decide", "repair"]  # the narration's call went to it
        assert beat.decision.repaired and [op.op for op in beat.event.ops] == ["set"]
        assert beat.narration.strip() and beat.drift is None  # told procedurally, at once
        assert [c["phase"] for c in session.save.calls(beat.event.id)] == ["decide", "repair"]
        session.close()


def test_a_calls_model_time_is_the_servers_figure_else_the_whole_call():
    from simengine.storytellers.ollama import _server_ms
    from simengine.world.calls import Call

    assert _server_ms(type("Final", (), {"total_duration": 2_500_000})()) == 2.5
    assert _server_ms(type("Final", (), {"total_duration": 0})()) is None  # said nothing
    assert Call(phase="decide", latency_ms=9.0, model_ms=2.5).model_seconds == 0.0025
    assert Call(phase="decide", latency_ms=9.0).model_seconds == 0.009
