"""A model's narration that drifts, streamed from the fake Ollama: the player never reads
the drifting sentence, it is retold once, then told procedurally, and the save keeps it.
On the player's own beat it is told procedurally at once: the player waits for no third
call (``PLAYER_CALLS``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.sim.session import Committed, NarrationChunk, Notice, Session
from simengine.storytellers.drift import RETELL_HEADER
from simengine.storytellers.ollama import OllamaStoryteller
from simengine.testing.fake_ollama import FakeOllama, Fault
from simengine.testing.fixtures import tiny_world_spec
from simengine.world.loader import load_world

HARBOUR = Path(__file__).parent.parent.parent / "worlds" / "harbour.toml"


@pytest.fixture
def fake():
    with FakeOllama() as server:
        yield server


def session_on(fake, tmp_path, npc_rate: float = 0.0) -> tuple[Session, list]:
    teller = OllamaStoryteller(host=fake.url, timeout=5, backoff=0.001)
    session = Session.new(tiny_world_spec(), tmp_path / "d.db", seed=4, storyteller=teller,
                          npc_rate=npc_rate, world_event_rate=0.0, max_npc_beats=1)
    heard: list = []
    session.subscribe(heard.append)
    return session, heard


async def someones_beat(fake, tmp_path) -> tuple[Session, list, Committed]:
    """A tick with one beat, not the player's: Silas acts where the player stands."""
    session, heard = session_on(fake, tmp_path, npc_rate=1.0)
    await session.wait()
    (beat,) = [m for m in heard if isinstance(m, Committed)]
    assert beat.event.kind == "npc"
    return session, heard, beat


def narrations(fake) -> list[dict]:
    """The fake's narrate requests (streamed, no schema), in order."""
    return [e for e in fake.log if e["path"] == "/api/chat" and e["body"]
            and not e["body"].get("format") and e["body"].get("messages")]


async def test_a_drifting_narration_is_retold_and_the_player_never_reads_it(fake, tmp_path):
    fake.enqueue_streamed(Fault.drift_dead)
    session, heard, beat = await someones_beat(fake, tmp_path)
    first, retold = narrations(fake)[:2]
    assert first["injected"] == "drift_dead"
    (kept,) = session.save.drifts(beat.event.id)
    lie = kept["attempts"][0]["sentence"]
    assert "Brother Tam" in lie and lie in first["reply"]
    shown = "".join(m.text for m in heard if isinstance(m, NarrationChunk)
                    and m.event_id == beat.event.id)
    assert shown.strip() and lie not in shown and lie not in beat.narration
    ask = retold["body"]["messages"][-1]["content"]
    assert ask.startswith(RETELL_HEADER) and "Brother Tam is dead" in ask
    assert retold["body"]["messages"][-2]["role"] == "assistant"  # what it told the first time
    assert kept["outcome"] == "retold" and kept["attempts"][0]["kinds"] == ["dead"]
    assert beat.drift == {"outcome": "retold", "attempts": kept["attempts"]}
    calls = [c for c in session.save.calls(beat.event.id) if c["phase"] == "narrate"]
    assert [c["accepted"] for c in calls] == [False, True]
    assert "Brother Tam is dead" in calls[0]["violations"][0]
    assert any(isinstance(m, Notice) and m.topic == "drift" for m in heard)
    session.close()


async def test_on_the_players_beat_a_drifting_narration_is_told_plainly_at_once(fake, tmp_path):
    session, heard = session_on(fake, tmp_path)
    fake.enqueue_streamed(Fault.drift_dead)
    await session.act("look around")
    player = next(m for m in heard if isinstance(m, Committed) and m.event.kind == "player")
    (first,) = narrations(fake)  # no retelling: the player has waited for two calls
    assert first["injected"] == "drift_dead"
    (kept,) = session.save.drifts(player.event.id)
    lie = kept["attempts"][0]["sentence"]
    assert kept["outcome"] == "procedural" and lie in first["reply"]
    assert player.narration.strip() and lie not in player.narration
    shown = "".join(m.text for m in heard if isinstance(m, NarrationChunk)
                    and m.event_id == player.event.id)
    assert lie not in shown
    assert [c["phase"] for c in session.save.calls(player.event.id)] == ["decide", "narrate"]
    assert any(isinstance(m, Notice) and "told plainly instead" in m.text for m in heard)
    session.close()


async def test_a_retelling_that_drifts_too_gives_way_to_the_procedural_telling(fake, tmp_path):
    fake.enqueue_streamed(Fault.drift_name, Fault.drift_transfer)
    session, heard, beat = await someones_beat(fake, tmp_path)
    first, retold = narrations(fake)[:2]
    assert (first["injected"], retold["injected"]) == ("drift_name", "drift_transfer")
    told = beat.narration
    (kept,) = session.save.drifts(beat.event.id)
    assert kept["outcome"] == "procedural"
    assert [a["kinds"] for a in kept["attempts"]] == [["name"], ["transfer"]]
    for attempt, reply in zip(kept["attempts"], (first["reply"], retold["reply"]), strict=True):
        assert attempt["sentence"] in reply and attempt["sentence"] not in told
    assert len(narrations(fake)) == 2  # two tellings, then the procedural one
    assert session.save.event(beat.event.id).narration == told and told.strip()
    session.close()


