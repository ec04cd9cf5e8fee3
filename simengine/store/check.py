"""Checks of a save: a quick one before any write, and a full replay.

:func:`check_before_write` runs when a save is opened for writing, before the
first write: SQLite's ``quick_check``, then the store's own rules (typed rows,
an event tree without loops, branch heads and snapshots that exist and hold a
graph, text that decodes). It reads the file once, without replaying events,
so writing never goes on in a damaged file.

:func:`verify` is the full check: does every stored fact agree with a replay
from the start? Used after crashes (the kill test), by tools and by tests.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
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


# ------------------------------------------------------------ before a write
#: Text columns whose bytes must decode as UTF-8, per table (the key column first).
TEXT_COLUMNS = {
    "meta": ("key", "value"),
    "branches": ("name", "name", "created_at"),
    "events": ("id", "actor", "kind", "intent", "summary", "ops", "narration", "storyteller",
               "created_at"),
    "snapshots": ("event_id", "state"),
    "calls": ("id", "storyteller", "model", "phase", "request", "response", "violations",
              "error", "created_at"),
}
# Each query names the first row that breaks a rule of the store, or nothing.
ROW_RULES = (
    (
        "events",
        """SELECT id, 'has a field of the wrong type' FROM events
           WHERE typeof(id) != 'integer' OR typeof(depth) != 'integer'
              OR typeof(tick) != 'integer' OR tick < 0
              OR (parent_id IS NOT NULL AND typeof(parent_id) != 'integer')
              OR kind NOT IN ('player', 'npc', 'world') OR typeof(ops) != 'text'
              OR typeof(created_at) != 'text'
           LIMIT 1""",
    ),
    (
        "events",
        """SELECT id, 'has ops that are not a JSON list' FROM events
           WHERE CASE WHEN json_valid(ops) THEN json_type(ops) != 'array' ELSE 1 END
           LIMIT 1""",
    ),
    (
        "events",
        # A parent is always an older event, so an event naming itself or a later
        # one as its parent is where a loop in the tree closes.
        """SELECT e.id, CASE
                WHEN e.parent_id >= e.id THEN 'loop'
                WHEN p.id IS NULL THEN 'hangs off missing event #' || e.parent_id
                ELSE 'is at the wrong depth' END
           FROM events e LEFT JOIN events p ON p.id = e.parent_id
           WHERE (e.parent_id IS NULL AND e.depth != 1)
              OR (e.parent_id IS NOT NULL
                  AND (p.id IS NULL OR e.parent_id >= e.id OR e.depth != p.depth + 1))
           LIMIT 1""",
    ),
    (
        "branches",
        """SELECT b.name, 'points at missing event #' || b.head
           FROM branches b LEFT JOIN events e ON e.id = b.head
           WHERE b.head IS NOT NULL AND e.id IS NULL LIMIT 1""",
    ),
    (
        "snapshots",
        """SELECT s.event_id, CASE
                WHEN e.id IS NULL THEN 'belongs to no event'
                ELSE 'holds no graph of nodes and edges' END
           FROM snapshots s LEFT JOIN events e ON e.id = s.event_id
           WHERE e.id IS NULL OR CASE WHEN json_valid(s.state)
                THEN coalesce(json_type(s.state, '$.nodes'), '') != 'array'
                  OR coalesce(json_type(s.state, '$.edges'), '') != 'array'
                ELSE 1 END
           LIMIT 1""",
    ),
)
WHAT = {
    "events": "event #{}",
    "branches": "branch {!r}",
    "snapshots": "the snapshot of event #{}",
    "meta": "meta {!r}",
    "calls": "model call #{}",
}


def check_before_write(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse to write into a damaged save; reads only.

    Raises:
        SaveCorrupt: SQLite's ``quick_check`` or one of the store's rules fails.
    """
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)") if row[0] != "ok"]
    if problems:
        raise _damaged(path, f"SQLite's quick_check: {'; '.join(problems)}")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table, query in ROW_RULES:
        if table not in tables or (table != "branches" and "events" not in tables):
            continue
        row = conn.execute(query).fetchone()
        if row is None:
            continue
        key, what = row
        if what == "loop":
            what = describe_loop(conn, key)
        raise _damaged(path, f"{WHAT[table].format(key)} {what}")
    for table, columns in TEXT_COLUMNS.items():
        if table not in tables:
            continue
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        cols = [c for c in columns if c in have]
        # As bytes, so a damaged byte is found here and not by a later read.
        select = ", ".join(f"CAST({c} AS BLOB)" for c in cols[1:])
        for row in conn.execute(f"SELECT {cols[0]}, {select} FROM {table}"):
            for column, value in zip(cols[1:], row[1:], strict=True):
                if value is None:
                    continue
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError:
                    where = WHAT[table].format(row[0])
                    raise _damaged(path, f"{where} has unreadable text in {column}") from None


def describe_loop(conn: sqlite3.Connection, event_id: int) -> str:
    """Words for a broken parent link at ``event_id``: the loop it closes, if any."""
    parents = dict(conn.execute("SELECT id, parent_id FROM events"))
    seen: list[int] = []
    at: int | None = event_id
    while at is not None and at in parents and at not in seen and len(seen) <= len(parents):
        seen.append(at)
        at = parents[at]
    if at is not None and at in seen:
        cycle = [f"#{i}" for i in seen[seen.index(at) :] + [at]]
        if len(cycle) > 8:
            cycle = [*cycle[:4], f"... ({len(cycle) - 7} more)", *cycle[-3:]]
        return "is in a loop of parents (" + " -> ".join(cycle) + ")"
    return f"names a later event (#{parents.get(event_id)}) as its parent"


def _damaged(path: Path, what: str) -> SaveCorrupt:
    return SaveCorrupt(f"{path} is damaged: {what}; restore it from a backup.", path)
