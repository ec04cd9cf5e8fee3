"""Cassettes: record a run's exchanges through the fake, replay them with no server."""

from __future__ import annotations

import json
import os

import pytest

from simengine.storytellers.base import Intent, StorytellerError
from simengine.storytellers.ollama import OllamaStoryteller
from simengine.storytellers.replay import CassetteRecorder, ReplayStoryteller, read_cassette
from simengine.testing.fake_ollama import Fault
from simengine.testing.fixtures import running_fake, simple_scene, tiny_state
from simengine.world.rules import Violation


@pytest.fixture
def state():
    return tiny_state()


def beats(state):
    """A little run: decide, repair, narrate for two actors, and a failing beat."""
    mara, silas = simple_scene(state, "mara"), simple_scene(state, "silas")
    fix = [Violation("travel.adjacent", 0, "'keep' is not next to 'dock'", "move")]
    return [
        ("propose", mara, Intent("npc", "mara", seed=1), ()),
        ("propose", mara, Intent("npc", "mara", seed=1), fix),
        ("narrate", mara, None, ()),
        ("propose", silas, Intent("npc", "silas", seed=2), ()),
        ("propose", silas, Intent("player", "silas", "I sing", seed=3), ()),
        ("narrate", silas, None, ()),
    ]


async def play(teller, state) -> list:
    out: list = []
    last = None
    for what, scene, intent, feedback in beats(state):
        if what == "propose":
            try:
                last = await teller.propose(scene, intent, feedback)
                out.append(last.model_dump())
            except StorytellerError as exc:
                out.append(f"error: {exc.reason}")
        else:
            out.append([chunk async for chunk in teller.narrate(scene, last)])
    return out


async def record(tmp_path, state, *faults):
    path = tmp_path / "run.jsonl"
    with running_fake(mode="plausible") as fake:
        fake.enqueue(*faults)
        teller = OllamaStoryteller(host=fake.url, backoff=0.01, retries=0,
                                   recorder=CassetteRecorder(path))
        original = await play(teller, state)
    return path, original


async def test_a_replay_answers_identically_with_no_server(tmp_path, state):
    path, original = await record(tmp_path, state)
    header, exchanges = read_cassette(path)
    assert header == {"cassette": 1, "storyteller": "ollama:qwen2.5:3b", "model": None}
    assert [e["phase"] for e in exchanges] == ["decide", "repair", "narrate", "decide", "decide",
                                               "narrate"]
    replay = ReplayStoryteller(path)  # the fake is gone: no server at all
    assert replay.name == "ollama:qwen2.5:3b"
    assert await play(replay, state) == original
    assert replay.remaining == 0
    assert [c.phase for c in replay.drain_calls()][:2] == ["decide", "repair"]


async def test_recorded_failures_fail_again_at_the_same_beat(tmp_path, state):
    path, original = await record(tmp_path, state, Fault.http(500, "boom"))
    assert original[0].startswith("error: ") and "500: boom" in original[0]
    replayed = await play(ReplayStoryteller(path), state)
    assert replayed == original


async def test_a_changed_run_is_a_clear_mismatch(tmp_path, state):
    path, _ = await record(tmp_path, state)
    replay = ReplayStoryteller(path)
    with pytest.raises(StorytellerError) as err:
        await replay.propose(simple_scene(state, "mara"), Intent("player", "mara", "I dance"))
    message = err.value.reason
    assert "does not match this run at exchange 0" in message and "first difference" in message
    lenient = ReplayStoryteller(path, strict=False)
    assert (await lenient.propose(simple_scene(state, "mara"), Intent("npc", "ned"))).actor


async def test_running_past_the_recording_is_a_clear_error(tmp_path, state):
    path, _ = await record(tmp_path, state)
    replay = ReplayStoryteller(path)
    await play(replay, state)
    with pytest.raises(StorytellerError, match="exhausted: all 6 exchanges"):
        await replay.propose(simple_scene(state, "mara"), Intent("npc", "mara", seed=1))


async def test_exchanges_finished_out_of_order_still_match(tmp_path, state):
    path, _ = await record(tmp_path, state)
    lines = path.read_text().splitlines()
    lines[1], lines[4] = lines[4], lines[1]  # the silas decide finished first
    path.write_text("\n".join(lines) + "\n")
    replay = ReplayStoryteller(path)
    silas = await replay.propose(simple_scene(state, "silas"), Intent("npc", "silas", seed=2))
    mara = await replay.propose(simple_scene(state, "mara"), Intent("npc", "mara", seed=1))
    assert (silas.actor, mara.actor) == ("silas", "mara")


def test_a_missing_or_broken_cassette_is_a_clear_error(tmp_path):
    with pytest.raises(StorytellerError, match="record one with `--record"):
        ReplayStoryteller(tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"cassette": 1}\n{"phase": "decide"\n')
    with pytest.raises(StorytellerError, match="line 2 is not JSON"):
        ReplayStoryteller(bad)
    future = tmp_path / "future.jsonl"
    future.write_text(json.dumps({"cassette": 99}) + "\n")
    with pytest.raises(StorytellerError, match="version 99"):
        ReplayStoryteller(future)


def test_a_recorder_can_append(tmp_path):
    path = tmp_path / "c.jsonl"
    CassetteRecorder(path, "ollama:x").record("decide", [], None, {"content": "{}"})
    more = CassetteRecorder(path, append=True)
    more.record("narrate", [], None, {"chunks": ["a"], "error": None})
    header, exchanges = read_cassette(path)
    assert header["storyteller"] == "ollama:x" and [e["n"] for e in exchanges] == [0, 1]


def test_a_recorder_never_clobbers_what_is_not_a_cassette(tmp_path):
    sqlite_file = tmp_path / "game.db"
    sqlite_file.write_bytes(b"SQLite format 3\x00" + bytes(4080))
    world = tmp_path / "w.toml"
    world.write_text('[world]\nid = "w"\n')
    for path in (sqlite_file, world):
        before = path.read_bytes()
        for append in (False, True):
            with pytest.raises(StorytellerError, match="not a cassette"):
                CassetteRecorder(path, append=append)
        assert path.read_bytes() == before
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(StorytellerError, match="not a regular file"):
        CassetteRecorder(fifo)
    # A new cassette is created; an existing cassette (or an empty file) is recorded over.
    fresh = tmp_path / "sub" / "new.jsonl"
    CassetteRecorder(fresh, "ollama:x").record("decide", [], None, {"content": "{}"})
    assert read_cassette(fresh)[1][0]["n"] == 0
    CassetteRecorder(fresh)
    assert fresh.read_text() == ""
    (tmp_path / "empty.jsonl").write_text("")
    CassetteRecorder(tmp_path / "empty.jsonl")
