"""Runs on this machine (the default executor).

A procedural run is CPU-bound: one worker process per run at a time. A run told
by a model spends its life waiting on the model's server, so model-backed runs
are told in the driver's own process, all on one event loop in one thread: they
start at once (no worker process to start, no engine to import again, which is
seconds on a busy machine against a batch of minutes), and one loop switches
between runs only where a run awaits its model: one run's engine code runs
between two awaits, and module caches are shared by all the runs.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import queue as queues
import signal
import socket
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from simengine.sim.executors.base import Executor, Outcome, Progress, RunTask, Started
from simengine.world.text import error_message


def _ignore_sigint() -> None:
    # The driver decides when runs stop (between ticks); workers ignore Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: What a run imports, loaded once in the fork server rather than in every worker.
_PRELOAD = ["simengine.sim.executors.work", "simengine.sim.session", "simengine.sim.tellers",
            "simengine.storytellers.ollama"]


def _context() -> Any:
    """Workers forked from a server that has imported the engine once (``forkserver``,
    where there is one): each new worker then starts at once, where a spawned one
    imports everything again, seconds a worker on a busy machine. Never a plain
    ``fork`` of the driver, whose threads (a TUI, a fake server) a fork would copy
    mid-step."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return mp.get_context("spawn")


class _QueueReporter:
    """A run's line to the driver: a queue, a stop event and the spare-slot shares
    (a manager's, for a worker process; plain ones, for a run on the driver's loop)."""

    def __init__(self, queue: Any, stop: Any, spare: Any, index: int):
        self.queue = queue
        self._stop = stop
        self._spare = spare
        self.index = index
        self.node = socket.gethostname()

    def started(self, info: Started) -> None:
        self.queue.put(("start", info))

    def tick(self, index: int, tick: int) -> bool:
        self.queue.put(("tick", (index, tick)))
        return self._stop.is_set()

    def stopped(self) -> bool:
        return self._stop.is_set()

    def spare(self) -> int:
        return int(self._spare.get(self.index, 0))


def _work(task: RunTask, queue: Any, stop: Any, spare: Any) -> Outcome:
    from simengine.sim.executors.work import run_task

    return run_task(task, _QueueReporter(queue, stop, spare, task.index))


def share_out(idle: int, behind: list[int]) -> dict[int, int]:
    """How many calls each run in flight may ask ahead: ``behind`` (their indexes)
    ordered from the furthest behind.

    The idle slots are shared out, an equal part each, the first ones the rest. The
    run furthest behind also gets one call beyond its part, even when every slot has
    a run: the batch ends when that run ends, and the others can wait a call (they
    will finish sooner anyway), so its next beat's call waits in the server's line
    beside its own rather than after it. A server takes that one call more than it
    has slots in its line (Ollama queues requests beyond ``OLLAMA_NUM_PARALLEL``; it
    does not refuse them). A run alone on its slots gets nothing more: there is no
    other run's call for it to go before, only calls of its own to wait behind.
    """
    if not behind:
        return {}
    part, rest = divmod(max(0, idle), len(behind))
    shares = {index: part + (rank < rest) for rank, index in enumerate(behind)}
    if len(behind) > 1:
        shares[behind[0]] += 1
    return shares


