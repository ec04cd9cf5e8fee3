"""Ctrl-C: a run stops after the current tick, and nothing committed is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from simengine.store import Save

HARBOUR = str(Path(__file__).parent.parent.parent / "worlds" / "harbour.toml")


def wait_for_events(save: Path, at_least: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        if save.exists():
            try:
                with Save.open(save, readonly=True) as s:
                    if s.event_count() >= at_least:
                        return
            except Exception:  # the save may be mid-creation
                pass
        time.sleep(0.05)
    raise AssertionError("the run made no progress")


def test_ctrl_c_stops_after_the_tick_and_keeps_everything(tmp_path):
    save = tmp_path / "long.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simengine", "run", HARBOUR, "--ticks", "100000",
         "--save", str(save), "--no-narrate"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for_events(save, 20, time.monotonic() + 60)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopping after this tick" in err
    assert "ticks run:" in out and "Traceback" not in err
    with Save.open(save, readonly=True) as s:
        assert s.verify() == []
        log = s.log()
        assert log
        metrics = s.get_meta("metrics")
        # The last tick is whole: the session counted it as run.
        assert metrics["ticks"] >= max(e.tick for e in log)


def test_ctrl_c_in_a_batch_keeps_what_finished(tmp_path):
    import json

    out = tmp_path / "b"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simengine", "batch", HARBOUR, "--runs", "3", "--ticks", "100000",
         "--jobs", "2", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not len(list(out.glob("*.db"))) >= 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        for save in sorted(out.glob("*.db"))[:2]:
            wait_for_events(save, 5, deadline)
        proc.send_signal(signal.SIGINT)
        stdout, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    report = json.loads((out / "report.json").read_text())
    assert report["interrupted"] is True
    stopped = [r for r in report["runs"] if r["status"] == "stopped"]
    assert len(stopped) == 2, [(r["run"], r["status"], r["ticks"]) for r in report["runs"]]
    assert report["runs"][2]["status"] == "not started"
    for row in stopped:
        with Save.open(row["save"], readonly=True) as s:
            assert s.verify() == []
            assert max(e.tick for e in s.log()) <= row["ticks"]
