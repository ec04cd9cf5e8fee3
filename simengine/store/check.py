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
    "meta": ("key", "key", "value"),
    "branches": ("name", "name", "created_at"),
    "events": ("id", "actor", "kind", "intent", "summary", "ops", "narration", "storyteller",
               "created_at"),
    "snapshots": ("event_id", "state"),
    "calls": ("id", "storyteller", "model", "phase", "request", "response", "violations",
              "error", "created_at"),
}
#: Columns that may hold zlib-packed bytes instead of text.
PACKED = {("snapshots", "state")}
# The first event that breaks a rule of the store, in one pass over the table.
# A parent is always an older event, so an event naming itself or a later one as
# its parent is where a loop in the tree closes.
EVENT_RULES = """
    SELECT id, what FROM (
        SELECT e.id, CASE
            WHEN typeof(e.id) != 'integer' OR typeof(e.depth) != 'integer'
                OR typeof(e.tick) != 'integer' OR e.tick < 0
                OR (e.parent_id IS NOT NULL AND typeof(e.parent_id) != 'integer')
                OR e.kind NOT IN ('player', 'npc', 'world') OR typeof(e.ops) != 'text'
                OR typeof(e.created_at) != 'text' THEN 'has a field of the wrong type'
            WHEN NOT json_valid(e.ops) THEN 'has ops that are not JSON'
            WHEN json_type(e.ops) != 'array' THEN 'has ops that are not a JSON list'
            WHEN e.parent_id >= e.id THEN 'loop'
            WHEN e.parent_id IS NOT NULL AND p.id IS NULL
                THEN 'hangs off missing event #' || e.parent_id
            WHEN e.depth != coalesce(p.depth, 0) + 1 THEN 'is at the wrong depth'
            END AS what
        FROM events e LEFT JOIN events p ON p.id = e.parent_id)
    WHERE what IS NOT NULL LIMIT 1"""
BRANCH_RULES = """
    SELECT b.name, 'points at missing event #' || b.head
    FROM branches b LEFT JOIN events e ON e.id = b.head
    WHERE b.head IS NOT NULL AND e.id IS NULL LIMIT 1"""
SNAPSHOT_RULES = """
    SELECT s.event_id, CASE WHEN e.id IS NULL THEN 'belongs to no event'
                            ELSE 'holds no graph of nodes and edges' END
    FROM snapshots s LEFT JOIN events e ON e.id = s.event_id
    WHERE e.id IS NULL OR CASE typeof(s.state)
        -- a packed snapshot: its zlib header (its checksum is checked on reading)
        WHEN 'blob' THEN hex(substr(s.state, 1, 1)) != '78'
        WHEN 'text' THEN json_type(s.state, '$.nodes') IS NOT 'array'
                         OR json_type(s.state, '$.edges') IS NOT 'array'
        ELSE 1 END
    LIMIT 1"""
# The initial state is read only when a state is built from it, and the whole spec
# when it is asked for (opening reads its outline), so a writable open of a file
# that was not closed cleanly looks at them here.
INITIAL_RULES = """
    SELECT key, 'holds no graph of nodes and edges' FROM meta
    WHERE key = 'initial' AND (NOT json_valid(value)
        OR json_type(value, '$.nodes') IS NOT 'array'
        OR json_type(value, '$.edges') IS NOT 'array')
    UNION ALL
    SELECT key, 'is not JSON' FROM meta WHERE key = 'spec' AND NOT json_valid(value)
    LIMIT 1"""
CALL_RULES = """
    SELECT id, 'is not JSON where JSON belongs' FROM calls
    WHERE NOT json_valid(coalesce(request, 'null')) OR NOT json_valid(coalesce(response, 'null'))
       OR NOT json_valid(coalesce(violations, 'null'))
    LIMIT 1"""
WHAT = {
    "events": "event #{}",
    "branches": "branch {!r}",
    "snapshots": "the snapshot of event #{}",
    "meta": "meta {!r}",
    "calls": "model call #{}",
}
_CHUNK = 2000


def check_before_write(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse to write into a damaged save; reads only, linear in the file's size.

    Raises:
        SaveCorrupt: SQLite's ``quick_check`` or one of the store's rules fails.
    """
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)") if row[0] != "ok"]
    if problems:
        raise _damaged(path, f"SQLite's quick_check: {'; '.join(problems)}")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "events" in tables:
        row = conn.execute(EVENT_RULES).fetchone()
        if row is not None:
            what = describe_loop(conn, row[0]) if row[1] == "loop" else row[1]
            raise _damaged(path, f"event #{row[0]} {what}")
        rules = (("branches", BRANCH_RULES), ("snapshots", SNAPSHOT_RULES), ("calls", CALL_RULES),
                 ("meta", INITIAL_RULES))
        for table, query in rules:
            if table in tables:
                _rule(conn, path, table, query)
    for table, columns in TEXT_COLUMNS.items():
        if table in tables:
            _check_text(conn, path, table, columns)


def _rule(conn: sqlite3.Connection, path: Path, table: str, query: str) -> None:
    try:
        row = conn.execute(query).fetchone()
    except sqlite3.OperationalError as err:
        if "malformed JSON" not in str(err):
            raise
        # Name the row: the same rule, one row at a time, with the JSON vetted first.
        row = conn.execute(
            f"SELECT event_id, 'holds no graph of nodes and edges' FROM {table} "
            "WHERE typeof(state) = 'text' AND NOT json_valid(state) LIMIT 1"
        ).fetchone()
    if row is not None:
        raise _damaged(path, f"{WHAT[table].format(row[0])} {row[1]}")


def _check_text(conn: sqlite3.Connection, path: Path, table: str, columns: tuple[str, ...]) -> None:
    """Every text value of ``columns[1:]`` decodes as UTF-8 (a flipped byte usually does not)."""
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    key, cols = columns[0], [c for c in columns[1:] if c in have]
    # As bytes, so a damaged byte is found here and not by a later read; joined per
    # chunk, since decoding one long string is far cheaper than many short ones.
    # Packed snapshots are bytes by design (zlib checks them when they are read).
    select = ", ".join(
        f"CASE WHEN typeof({c}) = 'blob' THEN NULL ELSE CAST({c} AS BLOB) END"
        if (table, c) in PACKED else f"CAST({c} AS BLOB)"
        for c in cols
    )
    cursor = conn.execute(f"SELECT CAST({key} AS BLOB), {select} FROM {table}")
    while rows := cursor.fetchmany(_CHUNK):
        try:
            b"\n".join([v for row in rows for v in row if v is not None]).decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            continue
        for row in rows:
            for column, value in zip(["key", *cols], row, strict=True):
                try:
                    if value is not None:
                        value.decode("utf-8")
                except UnicodeDecodeError:
                    name = row[0].decode("utf-8", "replace") if column != "key" else "?"
                    where = WHAT[table].format(name)
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
