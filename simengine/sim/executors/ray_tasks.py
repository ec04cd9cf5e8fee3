"""Runs as Ray tasks: on a local Ray instance, or across a cluster.

One run is one task. A worker that dies mid-run (a node lost, a process
killed) fails the task, Ray retries it (``max_retries``), and the retry
resumes from the run's save (see :mod:`.work`). Workers report each tick to a
small actor on the driver's node, which also carries the driver's "stop".
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict
from typing import Any

from simengine.sim.executors.base import Executor, Outcome, Progress, RunTask, Started
from simengine.world.text import error_message

INSTALL = "--executor ray needs Ray: pip install 'simengine[ray]' (or pip install ray)"


class ExecutorError(Exception):
    """An executor cannot start: Ray missing, a cluster not there, no slots anywhere."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError(INSTALL) from None
    return ray


class _BoardReporter:
    """A worker's line to the board. Reports never wait for the board: a tick's
    report is sent, and the answer to the one before (the stop flag) read if it
    has come, so a slow board never slows a run."""

    def __init__(self, board: Any, node: str):
        self.board = board
        self.node = node
        self._last: Any = None

    def started(self, info: Started) -> None:
        self.board.start.remote(asdict(info))

    def tick(self, index: int, tick: int) -> bool:
        import ray

        stop = False
        if self._last is not None:
            ready, _ = ray.wait([self._last], timeout=0)
            stop = bool(ready) and ray.get(ready[0])
        self._last = self.board.tick.remote(index, tick)
        return stop

    def stopped(self) -> bool:
        # Not asked of the board: a task the driver stops before it starts is
        # cancelled, and one starting just then hears "stop" at its next tick.
        return False

    def spare(self) -> int:
        return 0  # the cluster decides what runs where: no slot is known to be idle


def _work(task: RunTask, board: Any) -> Outcome:
    import ray

    from simengine.sim.executors.work import run_task

    node = f"{ray.util.get_node_ip_address()}/{ray.get_runtime_context().get_node_id()[:8]}"
    return run_task(task, _BoardReporter(board, node))


def _sees(path: str) -> bool:
    return os.path.exists(path)


def _board_class() -> type:
    """The board's class, made here so Ray ships it by value: the board's worker
    then imports nothing of simengine and is up in a moment."""

    class Board:
        """Progress and the stop flag, shared by the driver and every worker."""

        def __init__(self) -> None:
            self.events: list = []
            self.starts: list = []
            self.stop = False

        def tick(self, index: int, tick: int) -> bool:
            self.events.append((index, tick))
            return self.stop

        def start(self, info: dict) -> None:
            self.starts.append(info)

        def set_stop(self) -> None:
            self.stop = True

        def drain(self) -> tuple[list, list]:
            events, starts = self.events, self.starts
            self.events, self.starts = [], []
            return events, starts

    return Board


class RayExecutor(Executor):
    """Ray tasks, one a run.

    Args:
        address: a cluster to join (``ray start --head`` printed it); None starts
            a local Ray instance with ``num_cpus`` CPUs.
        cpus_per_run: the CPUs a run asks for (a model-backed run mostly waits).
        node_slot: a custom resource each run takes one of; the run then uses the
            Ollama server on its own node.
        max_retries: how often Ray retries a run whose worker died.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None,
                 cpus_per_run: float = 1.0, node_slot: str | None = None,
                 max_retries: int = 3):
        self.address = address
        self.num_cpus = num_cpus
        self.cpus_per_run = cpus_per_run
        self.node_slot = node_slot
        self.max_retries = max_retries
        self._refs: dict[Any, RunTask] = {}
        self._started: set[int] = set()
        self._owned = False
        self._stash = Progress()

    def open(self) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                          logging_level=logging.WARNING)
            try:
                if self.address:
                    ray.init(address=self.address, **kwargs)
                else:
                    ray.init(num_cpus=self.num_cpus, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {self.address}" if self.address else "Ray"
                raise ExecutorError(f"cannot start {where}: {exc}") from None
            self._owned = True
        if self.node_slot and not ray.cluster_resources().get(self.node_slot):
            self.close()
            raise ExecutorError(
                f"no Ray node offers the resource {self.node_slot!r}; start each node with "
                f"its Ollama server as: ray start ... --resources '{{\"{self.node_slot}\": N}}' "
                "(N = its OLLAMA_NUM_PARALLEL)")
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = ray.get_runtime_context().get_node_id()
        self._board = ray.remote(num_cpus=0)(_board_class()).options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False)).remote()
        options: dict[str, Any] = dict(num_cpus=self.cpus_per_run, max_retries=self.max_retries,
                                       retry_exceptions=False)
        if self.node_slot:
            options["resources"] = {self.node_slot: 1}
        self._task = ray.remote(_work).options(**options)

    def sees_everywhere(self, path: str) -> bool:
        """Does every node see ``path``? (Is ``--out`` a shared folder?)"""
        ray = import_ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        probe = ray.remote(num_cpus=0)(_sees)
        nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        refs = [probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False))
                .remote(path) for n in nodes]
        return all(ray.get(refs))

    def submit(self, task: RunTask) -> None:
        self._refs[self._task.remote(task, self._board)] = task

    def pending(self) -> int:
        return len(self._refs)

    def poll(self, timeout: float) -> list[Outcome]:
        ray = import_ray()
        if not self._refs:
            time.sleep(timeout)
            return []
        ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=timeout)
        out = []
        for ref in ready:
            task = self._refs.pop(ref)
            try:
                out.append(ray.get(ref))
            except ray.exceptions.TaskCancelledError:
                continue
            except Exception as exc:  # retries spent, or a bug: this run only
                out.append(Outcome(task, {}, error=_reason(exc)))
        return out

    def progress(self) -> Progress:
        ray = import_ray()
        events, raw = ray.get(self._board.drain.remote())
        starts = [Started(**info) for info in raw]
        self._started.update(s.index for s in starts)
        got, self._stash = self._stash, Progress()
        got.events.extend(events)
        got.started.extend(starts)
        return got

    def stop(self) -> None:
        ray = import_ray()
        ray.get(self._board.set_stop.remote())
        # Learn who has started (and keep the news for the driver's next look).
        got = self.progress()
        self._stash.events.extend(got.events)
        self._stash.started.extend(got.started)
        for ref, task in list(self._refs.items()):
            if task.index not in self._started:  # running ones stop after their tick
                ray.cancel(ref)

    def close(self) -> None:
        ray = import_ray()
        board = getattr(self, "_board", None)
        if board is not None:
            ray.kill(board)
            self._board = None
        if self._owned:
            ray.shutdown()
            self._owned = False


def _reason(exc: BaseException) -> str:
    text = error_message(exc, with_file=True)
    return text.strip().splitlines()[-1] if text.strip() else type(exc).__name__
