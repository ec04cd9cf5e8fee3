"""Where saves live: ``./saves/`` unless ``--saves-dir`` or ``SIMENGINE_SAVES`` says otherwise."""

from __future__ import annotations

import os
import re
from pathlib import Path

#: The environment variable that redirects the saves directory (tests set it).
SAVES_ENV = "SIMENGINE_SAVES"
#: The file suffix of a save; ``.db`` so Datasette and sqlite-utils recognise it.
SAVE_SUFFIX = ".db"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def saves_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The saves directory: ``override``, else ``$SIMENGINE_SAVES``, else ``./saves``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(SAVES_ENV)
    if env:
        return Path(env).expanduser()
    return Path("saves")


def save_path(name: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """The path a new save called ``name`` gets in the saves directory.

    Raises:
        ValueError: the name is not a plain file name (no slashes, no leading dot).
    """
    stem = name[: -len(SAVE_SUFFIX)] if name.endswith(SAVE_SUFFIX) else name
    if not _NAME.match(stem):
        raise ValueError(
            f"{name!r} is not a usable save name: use letters, digits, '-', '_' or '.'"
        )
    return saves_dir(directory) / f"{stem}{SAVE_SUFFIX}"


def resolve_save(
    name_or_path: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None
) -> Path:
    """Find a save by name (``tavern``), file name (``tavern.db``) or path.

    An existing path wins; a bare name is looked up in the saves directory, with
    or without the ``.db`` suffix. When nothing exists yet, the path a bare name
    would have is returned, so the caller's "not found" message names it.
    """
    given = Path(name_or_path).expanduser()
    has_dir = given.is_absolute() or len(given.parts) > 1
    if has_dir:
        return given
    base = saves_dir(directory)
    candidates = [base / given.name]
    if given.suffix != SAVE_SUFFIX:
        candidates.append(base / f"{given.name}{SAVE_SUFFIX}")
    # A file of that name in the working directory still counts (``saves log x.db``).
    candidates.append(given)
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[1] if len(candidates) > 2 else candidates[0]


def list_saves(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Save files in a directory, by name (lock and SQLite sidecar files left out)."""
    base = saves_dir(directory)
    if not base.is_dir():
        return []
    return sorted(p for p in base.glob(f"*{SAVE_SUFFIX}") if p.is_file())
