"""The save file's schema, built and changed only through sqlite-utils ``Migrations``.

Each migration is a numbered function in :data:`migrations`; a save records the
ones it has had in ``_sqlite_migrations`` (sqlite-utils' own table) and its
schema version (the number of migrations) in ``meta.schema_version``. A new
schema change is a new function at the end of this file, never an edit of an old
one, and :data:`SCHEMA_VERSION` follows by itself.

Tables (times are ISO-8601 UTC strings, JSON columns hold text):

``meta``       key -> JSON value: engine, schema_version, spec (the world file as
               JSON), initial (node-link state before any event), current_branch,
               snapshot_every, created_at, last_played, and whatever sessions add.
``events``     the event tree: id, parent_id (NULL = hangs off the initial state),
               depth (1 for a root event; snapshots written with their event only
               where depth % N == 0; a big state's, at a quiet moment, at the head),
               tick, actor, kind, intent, summary, ops (wire format v1 JSON array),
               narration, storyteller, created_at.
``branches``   name -> head event id (NULL = the initial state), created_at.
``snapshots``  event_id -> the state after that event: zlib-packed node-link JSON
               (a BLOB; older saves: JSON text).
``calls``      every model call: event_id, storyteller, model, phase, request,
               response, accepted, violations, tokens, latency_ms, error.
``drifts``     a narration that told what the ops did not do: event_id, outcome
               (``retold``: the retelling held; ``procedural``: the procedural
               narration stood in), attempts (JSON array: each drifting prose,
               its sentence, kinds and reasons).
``refusals``   a player's attempt that did not (wholly) happen: event_id, attempt
               (the player's words), rules and messages (JSON arrays: what the
               engine said), told (JSON array: what the player read).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database, Migrations

MIGRATION_SET = "simengine"
REQUIRED_TABLES = ("meta", "events", "branches", "snapshots", "calls")

migrations = Migrations(MIGRATION_SET)
#: Names of this code's migrations, in order; the schema version is their count.
MIGRATION_NAMES: list[str] = []


def _migration(fn: Callable[[Database], None]) -> Callable[[Database], None]:
    MIGRATION_NAMES.append(fn.__name__)
    return migrations()(fn)


@_migration
def m001_initial(db: Database) -> None:
    """The first schema: meta, events, branches, snapshots, calls."""
    db["meta"].create({"key": str, "value": str}, pk="key", not_null=["value"])
    db["events"].create(
        {
            "id": int,
            "parent_id": int,
            "depth": int,
            "tick": int,
            "actor": str,
            "kind": str,
            "intent": str,
            "summary": str,
            "ops": str,
            "narration": str,
            "storyteller": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("parent_id", "events", "id")],
        not_null=["depth", "tick", "kind", "ops", "created_at"],
    )
    db["events"].create_index(["parent_id"])
    db["branches"].create(
        {"name": str, "head": int, "created_at": str},
        pk="name",
        foreign_keys=[("head", "events", "id")],
    )
    db["snapshots"].create(
        {"event_id": int, "state": str},
        pk="event_id",
        foreign_keys=[("event_id", "events", "id")],
        not_null=["state"],
    )
    db["calls"].create(
        {
            "id": int,
            "event_id": int,
            "storyteller": str,
            "model": str,
            "phase": str,
            "request": str,
            "response": str,
            "accepted": int,
            "violations": str,
            "prompt_tokens": int,
            "completion_tokens": int,
            "latency_ms": float,
            "error": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("event_id", "events", "id")],
    )
    db["calls"].create_index(["event_id"])


@_migration
def m002_refusals(db: Database) -> None:
    """Refused player attempts, kept beside the event of the turn."""
    db["refusals"].create(
        {"event_id": int, "attempt": str, "rules": str, "messages": str, "told": str},
        pk="event_id",
        foreign_keys=[("event_id", "events", "id")],
        not_null=["rules", "messages", "told"],
    )



@_migration
def m003_drifts(db: Database) -> None:
    """Narrations that drifted from the committed ops, kept beside their event."""
    db["drifts"].create(
        {"event_id": int, "outcome": str, "attempts": str},
        pk="event_id",
        foreign_keys=[("event_id", "events", "id")],
        not_null=["outcome", "attempts"],
    )


SCHEMA_VERSION = len(MIGRATION_NAMES)
