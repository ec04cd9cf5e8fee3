"""``Save``: one game's memory in one SQLite file.

The file holds the world spec (and its outline, the spec without its entity
lists, which opening reads), every committed event as a tree, named branches
(each a head event), compressed snapshots of the state along a path (at most
one per ``snapshot_every`` events, and only once the ops replayed since the last
one outweigh its stored size: see :func:`snapshot_due`), and a log of every
model call. Nothing is ever deleted: undo moves a branch head back, fork adds a
branch at any event. The initial state (before any event) is kept as node-link
JSON in ``meta.initial``, so replay never depends on how a later simengine
builds a world from its spec.

Crash safety comes from SQLite: WAL mode and one transaction per event (row,
calls, snapshot and branch head together). ``meta.last_played`` is not written per
event but with the next meta values (a session's clock, once a tick) or at close,
so a crash can leave it behind the events' ``created_at``, which are the truth; the
next writable open catches it up. ``synchronous=NORMAL``: a killed
process never loses a committed event (it is in the log), only a power cut or
an operating-system crash can lose the last few. A
writable open also takes the save's write lock (:mod:`simengine.store.lock`);
read-only opens take no lock, write nothing, and work while a game writes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import difflib
import errno
import functools
import json
import os
import re
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

import networkx as nx
import pydantic_core
from pydantic import ValidationError
from sqlite_utils import Database

import simengine
from simengine.store.check import check_before_write, describe_loop, verify
from simengine.store.errors import (
    BadEvent,
    NoSuchBranch,
    NoSuchEvent,
    NotASave,
    SaveCorrupt,
    SaveError,
    SaveExists,
    SaveInUse,
    SaveNotFound,
    SaveReadOnly,
    SaveTooOld,
)
from simengine.store.events import (
    EVENT_KINDS,
    Event,
    call_from_row,
    call_row,
    event_from_row,
    now,
    ops_json,
    parse_ops,
)
from simengine.store.files import (
    ENGINE,
    OUTLINE,
    SPEC_BULK,
    check_header,
    connect,
    db_error,
    graph_problem,
    read_meta,
    spec_problem,
    undecodable,
    validate,
)
from simengine.store.lock import WriteLock
from simengine.store.schema import SCHEMA_VERSION, migrations
from simengine.world.ops import WIRE_VERSION
from simengine.world.spec import WorldSpec
from simengine.world.state import BrokenGraph, StateError, WorldState, bulk
from simengine.world.text import error_message

DEFAULT_SNAPSHOT_EVERY = 50
#: A snapshot is due once the ops replayed since the last one (characters of
#: their JSON) reach this many times that snapshot's stored size: snapshots then
#: stay at most about half of what a path stores, and reaching any event replays
#: about as many bytes of ops as its nearest snapshot holds.
SNAPSHOT_RATIO = 1.0
#: zlib level for snapshots: node-link JSON packs 6-20x; turning it into JSON costs
#: ten times what packing does, so the better level costs next to nothing.
SNAPSHOT_LEVEL = 6
#: A snapshot of a state whose last one packed to more than this many bytes (about
#: 20 ms of work) waits for a quiet moment (:meth:`Save.checkpoint`, run by
#: :meth:`Save.close`) rather than stalling the beat whose event made it due...
SNAPSHOT_INLINE = 32_000
#: ...unless the ops since the last one reach this many times what made it due: a
#: run that never closes still bounds what reopening it replays.
SNAPSHOT_OVERDUE = 4
#: ``fork(at=HEAD)``: fork at the current branch's head.
HEAD: Literal["head"] = "head"
#: Meta keys the store owns; ``set_meta`` refuses them.
RESERVED_META = frozenset(
    {
        "engine",
        "engine_version",
        "schema_version",
        "wire_version",
        "world_id",
        "spec",
        "initial",
        "snapshot_every",
        "current_branch",
        "created_at",
        "closed_clean",
        "initial_packed",
        OUTLINE,
    }
)
#: Meta key: the initial state's size packed as a snapshot (the snapshot cadence's
#: first base), noted at creation so no beat packs a big world to learn it.
INITIAL_PACKED = "initial_packed"
#: Meta key: the file's modification time as this engine left it at its last
#: clean close; a writable open skips the whole-file check while it still holds.
CLEAN_MARK = "closed_clean"
_BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EVENT_COLUMNS = (
    "id, parent_id, depth, tick, actor, kind, intent, summary, ops, narration, storyteller, "
    "created_at"
)
_F = TypeVar("_F", bound=Callable[..., Any])


def _sqlite_errors(method: _F) -> _F:
    """Turn SQLite's complaints about a damaged file into a :class:`SaveError`."""

    @functools.wraps(method)
    def wrapper(self: Save, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise
        except sqlite3.DatabaseError as err:
            raise db_error(self.path, err, self.real) from err
        except UnicodeDecodeError as err:  # sqlite3 decoding a damaged schema
            raise undecodable(self.path) from err

    return wrapper  # type: ignore[return-value]


class Save:
    """An open save file. Use :meth:`create` or :meth:`open`, then :meth:`close` (or ``with``)."""

    def __init__(
        self,
        path: Path,
        db: Database,
        meta: dict[str, Any],
        *,
        readonly: bool,
        lock: WriteLock | None,
    ):
        self.path = path
        #: The file itself (symlinks resolved); SQLite's log files sit beside it.
        self.real = path.resolve()
        self.readonly = readonly
        self._db = db
        self._lock = lock
        # The initial state is kept as its JSON text, read again when needed: parsed
        # (and held for as long as the save is open) a big world's costs ten times more.
        self._meta = {k: v for k, v in meta.items() if k != "initial"}
        #: The world spec without its entity lists (:data:`SPEC_BULK`): the world's
        #: settings, storyteller, story, attributes, player, rules and lore. Play
        #: reads these; :attr:`spec` is the whole file, read when asked for.
        self.settings = WorldSpec.model_validate(meta["spec"])
        self.snapshot_every = int(meta.get("snapshot_every") or DEFAULT_SNAPSHOT_EVERY)
        self.closed = False
        # One remembered state (event id, state), private: callers get copies. It
        # sits at the head after an append, so the next append replays nothing.
        self._cache: tuple[int, WorldState] | None = None
        # (event id, ops characters since its nearest snapshot, that snapshot's
        # stored size) for the snapshot cadence; kept at the head by append.
        self._since: tuple[int | None, int, int] | None = None
        self._initial_packed: int | None = None
        self._branch: str | None = None
        # Branch -> (head event id, its depth; 0 at the initial state), remembered by a
        # writable save, the file's only writer while it holds the lock: a beat then
        # asks the file for neither. Append sets its branch's after its own commit;
        # every other change of a head forgets it, so the next read asks the file.
        self._tips: dict[str, tuple[int | None, int]] = {}
        # The newest event's stamp, owed to meta ``last_played``: written with the next
        # meta values (a session's clock, once a tick) or at close rather than at every
        # append. A crash can leave ``last_played`` that far behind the events'
        # ``created_at``, which stay the truth; the next writable open owes it again.
        self._played: str | None = None if readonly else self._played_behind()

    # ------------------------------------------------------------ lifecycle
    def _played_behind(self) -> str | None:
        """The newest event's stamp, if ``last_played`` is older (a crash left it so)."""
        newest = self._db.conn.execute(
            "SELECT created_at FROM events ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if newest is None or not isinstance(newest[0], str):
            return None
        played = self._meta.get("last_played")
        return newest[0] if not isinstance(played, str) or played < newest[0] else None

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        spec: WorldSpec,
        *,
        branch: str = "main",
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
    ) -> Save:
        """Write a new save for ``spec`` and open it for writing.

        The file is built under a temporary name and linked into place, so a
        crash never leaves a half-made save and an existing file is never replaced.

        Raises:
            SaveExists: there is already a file at ``path``.
        """
        path = Path(path)
        if path.exists():
            raise SaveExists(f"{path} already exists; pick another name or open it.", path)
        if snapshot_every < 1:
            raise ValueError("snapshot_every must be at least 1")
        _check_branch_name(branch)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.creating")
        with bulk():
            state = WorldState.from_spec(spec)
            initial = state.to_json_bytes()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = Database(connect(tmp), execute_plugins=False)
            try:
                # No journal and no syncs while it is built: nothing reads the file until
                # it is whole, synced and linked into place, and a failed build is thrown
                # away, so a log would only write a big world twice. WAL from then on.
                db.execute("PRAGMA journal_mode = OFF")
                db.execute("PRAGMA synchronous = OFF")
                with db.atomic(), bulk(), _packed_size(initial) as packed:
                    migrations.apply(db)
                    stamp, made = now(), time.time_ns()
                    meta = {
                        "engine": ENGINE,
                        "engine_version": simengine.__version__,
                        "schema_version": SCHEMA_VERSION,
                        "wire_version": WIRE_VERSION,
                        "world_id": spec.world.id,
                        "snapshot_every": snapshot_every,
                        "current_branch": branch,
                        "created_at": stamp,
                        "last_played": None,
                        CLEAN_MARK: {"mtime_ns": made},
                    }
                    rows = [{"key": k, "value": json.dumps(v)} for k, v in meta.items()]
                    # The two big values as JSON text straight away (pydantic's own
                    # writer for the spec is several times faster than json.dumps),
                    # and the spec's outline, which opening reads.
                    rows.append({"key": "spec", "value": spec.model_dump_json()})
                    outline = spec.model_dump_json(exclude=set(SPEC_BULK))
                    rows.append({"key": OUTLINE, "value": outline})
                    db["meta"].insert_all(rows)
                    db.execute(  # stored as text, as it always was
                        "INSERT INTO meta (key, value) VALUES ('initial', CAST(? AS TEXT))",
                        [initial],
                    )
                    del initial, rows
                    db["branches"].insert({"name": branch, "head": None, "created_at": stamp})
                    _put_meta(db, INITIAL_PACKED, packed())
                db.enable_wal()
            finally:
                db.close()
            _sync(tmp)
            _stamp_file(tmp, made)  # built here and checked by nothing else: clean
            try:
                os.link(tmp, path)  # fails, rather than overwrites, if path appeared meanwhile
            except FileExistsError as err:
                raise SaveExists(f"{path} already exists; pick another name.", path) from err
            except OSError:  # a filesystem without hard links
                if path.exists():
                    raise SaveExists(f"{path} already exists; pick another name.", path) from None
                os.replace(tmp, path)
        except (OSError, sqlite3.Error) as err:
            raise SaveError(f"cannot create a save at {path}: {err}", path) from err
        finally:
            for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
        save = cls.open(path)
        # The state just stored: the new game plays on it (no second build from its JSON).
        save._cache = (None, state)
        return save

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False) -> Save:
        """Open a save, checking it is one before anything could write to it.

        A writable open locks the file itself (whatever name or symlink leads to
        it), refuses a file with several hard links, and checks the whole file
        (:func:`~simengine.store.check.check_before_write`) before its first write.

        Raises:
            SaveNotFound, NotASave, SaveCorrupt, SaveTooNew, SaveTooOld, SaveInUse,
            SaveLinked, SaveReadOnly, SaveDiskFull, SaveError.
        """
        path = Path(path)
        try:
            if not path.exists():
                raise SaveNotFound(
                    f"no save at {path}; `simengine saves list` shows the saves there are.", path
                )
            real = path.resolve()
            if not real.is_file():
                what = "a directory" if real.is_dir() else "not a regular file"
                raise NotASave(f"{path} is {what}, not a save file.", path)
            check_header(real, path)
            meta, pending = validate(real, path)
        except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop
            raise _os_error(path, err) from err
        if readonly:
            if pending:
                raise SaveTooOld(
                    f"{path} was written by an older simengine (save schema "
                    f"{meta['schema_version']}); open it once for writing to upgrade it.",
                    path,
                )
            try:
                db = Database(connect(real, readonly=True), execute_plugins=False)
            except sqlite3.DatabaseError as err:
                raise db_error(path, err, real) from err
            except UnicodeDecodeError as err:
                raise undecodable(path) from err
            return cls(path, db, meta, readonly=True, lock=None)
        lock = WriteLock.acquire(real, path)
        db = None
        try:
            unchanged = closed_clean(real, meta)  # before SQLite's log files appear
            db = Database(connect(real), execute_plugins=False)
            if not lock.same_file(real):
                raise SaveInUse(f"{path} was replaced while it was being opened; try again.", path)
            if not unchanged:
                check_before_write(db.conn, path)
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = NORMAL")
            db.enable_wal()
            if pending:
                with db.atomic(), bulk():
                    migrations.apply(db)
                    _put_meta(db, "schema_version", SCHEMA_VERSION)
                meta, _ = read_meta(db, path)
        except BaseException as err:
            with contextlib.suppress(sqlite3.Error):
                if db is not None:
                    db.close()
            lock.release()  # after SQLite's connection, never before
            if isinstance(err, sqlite3.DatabaseError):
                raise db_error(path, err, real) from err
            if isinstance(err, UnicodeDecodeError):
                raise undecodable(path) from err
            if isinstance(err, OSError):
                raise _os_error(path, err) from err
            raise
        return cls(path, db, meta, readonly=False, lock=lock)

    @functools.cached_property
    def spec(self) -> WorldSpec:
        """The whole world spec the save was made from (read and validated on first
        use: a big world's runs to hundreds of megabytes as models).

        Raises:
            SaveCorrupt: the stored spec is unreadable or no longer validates.
        """
        row = self._db.execute("SELECT value FROM meta WHERE key = 'spec'").fetchone()
        try:
            return WorldSpec.model_validate(json.loads(row[0]))
        except ValidationError as err:
            problem = spec_problem(err)
        except (ValueError, TypeError, RecursionError):
            problem = "it is not JSON"
        raise SaveCorrupt(
            f"{self.path} is damaged: its world spec does not validate ({problem}); "
            "restore it from a backup.",
            self.path,
        )

    def close(self) -> None:
        """Close the file and let go of the write lock (idempotent). Later calls on
        this object fail with sqlite3's "Cannot operate on a closed database".

        The lock is let go and the object marked closed even when SQLite's close
        fails (a full disk can fail the final checkpoint); the committed events
        are in the file or its log either way, and the error is raised after.
        """
        failure: sqlite3.Error | None = None
        if not self.closed:
            if not self.readonly:
                with contextlib.suppress(SaveError):  # a snapshot only saves time later
                    self.checkpoint()
            self.closed = True
            stamp = self._mark_clean() if not self.readonly else None
            try:
                self._db.close()
            except sqlite3.Error as err:
                failure = err
            if stamp is not None and failure is None:
                _stamp_file(self.real, stamp)
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self._cache = None
        self._since = None
        self._tips.clear()
        if failure is not None:
            raise db_error(self.path, failure, self.real) from failure

    @_sqlite_errors
    def checkpoint(self) -> bool:
        """Write the snapshot a big state's beats left for a quiet moment, if one is
        due (see :func:`snapshot_waits`): at the head the last append reached.
        :meth:`close` runs it; a game may run it while it waits for the player.
        Returns whether one was written."""
        since, cached = self._since, self._cache
        if self.readonly or since is None or cached is None or cached[0] != since[0]:
            return False
        event_id, replayed, base = since
        if event_id is None or not snapshot_waits(replayed, base):
            return False
        packed = pack_state(cached[1])
        with self._db.atomic():
            self._db.execute(
                "INSERT OR IGNORE INTO snapshots (event_id, state) VALUES (?, ?)",
                [event_id, packed],
            )
        self._since = (event_id, 0, len(packed))
        return True

    def _mark_clean(self) -> int | None:
        """Note in ``meta`` the modification time the file will be given once
        closed (see :func:`closed_clean`), and the ``last_played`` stamp still owed;
        None when that cannot be written."""
        stamp = time.time_ns()
        try:
            with self._db.atomic():
                self._put_played()
                _put_meta(self._db, CLEAN_MARK, {"mtime_ns": stamp})
        except sqlite3.Error:
            return None  # the next open checks the whole file, as it would anyway
        return stamp

    def __enter__(self) -> Save:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.readonly else "writable"
        return f"<Save {self.path} world={self.settings.world.id} {mode}>"

    @contextlib.contextmanager
    def reading(self) -> Iterator[Save]:
        """Several reads that see one moment of the save (one read transaction),
        even while another process appends."""
        try:
            with self._db.atomic():
                yield self
        except sqlite3.DatabaseError as err:  # beginning or ending the transaction
            raise db_error(self.path, err, self.real) from err

    @property
    def db(self) -> Database:
        """The sqlite-utils Database (for tests and tools; writes belong to this class:
        a writable save does not see a branch head changed through it)."""
        return self._db

    # ------------------------------------------------------------------ meta
    @_sqlite_errors
    def get_meta(self, key: str, default: Any = None) -> Any:
        """A value from ``meta`` (JSON-decoded), or ``default``."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return default if row is None else json.loads(row[0])

    @_sqlite_errors
    def metas(self, prefix: str) -> dict[str, Any]:
        """Every ``meta`` value whose key starts with ``prefix`` (JSON-decoded), by the
        rest of its key."""
        rows = self._db.execute(  # a range of the key index, not a scan of every row
            "SELECT key, value FROM meta WHERE key >= ? AND key < ?",
            [prefix, prefix + "\U0010ffff"]).fetchall()
        return {key[len(prefix):]: json.loads(value) for key, value in rows
                if key.startswith(prefix)}

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON-able value in ``meta`` (sessions keep metrics there)."""
        self.set_metas({key: value})

    @_sqlite_errors
    def set_metas(self, values: dict[str, Any]) -> None:
        """Store several JSON-able values in ``meta``, in one transaction."""
        self._writable()
        taken = RESERVED_META.intersection(values)
        if taken:
            raise ValueError(f"meta key {sorted(taken)[0]!r} belongs to the store")
        with self._db.atomic():
            self._put_played()  # first: a value given for it wins
            for key, value in values.items():
                _put_meta(self._db, key, value)
        self._played = None

    def _put_played(self) -> None:
        """Write the stamp owed to ``last_played`` (see ``_played``), in the caller's
        transaction; the caller forgets it once that commits."""
        if self._played is not None:
            _put_meta(self._db, "last_played", self._played)

    @property
    def schema_version(self) -> int:
        return int(self._meta["schema_version"])

    @property
    def current_branch(self) -> str:
        """The branch play continues on (kept in ``meta``, so it survives reopening)."""
        if self.readonly:  # a writer elsewhere may switch it
            return self.get_meta("current_branch")
        if self._branch is None:  # only this object writes it while it holds the lock
            self._branch = self.get_meta("current_branch")
        return self._branch

    # -------------------------------------------------------------- branches
    @_sqlite_errors
    def branches(self) -> dict[str, int | None]:
        """Every branch and its head event id (None: still at the initial state)."""
        rows = self._db.execute("SELECT name, head FROM branches ORDER BY created_at, name")
        return {name: head for name, head in rows}

    def head(self, branch: str | None = None) -> int | None:
        """The head event id of ``branch`` (default: the current branch)."""
        return self._tip(branch or self.current_branch)[0]

    @_sqlite_errors
    def _tip(self, name: str) -> tuple[int | None, int | None]:
        """(head event id, its depth) of branch ``name``: 0 deep at the initial state,
        None for a head that names no event (a damaged file). Read from the file,
        unless a writable save remembers it (see ``_tips``)."""
        known = self._tips.get(name)
        if known is not None:
            return known
        row = self._db.conn.execute(  # one row, not every branch
            "SELECT b.head, e.depth FROM branches b LEFT JOIN events e ON e.id = b.head"
            " WHERE b.name = ?",
            [name],
        ).fetchone()
        if row is None:
            heads = self.branches()
            if name in heads:  # made meanwhile by the process that writes (read-only)
                return self._tip(name)
            close = difflib.get_close_matches(name, list(heads), n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise NoSuchBranch(
                f"{self.path} has no branch {name!r} (it has: {', '.join(heads)}).{hint}",
                self.path,
            )
        head, depth = row[0], 0 if row[0] is None else row[1]
        # Not inside a transaction: one that rolls back would leave a head that never was.
        if not self.readonly and depth is not None and not self._db.conn.in_transaction:
            self._tips[name] = (head, depth)
        return head, depth

    @_sqlite_errors
    def fork(self, name: str, at: int | None | Literal["head"] = HEAD) -> int | None:
        """Start branch ``name`` at event ``at`` (None: the initial state; default:
        the current head). Does not switch to it. Returns the new branch's head."""
        self._writable()
        _check_branch_name(name)
        point = self.head() if at == HEAD else at
        if point is not None:
            self.event(point)  # raises NoSuchEvent
        with self._db.atomic():
            if name in self.branches():
                raise SaveError(f"{self.path} already has a branch {name!r}.", self.path)
            self._db["branches"].insert({"name": name, "head": point, "created_at": now()})
        return point

    @_sqlite_errors
    def switch(self, name: str) -> None:
        """Make ``name`` the current branch."""
        self._writable()
        self.head(name)  # raises NoSuchBranch
        self._branch = None
        with self._db.atomic():
            _put_meta(self._db, "current_branch", name)

    @_sqlite_errors
    def undo(self, n: int = 1, branch: str | None = None) -> int | None:
        """Move a branch head ``n`` events back; nothing is deleted. Returns the new head."""
        self._writable()
        if n < 0:
            raise ValueError("cannot undo a negative number of events")
        name = branch or self.current_branch
        head = self.head(name)
        if n == 0:
            return head
        depth = self.event(head).depth if head is not None else 0
        if n > depth:
            raise SaveError(
                f"branch {name!r} of {self.path} has only {depth} event(s); cannot undo {n}.",
                self.path,
            )
        chain = self._chain(head, limit=n + 1)
        target = chain[n]["id"] if n < len(chain) else None
        self.move_head(target, name)
        return target

    @_sqlite_errors
    def move_head(self, event_id: int | None, branch: str | None = None) -> None:
        """Point a branch's head (default: the current branch's) at ``event_id`` (None:
        the initial state); the tree is untouched. Undo moves a head back, a session's
        redo forward again."""
        self._writable()
        name = branch or self.current_branch
        self.head(name)  # raises NoSuchBranch
        self._tips.pop(name, None)  # read again from the file, whatever comes of this
        with self._db.atomic():
            self._db.execute("UPDATE branches SET head = ? WHERE name = ?", [event_id, name])

    # ---------------------------------------------------------------- events
    @_sqlite_errors
    def event(self, event_id: int) -> Event:
        """One event by id."""
        row = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", [event_id]
        ).fetchone()
        if row is None:
            raise NoSuchEvent(f"{self.path} has no event #{event_id}.", self.path)
        return event_from_row(dict(zip(_EVENT_COLUMNS.split(", "), row, strict=True)), self.path)

    @_sqlite_errors
    def events(self) -> list[Event]:
        """Every event of every branch, oldest first."""
        return [
            event_from_row(row, self.path)
            for row in self._db.query(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY id")
        ]

    @_sqlite_errors
    def event_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM events").fetchone()[0]

    @_sqlite_errors
    def log(self, branch: str | None = None, *, limit: int | None = None) -> list[Event]:
        """The events from the initial state to a branch's head, oldest first
        (only the last ``limit`` when given)."""
        head = self.head(branch)
        if head is None or limit == 0:
            return []
        return [event_from_row(row, self.path) for row in reversed(self._chain(head, limit))]

    @_sqlite_errors
    def append(
        self,
        *,
        tick: int,
        kind: str,
        ops: Iterable[Any] = (),
        actor: str | None = None,
        intent: str = "",
        summary: str = "",
        narration: str = "",
        storyteller: str = "",
        calls: Iterable[Any] = (),
        branch: str | None = None,
        refusal: dict[str, Any] | None = None,
    ) -> Event:
        """Commit one event (and its model calls) to a branch, in one transaction.

        The event's ops are replayed on the state at the branch head before the
        commit, so a save only ever holds events it can replay.

        Raises:
            BadEvent: an invalid field or call, or ops that do not apply.
        """
        self._writable()
        if kind not in EVENT_KINDS:
            raise BadEvent(f"event kind must be one of {', '.join(EVENT_KINDS)}, not {kind!r}")
        if isinstance(tick, bool) or not isinstance(tick, int) or tick < 0:
            raise BadEvent(f"event tick must be a whole number >= 0, not {tick!r}")
        parsed = parse_ops(ops)
        name = branch or self.current_branch
        rows = [call_row(c, None) for c in calls]  # validated before anything is written
        stamp = now()
        ops_text = ops_json(parsed)
        conn = self._db.conn  # the store's own statements, in its own transaction
        outermost = not conn.in_transaction
        try:
            with self._db.atomic():
                parent, depth = self._tip(name)
                if depth is None:
                    raise NoSuchEvent(f"{self.path} has no event #{parent}.", self.path)
                depth += 1
                state = self._state(parent, mutable=True)
                cur = conn.execute(
                    "INSERT INTO events (parent_id, depth, tick, actor, kind, intent, summary,"
                    " ops, narration, storyteller, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        parent,
                        depth,
                        tick,
                        actor,
                        kind,
                        intent,
                        summary,
                        ops_text,
                        narration,
                        storyteller,
                        stamp,
                    ],
                )
                event_id = cur.lastrowid
                try:
                    state.apply(parsed, tick=tick, event_id=event_id)
                except StateError as err:
                    raise BadEvent(
                        f"the event's ops do not apply at the head of {name!r}: {err}"
                    ) from err
                since = self._since if self._since and self._since[0] == parent else None
                _, replayed, base = since or (None, *self.replay_bytes(parent))
                replayed += len(ops_text)
                if snapshot_due(depth, self.snapshot_every, replayed, base):
                    packed = pack_state(state)
                    conn.execute(
                        "INSERT INTO snapshots (event_id, state) VALUES (?, ?)", [event_id, packed]
                    )
                    replayed, base = 0, len(packed)
                if rows:
                    _insert(self._db, "calls", [{**r, "event_id": event_id} for r in rows])
                if refusal:
                    _insert(self._db, "refusals", [{"event_id": event_id, **_refusal_row(refusal)}])
                conn.execute("UPDATE branches SET head = ? WHERE name = ?", [event_id, name])
        except BaseException:
            self._cache = None  # the remembered state may hold the ops of a rolled-back event
            self._since = None
            raise
        self._cache = (event_id, state)
        self._since = (event_id, replayed, base)
        if outermost:  # committed: the head is the file's, and last_played is owed
            self._tips[name] = (event_id, depth)
            self._played = stamp
        else:  # an enclosing transaction may yet roll it back
            self._tips.pop(name, None)
        return Event(
            id=event_id,
            parent_id=parent,
            depth=depth,
            tick=tick,
            actor=actor,
            kind=kind,
            intent=intent,
            summary=summary,
            ops=parsed,
            narration=narration,
            storyteller=storyteller,
            created_at=stamp,
        )

    @_sqlite_errors
    def set_narration(self, event_id: int, narration: str, calls: Iterable[Any] = (),
                      drift: dict[str, Any] | None = None) -> None:
        """Fill in an event's narration (written after the commit) and log its calls;
        ``drift`` (``outcome``, ``attempts``) keeps a narration that told what did not happen."""
        self._writable()
        rows = [call_row(c, event_id) for c in calls]
        with self._db.atomic():
            told = self._db.conn.execute(
                "UPDATE events SET narration = ? WHERE id = ?", [narration, event_id]
            )
            if not told.rowcount:  # rolls back, so nothing else is written
                raise NoSuchEvent(f"{self.path} has no event #{event_id}.", self.path)
            if rows:
                _insert(self._db, "calls", rows)
            if drift:
                self._db["drifts"].insert({
                    "event_id": event_id, "outcome": str(drift.get("outcome") or ""),
                    "attempts": json.dumps(drift.get("attempts") or [], ensure_ascii=False)},
                    replace=True)

    @_sqlite_errors
    def drifts(self, event_id: int | None = None) -> list[dict[str, Any]]:
        """Narrations that drifted (all, or one event's): event_id, outcome, attempts."""
        return [{**r, "attempts": json.loads(r["attempts"] or "[]")}
                for r in self._by_event("drifts", event_id)]

    @_sqlite_errors
    def record_calls(self, calls: Iterable[Any], event_id: int | None = None) -> None:
        """Log model calls that belong to no committed event (or to ``event_id``)."""
        self._writable()
        if event_id is not None:
            self.event(event_id)
        rows = [call_row(c, event_id) for c in calls]
        if rows:
            with self._db.atomic():
                _insert(self._db, "calls", rows)

    @_sqlite_errors
    def calls(self, event_id: int | None = None) -> list[dict[str, Any]]:
        """Logged model calls (all, or one event's), JSON columns decoded."""
        if event_id is None:
            rows = self._db.query("SELECT * FROM calls ORDER BY id")
        else:
            rows = self._db.query("SELECT * FROM calls WHERE event_id = ? ORDER BY id", [event_id])
        return [call_from_row(r) for r in rows]

    @_sqlite_errors
    def refusals(self, event_id: int | None = None) -> list[dict[str, Any]]:
        """Refused player attempts (all, or one event's): attempt, rules, messages, told."""
        return [{**r, **{k: json.loads(r[k] or "[]") for k in ("rules", "messages", "told")}}
                for r in self._by_event("refusals", event_id)]

    def _by_event(self, table: str, event_id: int | None) -> list[dict[str, Any]]:
        """Rows of a table kept beside events (all, or one event's); none in a read-only
        save from before the table was kept."""
        if table not in self._db.table_names():
            return []
        where, args = ("WHERE event_id = ?", [event_id]) if event_id is not None else ("", [])
        return list(self._db.query(f"SELECT * FROM {table} {where} ORDER BY event_id", args))

    # ----------------------------------------------------------------- state
    @_sqlite_errors
    def initial_state(self) -> WorldState:
        """The world before any event."""
        # Read from the file each time: a big world's text is tens of megabytes to hold,
        # and parsing it again is several times faster than deep-copying a state.
        return self._graph(self._initial_json(), "the initial state")

    def _initial_json(self) -> bytes:
        """The initial state's JSON as stored, in UTF-8: as text, a big world's would
        take up to four bytes a character in memory once it holds one beyond Latin-1."""
        row = self._db.execute(
            "SELECT CAST(value AS BLOB) FROM meta WHERE key = 'initial'"
        ).fetchone()
        if row is None:
            raise SaveCorrupt(f"{self.path} has lost its initial state.", self.path)
        return row[0]

    @_sqlite_errors
    def state_at(self, event_id: int | None, *, use_snapshots: bool = True) -> WorldState:
        """The world right after ``event_id`` (None: the initial state).

        Loads the nearest snapshot on the way back to the root and replays the
        ops after it, so the cost is bounded by ``snapshot_every``. The caller
        owns the returned state. ``use_snapshots=False`` replays from the
        initial state (for checks).
        """
        if not use_snapshots:
            state = self.initial_state()
            if event_id is not None:
                self._replay(state, self._chain(event_id))
            return state
        return self._state(event_id, mutable=False)

    def state(self, branch: str | None = None) -> WorldState:
        """The world at a branch's head (default: the current branch)."""
        return self.state_at(self.head(branch))

    @_sqlite_errors
    def live_state(self, branch: str | None = None) -> WorldState:
        """The state at a branch's head, shared, not copied: appends to that branch
        advance it in place. Read it; never change it (a session plays on it)."""
        head = self.head(branch)
        cached = self._cache
        if cached is None or cached[0] != head:
            state = self._state(head, mutable=True)
            self._cache = (head, state)
        return self._cache[1]

    def _state(self, event_id: int | None, *, mutable: bool) -> WorldState:
        """The state after ``event_id``; ``mutable=True`` hands out the remembered
        state itself (append advances it), otherwise the caller gets a copy."""
        cached = self._cache
        if event_id is None:
            if cached is not None and cached[0] is None:
                if not mutable:
                    return cached[1].copy()
                self._cache = None
                return cached[1]
            return self.initial_state()
        if cached is not None and cached[0] == event_id:
            if not mutable:
                return cached[1].copy()
            self._cache = None
            return cached[1]
        chain = self._chain(event_id, stop=cached[0] if cached else None, snapshots=True)
        oldest = chain[-1]
        if cached is not None and oldest["id"] == cached[0]:
            if mutable:
                # Walk on from the remembered state; it stops being remembered
                # meanwhile, so a failed replay cannot leave it half-advanced.
                self._cache = None
                state = cached[1]
            else:
                state = cached[1].copy()  # it may be a session's live state: leave it be
            chain = chain[:-1]
        elif oldest["has_snapshot"]:
            snapshot = self.snapshot(oldest["id"])
            assert snapshot is not None  # snapshots are never deleted
            state, chain = snapshot, chain[:-1]
        else:
            state = self.initial_state()
        self._replay(state, chain)
        if mutable:
            return state
        if self._cache is None:
            self._cache = (event_id, state)
            return state.copy()
        return state  # a copy already: the live state stays remembered

    def _replay(self, state: WorldState, chain: list[dict[str, Any]]) -> None:
        """Apply the ops of ``chain`` (newest first, as :meth:`_chain` gives it) in order."""
        for row in reversed(chain):
            event = event_from_row(row, self.path)
            try:
                state.apply(event.ops, tick=event.tick, event_id=event.id)
            except StateError as err:
                raise SaveCorrupt(
                    f"event #{event.id} in {self.path} does not replay ({err}); "
                    "the save is damaged.",
                    self.path,
                ) from err

    def _chain(
        self,
        event_id: int,
        limit: int | None = None,
        *,
        stop: int | None = None,
        snapshots: bool = False,
    ) -> list[dict[str, Any]]:
        """Event rows from ``event_id`` back towards the root, newest first.

        The walk ends at the root, after ``limit`` rows, at the ``stop`` event,
        or (with ``snapshots``) at the first event that has a snapshot, so the
        nearest snapshot costs at most ``snapshot_every`` rows to find.

        A parent is always older than its child, so the walk only steps to
        smaller ids: it ends even on a damaged tree whose parents loop, and a
        link it cannot follow is reported.

        Raises:
            NoSuchEvent: no event ``event_id``.
            SaveCorrupt: the chain loops or hangs off a missing event.
        """
        rows = list(
            self._db.query(
                """
                WITH RECURSIVE chain(id, parent_id, n, has_snapshot) AS (
                    SELECT e.id, e.parent_id, 1,
                           EXISTS (SELECT 1 FROM snapshots s WHERE s.event_id = e.id)
                    FROM events e WHERE e.id = :id
                    UNION ALL
                    SELECT e.id, e.parent_id, c.n + 1,
                           EXISTS (SELECT 1 FROM snapshots s WHERE s.event_id = e.id)
                    FROM events e JOIN chain c ON e.id = c.parent_id
                    WHERE e.id < c.id
                      AND (:limit IS NULL OR c.n < :limit)
                      AND NOT (:snapshots AND c.has_snapshot)
                      AND c.id IS NOT :stop
                )
                SELECT e.*, c.n, c.has_snapshot FROM chain c JOIN events e ON e.id = c.id
                ORDER BY c.n
                """,
                {"id": event_id, "limit": limit, "stop": stop, "snapshots": int(snapshots)},
            )
        )
        if not rows:
            raise NoSuchEvent(f"{self.path} has no event #{event_id}.", self.path)
        oldest = rows[-1]
        ended = (
            oldest["parent_id"] is None
            or (limit is not None and len(rows) >= limit)
            or (stop is not None and oldest["id"] == stop)
            or (snapshots and oldest["has_snapshot"])
        )
        if not ended:
            parent = oldest["parent_id"]
            if isinstance(parent, int) and parent >= oldest["id"]:
                what = describe_loop(self._db.conn, oldest["id"])
            else:
                what = f"hangs off missing event #{parent}"
            raise SaveCorrupt(
                f"{self.path} is damaged: event #{oldest['id']} {what}; restore it from a "
                "backup.",
                self.path,
            )
        return rows

    # ---------------------------------------------------------------- checks
    @_sqlite_errors
    def snapshot(self, event_id: int) -> WorldState | None:
        """The stored snapshot after ``event_id``, if one was taken there."""
        row = self._db.execute(
            "SELECT state FROM snapshots WHERE event_id = ?", [event_id]
        ).fetchone()
        if row is None:
            return None
        # A BLOB is packed; older saves hold plain JSON text.
        return self._graph(row[0], f"the snapshot of event #{event_id}",
                           packed=isinstance(row[0], bytes))

    @_sqlite_errors
    def replay_bytes(self, event_id: int | None) -> tuple[int, int]:
        """(characters of ops JSON after the nearest snapshot up to and including
        ``event_id``, that snapshot's stored size); the initial state counts as a
        snapshot, sized as if packed. What :func:`snapshot_due` weighs."""
        if event_id is None:
            return 0, self._initial_size()
        row = self._db.execute(
            """
            WITH RECURSIVE chain(id, parent_id, snap) AS (
                SELECT e.id, e.parent_id,
                       EXISTS (SELECT 1 FROM snapshots s WHERE s.event_id = e.id)
                FROM events e WHERE e.id = :id
                UNION ALL
                SELECT e.id, e.parent_id,
                       EXISTS (SELECT 1 FROM snapshots s WHERE s.event_id = e.id)
                FROM events e JOIN chain c ON e.id = c.parent_id
                WHERE e.id < c.id AND NOT c.snap
            )
            SELECT coalesce(sum(CASE WHEN c.snap THEN 0 ELSE length(e.ops) END), 0),
                   (SELECT length(s.state) FROM chain c2 JOIN snapshots s
                      ON s.event_id = c2.id WHERE c2.snap)
            FROM chain c JOIN events e ON e.id = c.id
            """,
            {"id": event_id},
        ).fetchone()
        replayed, base = row
        return int(replayed), int(base) if base is not None else self._initial_size()

    def _initial_size(self) -> int:
        """What the initial state would take as a snapshot (packed once per open)."""
        if self._initial_packed is None:
            known = self._meta.get(INITIAL_PACKED)
            if not isinstance(known, int):  # a save from before it was noted at creation
                # The stored text packs like the state's own JSON, without rebuilding it.
                known = len(_pack(self._initial_json()))
            self._initial_packed = known
        return self._initial_packed

    def _graph(self, stored: str | bytes, what: str, *, packed: bool = False) -> WorldState:
        """A state from stored node-link JSON (text or UTF-8 bytes; zlib-packed bytes
        when ``packed``); damage is a :class:`SaveCorrupt`."""
        try:
            with bulk():
                text = zlib.decompress(stored) if packed else stored
                del stored  # the caller's text, read for this: gone before the build
                data, shared = _parse(text)
                del text
                problem = graph_problem(data, what)
                if problem is None:
                    return WorldState.from_node_link(data, copy=False, shared=shared)
        except BrokenGraph as err:
            problem = f"{what} {err}"
        except (
            ValueError, TypeError, KeyError, RecursionError, zlib.error, nx.NetworkXError
        ) as err:
            problem = f"{what} cannot be read ({type(err).__name__})"
        raise SaveCorrupt(
            f"{self.path} is damaged: {problem}; restore it from a backup.", self.path
        )

    @_sqlite_errors
    def verify(self) -> list[str]:
        """Problems a full check finds (see :func:`simengine.store.check.verify`);
        an empty list means the save is sound. Linear in the save's size."""
        return verify(self)

    def _writable(self) -> None:
        if self.readonly:
            raise SaveReadOnly(
                f"{self.path} is open read-only; open it without --readonly to change it.",
                self.path,
            )


