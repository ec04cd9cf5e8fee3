"""Batch runs: many seeded games of one world, in parallel, one save each, and a report.

The driver here plans the runs, skips finished ones, hands the rest to an
executor (local processes, or Ray tasks on one machine or a cluster; see
:mod:`simengine.sim.executors`), gives each model-backed run one Ollama host
from the ``--hosts`` pool for its whole life, moves a run whose host died to
another host, and writes the report. Runs stop only between ticks; a run whose
save says it is finished is skipped on the next call, and an unfinished one
picks up where it stopped, telling the same story it would have told
uninterrupted.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from simengine.sim.executors import (
    Executor,
    HostPool,
    Outcome,
    RunTask,
    Started,
    make_executor,
    parse_hosts,
)
from simengine.sim.executors.work import ENDING, FINISHED, row
from simengine.sim.metrics import Metrics
from simengine.storytellers.base import StorytellerError
from simengine.storytellers.config import kinds_text, teller_kind, uses_model

#: Resubmissions of one run after lost hosts before it is given up.
MAX_RESUBMITS = 8


def check_kind(kind: str) -> None:
    """Refuse an unknown storyteller before any worker starts."""
    chosen, argument = teller_kind(kind)
    if chosen.argument is not None and not argument:
        raise StorytellerError(f"unknown storyteller '{kind}' — use {kinds_text()}")


@dataclass(frozen=True)
class RunPlan:
    index: int
    seed: int
    save: Path


def plan_runs(world_id: str, runs: int, seed: int, out: Path) -> list[RunPlan]:
    return [
        RunPlan(i, seed + i, out / f"{world_id}-run{i:03d}-seed{seed + i}.db") for i in range(runs)
    ]


def finished_ticks(path: Path) -> int | None:
    """How many ticks a finished run's save holds, or None if it is not finished."""
    from simengine.store import Save, SaveError

    if not path.exists():
        return None
    try:
        with Save.open(path, readonly=True) as save:
            return save.get_meta(FINISHED)
    except SaveError:
        return None


