"""Opening a file as a save without ever changing a file that is not one.

Checks run from cheapest to dearest and from "touches nothing" upwards: the
first 100 bytes (is it SQLite at all, is it cut short), then the tables and
``meta`` through a connection that cannot write, and only then does the caller
take the write lock and open the file for writing.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from sqlite_utils import Database

import simengine
from simengine.store.errors import NotASave, SaveCorrupt, SaveError, SaveTooNew
from simengine.store.schema import (
    MIGRATION_NAMES,
    MIGRATION_SET,
    REQUIRED_TABLES,
    SCHEMA_VERSION,
)
from simengine.world.spec import WorldSpec

ENGINE = "simengine"
SQLITE_MAGIC = b"SQLite format 3\x00"


def check_header(path: Path) -> None:
    """Refuse, without opening it as a database, a file that cannot be a save.

    Reads only the first 100 bytes (the SQLite header), so it never changes the
    file. A file shorter than its header's page count is truncated, unless a
    write-ahead log sits next to it: an interrupted checkpoint legitimately
    leaves the main file short until the log is replayed.

    Raises:
        NotASave: empty, or not an SQLite file at all.
        SaveCorrupt: an SQLite header, but the file was cut short.
    """
    size = path.stat().st_size
    if size == 0:
        raise NotASave(f"{path} is an empty file, not a simengine save.", path)
    with path.open("rb") as fh:
        header = fh.read(100)
    if not header.startswith(SQLITE_MAGIC) and not SQLITE_MAGIC.startswith(header):
        raise NotASave(
            f"{path} is not a simengine save (it is not an SQLite database at all).", path
        )
    if len(header) < 100:
        raise SaveCorrupt(
            f"{path} is truncated ({size} bytes, shorter than an SQLite header); "
            "restore it from a backup.",
            path,
        )
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    change_counter, page_count = struct.unpack(">II", header[24:32])
    valid_for = struct.unpack(">I", header[92:96])[0]
    wal = path.with_name(path.name + "-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    if valid_for == change_counter and not has_wal and size < page_count * page_size:
        raise SaveCorrupt(
            f"{path} is truncated ({size} bytes; its header promises "
            f"{page_count * page_size}); restore it from a backup.",
            path,
        )


def db_error(path: Path, err: sqlite3.DatabaseError) -> SaveError:
    """The :class:`SaveError` for SQLite's complaint about a file."""
    text = str(err)
    if "not a database" in text or "encrypted" in text:
        return NotASave(f"{path} is not a simengine save (SQLite says: {text}).", path)
    return SaveCorrupt(f"{path} is damaged (SQLite says: {text}); restore it from a backup.", path)


def connect(path: Path, *, readonly: bool = False, immutable: bool = False) -> sqlite3.Connection:
    """A connection to ``path``; ``immutable`` reads without locks, WAL or sidecar files."""
    # A read-only open goes through a mode=ro URI, so SQLite itself refuses writes.
    if readonly or immutable:
        flags = "mode=ro&immutable=1" if immutable else "mode=ro"
        uri = f"file:{quote(str(path.resolve()))}?{flags}"
        return sqlite3.connect(uri, uri=True, timeout=10, check_same_thread=False)
    return sqlite3.connect(str(path), timeout=10, check_same_thread=False)


def validate(path: Path) -> tuple[dict[str, Any], bool]:
    """Vet a file before any connection that could leave a trace on it.

    Even a read-only SQLite connection creates ``-wal`` and ``-shm`` files next to
    a WAL-mode database, and leaves them behind if the file turns out to be bad.
    So when no writer has the file open (no such sidecars), the check reads it as
    ``immutable``, which touches nothing; otherwise the sidecars already exist.
    """
    idle = not any(path.with_name(path.name + s).exists() for s in ("-wal", "-shm"))
    conn = connect(path, readonly=True, immutable=idle)
    try:
        meta, pending = read_meta(Database(conn, execute_plugins=False), path)
        problem = spec_error(meta)
        if problem:
            raise SaveCorrupt(f"{path} holds an unreadable world spec: {problem}", path)
        return meta, pending
    finally:
        conn.close()


def read_meta(db: Database, path: Path) -> tuple[dict[str, Any], bool]:
    """Read and vet a save's ``meta``; True as second value when migrations are pending.

    Raises:
        NotASave, SaveCorrupt, SaveTooNew.
    """
    try:
        tables = set(db.table_names())
        if "meta" not in tables:
            raise NotASave(
                f"{path} is an SQLite database, but not a simengine save (it has no meta table).",
                path,
            )
        try:
            meta = {
                key: json.loads(value) for key, value in db.execute("SELECT key, value FROM meta")
            }
        except (ValueError, TypeError) as err:
            raise SaveCorrupt(f"{path} has an unreadable meta table ({err}).", path) from err
        if meta.get("engine") != ENGINE:
            raise NotASave(
                f"{path} is an SQLite database, but not a simengine save "
                "(its meta table does not say simengine).",
                path,
            )
        version = meta.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise SaveCorrupt(f"{path} does not record a schema version.", path)
        applied: list[str] = []
        if "_sqlite_migrations" in tables:
            applied = [
                name
                for (name,) in db.execute(
                    "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [MIGRATION_SET]
                )
            ]
        unknown = [name for name in applied if name not in MIGRATION_NAMES]
        if version > SCHEMA_VERSION or unknown:
            raise SaveTooNew(
                f"{path} was written by a newer simengine (save schema {version}; this "
                f"simengine {simengine.__version__} reads up to {SCHEMA_VERSION}). "
                "Upgrade simengine to open it.",
                path,
            )
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing and version >= SCHEMA_VERSION:
            raise SaveCorrupt(f"{path} is missing tables: {', '.join(missing)}.", path)
        for key in ("spec", "initial", "current_branch"):
            if key not in meta:
                raise SaveCorrupt(f"{path} is missing {key!r} in its meta table.", path)
    except sqlite3.DatabaseError as err:
        raise db_error(path, err) from err
    return meta, version < SCHEMA_VERSION


def spec_error(meta: dict[str, Any]) -> str | None:
    """Why the world spec kept in ``meta`` does not validate, or None."""
    try:
        WorldSpec.model_validate(meta["spec"])
    except ValidationError as err:
        return str(err)
    return None