# -------------------------------------------------------------------- helpers
def snapshot_due(depth: int, every: int, replayed: int, base: int) -> bool:
    """Whether the event at ``depth`` gets a snapshot with it: at most one every
    ``every`` events of a path, and only once ``replayed`` (characters of ops JSON
    since the nearest snapshot, this event's included) reaches
    :data:`SNAPSHOT_RATIO` times ``base`` (that snapshot's stored size).

    So the snapshots of a big world, which cost far more than a few events to
    store, come as rarely as their size asks, and a save grows with its story.
    A big one (``base`` over :data:`SNAPSHOT_INLINE`) waits for
    :meth:`Save.checkpoint` (see :func:`snapshot_waits`) unless long overdue.
    """
    if depth % every or replayed < SNAPSHOT_RATIO * base:
        return False
    return base <= SNAPSHOT_INLINE or replayed >= SNAPSHOT_OVERDUE * SNAPSHOT_RATIO * base


def snapshot_waits(replayed: int, base: int) -> bool:
    """Whether a big state's snapshot is due but was left to a quiet moment."""
    return base > SNAPSHOT_INLINE and replayed >= SNAPSHOT_RATIO * base


def pack_state(state: WorldState) -> bytes:
    """A snapshot as stored: zlib-packed node-link JSON (older saves hold plain
    JSON text; a BLOB is the marker that tells them apart)."""
    return _pack(state.to_json_bytes())