def test_run_json_and_the_save_log_show_a_drift(tmp_path):
    spec = HARBOUR
    with FakeOllama(mode="noisy", seed=1) as fake:
        fake.set_faults({"drift_name": 1.0, "retell_success": 1.0})
        result = CliRunner().invoke(main, [
            "run", str(spec), "--ticks", "1", "--seed", "3", "--storyteller", "ollama",
            "--host", fake.url, "--json", "--save", str(tmp_path / "r.db")])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    drifted = [r for r in rows if r["drift"]]
    assert drifted and all(r["drift"]["outcome"] == "retold" for r in drifted)
    assert all("name" in r["drift"]["attempts"][0]["kinds"] for r in drifted)
    log = CliRunner().invoke(main, ["saves", "log", str(tmp_path / "r.db")])
    assert log.exit_code == 0 and "[narration drifted: retold]" in log.output
    train = tmp_path / "train.jsonl"
    exported = CliRunner().invoke(main, ["saves", "export", str(tmp_path / "r.db"), "--format",
                                         "chat-jsonl", "--narrate", "-o", str(train)])
    assert exported.exit_code == 0, exported.output
    answers = [json.loads(line)["messages"][-1]["content"]
               for line in train.read_text().splitlines()]
    lies = [a["sentence"] for r in drifted for a in r["drift"]["attempts"]]
    assert answers and not any(lie in answer for lie in lies for answer in answers)
    assert "told what did not happen" in exported.output  # the summary says what was left out


def test_a_run_with_drift_replays_the_same_story(tmp_path):
    spec = HARBOUR
    cassette = tmp_path / "run.jsonl"
    runner = CliRunner()
    args = ["run", str(spec), "--ticks", "3", "--seed", "3", "--json"]
    with FakeOllama(mode="noisy", seed=2) as fake:
        fake.set_faults({"drift_name": 0.5, "drift_dead": 0.5, "retell_success": 0.5})
        recorded = runner.invoke(main, [*args, "--storyteller", "ollama", "--host", fake.url,
                                        "--record", str(cassette), "--save",
                                        str(tmp_path / "a.db")])
    assert recorded.exit_code == 0, recorded.output
    replayed = runner.invoke(main, [*args, "--storyteller", f"replay:{cassette}",
                                    "--save", str(tmp_path / "b.db")])
    assert replayed.exit_code == 0, replayed.output

    def story(output: str) -> list[tuple]:
        rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        return [(r["narration"], json.dumps(r["drift"], sort_keys=True)) for r in rows]

    told = story(recorded.stdout)
    assert any(drift != "null" for _, drift in told)
    assert story(replayed.stdout) == told


class ProceduralAsModel:
    """The procedural storyteller, passed off as a model so its prose is checked."""

    name = "procedural-as-model"

    def __init__(self, seed: int):
        from simengine.storytellers.procedural import ProceduralStoryteller

        self.inner = ProceduralStoryteller(seed=seed)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    async def propose(self, *args, **kwargs):
        return await self.inner.propose(*args, **kwargs)

    def narrate(self, *args, **kwargs):
        return self.inner.narrate(*args, **kwargs)

    def drain_calls(self):
        return []


@pytest.mark.parametrize("world", ["harbour", "frontier", "starship"])
async def test_rich_clean_prose_raises_no_false_alarm(world, tmp_path):
    """The procedural storyteller's prose (descriptions, traits, dialogue, lists of who
    is here) tells only what happened: the check must let all of it through."""
    spec = load_world(HARBOUR.parent / f"{world}.toml")
    session = Session.new(spec, tmp_path / "p.db", seed=1, storyteller=ProceduralAsModel(1),
                          voice="second")
    script = ["look around", "ask about the key", "go to the market", "take the rope"]
    for i in range(16):
        await session.step(script[i % len(script)] if i % 2 == 0 else None)
    narrated = [e for e in session.save.log() if e.narration]
    assert len(narrated) >= 16 and session.save.drifts() == []
    session.close()


def test_a_save_from_before_drifts_gains_the_table_on_open(tmp_path):
    import sqlite3

    from simengine.store import Save

    path = tmp_path / "old.db"
    Save.create(path, tiny_world_spec()).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE drifts")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm003_drifts'")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with Save.open(path) as save:  # opened for writing, it is upgraded
        assert save.drifts() == [] and "drifts" in save.db.table_names()


async def test_a_retelling_that_fails_gives_way_to_the_procedural_telling(fake, tmp_path):
    fake.enqueue_streamed(Fault.drift_dead, Fault.http(500, "llama runner died"))
    session, heard = session_on(fake, tmp_path, npc_rate=1.0)
    session.storyteller.retries = 0
    await session.wait()
    (beat,) = [m for m in heard if isinstance(m, Committed)]
    (kept,) = session.save.drifts(beat.event.id)
    assert kept["outcome"] == "procedural" and beat.narration.strip()
    assert kept["attempts"][0]["sentence"] not in beat.narration
    calls = [c for c in session.save.calls(beat.event.id) if c["phase"] == "narrate"]
    assert calls[0]["accepted"] is False and calls[-1]["error"]
    session.close()
