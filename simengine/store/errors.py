"""What can go wrong with a save, in words a player can act on.

Every error the store raises on purpose is a :class:`SaveError`. The CLI turns
each one into a one-line message and exit code 1, never a traceback, so every
message names the file and says what to do next.
"""

from __future__ import annotations

from pathlib import Path


class SaveError(Exception):
    """Base of every save problem; ``str(err)`` is the message for people."""

    def __init__(self, message: str, path: Path | str | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None

    def __str__(self) -> str:
        return self.message


class SaveNotFound(SaveError):
    """No file where the save should be."""


class SaveExists(SaveError):
    """``create`` would overwrite a file that is already there."""


class NotASave(SaveError):
    """The file is not SQLite, or is SQLite but not a simengine save."""


class SaveCorrupt(SaveError):
    """The file is a save, but truncated or damaged."""


class SaveTooNew(SaveError):
    """The save was written by a newer simengine (a schema this code does not know)."""


class SaveTooOld(SaveError):
    """The save needs a schema upgrade, which a read-only open cannot do."""


class SaveInUse(SaveError):
    """Another process has the save open for writing (or holds SQLite's write lock)."""


class SaveReadOnly(SaveError):
    """A write was asked of a save opened read-only, or of a file or folder that
    cannot be written (permissions, a read-only disk)."""


class SaveDiskFull(SaveError):
    """A write failed for want of room: the disk is full, or the file reached the
    size limit the process runs under (``ulimit -f``)."""


class SaveLinked(SaveError):
    """The save has more than one hard link, so it cannot be written safely."""


class NoSuchBranch(SaveError):
    """A branch name the save does not have."""


class NoSuchEvent(SaveError):
    """An event id the save does not have."""


class BadEvent(SaveError):
    """An event that cannot be committed (its ops do not apply, a field is invalid)."""
