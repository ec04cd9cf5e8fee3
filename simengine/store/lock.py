"""One writer per save: an exclusive advisory lock on a ``SAVE.lock`` sidecar file.

SQLite's own locks only last a transaction; two games writing one save in turn
would each append to a head the other keeps moving. So a writable open takes
``flock(LOCK_EX | LOCK_NB)`` on ``PATH.lock`` and holds it until close. The
kernel drops the lock when the process dies, SIGKILL included, so a crashed game
never leaves a save locked. The sidecar is left in place on close: deleting a
lock file while another process may be opening it lets two processes lock two
different files.
"""

from __future__ import annotations

import os
from pathlib import Path

from simengine.store.errors import SaveError, SaveInUse

try:  # pragma: no cover - platform switch
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; saves are then unlocked
    fcntl = None  # type: ignore[assignment]


def lock_path(save: Path) -> Path:
    """The sidecar lock file of a save."""
    return save.with_name(save.name + ".lock")


class WriteLock:
    """The held lock of one writable open; :meth:`release` it on close."""

    def __init__(self, fd: int, path: Path):
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, save: Path) -> WriteLock:
        """Lock ``save`` for writing or say who has it.

        Raises:
            SaveInUse: another process holds the lock.
            SaveError: the lock file cannot be created (a read-only directory).
        """
        path = lock_path(save)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise SaveError(
                f"cannot lock {save} for writing ({err.strerror}); "
                "open it read-only, or move it somewhere writable.",
                save,
            ) from err
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                holder = _read_pid(fd)
                os.close(fd)
                who = f" (pid {holder})" if holder else ""
                raise SaveInUse(
                    f"{save} is in use by another process{who}; close that game first, "
                    "or open the save read-only.",
                    save,
                ) from err
        # The pid is only for the message a second writer gets.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        """Let go of the lock (idempotent)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""