class _Loop:
    """An event loop in a thread of the driver, telling model-backed runs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="simengine-runs", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, task: RunTask, reporter: _QueueReporter) -> Future:
        from simengine.sim.executors.work import tell_run

        return asyncio.run_coroutine_threadsafe(tell_run(task, reporter), self.loop)

    def close(self) -> None:
        async def finish() -> None:
            # Runs still going (the driver failed): cancelled, and their saves closed.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        asyncio.run_coroutine_threadsafe(finish(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class LocalExecutor(Executor):
    """``jobs`` runs at once on this machine: procedural ones in worker processes,
    model-backed ones on an event loop in this process (each started on first use)."""

    name = "local"

    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)
        self._futures: dict[Future, RunTask] = {}
        self._ticks: dict[int, int] = {}  # the last tick each run reported
        self._reached: dict[int, int] = {}  # when it did: the order of the reports
        self._reports = 0
        self._shares: dict[int, int] = {}
        #: The slots of each host of a ``--hosts`` pool (empty: ``jobs`` are the slots).
        self.host_slots: dict[str, int] = {}
        self._pool: ProcessPoolExecutor | None = None
        self._loop: _Loop | None = None
        # What runs on the loop report through (a process pool gets a manager's).
        self._queue: Any = queues.Queue()
        self._stop: Any = threading.Event()
        self._spare: Any = {}
        self._remote: tuple[Any, Any, Any] | None = None

    @property
    def capacity(self) -> int:
        return self.jobs

    def open(self) -> None:
        """Nothing starts before a run needs it (see :meth:`submit`)."""

    def _processes(self) -> tuple[ProcessPoolExecutor, tuple[Any, Any, Any]]:
        if self._pool is None:
            ctx = _context()
            self._manager = ctx.Manager()
            # Each run's share of the slots no run uses (a batch with fewer runs left
            # than jobs), for the calls it asks ahead: the runs furthest behind first.
            self._remote = (self._manager.Queue(), self._manager.Event(), self._manager.dict())
            if self._stop.is_set():
                self._remote[1].set()
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=ctx, initializer=_ignore_sigint
            )
        assert self._remote is not None
        return self._pool, self._remote

    def submit(self, task: RunTask) -> None:
        if task.uses_model:
            if self._loop is None:
                self._loop = _Loop()
            reporter = _QueueReporter(self._queue, self._stop, self._spare, task.index)
            future = self._loop.submit(task, reporter)
        else:
            pool, (queue, stop, spare) = self._processes()
            future = pool.submit(_work, task, queue, stop, spare)
        self._futures[future] = task
        self._share()

    def _share(self) -> None:
        # Runs that keep a pooled host share that host's slots; the others, the jobs.
        groups: dict[str | None, list[tuple[int, int, int]]] = {}
        for t in self._futures.values():
            key = t.host if self.host_slots else None
            # Furthest behind: the fewest ticks told, then the last to reach them.
            groups.setdefault(key, []).append(
                (self._ticks.get(t.index, 0), -self._reached.get(t.index, 0), t.index))
        shares: dict[int, int] = {}
        for host, running in groups.items():
            slots = self.host_slots.get(host, 0) if host is not None else self.jobs
            shares.update(share_out(slots - len(running), [i for *_, i in sorted(running)]))
        if shares != self._shares:  # one call to the manager, and only for news
            self._spare.update(shares)
            if self._remote is not None:
                self._remote[2].update(shares)
            self._shares = shares

    def pending(self) -> int:
        return len(self._futures)

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._futures:
            return []
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        out = []
        for future in done:
            task = self._futures.pop(future)
            if future.cancelled():
                continue
            try:
                out.append(future.result())
            except Exception as exc:  # one broken run does not sink the batch
                out.append(Outcome(task, {}, error=error_message(exc, with_file=True)))
        if done:
            self._share()
        return out

    def progress(self) -> Progress:
        got = Progress()
        for q in (self._queue, self._remote[0] if self._remote else None):
            while q is not None:
                try:
                    kind, value = q.get_nowait()
                except Exception:  # queue.Empty (through the manager's proxy, too)
                    break
                if kind == "tick":
                    got.events.append(value)
                    self._ticks[value[0]] = value[1]
                    self._reports += 1
                    self._reached[value[0]] = self._reports
                else:
                    got.started.append(value)
        if got.events:
            self._share()  # who is furthest behind may have changed
        return got

    def stop(self) -> None:
        self._stop.set()
        if self._remote is not None:
            self._remote[1].set()
        for future, task in list(self._futures.items()):
            # A run on the loop has started already: it stops after its tick.
            if not task.uses_model and future.cancel():
                self._futures.pop(future)

    def close(self) -> None:
        try:
            if self._loop is not None:
                self._loop.close()
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            if self._pool is not None:
                self._manager.shutdown()
