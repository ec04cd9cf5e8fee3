"""Batch runs: many seeded games of one world, in parallel, one save each, and a report.

Each run is a worker process (the procedural storyteller is CPU-bound, and one
process per run also caps Ollama at ``jobs`` requests in flight). Runs stop only
between ticks, so every save holds whole ticks; a run whose save says it is
finished is skipped on the next call, and an unfinished one picks up where it
stopped, telling the same story it would have told uninterrupted.
"""

from __future__ import annotations

import asyncio
import csv
import json
import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simengine.sim.metrics import Metrics

FINISHED = "batch_finished_ticks"


def check_kind(kind: str) -> None:
    """Refuse an unknown storyteller before any worker starts."""
    from simengine.storytellers.base import StorytellerError

    if kind not in ("auto", "ollama", "procedural") and not (
        kind.startswith("replay:") and len(kind) > len("replay:")
    ):
        raise StorytellerError(
            f"unknown storyteller '{kind}' — use auto, ollama, procedural or replay:FILE"
        )


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


def _ignore_sigint() -> None:
    # The parent decides when runs stop (between ticks); workers ignore Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_one(
    world: str,
    plan: RunPlan,
    ticks: int,
    storyteller: str,
    model: str | None,
    host: str | None,
    narrate: bool,
    progress: Any,
    stop: Any,
) -> dict[str, Any]:
    """One run in a worker: start or resume its save and tick to ``ticks``."""
    from simengine.sim.session import Session
    from simengine.sim.tellers import choose
    from simengine.world.loader import load_world

    if stop.is_set():  # queued before Ctrl-C, reached after it: leave it for a resume
        return _row(plan, "not started")
    spec = load_world(world)
    choice = choose(storyteller, spec=spec, seed=plan.seed, model=model, host=host)
    kwargs = dict(
        seed=plan.seed, storyteller=choice.storyteller, fallback=choice.fallback, narrate=narrate
    )
    started = time.perf_counter()
    if plan.save.exists():
        session = Session.load(plan.save, **kwargs)
    else:
        session = Session.new(spec, plan.save, **kwargs)
    try:
        progress.put((plan.index, session.tick))
        while session.tick < ticks and not stop.is_set():
            asyncio.run(session.step())
            progress.put((plan.index, session.tick))
        done = session.tick >= ticks
        if done:
            session.save.set_meta(FINISHED, session.tick)
        return _row(
            plan,
            "done" if done else "stopped",
            session.tick,
            choice.why,
            time.perf_counter() - started,
            session.metrics.to_dict(),
        )
    finally:
        session.close()


def _row(
    plan: RunPlan,
    status: str,
    ticks: int = 0,
    storyteller: str = "",
    wall: float = 0.0,
    metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One run's line in the report."""
    return {
        "run": plan.index,
        "seed": plan.seed,
        "save": str(plan.save),
        "status": status,
        "ticks": ticks,
        "storyteller": storyteller,
        "wall_seconds": round(wall, 3),
        "metrics": metrics or {},
    }


def _row_from_save(plan: RunPlan) -> dict[str, Any]:
    from simengine.store import Save

    with Save.open(plan.save, readonly=True) as save:
        return _row(plan, "skipped", save.get_meta(FINISHED), metrics=save.get_meta("metrics"))


@dataclass
class BatchResult:
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    interrupted: bool
    wall_seconds: float


def run_batch(
    world: str | Path,
    *,
    runs: int,
    ticks: int,
    jobs: int = 2,
    seed: int = 0,
    storyteller: str = "procedural",
    model: str | None = None,
    host: str | None = None,
    out: str | Path,
    narrate: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    on_skip: Callable[[int], None] | None = None,
) -> BatchResult:
    """Run (or resume) a batch; writes ``report.json`` and ``report.csv`` in ``out``."""
    from simengine.world.loader import load_world

    spec = load_world(world)  # fail fast, in the parent, on a bad world file
    check_kind(storyteller)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plans = plan_runs(spec.world.id, runs, seed, out)
    rows: dict[int, dict[str, Any]] = {}
    todo = []
    for p in plans:
        if (finished_ticks(p.save) or 0) >= ticks:
            rows[p.index] = _row_from_save(p)
            if on_skip:
                on_skip(p.index)
        else:
            todo.append(p)
    started = time.perf_counter()
    interrupted = False
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        progress, stop = manager.Queue(), manager.Event()
        previous = None
        pool = ProcessPoolExecutor(
            max_workers=max(1, jobs), mp_context=ctx, initializer=_ignore_sigint
        )
        try:
            plan_of = {}
            pending = set()
            for p in todo:
                future = pool.submit(
                    run_one, str(world), p, ticks, storyteller, model, host, narrate, progress, stop
                )
                plan_of[future] = p
                pending.add(future)
            # Ctrl-C sets a flag rather than raising wherever the main thread happens to
            # be (a KeyboardInterrupt inside a manager proxy call would wedge it).
            asked = {"stop": False}
            previous = _on_sigint(lambda: asked.__setitem__("stop", True))
            while pending:
                finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                _drain(progress, on_progress)
                for future in finished:
                    try:
                        row = future.result()
                    except Exception as exc:  # one broken run does not sink the batch
                        row = _row(plan_of[future], f"error: {_reason(exc)}")
                    rows[row["run"]] = row
                if asked["stop"] and not interrupted:
                    # Runs stop after their current tick; what finished is kept, and
                    # runs that had not started yet are not started.
                    interrupted = True
                    stop.set()
                    pending = {f for f in pending if not f.cancel()}
            _drain(progress, on_progress)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            pool.shutdown(wait=True, cancel_futures=True)
    for p in plans:
        rows.setdefault(p.index, _row(p, "not started"))
    result = _report(
        spec.world.id,
        [rows[i] for i in sorted(rows)],
        out,
        interrupted,
        time.perf_counter() - started,
        run_count=runs,
        ticks=ticks,
        seed=seed,
        storyteller=storyteller,
    )
    return result


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", None) or exc) or type(exc).__name__


def _drain(queue: Any, on_progress: Callable[[int, int], None] | None) -> None:
    while True:
        try:
            index, tick = queue.get_nowait()
        except Exception:  # queue.Empty, through the manager's proxy
            return
        if on_progress:
            on_progress(index, tick)


def _report(
    world_id: str,
    rows: list[dict[str, Any]],
    out: Path,
    interrupted: bool,
    wall: float,
    **settings: Any,
) -> BatchResult:
    totals = Metrics()
    for row in rows:
        totals = totals + Metrics.from_dict(row["metrics"])
    total_dict = totals.to_dict()
    report = {
        "world": world_id,
        **settings,
        "interrupted": interrupted,
        "wall_seconds": round(wall, 3),
        "runs": rows,
        "totals": total_dict,
    }
    tmp = out / "report.json.tmp"
    tmp.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(out / "report.json")
    _write_csv(out / "report.csv", rows, total_dict)
    return BatchResult(rows, total_dict, interrupted, wall)


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
    base = ["run", "seed", "status", "ticks", "save"]
    lines = [{**{k: r.get(k) for k in base}, **_flat(r["metrics"])} for r in rows]
    lines.append({"run": "total", **_flat(totals)})
    columns = base + sorted({k for line in lines for k in line} - set(base))
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval=0)
        writer.writeheader()
        writer.writerows(lines)
    tmp.replace(path)
