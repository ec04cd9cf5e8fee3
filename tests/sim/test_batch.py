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
