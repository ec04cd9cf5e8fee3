"""Batch runs on a Ray cluster: two simulated nodes, two fake Ollama servers.

One cluster serves every test here (starting one costs seconds); each node runs
beside its own fake server, which it advertises as ``ollama_slot`` resources.
"""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster

from simengine.sim.batch import run_batch
from simengine.sim.evaluate import committed_violations
from simengine.sim.executors import RunTask
from simengine.sim.executors.work import Silent, run_task
from simengine.store import Save
from simengine.testing.fake_ollama import FakeOllama
from simengine.world.loader import load_world

FRONTIER = Path(__file__).parent.parent.parent / "worlds" / "frontier.toml"


def wire(path: Path, ids: bool = True) -> list[dict]:
    with Save.open(path, readonly=True) as save:
        return [{k: v for k, v in e.wire().items() if ids or k not in ("id", "parent_id")}
                for e in save.log()]


@pytest.fixture(scope="module")
def fakes():
    with FakeOllama(latency_per_call=0.03) as a, FakeOllama(latency_per_call=0.03) as b:
        yield a, b


@pytest.fixture(scope="module")
def cluster(fakes):
    a, b = fakes
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False, "resources": {"ollama_slot": 1},
        "env_vars": {"OLLAMA_HOST": a.url}})
    c.add_node(num_cpus=1, resources={"ollama_slot": 2}, env_vars={"OLLAMA_HOST": b.url})
    ray.init(address=c.address, log_to_driver=False)
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


def test_ray_and_local_tell_the_same_stories_and_report_alike(cluster, fakes, tmp_path):
    # Told by a model (the fake, a few hundredths of a second a call), so a run
    # is still going when Ctrl-C comes.
    told = dict(storyteller="ollama", host=fakes[0].url)
    local = run_batch(FRONTIER, runs=3, ticks=8, seed=50, jobs=3, out=tmp_path / "local",
                      **told)
    # Workers here do not write into --out: each save comes back to the driver,
    # also when Ctrl-C stops the batch, and goes out again with the resumed run.
    asked = []

    def ctrl_c(index: int, tick: int) -> None:
        if tick == 2 and not asked:
            asked.append(index)
            os.kill(os.getpid(), signal.SIGINT)

    first = run_batch(FRONTIER, runs=3, ticks=8, seed=50, out=tmp_path / "ray",
                      executor="ray", address=cluster.address, shared=False,
                      on_progress=ctrl_c, **told)
    stopped = {r["run"]: r["ticks"] for r in first.rows if r["status"] == "stopped"}
    assert first.interrupted and stopped and all(0 < t < 8 for t in stopped.values())
    assert all(Path(first.rows[i]["save"]).exists() for i in stopped)
    starts = []
    remote = run_batch(FRONTIER, runs=3, ticks=8, seed=50, out=tmp_path / "ray",
                       executor="ray", address=cluster.address, shared=False,
                       on_start=starts.append, **told)
    assert {s.index: s.resumed_at for s in starts if s.index in stopped} == stopped
    assert [r["status"] for r in remote.rows] == ["done"] * 3
    for mine, theirs in zip(local.rows, remote.rows, strict=True):
        a, b = Path(mine["save"]), Path(theirs["save"])
        assert b.parent == tmp_path / "ray" and b.name == a.name
        assert json.dumps(wire(a)) == json.dumps(wire(b))  # byte for byte, ids and all
        with Save.open(b, readonly=True) as save:
            assert save.verify() == []
    assert {r["node"] for r in remote.rows} <= {n for n in _nodes()}
    one, two = (json.loads((tmp_path / d / "report.json").read_text()) for d in ("local", "ray"))
    assert one.keys() == two.keys() and (one["executor"], two["executor"]) == ("local", "ray")
    assert [r.keys() for r in one["runs"]] == [r.keys() for r in two["runs"]]
    timing = ("engine_seconds", "model_seconds")
    assert {k: v for k, v in one["totals"].items() if k not in timing} == {
        k: v for k, v in two["totals"].items() if k not in timing}
    heads = [next(csv.reader((tmp_path / d / "report.csv").open())) for d in ("local", "ray")]
    assert heads[0] == heads[1]
    again = run_batch(FRONTIER, runs=3, ticks=8, seed=50, out=tmp_path / "ray",
                      executor="ray", address=cluster.address, shared=False, **told)
    assert [r["status"] for r in again.rows] == ["skipped"] * 3


def _nodes() -> list[str]:
    return [f"{n['NodeManagerAddress']}/{n['NodeID'][:8]}" for n in ray.nodes() if n["Alive"]]


def test_runs_use_the_server_beside_their_node_by_its_slots(cluster, fakes, tmp_path):
    a, b = fakes
    a.peak_in_flight = b.peak_in_flight = 0  # the fakes served other tests before
    seen = []
    result = run_batch(FRONTIER, runs=6, ticks=3, seed=60, storyteller="ollama",
                       executor="ray", address=cluster.address, node_slot="ollama_slot",
                       out=tmp_path / "slots", on_start=seen.append)
    assert [r["status"] for r in result.rows] == ["done"] * 6
    node_host = {s.node: s.host for s in seen}
    assert sorted(node_host.values()) == sorted([a.url, b.url])  # both nodes, each its own
    for r in result.rows:
        assert r["host"] == node_host[r["node"]]
    assert a.peak_in_flight <= 1 and b.peak_in_flight <= 2


def test_a_killed_worker_is_retried_and_its_run_resumes(cluster, fakes, tmp_path):
    a, b = fakes
    pids: dict[int, list[int]] = {}
    starts = []
    killed = []

    def on_progress(index: int, tick: int) -> None:
        if index == 1 and tick == 3 and not killed:
            killed.append(pids[1][-1])
            os.kill(pids[1][-1], signal.SIGKILL)

    result = run_batch(FRONTIER, runs=2, ticks=8, seed=70, storyteller="ollama",
                       executor="ray", address=cluster.address, hosts=f"{b.url}=2",
                       out=tmp_path / "kill", on_progress=on_progress,
                       on_start=lambda s: (starts.append(s),
                                           pids.setdefault(s.index, []).append(s.pid)))
    # The uninterrupted run, told here in this process.
    straight = tmp_path / "straight.db"
    run_task(RunTask(load_world(FRONTIER), 1, 71, str(straight), 8, "ollama", host=a.url),
             Silent())
    assert killed, "the run finished before it could be killed"
    assert [r["status"] for r in result.rows] == ["done", "done"]
    assert result.rows[1]["attempts"] == 2 and len(pids[1]) == 2
    assert pids[1][0] != pids[1][1]
    # The retry went on from the save, not from the start.
    assert [s.resumed_at for s in starts if s.index == 1][1] >= 3
    saved = Path(result.rows[1]["save"])
    with Save.open(saved, readonly=True) as save:
        assert save.verify() == []
        assert committed_violations(save)[0] == []
        assert save.get_meta("batch_finished_ticks") == 8
    assert wire(saved, ids=False) == wire(straight, ids=False)
    assert result.rows[1]["metrics"]["ticks"] == 8
