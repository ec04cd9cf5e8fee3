"""One run, in a worker: start or resume its save, tick to the goal, report.

The same function runs in a local process and in a Ray task. A run resumes
from its save: a run stopped between ticks goes on from there, and a run cut
short mid-tick (a worker killed, a host gone) first sets the beats of that
unfinished tick aside (an undo: they stay in the save's tree, off the branch)
and tells that tick again. Every beat's randomness comes from the seed, the
tick and the state, so the retold tick is the one the uninterrupted run tells.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any, Protocol

from simengine.sim.executors.base import HostLost, Outcome, RunTask, Started

#: Save meta: the ticks a finished run holds (a run whose save has it is skipped).
FINISHED = "batch_finished_ticks"
#: The save's meta key for the ending a batch run reached (None: it reached none).
ENDING = "batch_ending"


class Reporter(Protocol):
    """How a worker talks to the driver."""

    node: str

    def started(self, info: Started) -> None: ...

    def tick(self, index: int, tick: int) -> bool:
        """Report progress; True when the driver asks runs to stop."""

    def stopped(self) -> bool: ...

    def spare(self) -> int:
        """How many calls this run may send ahead beside its own: its share of the
        model slots no run is using now, and one more for the run furthest behind
        (:func:`~simengine.sim.executors.local.share_out`, :mod:`simengine.sim.ahead`)."""


class Silent:
    """A reporter for a run told in this process, with no driver listening."""

    node = "here"

    def started(self, info: Started) -> None:
        """Nobody to tell."""

    def tick(self, index: int, tick: int) -> bool:
        return False

    def stopped(self) -> bool:
        return False

    def spare(self) -> int:
        return 0


def row(
    task: RunTask,
    status: str,
    ticks: int = 0,
    storyteller: str = "",
    wall: float = 0.0,
    metrics: dict[str, Any] | None = None,
    host: str | None = None,
    node: str = "",
    ending: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One run's line in the report (the same keys under every executor).

    ``ending``: the story's ending the run reached (id, kind, tick), or None.
    """
    return {
        "run": task.index,
        "seed": task.seed,
        "save": task.save,
        "status": status,
        "ticks": ticks,
        "storyteller": storyteller,
        "host": host or "",
        "node": node,
        "attempts": 0,
        "wall_seconds": round(wall, 3),
        "metrics": metrics or {},
        "ending": ending,
    }


def save_path(task: RunTask) -> Path:
    """Where this worker keeps the run's save: ``--out`` itself, or a scratch copy."""
    if task.shared or task.scratch is None:
        return Path(task.save)
    path = Path(task.scratch) / Path(task.save).name
    if not path.exists() and task.initial is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(task.initial)
        tmp.replace(path)
    return path


def rewind_partial_tick(session: Any) -> bool:
    """Set aside the beats of a tick that was cut short; True if there were any.

    A session records its clock (tick and head event) after every whole tick, so
    a head past the clock's is a tick some worker did not finish.
    """
    head = session.save.head()
    if head is None:
        return False
    clock = session.save.get_meta(f"clock:{session.branch}") or {}
    if clock.get("head") == head:
        return False
    session.undo(1)
    return True


def run_task(task: RunTask, reporter: Reporter) -> Outcome:
    """Run (or resume) one run to ``task.ticks``; never raises for a lost host."""
    return asyncio.run(tell_run(task, reporter))


