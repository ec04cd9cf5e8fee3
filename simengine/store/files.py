"""Opening a file as a save without ever changing a file that is not one.

Checks run from cheapest to dearest and from "touches nothing" upwards: the
first 100 bytes (is it SQLite at all, is it cut short), then the tables and
``meta`` through a connection that cannot write, and only then does the caller
take the write lock and open the file for writing.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import struct
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from sqlite_utils import Database

import simengine
from simengine.store.errors import (
    NotASave,
    SaveCorrupt,
    SaveDiskFull,
    SaveError,
    SaveInUse,
    SaveReadOnly,
    SaveTooNew,
)
from simengine.store.schema import (
    MIGRATION_NAMES,
    MIGRATION_SET,
    REQUIRED_TABLES,
    SCHEMA_VERSION,
)
from simengine.world.spec import WorldSpec

try:  # pragma: no cover - platform switch
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

ENGINE = "simengine"
SQLITE_MAGIC = b"SQLite format 3\x00"


def check_header(path: Path, shown: Path | None = None) -> None:
    """Refuse, without opening it as a database, a file that cannot be a save.

    Reads only the first 100 bytes (the SQLite header), so it never changes the
    file. A file shorter than its header's page count is truncated, unless a
    write-ahead log sits next to it: an interrupted checkpoint legitimately
    leaves the main file short until the log is replayed.

    Raises:
        NotASave: empty, or not an SQLite file at all.
        SaveCorrupt: an SQLite header, but the file was cut short.
    """
    real, path = path, shown or path
    size = real.stat().st_size
    if size == 0:
        raise NotASave(f"{path} is an empty file, not a simengine save.", path)
    with real.open("rb") as fh:
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
    wal = real.with_name(real.name + "-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    if valid_for == change_counter and not has_wal and size < page_count * page_size:
        raise SaveCorrupt(
            f"{path} is truncated ({size} bytes; its header promises "
            f"{page_count * page_size}); restore it from a backup.",
            path,
        )


def db_error(path: Path, err: sqlite3.DatabaseError, real: Path | None = None) -> SaveError:
    """The :class:`SaveError` for SQLite's complaint about a file (``real``: its
    real path, when ``path`` is a symlink).

    Only damage is called damage: a lock held elsewhere, a file or folder that
    cannot be written, a full disk and an I/O error each get their own message.
    """
    text = str(err)
    name = getattr(err, "sqlite_errorname", None) or ""
    said = text if len(text) <= 120 else text[:117] + "..."
    if "not a database" in text or "encrypted" in text or name == "SQLITE_NOTADB":
        return NotASave(f"{path} is not a simengine save (SQLite says: {said}).", path)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "is locked" in text:
        return SaveInUse(
            f"{path} is locked by another process (SQLite says: {said}); "
            "close the program that has it open, then try again.",
            path,
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return SaveReadOnly(
            f"{path} cannot be written: the file, its folder or the disk is read-only. "
            "Reading it works (`simengine saves log`, `saves export`); to play on, copy it "
            "somewhere writable.",
            path,
        )
    if name == "SQLITE_FULL" or "disk is full" in text or (
        (name.startswith("SQLITE_IOERR") or "disk I/O error" in text) and no_room(real or path)
    ):
        return SaveDiskFull(
            f"cannot write to {path}: no room left (the disk is full, or the file reached "
            "the size limit this process runs under); free some space and go on.",
            path,
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open database file" in text:
        return SaveReadOnly(
            f"cannot open {path} and the files SQLite keeps beside it "
            f"({path.name}-wal, {path.name}-shm): is its folder read-only? "
            f"(SQLite says: {said})",
            path,
        )
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        return SaveError(
            f"cannot read or write {path}: the disk reported an error (SQLite says: {said}).",
            path,
        )
    undecodable = re.match(r"Could not decode to UTF-8 column '([^']*)'", text)
    if undecodable:
        return SaveCorrupt(
            f"{path} is damaged: column {undecodable.group(1)!r} holds bytes that are not "
            "text; restore it from a backup.",
            path,
        )
    if "no such column" in text or "no such table" in text:
        return SaveCorrupt(
            f"{path} is damaged: its tables are not a save's (SQLite says: {said}); "
            "restore it from a backup.",
            path,
        )
    if (
        name.startswith(("SQLITE_CORRUPT", "SQLITE_FORMAT", "SQLITE_MISMATCH"))
        or "malformed" in text
        or "corrupt" in text
    ):
        return SaveCorrupt(
            f"{path} is damaged (SQLite says: {said}); restore it from a backup.", path
        )
    return SaveError(f"{path}: SQLite says: {said}", path)


def no_room(path: Path) -> bool:
    """True when a write to ``path`` (or its log) plausibly failed for want of room."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    if resource is not None:
        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        if soft != resource.RLIM_INFINITY:
            for f in files:
                try:
                    # A page and its log header past the limit: the write hit it.
                    if f.stat().st_size + 65_600 > soft:
                        return True
                except OSError:
                    continue
    try:
        return shutil.disk_usage(path.parent).free < 1 << 20
    except OSError:
        return False


