"""Benchmark simengine around the model: ticks, prompts, saves, batches, the repair loop.

Sections (keys of the JSON report; prompts and calls sit under each engine size):
  engine   time per tick with the model taken out, at 100 to 100,000 entities: the
           procedural storyteller (all of it counts), then the fake Ollama at zero
           latency, in a child process as a real server is (model time, as the server
           reports it, subtracted; in this process the fake's own request parsing and
           replies took the GIL and counted as the engine's); each call's client and
           HTTP time (the call's time beyond the server's) stays in the engine's figure
           and is also shown apart, with this process's CPU; where a tick
           goes; a new game's start-up; resuming the save in a fresh process (time,
           memory, ticks after)
  prompts  decide prompt size (characters, estimated tokens) and prefix reuse, each
           request against the previous one of any kind and decide against decide
  calls    model calls and tokens per tick, by phase (decide, repair, narrate)
  history  decide prompt size after 1,000 to 100,000 events of procedural play
  turns    scripted player turns against the fake: calls on the player's critical path
           and per tick, a decide call per offscreen beat against one shared call, and
           seconds per turn on published 3B token rates (see bench_prompts.py)
  saves    append cost at 0 / 10,000 / 100,000 events; open + head state at 100,000;
           a long procedural game (100,000 events; --quick: 10,000): ticks early and
           late, the save's size
  batch    procedural batch throughput at --jobs 1 and 2
  latency  a batch against the fake's latency model, against the ideal bound: the model
           time of the calls the runs used (read from their saves) over the server's
           slots; calls the server answered for nothing (asked ahead, then dropped)
           count in the wall time only
  ray      the same model-backed batch on 1 and 2 simulated Ray nodes, each node beside
           its own latency-modelled fake (``--node-slot``), against the ideal bound
           (needs Ray: pip install 'simengine[ray]'; not in --smoke)
  eval     the consistency layer against the noisy fake (see ``simengine eval``)

Each world size runs in its own process (peak memory is that process's max RSS).
Usage: python scripts/bench.py [--quick | --smoke] [--out DIR | --json FILE] [--only engine,saves]
       [--sizes 100000]
(the report goes to DIR, or to a new temporary folder; never to the current one)
(--quick: a few minutes; the full run: about 12 minutes here, 6 of them the 100,000
events of play the history section needs and 2 the long game; --smoke: seconds, tiny)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.modules.setdefault("bench", sys.modules[__name__])  # bench_prompts uses its helpers
from bench_prompts import (  # noqa: E402
    classify,
    prompt_report,
    prompt_targets,
    render_prompts,
    run_history,
    run_turns,
)
from bigworld import big_world  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORLD = ROOT / "worlds" / "harbour.toml"
SECTIONS = ("engine", "saves", "batch", "latency", "ray", "eval", "history", "turns")
PROFILES: dict[str, dict[str, Any]] = {
    "full": {"sizes": {100: 300, 1_000: 300, 10_000: 200, 100_000: 120}, "warm": 5,
             "save_marks": (0, 10_000, 100_000), "appends": 300, "open_repeat": 7,
             "play": {"events": 100_000, "window": 300},
             "batch": {"runs": 4, "ticks": 100},
             "latency": {"call": 0.2, "token": 0.005, "slots": 4, "runs": 4, "ticks": 20,
                         "jobs": (4, 8)},
             "ray": {"call": 0.5, "token": 0.01, "slots": 2, "runs": 16, "ticks": 10},
             "eval": {"runs": 4, "ticks": 30},
             "history": {"marks": (1_000, 10_000, 100_000), "beats": 60}, "turns": 12},
    "quick": {"sizes": {100: 40, 1_000: 40, 10_000: 30, 100_000: 12}, "warm": 2,
              "save_marks": (0, 10_000, 100_000), "appends": 60, "open_repeat": 3,
              "play": {"events": 10_000, "window": 150},
              "batch": {"runs": 2, "ticks": 20},
              "latency": {"call": 0.1, "token": 0.002, "slots": 4, "runs": 4, "ticks": 8,
                          "jobs": (4,)},
              "ray": {"call": 0.5, "token": 0.005, "slots": 2, "runs": 12, "ticks": 5},
              "eval": {"runs": 2, "ticks": 15},
              "history": {"marks": (1_000, 4_000), "beats": 40}, "turns": 8},
    "smoke": {"sizes": {60: 3, 300: 3}, "warm": 1, "save_marks": (0, 120), "appends": 5,
              "play": {"events": 400, "window": 20},
              "open_repeat": 1, "batch": {"runs": 1, "ticks": 2},
              "latency": {"call": 0.001, "token": 0.0, "slots": 2, "runs": 2, "ticks": 2,
                          "jobs": (2,)},
              "eval": {"runs": 1, "ticks": 3},
              "history": {"marks": (60, 240), "beats": 10}, "turns": 3},
}


# ------------------------------------------------------------------ helpers
def pct(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1), linearly interpolated; None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values: list[float], digits: int = 3) -> dict[str, Any]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, digits)

    return {"n": len(values), "median": r(pct(values, 0.5)), "p95": r(pct(values, 0.95)),
            "p99": r(pct(values, 0.99)),
            "mean": r(statistics.fmean(values)) if values else None,
            "max": r(max(values)) if values else None}


def rss_mb() -> float:
    """This process's peak resident memory so far (MB). Linux's ``VmHWM``, where
    there is one: ``ru_maxrss`` survives an exec, so a child started by a big
    parent would report the parent's peak as its own."""
    return _status("VmHWM:") or round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_now_mb() -> float | None:
    """This process's resident memory now (MB; Linux only)."""
    return _status("VmRSS:")


