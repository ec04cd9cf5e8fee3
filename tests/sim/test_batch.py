"""Batch runs: parallel, one save each, a report, resumable."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from simengine.sim.batch import run_batch
from simengine.store import Save

FRONTIER = Path(__file__).parent.parent.parent / "worlds" / "frontier.toml"


def wire_log(path: Path) -> list[dict]:
    with Save.open(path, readonly=True) as save:
        return [e.wire() for e in save.log()]


def test_four_runs_two_jobs_then_resume(tmp_path):
    out = tmp_path / "batch"
    progress: list[tuple[int, int]] = []
    first = run_batch(FRONTIER, runs=4, ticks=8, jobs=2, seed=10, out=out,
                      on_progress=lambda i, t: progress.append((i, t)))
    assert [r["status"] for r in first.rows] == ["done"] * 4
    assert [r["seed"] for r in first.rows] == [10, 11, 12, 13]
    saves = sorted(out.glob("*.db"))
    assert len(saves) == 4
    logs = [wire_log(p) for p in saves]
    assert all(logs) and len({json.dumps(log) for log in logs}) == 4  # seeds differ
    assert {(i, 8) for i in range(4)} <= set(progress)

    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["ticks"] == 32
    assert report["totals"]["events_total"] == sum(
        r["metrics"]["events_total"] for r in report["runs"])
    rows = list(csv.DictReader((out / "report.csv").open()))
    assert [r["run"] for r in rows] == ["0", "1", "2", "3", "total"]

    # Again: every run is finished, so nothing runs and nothing changes.
    again = run_batch(FRONTIER, runs=4, ticks=8, jobs=2, seed=10, out=out)
    assert [r["status"] for r in again.rows] == ["skipped"] * 4
    assert [wire_log(p) for p in saves] == logs

    # Longer: the runs pick up where they stopped and tell the story they would
    # have told uninterrupted.
    longer = run_batch(FRONTIER, runs=4, ticks=12, jobs=2, seed=10, out=out)
    assert [r["ticks"] for r in longer.rows] == [12] * 4
    straight = run_batch(FRONTIER, runs=1, ticks=12, jobs=1, seed=10, out=tmp_path / "straight")
    assert wire_log(Path(straight.rows[0]["save"])) == wire_log(saves[0])


def test_a_broken_run_does_not_sink_the_batch(tmp_path):
    import pytest

    from simengine.storytellers.base import StorytellerError

    out = tmp_path / "b"
    out.mkdir()
    (out / "frontier-run000-seed0.db").write_bytes(b"not a save at all" * 10)
    result = run_batch(FRONTIER, runs=2, ticks=3, jobs=1, seed=0, out=out)
    assert result.rows[0]["status"].startswith("error: ")
    assert "not a simengine save" in result.rows[0]["status"]
    assert result.rows[1]["status"] == "done"
    assert (out / "report.json").exists()
    with pytest.raises(StorytellerError, match="unknown storyteller"):
        run_batch(FRONTIER, runs=1, ticks=1, out=tmp_path / "c", storyteller="wizard")


def test_idle_slots_are_shared_out_and_the_run_furthest_behind_asks_one_more():
    from simengine.sim.executors.local import share_out

    assert share_out(3, [4, 2]) == {4: 3, 2: 1}  # run 4 is furthest behind: the odd slot
    assert share_out(2, [4, 2]) == {4: 2, 2: 1}
    # Every slot has a run: only the run the batch will wait for asks ahead, one call.
    assert share_out(0, [4, 2]) == {4: 1, 2: 0}
    assert share_out(-2, [4, 2, 1]) == {4: 1, 2: 0, 1: 0}
    assert share_out(-2, [1]) == {1: 0}  # alone on its slots: no other run to go before
    assert share_out(2, [1]) == {1: 2}
    assert share_out(3, []) == {}


def test_a_lone_run_asks_ahead_on_idle_slots_and_tells_the_same_story(tmp_path):
    """One run with four jobs has three idle slots: its later beats' calls go out
    together, and the story is the one a run told call after call tells."""
    from simengine.testing.fake_ollama import FakeOllama

    harbour = FRONTIER.parent / "harbour.toml"
    logs, peaks = [], []
    for jobs in (1, 4):
        with FakeOllama(mode="noisy", seed=3, latency_per_call=0.05, slots=4) as fake:
            result = run_batch(harbour, runs=1, ticks=6, jobs=jobs, seed=4,
                               storyteller="ollama", host=fake.url, out=tmp_path / f"j{jobs}")
            assert [r["status"] for r in result.rows] == ["done"]
            logs.append(wire_log(Path(result.rows[0]["save"])))
            peaks.append(fake.peak_in_flight)
    assert logs[0] and logs[0] == logs[1]
    assert peaks == [1, peaks[1]] and peaks[1] > 1


def test_model_runs_are_told_together_in_this_process_with_their_own_stories(tmp_path):
    """Runs told by a model wait on it, not on the CPU: they are told on one event loop
    of the driver (no worker process to start), and each tells the story it tells alone."""
    import os

    from simengine.sim.executors import RunTask
    from simengine.sim.executors.work import Silent, run_task
    from simengine.testing.fake_ollama import FakeOllama
    from simengine.world.loader import load_world

    harbour = FRONTIER.parent / "harbour.toml"
    with FakeOllama(mode="noisy", seed=3, latency_per_call=0.03, slots=3) as fake:
        seen = []
        together = run_batch(harbour, runs=3, ticks=4, jobs=3, seed=40, storyteller="ollama",
                             host=fake.url, out=tmp_path / "together", on_start=seen.append)
        assert fake.peak_in_flight > 1  # the runs' calls were in flight at once
        alone = [tmp_path / f"alone{i}.db" for i in range(3)]
        for i, path in enumerate(alone):
            run_task(RunTask(load_world(harbour), i, 40 + i, str(path), 4, "ollama",
                             host=fake.url), Silent())
    assert [r["status"] for r in together.rows] == ["done"] * 3
    assert {s.pid for s in seen} == {os.getpid()}
    logs = [wire_log(Path(r["save"])) for r in together.rows]
    assert all(logs) and logs == [wire_log(p) for p in alone]


def test_a_finished_model_run_closes_its_client(tmp_path, monkeypatch):
    """One loop tells every model-backed run of a batch: each run, once told, lets go
    of its client and its kept-alive connection, so a long batch holds no socket per
    run it has finished."""
    from simengine.storytellers.ollama import OllamaStoryteller
    from simengine.testing.fake_ollama import FakeOllama

    closed, aclose = [], OllamaStoryteller.aclose

    async def counted(self):
        closed.append(self)
        await aclose(self)
        assert not self._clients  # nothing of this loop's is left open

    monkeypatch.setattr(OllamaStoryteller, "aclose", counted)
    with FakeOllama(mode="plausible", seed=3) as fake:
        result = run_batch(FRONTIER.parent / "harbour.toml", runs=3, ticks=2, jobs=3, seed=9,
                           storyteller="ollama", host=fake.url, out=tmp_path / "b")
    assert [r["status"] for r in result.rows] == ["done"] * 3
    assert len({id(t) for t in closed}) == 3