def _parse(text: str | bytes) -> tuple[Any, bool]:
    """Stored JSON, parsed as ``json.loads`` parses it, and whether each string that
    recurs (kinds, descriptions, relations) is one object, not one per mention.
    pydantic's parser makes them so, a little faster, and a 100,000-entity state's
    text parses into 60 MB less; it refuses a lone surrogate escape, which Python's
    own writer lets through, and ``json.loads`` reads such text."""
    try:
        return pydantic_core.from_json(text, cache_strings=True), True
    except ValueError:
        return json.loads(text), False


def _pack(text: str | bytes) -> bytes:
    return zlib.compress(text.encode("utf-8") if isinstance(text, str) else text, SNAPSHOT_LEVEL)


@contextlib.contextmanager
def _packed_size(text: bytes) -> Iterator[Callable[[], int]]:
    """What ``text`` packs to (``len(_pack(text))``), packed in a thread meanwhile:
    zlib lets go of the interpreter while it packs, so a new save's initial state
    (a third of a second at 100,000 entities) packs while SQLite writes the file.
    Yields the function that waits for the answer."""
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="simengine-pack") as pool:
        size = pool.submit(lambda: len(_pack(text)))
        yield size.result


def _sync(path: Path) -> None:
    """Flush a file to the disk (before a name makes it a save)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def closed_clean(real: Path, meta: dict[str, Any]) -> bool:
    """Whether the file is exactly as a clean close of this engine left it, so the
    check before writing can be skipped: its modification time is the one that
    close wrote into ``meta`` and then gave the file, and no write-ahead log or
    journal sits beside it. Any write since (SQLite, an editor, a flipped byte)
    moves the modification time; the file is then checked in full.
    """
    mark = meta.get(CLEAN_MARK)
    if not isinstance(mark, dict) or not isinstance(mark.get("mtime_ns"), int):
        return False
    try:
        if real.stat().st_mtime_ns != mark["mtime_ns"]:
            return False
        for suffix in ("-wal", "-journal"):
            side = real.with_name(real.name + suffix)
            if side.exists() and side.stat().st_size > 0:
                return False
    except OSError:
        return False
    return True


def _stamp_file(real: Path, stamp: int) -> None:
    """Give the closed file the modification time its clean mark names."""
    if real.with_name(real.name + "-wal").exists():
        return  # another connection still has it open: no clean mark to honour
    with contextlib.suppress(OSError):  # not the owner: the next open checks in full
        os.utime(real, ns=(stamp, stamp))


def _refusal_row(refusal: dict[str, Any]) -> dict[str, Any]:
    """A ``refusals`` row (without its event id) from what a session refused."""
    return {
        "attempt": str(refusal.get("attempt") or ""),
        "rules": json.dumps([str(r) for r in refusal.get("rules", [])], ensure_ascii=False),
        "messages": json.dumps([str(m) for m in refusal.get("messages", [])], ensure_ascii=False),
        "told": json.dumps([str(t) for t in refusal.get("told", [])], ensure_ascii=False),
    }


def _insert(db: Database, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows of one shape into one of the store's own tables: a plain INSERT, where
    sqlite-utils' ``insert_all`` first looks the table over (a dozen queries a beat)."""
    columns = list(rows[0])
    db.conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [[r[c] for c in columns] for r in rows],
    )


def _put_meta(db: Database, key: str, value: Any) -> None:
    """Set one ``meta`` value, inside the caller's transaction."""
    db.conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, json.dumps(value)],
    )


def _check_branch_name(name: str) -> None:
    if not isinstance(name, str) or not _BRANCH.match(name):
        raise SaveError(
            f"{name!r} is not a usable branch name: use letters, digits, '-', '_' or '.'"
        )


def _os_error(path: Path, err: OSError | RuntimeError) -> SaveError:
    """A :class:`SaveError` for the operating system's refusal to let a save be read."""
    if isinstance(err, RuntimeError) or getattr(err, "errno", None) == errno.ELOOP:
        return NotASave(f"{path} is a loop of symlinks, not a save file.", path)
    if err.errno in (errno.EACCES, errno.EPERM):
        return SaveReadOnly(f"cannot read {path}: permission denied.", path)
    return SaveError(f"cannot read {path}: {error_message(err)}.", path)