def connect(path: Path, *, readonly: bool = False, immutable: bool = False) -> sqlite3.Connection:
    """A connection to ``path``; ``immutable`` reads without locks, WAL or sidecar files.

    A read-only connection that cannot open the files SQLite wants beside a WAL
    save (a read-only folder or disk) reads the file as immutable instead, when
    no log shows a writer at work.
    """
    # A read-only open goes through a mode=ro URI, so SQLite itself refuses writes.
    if readonly or immutable:
        real = path.resolve()
        flags = "mode=ro&immutable=1" if immutable else "mode=ro"
        conn = sqlite3.connect(
            f"file:{quote(str(real))}?{flags}", uri=True, timeout=10, check_same_thread=False
        )
        if immutable:
            return conn
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as err:
            wal = real.with_name(real.name + "-wal")
            if "unable to open" not in str(err) and "readonly" not in str(err):
                conn.close()
                raise
            if wal.exists() and wal.stat().st_size > 0:
                conn.close()
                raise
            conn.close()
            return connect(path, immutable=True)
        return conn
    return sqlite3.connect(str(path), timeout=10, check_same_thread=False)


def validate(path: Path, shown: Path | None = None) -> tuple[dict[str, Any], bool]:
    """Vet a file before any connection that could leave a trace on it.

    Even a read-only SQLite connection creates ``-wal`` and ``-shm`` files next to
    a WAL-mode database, and leaves them behind if the file turns out to be bad.
    So when no writer has the file open (no such sidecars), the check reads it as
    ``immutable``, which touches nothing; otherwise the sidecars already exist.
    """
    shown = shown or path
    idle = not any(path.with_name(path.name + s).exists() for s in ("-wal", "-shm"))
    try:
        conn = connect(path, readonly=True, immutable=idle)
    except sqlite3.DatabaseError as err:
        raise db_error(shown, err) from err
    try:
        meta, pending = read_meta(Database(conn, execute_plugins=False), shown)
        problem = spec_error(meta["spec"])
        if problem:
            raise SaveCorrupt(
                f"{shown} is damaged: its world spec does not validate ({problem}); "
                "restore it from a backup.",
                shown,
            )
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
            meta = _meta_values(db)
        except (ValueError, TypeError, RecursionError) as err:
            reason = "nested too deeply" if isinstance(err, RecursionError) else err
            raise SaveCorrupt(
                f"{path} is damaged: its meta table cannot be read ({reason}); "
                "restore it from a backup.",
                path,
            ) from err
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
        problem = meta_problem(meta)
        if problem is None and "branches" in tables:
            row = db.execute(
                "SELECT 1 FROM branches WHERE name = ?", [meta["current_branch"]]
            ).fetchone()
            if row is None:
                problem = f"its current branch {meta['current_branch']!r} is not among its branches"
        if problem:
            raise SaveCorrupt(f"{path} is damaged: {problem}; restore it from a backup.", path)
    except sqlite3.DatabaseError as err:
        raise db_error(path, err) from err
    except UnicodeDecodeError as err:
        raise undecodable(path) from err
    return meta, version < SCHEMA_VERSION


