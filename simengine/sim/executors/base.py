"""What every executor shares: a run as a task, its outcome, and the interface.

The driver (:func:`simengine.sim.batch.run_batch`) plans runs, hands them to an
executor one :class:`RunTask` at a time, and gets :class:`Outcome` records back.
Executors differ only in where :func:`~simengine.sim.executors.work.run_task`
runs: a local process (:mod:`.local`) or a Ray task (:mod:`.ray_tasks`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

from simengine.storytellers.config import uses_model
from simengine.world.spec import WorldSpec


class HostLost(Exception):
    """The Ollama host a run was using stopped answering mid-run."""

    def __init__(self, host: str):
        super().__init__(f"Ollama host {host} stopped answering")
        self.host = host


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run; picklable, so it travels to any node.

    Attributes:
        spec: the world (sent whole: a remote node need not have the world file).
        index, seed: the run's number and seed.
        save: the save's path in ``--out`` as the driver sees it.
        ticks: how many ticks the run must reach.
        storyteller, model, narrate: who tells, as for ``simengine run``.
        host: the Ollama host this run keeps for its life (None: ``--host``/default).
        node_slot: a Ray resource naming a node-local server: use the host of the
            node the task lands on (its ``OLLAMA_HOST``), not ``host``.
        shared: the worker sees ``--out`` (same machine, or a shared folder).
        scratch: where a worker that does not see ``--out`` keeps the save.
        initial: the driver's copy of an unfinished save, for a worker that does
            not see ``--out`` and has none of its own yet.
        resubmitted: how many times the driver has sent this run out again.
    """

    spec: WorldSpec
    index: int
    seed: int
    save: str
    ticks: int
    storyteller: str = "procedural"
    model: str | None = None
    narrate: bool = False
    host: str | None = None
    pooled: bool = False
    node_slot: str | None = None
    shared: bool = True
    scratch: str | None = None
    initial: bytes | None = None
    resubmitted: int = 0

    @property
    def uses_model(self) -> bool:
        return uses_model(self.storyteller)

    def again(self, **changes: Any) -> RunTask:
        """The same run, sent out once more (to another host, with its save so far)."""
        return replace(self, resubmitted=self.resubmitted + 1, **changes)


@dataclass
class Outcome:
    """A finished task: the run's report row, and its save when the driver must write it."""

    task: RunTask
    row: dict[str, Any]
    save_bytes: bytes | None = None
    host_lost: str | None = None
    error: str | None = None


@dataclass
class Started:
    """A worker took up a run (again, after a lost worker or host)."""

    index: int
    pid: int
    node: str
    host: str | None
    resumed_at: int


@dataclass
class Progress:
    events: list[tuple[int, int]] = field(default_factory=list)
    started: list[Started] = field(default_factory=list)


class Executor(ABC):
    """Runs tasks somewhere; the driver decides what to submit and when.

    Use as a context manager; ``submit`` never blocks; ``poll`` returns finished
    outcomes (errors included, as outcomes), and ``progress`` what workers said.
    """

    name = "executor"

    def __enter__(self) -> Executor:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def open(self) -> None:
        """Start workers (or join a cluster)."""

    @abstractmethod
    def submit(self, task: RunTask) -> None: ...

    @abstractmethod
    def poll(self, timeout: float) -> list[Outcome]:
        """Outcomes of tasks finished since the last call (waits up to ``timeout``)."""

    @abstractmethod
    def progress(self) -> Progress:
        """(run, tick) pairs and starts reported since the last call."""

    @abstractmethod
    def stop(self) -> None:
        """Runs stop after their current tick; queued runs do not start."""

    @abstractmethod
    def pending(self) -> int:
        """Tasks submitted and not yet polled out."""

    @property
    def capacity(self) -> int | None:
        """Runs it can hold at once (None: let the cluster decide)."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Wait for workers to end and let go of them."""