def _status(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


# ------------------------------------------------------- engine: where time goes
STAGES: Counter = Counter()


@contextlib.contextmanager
def instrumented() -> Iterator[None]:
    """Time the stages of a tick (plan, scene, decide, narrate, save) while inside."""
    from simengine.sim import session as sm
    from simengine.store.save import Save
    from simengine.storytellers.ollama import OllamaStoryteller

    def timed(fn: Any, stage: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                STAGES[stage] += time.perf_counter() - started
        return wrapper

    decide, narrate = sm.decide, sm.Session._narrate

    async def decide_timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        d = await decide(*args, **kwargs)
        model = sum(c.model_seconds for c in d.calls)
        STAGES["decide"] += time.perf_counter() - started - model
        return d

    async def narrate_timed(self: Any, *args: Any) -> Any:
        started, model, saving = time.perf_counter(), self.metrics.model_seconds, STAGES["save"]
        try:
            return await narrate(self, *args)
        finally:
            spent = time.perf_counter() - started - (self.metrics.model_seconds - model)
            STAGES["narrate"] += spent - (STAGES["save"] - saving)

    def record_timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        # A model call's time beyond the server's own (``total_duration``): the ollama
        # client, HTTP on the loopback and the fake's request handling. The engine's
        # figure keeps it (the issue: model time must not absorb it); it is shown apart.
        call = record(self, *args, **kwargs)
        if call.latency_ms is not None:
            STAGES["transport"] += (call.latency_ms - (call.model_ms or 0.0)) / 1000
            STAGES["calls"] += 1
        return call

    record = OllamaStoryteller._record
    patches = [(sm, "build_scene", timed(sm.build_scene, "scene")), (sm, "decide", decide_timed),
               (OllamaStoryteller, "_record", record_timed),
               (sm.Session, "_narrate", narrate_timed),
               (sm.Session, "plan", timed(sm.Session.plan, "plan"))]
    patches += [(Save, name, timed(getattr(Save, name), "save"))
                for name in ("append", "set_narration", "set_meta")]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        for owner, name, value in patches:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def _ticks(session: Any, n: int) -> list[dict[str, float]]:
    """Step ``n`` ticks in one event loop; per tick: wall, CPU, model and engine ms, stages.

    CPU is this process's own (a fake server runs in a process of its own)."""
    out = []

    async def go() -> None:
        for _ in range(n):
            if session.ending is not None:  # a long run plays on past a world's endings
                session.continue_story()
            stages, model = dict(STAGES), session.metrics.model_seconds
            wall, cpu = time.perf_counter(), time.process_time()
            result = await session.step()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            spent = session.metrics.model_seconds - model
            row = {"wall_ms": wall * 1000, "model_ms": spent * 1000,
                   "engine_ms": (wall - spent) * 1000, "beats": len(result.events),
                   "cpu_ms": cpu * 1000}
            for k, v in STAGES.items():  # seconds to ms; "calls" is a count
                row[k] = (v - stages.get(k, 0.0)) * (1 if k == "calls" else 1000)
            out.append(row)

    asyncio.run(go())
    return out


def _tick_report(rows: list[dict[str, float]]) -> dict[str, Any]:
    report = {"engine_ms": summary([r["engine_ms"] for r in rows]),
              "wall_ms": summary([r["wall_ms"] for r in rows]),
              "model_ms_per_tick": round(statistics.fmean(r["model_ms"] for r in rows), 3),
              "beats_per_tick": round(statistics.fmean(r["beats"] for r in rows), 3)}
    report["cpu_ms"] = summary([r["cpu_ms"] for r in rows])
    calls = sum(r.get("calls", 0.0) for r in rows)
    if calls:
        transport = [r.get("transport", 0.0) for r in rows]
        report["transport_ms"] = {"per_tick": summary(transport),
                                  "per_call": round(sum(transport) / calls, 3)}
        report["engine_outside_calls_ms"] = summary(
            [r["engine_ms"] - r.get("transport", 0.0) for r in rows])
    stages = ("plan", "scene", "decide", "narrate", "save")
    means = {s: statistics.fmean(r.get(s, 0.0) for r in rows) for s in stages}
    means["other"] = statistics.fmean(r["engine_ms"] for r in rows) - sum(means.values())
    report["stages_mean_ms"] = {k: round(v, 3) for k, v in means.items()}
    # Medians too: a snapshot every 50 events lands in the mean, not in a typical tick.
    report["stages_median_ms"] = {s: round(pct([r.get(s, 0.0) for r in rows], 0.5) or 0, 3)
                                  for s in stages}
    return report


def calls_report(rows: list[dict[str, Any]], ticks: int) -> dict[str, Any]:
    """Model calls and tokens per tick, by phase, from the save's calls table."""
    by: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        c = by[r["phase"]]
        c["calls"] += 1
        c["prompt_tokens"] += r.get("prompt_tokens") or 0
        c["completion_tokens"] += r.get("completion_tokens") or 0
    return {phase: {k: round(v / max(ticks, 1), 3) for k, v in sorted(c.items())}
            for phase, c in sorted(by.items())}


@contextlib.contextmanager
def fake_process(seed: int, rates: dict[str, float]) -> Iterator[tuple[str, list[Any]]]:
    """The noisy fake Ollama in a child process, as a real server is: ``(url, log)``,
    the request log filled in when the block ends (the child writes it on exit).

    In this process its threads (parsing each request, making a reply from the scene,
    JSON) would share the GIL with the engine and land in the engine's wall time.
    The model time subtracted stays the server's own ``total_duration``."""
    faults = ",".join(f"{k}={v}" for k, v in rates.items())
    with tempfile.TemporaryDirectory(prefix="simengine-fake-") as tmp:
        path = Path(tmp) / "log.json"
        child = subprocess.Popen(
            [sys.executable, "-m", "simengine.eval.adversary", "--mode", "noisy", "--port", "0",
             "--seed", str(seed), "--faults", faults, "--log", str(path)],
            stdout=subprocess.PIPE, text=True)
        log: list[Any] = []
        try:
            line = child.stdout.readline() if child.stdout else ""
            url = next((w for w in line.split() if w.startswith("http://")), None)
            if url is None:
                raise RuntimeError(f"the fake did not start: {line!r}")
            yield url, log
        finally:
            child.terminate()
            child.wait(timeout=30)
        log.extend(json.loads(path.read_text()))


def engine_size(size: int, ticks: int, warm: int, seed: int = 7) -> dict[str, Any]:
    """One world size, both storytellers, in this process (see :func:`run_engine`);
    the fake Ollama in a child process (:func:`fake_process`)."""
    from simengine.sim.evaluate import DEFAULT_RATES
    from simengine.sim.session import Session
    from simengine.storytellers.ollama import OllamaStoryteller

    base_rss = rss_mb()
    started = time.perf_counter()
    spec = big_world(WORLD, size, seed)
    generated = time.perf_counter() - started
    out: dict[str, Any] = {"entities": size, "generate_s": round(generated, 3)}
    with tempfile.TemporaryDirectory(prefix="simengine-bench-") as tmp, instrumented():
        started, cpu = time.perf_counter(), time.process_time()
        session = Session.new(spec, Path(tmp) / "big.db", seed=seed)
        out["new_session_s"] = round(time.perf_counter() - started, 3)
        out["new_session_cpu_s"] = round(time.process_time() - cpu, 3)
        del spec  # a game holds the save's copy only; the bench's would count as memory
        try:
            _ticks(session, warm)
            before = save_stats(session.save)
            out["procedural"] = _tick_report(_ticks(session, ticks))
            out["procedural"]["snapshots"] = snapshot_report(
                session, before, out["procedural"])
            with fake_process(seed, DEFAULT_RATES) as (url, _):  # the warm-up's fake
                session.storyteller = OllamaStoryteller(host=url, timeout=60, backoff=0.01)
                _ticks(session, warm)
            # A fresh fake for the window, so its log holds the window's requests only
            # (the same seed: it answers each request as the first one would have).
            with fake_process(seed, DEFAULT_RATES) as (url, log):
                session.storyteller = OllamaStoryteller(host=url, timeout=60, backoff=0.01)
                calls_before = len(session.save.calls())
                rows = _ticks(session, ticks)
            out["fake_ollama"] = _tick_report(rows)
            out["prompts"] = prompt_report(log)
            out["calls"] = calls_report(session.save.calls()[calls_before:], ticks)
            out["save"] = save_report(before, out["procedural"]["snapshots"].pop("after"))
        finally:
            started = time.perf_counter()
            session.close()  # writes the snapshot a big state left for a quiet moment
            out["close_s"] = round(time.perf_counter() - started, 3)
        out["rss_mb"] = {"after_imports": base_rss, "after_ticks": rss_now_mb(),
                         "peak": rss_mb()}
        out["resume"] = resume_in_child(Path(tmp) / "big.db", ticks, warm)
    return out


def resume_in_child(path: Path, ticks: int, warm: int) -> dict[str, Any]:
    """Reopen a save in a fresh process, as a player resuming it: time to a playable
    session, resident memory then, and after a procedural window of ticks."""
    args = json.dumps({"resume": str(path), "ticks": ticks, "warm": warm})
    done = subprocess.run([sys.executable, __file__, "--worker", args], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def resume_size(path: str, ticks: int, warm: int) -> dict[str, Any]:
    """The child's side of :func:`resume_in_child`."""
    from simengine.sim.session import Session

    base = rss_now_mb()
    started, cpu = time.perf_counter(), time.process_time()
    session = Session.load(path)
    load_s, load_cpu = time.perf_counter() - started, time.process_time() - cpu
    loaded, loaded_peak = rss_now_mb(), rss_mb()
    try:
        _ticks(session, warm)
        rows = _ticks(session, ticks)
    finally:
        session.close()
    return {"load_s": round(load_s, 3), "load_cpu_s": round(load_cpu, 3),
            "rss_after_imports_mb": base, "rss_loaded_mb": loaded,
            "rss_peak_loading_mb": loaded_peak, "rss_peak_mb": rss_mb(),
            "engine_ms": summary([r["engine_ms"] for r in rows])}


def save_stats(save: Any) -> dict[str, int]:
    """Events, snapshots, their stored bytes and the file's (to tell what a window added)."""
    save.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # outside any timed tick
    row = save.db.execute(
        "SELECT (SELECT count(*) FROM events), (SELECT coalesce(sum(length(ops)), 0) FROM events),"
        " (SELECT count(*) FROM snapshots), (SELECT coalesce(sum(length(state)), 0)"
        " FROM snapshots)").fetchone()
    stats = dict(zip(("events", "ops_chars", "snapshots", "snapshot_bytes"), row, strict=True))
    stats["file_bytes"] = save.real.stat().st_size
    return stats


def snapshot_report(session: Any, before: dict[str, int], ticks: dict[str, Any]
                    ) -> dict[str, Any]:
    """What snapshots cost a procedural run at this size, the rare ticks included.

    A snapshot of a big world is due only every many events (the save's size-based
    cadence), so a short window may hold none; the bench writes one (packing the
    live state as the save does) to time it, and folds its cost into the window
    at its real share of ticks: the mean gains ``share * cost``, and the p99 is
    the snapshot tick's when more than 1 tick in 100 writes one.
    """
    from simengine.store.save import (
        SNAPSHOT_INLINE,
        SNAPSHOT_OVERDUE,
        SNAPSHOT_RATIO,
        pack_state,
    )

    save = session.save
    after = save_stats(save)
    events = max(after["events"] - before["events"], 1)
    ops_per_event = (after["ops_chars"] - before["ops_chars"]) / events
    started = time.perf_counter()
    packed = pack_state(save.live_state())
    snap_ms = (time.perf_counter() - started) * 1000
    every = save.snapshot_every
    # Events between snapshots: the base's size in ops characters, in steps of `every`.
    need = SNAPSHOT_RATIO * len(packed) / max(ops_per_event, 1e-9)
    # A big state's snapshot waits for the close, unless long overdue: only those
    # overdue ones land in a tick.
    deferred = len(packed) > SNAPSHOT_INLINE
    if deferred:
        need *= SNAPSHOT_OVERDUE
    interval = every * max(1, -(-int(need) // every))
    share = min(1.0, ticks["beats_per_tick"] / interval)  # ticks that write one
    eng = ticks["engine_ms"]
    tick_with = (eng["median"] or 0) + snap_ms
    return {"in_window": after["snapshots"] - before["snapshots"], "after": after,
            "ops_chars_per_event": round(ops_per_event, 1),
            "stored_kb": round(len(packed) / 1000, 1),
            "write_ms": round(snap_ms, 2), "every_events": interval,
            "deferred_to_close": deferred,
            "tick_share": round(share, 5),
            "mean_ms_with": round((eng["mean"] or 0) + share * snap_ms, 3),
            "p99_ms_with": round(tick_with if share > 0.01 else (eng["p99"] or 0), 3),
            "snapshot_tick_ms": round(tick_with, 3)}


def save_report(before: dict[str, int], after: dict[str, int]) -> dict[str, Any]:
    """How the save grew in the procedural window (real play), and what 100,000
    events of such play make: the growth per event without snapshots, plus the
    snapshots' bound (at most 1 / SNAPSHOT_RATIO of the ops replayed between them)."""
    from simengine.store.save import SNAPSHOT_RATIO

    events = max(after["events"] - before["events"], 1)
    grown = after["file_bytes"] - before["file_bytes"]
    snaps = after["snapshot_bytes"] - before["snapshot_bytes"]
    per_event = max(grown - snaps, 0) / events
    snap_bound = (after["ops_chars"] - before["ops_chars"]) / events / SNAPSHOT_RATIO
    return {"events": events, "file_mb": round(after["file_bytes"] / 1e6, 3),
            "snapshots": after["snapshots"], "snapshot_mb": round(after["snapshot_bytes"] / 1e6, 3),
            "bytes_per_event": round(grown / events, 1),
            "projected_100k_gb": round((per_event + snap_bound) * 100_000 / 1e9, 3)}


def run_engine(profile: dict[str, Any], in_process: bool) -> dict[str, Any]:
    """Every size, each in a fresh process (so its peak memory is its own)."""
    sizes: dict[str, Any] = {}
    for size, ticks in profile["sizes"].items():
        if in_process:
            sizes[str(size)] = engine_size(size, ticks, profile["warm"])
            continue
        args = json.dumps({"size": size, "ticks": ticks, "warm": profile["warm"]})
        done = subprocess.run([sys.executable, __file__, "--worker", args], check=True,
                              capture_output=True, text=True)
        sizes[str(size)] = json.loads(done.stdout.strip().splitlines()[-1])
        log(f"  {size:>7} entities: procedural median "
            f"{sizes[str(size)]['procedural']['engine_ms']['median']} ms/tick")
    return {"world": WORLD.name, "sizes": sizes}


# -------------------------------------------------------------------- saves
def run_play(profile: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """A long procedural game of the harbour, narrated, as a headless run plays it:
    tick time (median, mean, p99) in a window after 1,000 events and in the last
    window, and what the save holds at the end (snapshots included: those a big
    state leaves for the close are written by it, and counted)."""
    from simengine.sim.session import Session
    from simengine.world.loader import load_world

    p = profile["play"]
    session = Session.new(load_world(WORLD), tmp / "play.db", seed=17)
    windows: dict[str, list[float]] = {"early": [], "late": []}
    started = time.perf_counter()

    early_from = min(1_000, p["events"] // 4)

    async def go() -> None:
        while True:
            events = session.save.event_count()
            if events >= p["events"]:
                return
            if session.ending is not None:  # a long run plays on past the world's endings
                session.continue_story()
            t0 = time.perf_counter()
            await session.step()
            ms = (time.perf_counter() - t0) * 1000
            if early_from <= events and len(windows["early"]) < p["window"]:
                windows["early"].append(ms)
            windows["late"].append(ms)
            del windows["late"][:-p["window"]]

    try:
        asyncio.run(go())
        entities = len(session.state)
        edges = session.state.graph.number_of_edges()
        events = session.save.event_count()
    finally:
        session.close()
    stats = file_stats(tmp / "play.db")
    return {"events": events, "entities": entities, "edges": edges, "early_from": early_from,
            "wall_s": round(time.perf_counter() - started, 1),
            "tick_ms_early": summary(windows["early"]), "tick_ms_late": summary(windows["late"]),
            **stats}


def file_stats(path: Path) -> dict[str, Any]:
    """A closed save's size and its snapshots'."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        snaps, snap_bytes = con.execute(
            "SELECT count(*), coalesce(sum(length(state)), 0) FROM snapshots").fetchone()
    finally:
        con.close()
    size = path.stat().st_size
    return {"file_mb": round(size / 1e6, 2), "snapshots": snaps,
            "snapshot_mb": round(snap_bytes / 1e6, 2)}


def run_saves(profile: dict[str, Any]) -> dict[str, Any]:
    """Append cost as a history grows, how long reopening a long one takes, and a
    long game played (:func:`run_play`)."""
    from simengine.sim.session import Session
    from simengine.store import Save
    from simengine.world.loader import load_world
    from simengine.world.ops import Adjust

    spec = load_world(WORLD)
    marks, n = sorted(profile["save_marks"]), profile["appends"]
    out: dict[str, Any] = {"world": WORLD.name, "appends_per_mark": n, "append_ms": {}}
    flip = [1]

    def append(save: Save, tick: int) -> None:
        flip[0] = -flip[0]  # tiny ops: gold goes back and forth
        save.append(tick=tick, kind="npc", actor="mara", summary="a small beat",
                    ops=[Adjust(entity="mara", attribute="gold", by=flip[0])])

    with tempfile.TemporaryDirectory(prefix="simengine-bench-") as tmp:
        path = Path(tmp) / "history.db"
        save = Save.create(path, spec)
        build = 0.0
        for mark in marks:
            started = time.perf_counter()
            with save.reading():  # one transaction: the history is scaffolding
                while save.event_count() < mark:
                    append(save, save.event_count() // 3 + 1)
            build += time.perf_counter() - started
            times = []
            for _ in range(n):  # each its own transaction, as a game does
                started = time.perf_counter()
                append(save, mark // 3 + 2)
                times.append((time.perf_counter() - started) * 1000)
            out["append_ms"][str(mark)] = summary(times)
        out["events"] = save.event_count()
        out["bulk_build_s"] = round(build, 3)
        save.close()
        out["file_mb"] = round(path.stat().st_size / 1e6, 2)
        out["bytes_per_event"] = round(path.stat().st_size / max(out["events"], 1), 1)
        opened, head, resumed = [], [], []
        for _ in range(profile["open_repeat"]):
            started = time.perf_counter()
            save = Save.open(path)
            mid = time.perf_counter()
            save.state()
            opened.append(mid - started)
            head.append(time.perf_counter() - started)
            save.close()
            started = time.perf_counter()
            Session.load(path).close()
            resumed.append(time.perf_counter() - started)
        out["open_s"] = summary(opened, 4)
        out["open_and_head_state_s"] = summary(head, 4)
        out["session_load_s"] = summary(resumed, 4)
        out["play"] = run_play(profile, Path(tmp))
    return out


# ------------------------------------------------------------------ batches
def run_batches(profile: dict[str, Any]) -> dict[str, Any]:
    from simengine.sim.batch import run_batch

    runs, ticks = profile["batch"]["runs"], profile["batch"]["ticks"]
    out: dict[str, Any] = {"world": WORLD.name, "runs": runs, "ticks": ticks, "jobs": {}}
    with tempfile.TemporaryDirectory(prefix="simengine-bench-") as tmp:
        for jobs in (1, 2):
            result = run_batch(WORLD, runs=runs, ticks=ticks, jobs=jobs, seed=11,
                               out=Path(tmp) / f"jobs{jobs}")
            wall = result.wall_seconds
            out["jobs"][str(jobs)] = {"wall_s": round(wall, 3),
                                      "runs_per_min": round(runs / wall * 60, 2),
                                      "ticks_per_s": round(runs * ticks / wall, 2),
                                      "events": result.totals["events_total"]}
    return out


def model_work(rows: list[dict[str, Any]], per_call: float, per_token: float) -> tuple[float, int]:
    """The fake's model time of the calls the runs used, and their count.

    Read from each run's save (every call a beat used, repairs and re-asks included),
    not from the server's log: a call asked ahead and dropped (:mod:`simengine.sim.ahead`)
    busied the server for nothing, so it counts in the wall time and not in the work.
    """
    from simengine.store import Save

    seconds, calls = 0.0, 0
    for r in rows:
        with Save.open(r["save"], readonly=True) as save:
            for c in save.calls():
                if c["completion_tokens"] is not None:  # the server answered it
                    seconds += per_call + per_token * c["completion_tokens"]
                    calls += 1
    return seconds, calls


def run_latency(profile: dict[str, Any]) -> dict[str, Any]:
    """Batches with --storyteller ollama against the fake's latency model."""
    from simengine.sim.batch import run_batch
    from simengine.sim.evaluate import DEFAULT_RATES
    from simengine.testing.fake_ollama import FakeOllama
    from simengine.testing.fake_replies import tokens_of

    p = profile["latency"]
    out: dict[str, Any] = {"world": WORLD.name, "per_call_s": p["call"],
                           "per_token_s": p["token"], "slots": p["slots"], "runs": {}}
    with tempfile.TemporaryDirectory(prefix="simengine-bench-") as tmp:
        for jobs in p["jobs"]:
            runs = max(p["runs"], jobs)
            with FakeOllama(mode="noisy", seed=5, latency_per_call=p["call"],
                            latency_per_token=p["token"], slots=p["slots"]) as fake:
                fake.set_faults(DEFAULT_RATES)
                result = run_batch(WORLD, runs=runs, ticks=p["ticks"], jobs=jobs, seed=21,
                                   storyteller="ollama", host=fake.url,
                                   out=Path(tmp) / f"jobs{jobs}")
                gens = [e for e in fake.log if classify(e) and e.get("reply") is not None]
                served = sum(p["call"] + p["token"] * len(tokens_of(e["reply"])) for e in gens)
                peak = fake.peak_in_flight
            model, used = model_work(result.rows, p["call"], p["token"])
            ideal = model / p["slots"]  # the work the stories needed, on every slot at once
            per_run = [model_work([r], p["call"], p["token"])[0] for r in result.rows]
            out["runs"][str(jobs)] = {
                "jobs": jobs, "runs": runs, "ticks": p["ticks"], "calls": used,
                "calls_served": len(gens), "served_model_s": round(served, 3),
                "wall_s": round(result.wall_seconds, 3), "model_s": round(model, 3),
                "ideal_s": round(ideal, 3),
                "ratio": round(result.wall_seconds / ideal, 3) if ideal else None,
                "longest_run_model_s": round(max(per_run, default=0.0), 3),
                # A run's beats wait on each other: what the longest run asks, one call
                # after another, against the ideal (only calls asked ahead beat it).
                "longest_run_vs_ideal": round(max(per_run, default=0.0) / ideal, 3)
                if ideal else None,
                "run_wall_s": [r["wall_seconds"] for r in result.rows],
                "peak_in_flight": peak,
                "storytellers": sorted({r["storyteller"].split(":")[0] for r in result.rows})}
    return out


def run_ray(profile: dict[str, Any]) -> dict[str, Any]:
    """One batch on a simulated Ray cluster of 1 node, then of 2 (``ray.cluster_utils``).

    Each node offers ``slots`` ``ollama_slot`` resources and talks to its own fake
    server (``OLLAMA_HOST`` per node), so capacity doubles with the second node.
    The ideal wall time is the model's busy time over all slots; a warm-up batch
    first gets each node's workers started (their imports are not the model's).
    """
    p = profile.get("ray")
    if not p:
        return {"skipped": "not in this profile"}
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        return {"skipped": "Ray is not installed (pip install 'simengine[ray]')"}
    from simengine.sim.batch import run_batch
    from simengine.testing.fake_ollama import FakeOllama
    from simengine.testing.fake_replies import tokens_of

    out: dict[str, Any] = {"world": WORLD.name, "per_call_s": p["call"],
                           "per_token_s": p["token"], "slots_per_node": p["slots"],
                           "runs": p["runs"], "ticks": p["ticks"], "nodes": {}}
    fakes = [FakeOllama(mode="plausible", seed=5, latency_per_call=p["call"],
                        latency_per_token=p["token"], slots=p["slots"]) for _ in range(2)]
    for fake in fakes:
        fake.start()

    def node_args(fake: Any) -> dict[str, Any]:
        # CPUs enough for every slot's run, so each node keeps its warm workers.
        return {"num_cpus": p["slots"], "resources": {"ollama_slot": p["slots"]},
                "env_vars": {"OLLAMA_HOST": fake.url}}

    cluster = Cluster(initialize_head=True,
                      head_node_args={**node_args(fakes[0]), "include_dashboard": False})
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        with tempfile.TemporaryDirectory(prefix="simengine-bench-") as tmp:
            for nodes in (1, 2):
                if nodes == 2:
                    cluster.add_node(**node_args(fakes[1]))
                    cluster.wait_for_nodes()
                run_batch(WORLD, runs=nodes * p["slots"], ticks=1, seed=99,
                          storyteller="ollama", executor="ray", node_slot="ollama_slot",
                          out=Path(tmp) / f"warm{nodes}")
                for fake in fakes:
                    fake.requests.clear()
                result = run_batch(WORLD, runs=p["runs"], ticks=p["ticks"], seed=21,
                                   storyteller="ollama", executor="ray",
                                   node_slot="ollama_slot", out=Path(tmp) / f"nodes{nodes}")
                gens = [e for f in fakes for e in f.log if classify(e) and e.get("reply")]
                model = sum(p["call"] + p["token"] * len(tokens_of(e["reply"])) for e in gens)
                ideal = model / (nodes * p["slots"])
                out["nodes"][str(nodes)] = {
                    "nodes": nodes, "slots": nodes * p["slots"], "calls": len(gens),
                    "wall_s": round(result.wall_seconds, 3), "model_s": round(model, 3),
                    "ideal_s": round(ideal, 3),
                    "ratio": round(result.wall_seconds / ideal, 3) if ideal else None,
                    "done": sum(r["status"] == "done" for r in result.rows),
                    "run_wall_s": [r["wall_seconds"] for r in result.rows],
                    "runs_per_node": dict(Counter(r["node"] for r in result.rows))}
        one, two = out["nodes"]["1"]["wall_s"], out["nodes"]["2"]["wall_s"]
        out["speedup_2_nodes"] = round(one / two, 3) if two else None
    finally:
        ray.shutdown()
        cluster.shutdown()
        for fake in fakes:
            fake.stop()
    return out


def run_eval(profile: dict[str, Any]) -> dict[str, Any]:
    from simengine.sim.evaluate import evaluate

    report = evaluate(WORLD, runs=profile["eval"]["runs"], ticks=profile["eval"]["ticks"],
                      seed=3)
    return report.to_dict()


# ------------------------------------------------------------------ targets
def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets against what was measured (None: not measured in this run)."""
    out = []

    def add(name: str, value: Any, goal: str, met: bool | None) -> None:
        out.append({"target": name, "measured": value, "goal": goal, "met": met})

    engine = report.get("engine", {}).get("sizes", {})
    if engine:
        big = engine[max(engine, key=int)]
        proc = big["procedural"]["engine_ms"]["median"]
        fake = big["fake_ollama"]
        # Issue 7's row: with the fake, the engine's figure keeps each call's ollama
        # client and HTTP (issue 15: model time must not absorb them), shown apart.
        transport = fake.get("transport_ms", {}).get("per_tick", {}).get("median")
        outside = fake.get("engine_outside_calls_ms", {}).get("median")
        add(f"engine ms/tick @{big['entities']:,}, fake Ollama (issue 7)",
            f"{fake['engine_ms']['median']:.1f} ms (client+HTTP {transport or 0:.1f}, "
            f"rest {outside or 0:.1f})", "<= 5 ms", fake["engine_ms"]["median"] <= 5)
    prompt_targets(report, add)
    if engine:
        # Issue 15, points 2 and 3: the save and the engine, snapshot ticks included.
        snaps, n = big["procedural"]["snapshots"], f"{big['entities']:,}"
        cpu = big["procedural"].get("cpu_ms", {}).get("median")
        add(f"tick median @{n} (proc, narrated)", f"{proc:.1f} ms (cpu {cpu or 0:.1f})",
            "<= 5 ms", proc <= 5)
        add(f"tick p99 @{n}, snapshots in", f"{snaps['p99_ms_with']:.1f} ms", "<= 50 ms",
            snaps["p99_ms_with"] <= 50)
        add(f"tick mean @{n}, snapshots in", f"{snaps['mean_ms_with']:.1f} ms", "-", None)
        add(f"snapshot tick @{n}, 1 per {snaps['every_events']:,} ev",
            f"{snaps['snapshot_tick_ms']:,.0f} ms", "-", None)
        worst = max(engine.values(), key=lambda s: s["save"]["projected_100k_gb"])
        add(f"save, 100k events of play @{worst['entities']:,}",
            f"{worst['save']['projected_100k_gb']:.3f} GB", "< 1 GB",
            worst["save"]["projected_100k_gb"] < 1)
        add(f"save growth per event @{worst['entities']:,}",
            f"{worst['save']['bytes_per_event']:,.0f} B", "-", None)
        # Issue 15, point 4: memory and start-up, each in a process of its own.
        resume = big["resume"]
        add(f"new game @{n}", f"{big['new_session_s']:.2f} s (cpu "
            f"{big.get('new_session_cpu_s', 0):.2f})", "<= 5 s", big["new_session_s"] <= 5)
        add(f"resume @{n}", f"{resume['load_s']:.2f} s (cpu {resume.get('load_cpu_s', 0):.2f})",
            "<= 3 s", resume["load_s"] <= 3)
        add(f"resume RSS @{n} (loaded / after ticks)",
            f"{resume['rss_loaded_mb']:,.0f} / {resume['rss_peak_mb']:,.0f} MB", "<= 400 MB",
            resume["rss_peak_mb"] <= 400)
        add(f"tick median @{n}, resumed", f"{resume['engine_ms']['median']:.1f} ms", "<= 5 ms",
            resume["engine_ms"]["median"] <= 5)
        add(f"close @{n} (writes a waiting snapshot)", f"{big['close_s']:.2f} s", "-", None)
    saves = report.get("saves")
    if saves:
        marks = sorted(saves["append_ms"], key=int)
        first, last = saves["append_ms"][marks[0]], saves["append_ms"][marks[-1]]
        for stat in ("mean", "p99"):
            ratio = last[stat] / first[stat] if first[stat] else None
            add(f"append {stat} @{int(marks[-1]):,} / @{int(marks[0]):,} ev",
                None if ratio is None else f"{last[stat]:.2f} ms, {ratio:.2f}x",
                "<= 1.5x", None if ratio is None else ratio <= 1.5)
        add(f"save size @{saves['events']:,} events", f"{saves['file_mb']} MB", "-", None)
        add("save size per event", f"{saves['bytes_per_event']:,.0f} B", "-", None)
        opened = saves["open_and_head_state_s"]["median"]
        add(f"open+head state @{saves['events']:,} events", opened, "<= 1 s",
            opened <= 1.0)
        play = saves.get("play")
        if play:
            # Issue 15, point 2: a long game's save and its ticks, early against late.
            ev = play["events"]
            gb = play["file_mb"] / 1000 * (100_000 / ev if ev < 100_000 else 1)
            add(f"save of a {ev:,}-event game" + (" (x to 100k)" if ev < 100_000 else ""),
                f"{gb:.3f} GB", "< 1 GB", gb < 1)
            early, late = play["tick_ms_early"], play["tick_ms_late"]
            for stat in ("mean", "p99"):
                ratio = late[stat] / early[stat] if early[stat] else None
                add(f"play tick {stat}, last / after {play['early_from']:,} ev",
                    None if ratio is None else f"{late[stat]:.1f} ms, {ratio:.2f}x",
                    "<= 1.5x", None if ratio is None else ratio <= 1.5)
    for run in report.get("latency", {}).get("runs", {}).values():
        add(f"latency batch -j {run['jobs']}: wall/ideal", run["ratio"], "<= 1.15",
            run["ratio"] is not None and run["ratio"] <= 1.15)
    for run in report.get("ray", {}).get("nodes", {}).values():
        add(f"ray batch, {run['nodes']} node(s): wall/ideal", run["ratio"],
            "<= 1.2" if run["nodes"] == 2 else "-",
            (run["ratio"] is not None and run["ratio"] <= 1.2) if run["nodes"] == 2 else None)
    ev = report.get("eval", {}).get("total")
    if ev:
        add("committed violations (eval)", ev["committed_violations"], "0",
            ev["committed_violations"] == 0)
        missed = sum(r["missed"] for r in ev["recall"].values())
        injected = sum(r["injected"] for r in ev["recall"].values())
        add("injected caught (eval)", f"{injected - missed}/{injected}", "all",
            missed == 0)
    return out


# ------------------------------------------------------------------- output
def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def render(report: dict[str, Any]) -> None:
    """The report as tables (rich)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()

    def f(x: Any) -> str:
        if isinstance(x, str):
            return x
        return "-" if x is None else (f"{x:,.2f}" if isinstance(x, float) else f"{x:,}")

    def emit(title: str, columns: list[str], rows: list[Any]) -> None:
        t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
        for i, c in enumerate(columns):
            t.add_column(c, justify="left" if i == 0 else "right", no_wrap=i == 0)
        for row in rows:
            t.add_row(*(f(x) for x in row))
        console.print(t)

    sizes = list(report.get("engine", {}).get("sizes", {}).values())
    tellers = ("procedural", "fake_ollama")
    stages = ["plan", "scene", "decide", "narrate", "save", "other"]
    if sizes:
        emit("engine ms per tick, the model taken out (http: each call's client and HTTP, "
             "in the engine's figure)",
             ["entities", "teller", "median", "p99", "mean", "cpu", "http/tick", "http/call",
              "model/tick"],
             [(s["entities"], t.replace("_", " "), *(s[t]["engine_ms"][k] for k in
               ("median", "p99", "mean")), s[t].get("cpu_ms", {}).get("median"),
               s[t].get("transport_ms", {}).get("per_tick", {}).get("median"),
               s[t].get("transport_ms", {}).get("per_call"),
               s[t]["model_ms_per_tick"]) for s in sizes for t in tellers])
        emit("world size: setup and memory", ["entities", "beats/tick", "generate s",
             "new game s", "peak RSS MB", "resume s", "resumed RSS MB", "+ticks RSS MB",
             "close s"],
             [(s["entities"], s["procedural"]["beats_per_tick"], s["generate_s"],
               s["new_session_s"], s["rss_mb"]["peak"], s["resume"]["load_s"],
               s["resume"]["rss_loaded_mb"], s["resume"]["rss_peak_mb"], s["close_s"])
              for s in sizes])
        emit("snapshots and save growth (procedural play)",
             ["entities", "in window", "every events", "stored KB", "write ms",
              "mean ms with", "p99 ms with", "B/event", "100k events GB"],
             [(s["entities"], n["in_window"], n["every_events"], n["stored_kb"], n["write_ms"],
               n["mean_ms_with"], n["p99_ms_with"], s["save"]["bytes_per_event"],
               s["save"]["projected_100k_gb"])
              for s in sizes for n in [s["procedural"]["snapshots"]]])
        emit("where a procedural tick goes (mean ms)", ["entities", *stages],
             [(s["entities"], *(s["procedural"]["stages_mean_ms"][k] for k in stages))
              for s in sizes])
        emit("decide prompts (fake ollama)", ["entities", "chars", "est. tokens", "p95 tokens",
             "system share", "reuse vs prev decide", "reuse vs prev call"],
             [(s["entities"], p["chars"]["median"], p["est_tokens"]["median"],
               p["est_tokens"]["p95"], f"{p['system_share']['median'] or 0:.0%}",
               f"{p['prefix_reuse_vs_previous_decide']['mean'] or 0:.1%}",
               f"{p['prefix_reuse_vs_previous_call']['mean'] or 0:.1%}")
              for s in sizes for p in [s["prompts"]]])
        emit("model calls and tokens per tick (fake ollama, noisy)",
             ["entities", "phase", "calls", "prompt tokens", "completion tokens"],
             [(s["entities"], phase, c.get("calls"), c.get("prompt_tokens"),
               c.get("completion_tokens")) for s in sizes for phase, c in s["calls"].items()])
    saves = report.get("saves")
    if saves:
        emit(f"saves ({saves['events']:,} events, {saves['file_mb']} MB)",
             ["events before", "append median ms", "append mean ms", "append p99 ms"],
             [(int(mark), a["median"], a["mean"], a["p99"])
              for mark, a in saves["append_ms"].items()])
        console.print(f"open {saves['open_s']['median']} s, open + head state "
                      f"{saves['open_and_head_state_s']['median']} s, Session.load "
                      f"{saves['session_load_s']['median']} s (medians)")
        play = saves.get("play")
        if play:
            emit(f"a long game of the harbour ({play['events']:,} events, {play['entities']:,} "
                 f"entities, {play['edges']:,} edges at the end; {play['file_mb']} MB, "
                 f"{play['snapshots']} snapshots, {play['snapshot_mb']} MB)",
                 ["window", "median ms", "mean ms", "p99 ms", "max ms"],
                 [(name, w["median"], w["mean"], w["p99"], w["max"])
                  for name, w in ((f"after {play['early_from']:,} events", play["tick_ms_early"]),
                                  ("last", play["tick_ms_late"]))])
    batch = report.get("batch")
    if batch:
        emit(f"procedural batch ({batch['runs']} runs x {batch['ticks']} ticks)",
             ["jobs", "wall s", "runs/min", "ticks/s"],
             [(jobs, b["wall_s"], b["runs_per_min"], b["ticks_per_s"])
              for jobs, b in batch["jobs"].items()])
    lat = report.get("latency")
    if lat:
        emit(f"batch vs the fake's latency model ({lat['per_call_s']} s/call + "
             f"{lat['per_token_s']} s/token, {lat['slots']} slots)",
             ["jobs", "runs", "calls used", "served", "wall s", "model s", "ideal s",
              "wall/ideal", "longest run model s", "longest run/ideal"],
             [(r["jobs"], r["runs"], r["calls"], r["calls_served"], r["wall_s"], r["model_s"],
               r["ideal_s"], r["ratio"], r["longest_run_model_s"], r["longest_run_vs_ideal"])
              for r in lat["runs"].values()])
    ray = report.get("ray")
    if ray and ray.get("nodes"):
        emit(f"ray batch on simulated nodes ({ray['runs']} runs x {ray['ticks']} ticks, "
             f"{ray['per_call_s']} s/call + {ray['per_token_s']} s/token, "
             f"{ray['slots_per_node']} slots a node)",
             ["nodes", "slots", "calls", "wall s", "model s", "ideal s", "wall/ideal"],
             [(r["nodes"], r["slots"], r["calls"], r["wall_s"], r["model_s"], r["ideal_s"],
               r["ratio"]) for r in ray["nodes"].values()])
        console.print(f"2 nodes vs 1: {ray['speedup_2_nodes']}x faster")
    elif ray:
        console.print(f"ray: skipped ({ray['skipped']})")
    render_prompts(report, emit, console)
    if report.get("eval"):
        from simengine.cli.evaluate import render as render_eval

        render_eval(report["eval"], console)
    emit("targets", ["target", "measured", "goal", "met"],
         [(t["target"], str(t["measured"]), t["goal"], {True: "yes", False: "NO"}.get(t["met"],
           "-")) for t in report.get("targets", [])])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description="Benchmark simengine (see the module docstring).")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a run of a minute or two")
    mode.add_argument("--smoke", action="store_true", help="tiny sizes, in process (tests)")
    mode.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections ({', '.join(SECTIONS)})")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder for the report (default: a new temporary folder)")
    ap.add_argument("--json", type=Path, default=None,
                    help="where the JSON report goes (default: OUT/bench-PROFILE.json)")
    ap.add_argument("--no-table", action="store_true", help="print no tables")
    ap.add_argument("--sizes", default=None,
                    help="comma-separated world sizes for the engine section (default: the "
                         "profile's), e.g. --sizes 100000")
    args = ap.parse_args(argv)
    if args.worker:  # one engine size (or a resume), in a child process: JSON on stdout
        job = json.loads(args.worker)
        if "resume" in job:
            print(json.dumps(resume_size(job["resume"], job["ticks"], job["warm"])))
        else:
            print(json.dumps(engine_size(job["size"], job["ticks"], job["warm"])))
        return {}
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    profile = PROFILES[name]
    if args.sizes:
        try:
            wanted = [int(x) for x in args.sizes.split(",") if x.strip()]
        except ValueError:
            ap.error(f"--sizes takes whole numbers, not {args.sizes!r}")
        if not wanted or min(wanted) < 50:
            ap.error("--sizes: each size is at least 50 entities")
        ticks = max(profile["sizes"].values())
        profile = {**profile, "sizes": {n: profile["sizes"].get(n, ticks) for n in wanted}}
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    report: dict[str, Any] = {"profile": name, "python": sys.version.split()[0],
                              "cpus": os.cpu_count(), "started": time.strftime("%Y-%m-%d %H:%M")}
    runners = {"engine": lambda: run_engine(profile, in_process=args.smoke),
               "saves": lambda: run_saves(profile), "batch": lambda: run_batches(profile),
               "latency": lambda: run_latency(profile), "ray": lambda: run_ray(profile),
               "eval": lambda: run_eval(profile),
               "history": lambda: run_history(profile["history"]["marks"],
                                              profile["history"]["beats"], WORLD),
               "turns": lambda: run_turns(WORLD, profile["turns"])}
    started = time.perf_counter()
    for section in SECTIONS:
        if section in only:
            log(f"{section} ...")
            t0 = time.perf_counter()
            report[section] = runners[section]()
            log(f"{section} done in {time.perf_counter() - t0:.1f} s")
    report["wall_s"] = round(time.perf_counter() - started, 1)
    report["targets"] = targets(report)
    if args.json is None:
        out = args.out or Path(tempfile.mkdtemp(prefix="simengine-bench-"))
        out.mkdir(parents=True, exist_ok=True)
    path = args.json or out / f"bench-{name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if not args.no_table:
        render(report)
    log(f"report: {path} ({report['wall_s']} s)")
    return report


if __name__ == "__main__":
    main()
