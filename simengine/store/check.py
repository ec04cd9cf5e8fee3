"""A full check of a save: does every stored fact agree with a replay from the start?

Used after crashes (the kill test), by tools such as ``doctor``, and by tests.
It reads everything once, so it is linear in the save's size; opening a save
never runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simengine.store.errors import SaveCorrupt, SaveError
from simengine.world.state import StateError, WorldState

if TYPE_CHECKING:
    from simengine.store.save import Save


def verify(save: Save) -> list[str]:
    """Problems found in ``save``; an empty list means it is sound.

    Runs SQLite's integrity check, parses every event, checks that every branch
    head and parent exists, and replays the whole event tree once from the
    initial state, comparing every snapshot and every branch head's state (as
    ``state_at`` builds it, from the nearest snapshot) with the replay.
    """
    db = save.db
    problems = [
        f"sqlite: {row[0]}"
        for row in db.execute("PRAGMA integrity_check").fetchall()
        if row[0] != "ok"
    ]
    try:
        events = save.events()
    except SaveCorrupt as err:
        return [*problems, str(err)]
    known = {e.id for e in events}
    heads = save.branches()
    for name, head in heads.items():
        if head is not None and head not in known:
            problems.append(f"branch {name!r} points at missing event #{head}")
    snapshots = {row[0] for row in db.execute("SELECT event_id FROM snapshots")}
    # One walk over the tree in id order (a parent is always older than its
    # children); a state is copied only where the tree branches.
    waiting: dict[int | None, int] = {}
    for e in events:
        waiting[e.parent_id] = waiting.get(e.parent_id, 0) + 1
    states: dict[int | None, WorldState] = {None: save.initial_state()}
    for e in events:
        if e.parent_id not in states:
            problems.append(f"event #{e.id} hangs off missing event #{e.parent_id}")
            continue
        waiting[e.parent_id] -= 1
        parent = states[e.parent_id]
        state = parent if waiting[e.parent_id] == 0 else parent.copy()
        if waiting[e.parent_id] == 0:
            del states[e.parent_id]
        try:
            state.apply(e.ops, tick=e.tick, event_id=e.id)
            if e.id in snapshots and state != save.snapshot(e.id):
                problems.append(f"snapshot of event #{e.id} differs from its replay")
            if e.id in heads.values() and state != save.state_at(e.id):
                problems.append(f"state at event #{e.id} differs from its replay")
        except (SaveError, StateError) as err:
            problems.append(f"event #{e.id}: {err}")
            continue
        if waiting.get(e.id):
            states[e.id] = state
    return problems
