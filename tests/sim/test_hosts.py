"""Ollama hosts as capacity under the local executor: --hosts, a host lost mid-run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.sim.batch import run_batch
from simengine.sim.evaluate import committed_violations
from simengine.sim.executors import HostPool, HostsError, RunTask, parse_hosts
from simengine.sim.executors.work import Silent, run_task
from simengine.store import Save
from simengine.testing.fake_ollama import FakeOllama
from simengine.world.loader import load_world

FRONTIER = Path(__file__).parent.parent.parent / "worlds" / "frontier.toml"


def story(path: Path) -> list[dict]:
    """A save's story as it reads: every event's wire form but its storage ids."""
    with Save.open(path, readonly=True) as save:
        return [{k: v for k, v in e.wire().items() if k not in ("id", "parent_id")}
                for e in save.log()]


def test_hosts_are_read_with_their_slots_and_typos_are_named():
    hosts = parse_hosts("http://a:11434=2, b:11434=4,http://c:11434")
    assert [(h.url, h.slots) for h in hosts] == [
        ("http://a:11434", 2), ("http://b:11434", 4), ("http://c:11434", 1)]
    for bad, says in [("http://a:1=two", "whole number"), ("http://a:1=0", "at least 1"),
                      ("http://a:1,,http://b:1", "empty entry"),
                      ("http://a:1=1,http://a:1=2", "twice")]:
        with pytest.raises(HostsError, match=says):
            parse_hosts(bad)


def test_the_pool_fills_the_freest_host_and_forgets_lost_ones():
    pool = HostPool(parse_hosts("http://a:1=1,http://b:1=2"))
    assert [pool.acquire() for _ in range(4)] == [
        "http://b:1", "http://a:1", "http://b:1", None]
    pool.release("http://a:1")
    pool.lose("http://a:1")
    assert pool.acquire() is None and pool.slots == 2
    pool.release("http://b:1")
    assert pool.acquire() == "http://b:1"


def test_runs_spread_over_hosts_by_their_slots(tmp_path):
    seen = []
    with FakeOllama(latency_per_call=0.02) as a, FakeOllama(latency_per_call=0.02) as b:
        result = run_batch(FRONTIER, runs=4, ticks=2, seed=4, storyteller="ollama",
                           hosts=f"{a.url}=1,{b.url}=2", out=tmp_path / "out",
                           on_start=seen.append)
        peaks = a.peak_in_flight, b.peak_in_flight
    assert [r["status"] for r in result.rows] == ["done"] * 4
    # Three runs at once (the slots added up): the first three fill b, a, b; never more.
    assert [r["host"] for r in result.rows[:3]] == [b.url, a.url, b.url]
    assert {s.index: s.host for s in seen} == {r["run"]: r["host"] for r in result.rows}
    # A host's calls stay within its slots, but for one: the run furthest behind of those
    # sharing b asks one call ahead (the server queues it; the batch waits for that run).
    # Alone on a, a run has nobody to go before, so a never sees more than its one slot.
    assert peaks[0] == 1 and 1 <= peaks[1] <= 2 + 1
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [(h["host"], h["slots"]) for h in report["hosts"]] == [(a.url, 1), (b.url, 2)]
    assert sum(h["runs"] for h in report["hosts"]) == 4
    assert {r["host"] for r in report["runs"]} == {a.url, b.url}
    assert all(r["storyteller"].startswith("ollama") for r in report["runs"])


def test_a_run_whose_host_dies_moves_to_another_and_resumes(tmp_path):
    with FakeOllama(latency_per_call=0.03) as a, FakeOllama(latency_per_call=0.03) as b:
        def on_progress(index: int, tick: int) -> None:
            if index == 0 and tick == 3:
                a.stop()  # run 0 started on a (the first listed of two free hosts)

        result = run_batch(FRONTIER, runs=2, ticks=7, seed=30, storyteller="ollama",
                           hosts=f"{a.url}=1,{b.url}=1", out=tmp_path / "moved",
                           on_progress=on_progress)
        straight = tmp_path / "straight.db"  # the uninterrupted run, told in this process
        run_task(RunTask(load_world(FRONTIER), 0, 30, str(straight), 7, "ollama", host=b.url),
                 Silent())
    moved = result.rows[0]
    assert [r["status"] for r in result.rows] == ["done", "done"]
    assert moved["host"] == f"{a.url} -> {b.url}" and moved["attempts"] == 2
    assert result.hosts[0]["lost"] is True
    with Save.open(moved["save"], readonly=True) as save:
        assert save.verify() == []
        assert committed_violations(save)[0] == []
        assert {e.storyteller for e in save.log()} == {"ollama:qwen2.5:3b"}
    assert story(Path(moved["save"])) == story(straight)


def test_without_ray_the_ray_executor_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    result = CliRunner().invoke(main, ["batch", str(FRONTIER), "--executor", "ray",
                                       "-o", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "pip install 'simengine[ray]'" in result.output
    assert "Traceback" not in result.output


def test_a_bad_hosts_value_is_one_clear_line(tmp_path):
    result = CliRunner().invoke(main, ["batch", str(FRONTIER), "-s", "ollama",
                                       "--hosts", "http://a:11434=lots", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "slots must be a whole number" in result.output
    assert "Traceback" not in result.output


def test_the_batch_table_keeps_every_header_whole_at_80_columns():
    from rich.console import Console

    from simengine.cli.batch import COLUMNS, results_table

    metrics = {"events_total": 12345, "inventions": 67, "ops_rejected_total": 890,
               "repairs_succeeded": 12, "repairs_tried": 34, "fallbacks": {"x": 5},
               "prompt_tokens": 1234567, "completion_tokens": 89012}
    rows = [{"run": i, "status": status, "ticks": 1000, "metrics": metrics}
            for i, status in enumerate(["done", "error: not a simengine save (bad header)"])]
    console = Console(width=80, record=True)
    console.print(results_table("Cinder Gulch", rows))
    lines = console.export_text().splitlines()
    header = next(line for line in lines if line.strip().startswith("run"))
    assert header.split() == [name for name, _ in COLUMNS]
    assert all(len(line) <= 80 for line in lines)
    assert any("1323579" in line for line in lines)  # numbers whole too


def test_a_model_that_fails_on_a_live_host_falls_back_and_the_run_stays(tmp_path):
    from simengine.testing.fake_ollama import Fault

    with FakeOllama() as fake:
        fake.enqueue(*[Fault.http(500, "llama runner crashed")] * 3)  # one beat's tries
        outcome = run_task(RunTask(load_world(FRONTIER), 0, 8, str(tmp_path / "r.db"), 3,
                                   "ollama", host=fake.url, pooled=True), Silent())
    assert outcome.host_lost is None and outcome.row["status"] == "done"
    assert sum(outcome.row["metrics"]["fallbacks"].values()) >= 1
    with Save.open(tmp_path / "r.db", readonly=True) as save:
        assert "procedural" in {e.storyteller for e in save.log()}
