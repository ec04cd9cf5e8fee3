"""One writer per save: an exclusive ``flock`` on the save file itself.

SQLite's own locks only last a transaction; two games writing one save in turn
would each append to a head the other keeps moving. So a writable open takes
``flock(LOCK_EX | LOCK_NB)`` on the database file and holds it until close.

The lock belongs to the file, not to a name: ``flock`` locks the inode, so a
second writer is refused whether it comes through the same path, a symlink or a
hard link. A save with more than one hard link is refused anyway, because
SQLite keeps its write-ahead log next to the *name* it opened: two names would
mean two logs for one database. No side file is written, so nothing is left
beside the save after quitting, and the kernel drops the lock when the process
dies, SIGKILL included.

``flock`` and SQLite's POSIX byte-range locks do not interact on local disks.
The descriptor holding the lock is opened before SQLite's connection and
closed after it, so closing it never drops a lock SQLite still relies on.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from simengine.store.errors import SaveError, SaveInUse, SaveLinked, SaveReadOnly
from simengine.world.text import error_message

try:  # pragma: no cover - platform switch
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; saves are then unlocked
    fcntl = None  # type: ignore[assignment]

#: Where older simengines kept their lock (``SAVE.lock``); honoured, then tidied away.
LEGACY_SUFFIX = ".lock"


def lock_path(save: Path) -> Path:
    """The side lock file older simengines wrote next to a save."""
    return save.with_name(save.name + LEGACY_SUFFIX)


class WriteLock:
    """The held lock of one writable open; :meth:`release` it on close.

    ``fd`` is an open descriptor of the save file itself; ``stat`` its identity
    (device and inode) when the lock was taken.
    """

    def __init__(self, fd: int, path: Path):
        self._fd: int | None = fd
        self.path = path
        self.stat = os.fstat(fd)

    @classmethod
    def acquire(cls, save: Path, shown: Path | None = None) -> WriteLock:
        """Lock the file at ``save`` (its real path) for writing, or say why not.

        Args:
            save: the save's real path (symlinks resolved).
            shown: the path to name in messages (default: ``save``).

        Raises:
            SaveReadOnly: the file cannot be opened for writing.
            SaveLinked: the file has more than one hard link.
            SaveInUse: another writer holds the lock.
        """
        shown = shown or save
        try:
            fd = os.open(save, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except OSError as err:
            if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise SaveReadOnly(
                    f"{shown} is read-only ({error_message(err)}); reading it works "
                    "(`simengine saves log`, `saves export`); to play on, copy it somewhere "
                    "writable or change its permissions.",
                    shown,
                ) from err
            raise SaveError(f"cannot open {shown} for writing ({error_message(err)}).",
                            shown) from err
        try:
            links = os.fstat(fd).st_nlink
            if links > 1:
                raise SaveLinked(
                    f"{shown} has {links} hard links (other names for the same file); "
                    "simengine writes a save through one name only. Remove the other links, "
                    "or copy the save (`cp`), and open the copy.",
                    shown,
                )
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as err:
                    holder = _holder(os.fstat(fd))
                    raise SaveInUse(
                        f"{shown} is in use by another process{holder}; close that game "
                        "first, or open the save read-only.",
                        shown,
                    ) from err
                _tidy_legacy(save, shown)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, save)

    def same_file(self, path: Path) -> bool:
        """True when ``path`` is still the file this lock holds (not replaced meanwhile)."""
        try:
            now = os.stat(path)
        except OSError:
            return False
        return (now.st_dev, now.st_ino) == (self.stat.st_dev, self.stat.st_ino)

    def release(self) -> None:
        """Let go of the lock (idempotent); call it after SQLite's connection is closed."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.close(fd)  # closing the descriptor releases the flock


def _tidy_legacy(save: Path, shown: Path) -> None:
    """Respect a ``SAVE.lock`` an older simengine still holds, else remove the leftover."""
    legacy = lock_path(save)
    try:
        fd = os.open(legacy, os.O_RDWR)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        os.close(fd)
        raise SaveInUse(
            f"{shown} is in use by an older simengine; close that game first.", shown
        ) from err
    try:
        legacy.unlink()
    except OSError:
        pass  # a read-only folder: the leftover stays, harmless
    finally:
        os.close(fd)


def _holder(st: os.stat_result) -> str:
    """`` (pid N)`` of the process holding a flock on the file, where Linux tells."""
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                # "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF"
                if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == key:
                    if parts[4].isdigit():
                        return f" (pid {parts[4]})"
    except OSError:
        pass
    return ""