def _on_sigint(callback: Callable[[], None]) -> Any:
    """Call ``callback`` on Ctrl-C (main thread only); returns the handler it replaced."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, lambda *_: callback())


def _row_from_save(plan: RunPlan, spec: Any) -> dict[str, Any]:
    from simengine.store import Save

    task = RunTask(spec, plan.index, plan.seed, str(plan.save), 0)
    with Save.open(plan.save, readonly=True) as save:
        ending = save.get_meta(ENDING)
        ticks = ending["tick"] if ending else save.get_meta(FINISHED)
        return row(task, "skipped", ticks, metrics=save.get_meta("metrics"), ending=ending)


@dataclass
class BatchResult:
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    interrupted: bool
    wall_seconds: float
    hosts: list[dict[str, Any]] = field(default_factory=list)
    endings: dict[str, Any] = field(default_factory=dict)


def endings_report(endings: list[dict[str, Any] | None]) -> dict[str, Any]:
    """The share of runs that reached each ending, and the ticks it took them.

    ``endings``: each run's ending (``id``, ``kind``, ``tick``) or None. The result
    maps each ending id to its kind, runs, share and ticks (mean, min, max); the
    key ``none`` counts the runs that reached no ending.
    """
    total = len(endings) or 1
    out: dict[str, Any] = {}
    for e in sorted((e for e in endings if e), key=lambda e: (e["id"], e["tick"])):
        entry = out.setdefault(e["id"], {"kind": e["kind"], "runs": 0, "ticks": []})
        entry["runs"] += 1
        entry["ticks"].append(e["tick"])
    for entry in out.values():
        ticks = entry.pop("ticks")
        entry.update(share=round(entry["runs"] / total, 3),
                     ticks_mean=round(sum(ticks) / len(ticks), 1),
                     ticks_min=min(ticks), ticks_max=max(ticks))
    none = sum(1 for e in endings if not e)
    out["none"] = {"kind": "", "runs": none, "share": round(none / total, 3)}
    return out


def endings_lines(report: dict[str, Any]) -> list[str]:
    """``endings: justice (win) 3 of 4 runs (75%), 41 ticks on average ...`` lines."""
    runs = sum(e["runs"] for e in report.values())
    lines = []
    for ending_id, e in report.items():
        if ending_id == "none":
            continue
        lines.append(f"ending {ending_id} ({e['kind']}): {e['runs']} of {runs} runs "
                     f"({e['share']:.0%}), ticks {e['ticks_mean']:g} on average "
                     f"({e['ticks_min']}-{e['ticks_max']})")
    none = report.get("none", {"runs": 0, "share": 0})
    if lines or none["runs"]:
        lines.append(f"no ending: {none['runs']} of {runs} runs ({none['share']:.0%})")
    return lines


def run_batch(
    world: str | Path,
    *,
    runs: int,
    ticks: int,
    jobs: int | None = None,
    seed: int = 0,
    storyteller: str = "procedural",
    model: str | None = None,
    host: str | None = None,
    hosts: str | None = None,
    executor: str = "local",
    address: str | None = None,
    node_slot: str | None = None,
    shared: bool | None = None,
    out: str | Path,
    narrate: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    on_skip: Callable[[int], None] | None = None,
    on_start: Callable[[Started], None] | None = None,
) -> BatchResult:
    """Run (or resume) a batch; writes ``report.json`` and ``report.csv`` in ``out``.

    Args:
        jobs: runs at once (default: the ``hosts`` pool's slots, else 2 locally;
            under Ray, as many as the cluster's CPUs take).
        host: the Ollama server of every run (without ``hosts``).
        hosts: ``URL=SLOTS,...``: Ollama servers and how many requests each
            serves at once; each model-backed run keeps one for its life.
        executor: ``local`` (processes here) or ``ray``.
        address: a Ray cluster to join (default: a local Ray instance).
        node_slot: a Ray resource naming a server on each node (e.g.
            ``ollama_slot``): a run takes one and uses its node's Ollama.
        shared: whether every worker sees ``out`` (default: ask them).
        on_start: hears each time a worker takes up a run (pid, node, host).
    """
    from simengine.world.loader import load_world

    spec = load_world(world)  # fail fast, in the driver, on a bad world file
    check_kind(storyteller)
    model_backed = uses_model(storyteller)
    pool = HostPool(parse_hosts(hosts)) if hosts and model_backed else None
    if hosts and node_slot:
        from simengine.sim.executors import ExecutorError

        raise ExecutorError("give --hosts or --node-slot, not both")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    plans = plan_runs(spec.world.id, runs, seed, out)
    rows: dict[int, dict[str, Any]] = {}
    todo: deque[RunTask] = deque()
    for p in plans:
        if (finished_ticks(p.save) or 0) >= ticks:
            rows[p.index] = _row_from_save(p, spec)
            if on_skip:
                on_skip(p.index)
        else:
            todo.append(RunTask(spec, p.index, p.seed, str(p.save), ticks, storyteller, model,
                                narrate, host, pooled=pool is not None,
                                node_slot=node_slot if model_backed else None))
    local_jobs = jobs or (pool.slots if pool else 2)
    ex = make_executor(executor, jobs=local_jobs if executor == "local" else jobs,
                       address=address, node_slot=node_slot if model_backed else None,
                       cpus_per_run=0.25 if model_backed else 1.0)
    if pool is not None and hasattr(ex, "host_slots"):
        ex.host_slots = {h.url: h.slots for h in pool.hosts}  # what a run may ask ahead
    started = time.perf_counter()
    interrupted, history = False, {}
    if todo:  # every run finished already: no workers, no cluster
        with ex:
            scratch = None
            if executor == "ray":
                shared = _sees_out(ex, out) if shared is None else shared
                if not shared:
                    scratch = Path(tempfile.gettempdir()) / "simengine-batch" / uuid.uuid4().hex
            if not (shared is None or shared):
                todo = deque(_carry(t, scratch) for t in todo)
            interrupted, history = _drive(ex, todo, rows, pool, jobs, on_progress, on_start)
    for p in plans:
        rows.setdefault(p.index, row(RunTask(spec, p.index, p.seed, str(p.save), ticks),
                                     "not started"))
    for index, seen in history.items():
        rows[index]["attempts"] = len(seen)
        hosts_used = list(dict.fromkeys(s.host for s in seen if s.host))
        if hosts_used:
            rows[index]["host"] = " -> ".join(hosts_used)
    return _report(
        spec.world.id,
        [rows[i] for i in sorted(rows)],
        out,
        interrupted,
        time.perf_counter() - started,
        run_count=runs,
        ticks=ticks,
        seed=seed,
        storyteller=storyteller,
        executor=executor,
        hosts=_hosts_report(pool, rows),
    )


def _sees_out(ex: Executor, out: Path) -> bool:
    """Write a marker in ``out`` and ask every node whether it sees it."""
    marker = out / f".simengine-batch-{uuid.uuid4().hex}"
    marker.write_text("a batch driver checks whether the workers see this folder\n")
    try:
        return ex.sees_everywhere(str(marker))  # type: ignore[attr-defined]
    finally:
        marker.unlink(missing_ok=True)


def _carry(task: RunTask, scratch: Path | None) -> RunTask:
    """A run for a worker that does not see ``out``: it carries its save so far."""
    path = Path(task.save)
    initial = path.read_bytes() if path.exists() else None
    return replace(task, shared=False, initial=initial,
                   scratch=str(scratch / f"run{task.index}") if scratch else None)


def _drive(
    ex: Executor,
    todo: deque[RunTask],
    rows: dict[int, dict[str, Any]],
    pool: HostPool | None,
    jobs: int | None,
    on_progress: Callable[[int, int], None] | None,
    on_start: Callable[[Started], None] | None,
) -> tuple[bool, dict[int, list[Started]]]:
    """Submit runs as capacity frees up, collect outcomes, move runs off lost hosts."""
    cap = ex.capacity or jobs or None
    history: dict[int, list[Started]] = {}
    asked = {"stop": False}
    # Ctrl-C sets a flag rather than raising wherever the main thread happens to be
    # (a KeyboardInterrupt inside a manager proxy call would wedge it).
    previous = _on_sigint(lambda: asked.__setitem__("stop", True))
    interrupted = False
    try:
        while todo or ex.pending():
            while todo and not interrupted and (cap is None or ex.pending() < cap):
                task = todo[0]
                if pool is not None:
                    host = pool.acquire()
                    if host is None:
                        break  # every slot busy: the next run waits for one
                    task = replace(task, host=host)
                todo.popleft()
                ex.submit(task)
            outcomes = ex.poll(0.1)
            _hear(ex, history, on_progress, on_start)
            for outcome in outcomes:
                again = _settle(outcome, rows, pool)
                if again is not None:
                    todo.appendleft(again)
            if asked["stop"] and not interrupted:
                # Runs stop after their current tick; what finished is kept, and
                # runs that had not started yet are not started.
                interrupted = True
                ex.stop()
                todo.clear()
        _hear(ex, history, on_progress, on_start)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return interrupted, history


def _hear(ex: Executor, history: dict[int, list[Started]],
          on_progress: Callable[[int, int], None] | None,
          on_start: Callable[[Started], None] | None) -> None:
    got = ex.progress()
    for info in got.started:
        history.setdefault(info.index, []).append(info)
        if on_start:
            on_start(info)
    if on_progress:
        for index, tick in got.events:
            on_progress(index, tick)


def _settle(
    outcome: Outcome, rows: dict[int, dict[str, Any]], pool: HostPool | None
) -> RunTask | None:
    """Record a finished task; returns the run to send out again, if its host died."""
    task = outcome.task
    if pool is not None:
        pool.release(task.host)
    if outcome.save_bytes is not None:
        _write_atomically(Path(task.save), outcome.save_bytes)
    if outcome.error is not None:
        rows[task.index] = row(task, f"error: {outcome.error}", host=task.host)
        return None
    if outcome.host_lost is not None:
        if pool is not None:
            pool.lose(outcome.host_lost)
        if (pool is None or pool.alive) and task.resubmitted < MAX_RESUBMITS:
            carried = outcome.save_bytes if not task.shared else None
            return task.again(host=None, initial=carried or task.initial)
        left = "no other host is left" if pool is not None else "it was tried too often"
        rows[task.index] = {**outcome.row, "status": f"error: {outcome.row['status']}; {left}"}
        return None
    rows[task.index] = outcome.row
    return None


def _write_atomically(path: Path, data: bytes) -> None:
    """A save handed back by a worker goes into ``--out`` whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.incoming")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    tmp.replace(path)


def _hosts_report(pool: HostPool | None, rows: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each declared host: its slots, the runs that used it, whether it was lost."""
    if pool is None:
        return []
    return [{"host": h.url, "slots": h.slots,
             "runs": sum(1 for r in rows.values() if h.url in r["host"].split(" -> ")),
             "lost": h.url in pool.lost} for h in pool.hosts]


def _report(
    world_id: str,
    rows: list[dict[str, Any]],
    out: Path,
    interrupted: bool,
    wall: float,
    **settings: Any,
) -> BatchResult:
    totals = Metrics()
    for r in rows:
        totals = totals + Metrics.from_dict(r["metrics"])
    total_dict = totals.to_dict()
    endings = endings_report([r.get("ending") for r in rows if r["status"] in ("done",
                                                                                "skipped")])
    report = {
        "world": world_id,
        **settings,
        "interrupted": interrupted,
        "wall_seconds": round(wall, 3),
        "runs": rows,
        "totals": total_dict,
        "endings": endings,
    }
    tmp = out / "report.json.tmp"
    tmp.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(out / "report.json")
    _write_csv(out / "report.csv", rows, total_dict)
    return BatchResult(rows, total_dict, interrupted, wall, settings.get("hosts") or [], endings)


def _flat(metrics: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            for sub, n in value.items():
                flat[f"{key}.{sub}"] = n
        else:
            flat[key] = value
    return flat


def _write_csv(path: Path, rows: list[dict[str, Any]], totals: dict[str, Any]) -> None:
    base = ["run", "seed", "status", "ticks", "ending", "host", "node", "attempts", "save"]
    lines = [{**{k: r.get(k) for k in base}, "ending": (r.get("ending") or {}).get("id", ""),
              **_flat(r["metrics"])} for r in rows]
    lines.append({"run": "total", **_flat(totals)})
    columns = base + sorted({k for line in lines for k in line} - set(base))
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval=0)
        writer.writeheader()
        writer.writerows(lines)
    tmp.replace(path)