#: The spec's entity lists: a big world's bulk, left out of what opening a save reads.
SPEC_BULK = ("locations", "characters", "items", "factions", "relations")
#: Meta key: the spec without :data:`SPEC_BULK` (what opening reads), written
#: beside it at creation; a save from before it was kept has it cut from ``spec``.
OUTLINE = "outline"
_OUTLINE = "json_remove(value, " + ", ".join(f"'$.{k}'" for k in SPEC_BULK) + ")"


def _meta_values(db: Database) -> dict[str, Any]:
    """``meta`` decoded, but for its two big values: ``spec`` comes as its outline
    (without :data:`SPEC_BULK`), ``initial`` as ``True`` when it is text (it is read,
    and checked, when a state is built from it, and by the check before a write).
    A world of 100,000 entities keeps tens of megabytes of JSON there that opening
    need not read: cutting the outline from the spec costs SQLite a parse of it all
    (a tenth of a second), so the outline is kept as it is, when there.
    """
    query = (
        "SELECT key, CASE key WHEN 'spec' THEN"
        f" CASE WHEN EXISTS (SELECT 1 FROM meta WHERE key = '{OUTLINE}') THEN 'null'"
        " ELSE {spec} END"
        " WHEN 'initial' THEN CASE typeof(value) WHEN 'text' THEN 'true' ELSE 'null' END"
        " ELSE value END FROM meta"
    )
    try:
        rows = db.execute(query.format(spec=_OUTLINE)).fetchall()
    except sqlite3.OperationalError as err:
        if "JSON" not in str(err):
            raise
        # A spec that is not JSON: read it whole, so json.loads names the fault.
        rows = db.execute(query.format(spec="value")).fetchall()
    meta = {key: json.loads(value) for key, value in rows}
    if "spec" in meta and OUTLINE in meta:
        meta["spec"] = meta[OUTLINE]
    return meta


def undecodable(path: Path) -> SaveCorrupt:
    """The error for text in the file (its schema or a row) that is not UTF-8."""
    return SaveCorrupt(
        f"{path} is damaged: it holds bytes that are not text where text belongs; "
        "restore it from a backup.",
        path,
    )


#: The type of each value the store keeps in ``meta`` (None: may be null).
META_TYPES: dict[str, tuple[type, ...]] = {
    "engine_version": (str,),
    "wire_version": (int,),
    "world_id": (str,),
    "spec": (dict,),
    "snapshot_every": (int,),
    "current_branch": (str,),
    "created_at": (str,),
    "last_played": (str, type(None)),
}
#: Meta keys every save has (older saves may lack the others).
META_REQUIRED = ("spec", "initial", "current_branch")


def meta_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with the store's own ``meta`` values, or None."""
    for key in META_REQUIRED:
        if key not in meta:
            return f"its meta table has no {key!r}"
    for key, types in META_TYPES.items():
        if key not in meta:
            continue
        value = meta[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            return f"meta {key!r} should be {names}, not {type(value).__name__}"
    if meta.get("snapshot_every", 1) < 1:
        return "meta 'snapshot_every' is below 1"
    if meta["initial"] is not True:
        return "the initial state is not JSON text"
    return None


def graph_problem(data: Any, what: str) -> str | None:
    """Why ``data`` is not a state's node-link data (``nodes`` and ``edges``), or None."""
    if not isinstance(data, dict):
        return f"{what} is not a JSON object"
    nodes, edges = data.get("nodes"), data.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        return f"{what} has no list of nodes and edges"
    # Each node and edge is checked as the graph is built (WorldState.from_node_link).
    return None


def spec_error(spec: dict[str, Any]) -> str | None:
    """Why a world spec as kept in ``meta`` (or its outline) does not validate, or None."""
    try:
        WorldSpec.model_validate(spec)
    except ValidationError as err:
        return spec_problem(err)
    return None


def spec_problem(err: ValidationError) -> str:
    """A stored spec's validation error in one line: the first fault, and how many more."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" and {err.error_count() - 1} more" if err.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"
