"""A run cut short mid-tick resumes from its save and tells the uninterrupted story."""

from __future__ import annotations

import asyncio
from pathlib import Path

from simengine.sim.executors import RunTask, Started
from simengine.sim.executors.work import run_task
from simengine.sim.session import Committed, Session
from simengine.store import Save
from simengine.world.loader import load_world

FRONTIER = Path(__file__).parent.parent.parent / "worlds" / "frontier.toml"


class Reporter:
    node = "here"

    def __init__(self) -> None:
        self.starts: list[Started] = []

    def started(self, info: Started) -> None:
        self.starts.append(info)

    def tick(self, index: int, tick: int) -> bool:
        return False

    def stopped(self) -> bool:
        return False


class Crash(BaseException):
    """Stands for the worker dying between two beats of a tick."""


def story(path: Path) -> list[dict]:
    with Save.open(path, readonly=True) as save:
        return [{k: v for k, v in e.wire().items() if k not in ("id", "parent_id")}
                for e in save.log()]


def test_a_tick_cut_short_is_told_again_and_the_story_is_unchanged(tmp_path):
    spec = load_world(FRONTIER)
    cut = tmp_path / "cut.db"
    session = Session.new(spec, cut, seed=5, narrate=False)  # as batch runs are
    asyncio.run(session.wait(4))
    beats = []

    def die_after_first_beat(message: object) -> None:
        if isinstance(message, Committed):
            beats.append(message)
            raise Crash

    session.subscribe(die_after_first_beat)
    try:
        asyncio.run(session.step())
    except Crash:
        pass
    session.save.close()  # as a killed worker leaves it: no clock, no metrics for tick 5
    assert beats and beats[0].event.tick == 5
    with Save.open(cut, readonly=True) as save:
        assert save.log()[-1].tick == 5

    reporter = Reporter()
    outcome = run_task(RunTask(spec, 0, 5, str(cut), 9), reporter)
    straight = run_task(RunTask(spec, 0, 5, str(tmp_path / "straight.db"), 9), Reporter())

    assert outcome.row["status"] == "done" and reporter.starts[0].resumed_at == 4
    assert story(cut) == story(tmp_path / "straight.db")
    assert outcome.row["metrics"]["events_total"] == straight.row["metrics"]["events_total"]
    with Save.open(cut, readonly=True) as save:
        assert save.verify() == []
        # The beat of the cut tick is still in the save's tree, off the branch.
        assert beats[0].event.id in {e.id for e in save.events()}
        assert beats[0].event.id not in {e.id for e in save.log()}
