"""The save file: one SQLite file per game, through sqlite-utils (see DESIGN, "The save file").

Imports only :mod:`simengine.world` (and sqlite-utils, pydantic, the stdlib).
"""

from simengine.store.errors import (
    BadEvent,
    NoSuchBranch,
    NoSuchEvent,
    NotASave,
    SaveCorrupt,
    SaveDiskFull,
    SaveError,
    SaveExists,
    SaveInUse,
    SaveLinked,
    SaveNotFound,
    SaveReadOnly,
    SaveTooNew,
    SaveTooOld,
)
from simengine.store.events import Event, EventKind
from simengine.store.paths import (
    SAVE_SUFFIX,
    SAVES_ENV,
    list_saves,
    resolve_save,
    save_path,
    saves_dir,
)
from simengine.store.save import DEFAULT_SNAPSHOT_EVERY, HEAD, Save
from simengine.store.schema import SCHEMA_VERSION
from simengine.world.calls import Call

__all__ = [
    "DEFAULT_SNAPSHOT_EVERY",
    "HEAD",
    "SAVES_ENV",
    "SAVE_SUFFIX",
    "SCHEMA_VERSION",
    "BadEvent",
    "Call",
    "Event",
    "EventKind",
    "NoSuchBranch",
    "NoSuchEvent",
    "NotASave",
    "Save",
    "SaveCorrupt",
    "SaveDiskFull",
    "SaveError",
    "SaveExists",
    "SaveInUse",
    "SaveLinked",
    "SaveNotFound",
    "SaveReadOnly",
    "SaveTooNew",
    "SaveTooOld",
    "list_saves",
    "resolve_save",
    "save_path",
    "saves_dir",
]