async def tell_run(task: RunTask, reporter: Reporter) -> Outcome:
    """:func:`run_task`, on the running event loop: one loop tells the whole run, and
    one loop may tell many runs at once (a model-backed batch told in the driver's
    process, :mod:`.local`), each waiting on its own model calls."""
    from simengine.sim.executors.hosts import HostWatch, host_answers
    from simengine.sim.session import Session
    from simengine.sim.tellers import achoose
    from simengine.store import Save, SaveError
    from simengine.storytellers.base import StorytellerError
    from simengine.storytellers.ollama import normalise_host

    if reporter.stopped():  # queued before Ctrl-C, reached after it: leave it for a resume
        return Outcome(task, row(task, "not started"))
    path = save_path(task)
    host = task.host
    if task.node_slot:
        host = normalise_host(os.environ.get("OLLAMA_HOST"))  # the server beside this node
    watched = task.uses_model and (task.pooled or task.node_slot is not None)
    if watched and not await asyncio.to_thread(host_answers, host):
        return _lost(task, path, host, reporter.node)
    started = time.perf_counter()
    choice = None
    try:
        choice = await achoose(task.storyteller, spec=task.spec, seed=task.seed,
                               model=task.model, host=host)
        teller = HostWatch(choice.storyteller, host) if watched else choice.storyteller
        kwargs = dict(seed=task.seed, storyteller=teller, fallback=choice.fallback,
                      narrate=task.narrate)
        if path.exists():
            session = Session.load(path, **kwargs)
        else:
            # The new save is written in a thread (SQLite, waiting on the disk, lets go
            # of the interpreter): runs started together on one loop, each writing
            # its save in turn, would start their first calls one after another.
            session = Session(await asyncio.to_thread(Save.create, path, task.spec), **kwargs)
    except (StorytellerError, SaveError) as exc:
        # This run cannot start (no model, a damaged save): said in its row, the
        # same words under every executor; the other runs go on.
        if choice is not None:  # the model was there; the save was not
            await _let_go(choice.storyteller)
        return Outcome(task, {}, error=str(getattr(exc, "reason", None) or exc))
    lost: str | None = None
    try:
        rewind_partial_tick(session)
        reporter.started(Started(task.index, os.getpid(), reporter.node, host, session.tick))
        stop = reporter.tick(task.index, session.tick)
        while session.tick < task.ticks and not stop and session.ending is None:
            # Calls asked ahead keep idle slots busy; where every slot has a run,
            # they would only queue (those a beat drops waste a slot), but for one
            # call of the run furthest behind, which the batch ends waiting for.
            session.ahead = reporter.spare() if task.uses_model else 0
            await session.step()
            stop = reporter.tick(task.index, session.tick)
        ending = None
        if session.ending is not None:  # the story ended: the run is over, short or not
            ending = {"id": session.ending.id, "kind": session.ending.kind,
                      "tick": session.tick}
        done = session.tick >= task.ticks or ending is not None
        if done:
            session.save.set_metas({FINISHED: max(session.tick, task.ticks), ENDING: ending})
        result = row(task, "done" if done else "stopped", session.tick, choice.why,
                     time.perf_counter() - started, session.metrics.to_dict(), host,
                     reporter.node, ending)
    except HostLost as exc:
        lost = exc.host
    finally:
        if lost:
            # The metrics stored at the last whole tick stand; the in-memory ones
            # count beats of the tick that will be told again elsewhere.
            session.save.close()
        else:
            session.close()
        await _let_go(choice.storyteller)
    if lost:
        return _lost(task, path, lost, reporter.node)
    return Outcome(task, result, save_bytes=_hand_back(task, path))


async def _let_go(teller: Any) -> None:
    """Close a finished run's model client (and its kept-alive connection): one loop
    tells many runs (:mod:`.local`), and would otherwise hold a socket per run told."""
    aclose = getattr(teller, "aclose", None)
    if aclose is not None:
        await aclose()


def _lost(task: RunTask, path: Path, host: str | None, node: str) -> Outcome:
    return Outcome(task, row(task, f"host lost: {host}", host=host, node=node),
                   save_bytes=_hand_back(task, path), host_lost=host or "")


def _hand_back(task: RunTask, path: Path) -> bytes | None:
    """A save kept in scratch goes back to the driver whole (write-ahead log folded in)."""
    if task.shared or not path.exists():
        return None
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = path.read_bytes()
    if task.scratch:  # the run's own scratch folder: its save now travels to the driver
        shutil.rmtree(path.parent, ignore_errors=True)
    return data
