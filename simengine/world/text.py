"""One cleaner for text that crosses the engine's boundary.

Model replies, player lines and world files may carry bytes no one should
store, print or export: lone UTF-16 surrogates (SQLite and UTF-8 files refuse
them), NUL and other C0/C1 control characters (GraphML cannot hold them),
and terminal escape sequences (``\\x1b]0;PWNED\\x07`` retitles a terminal,
``\\x1b[2J`` clears it). :func:`clean_text` turns any string into text that
is safe for all of these, and does nothing to ordinary text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

# Escape sequences, in their 7-bit (ESC ...) and 8-bit (C1) forms: CSI (colours,
# cursor moves), OSC (titles, hyperlinks, clipboard), DCS/SOS/PM/APC strings,
# then any other two-character escape. A string sequence runs to its terminator
# (BEL or ST), or to the end of the line when it is never closed.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
# What is left to drop: C0 controls but tab and newline, DEL, C1 controls, and the
# two non-characters XML forbids.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NEEDS_WORK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"[\t\n]+")
_APOSTROPHES = re.compile(r"['\u2019]")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
#: How long an id made from a name may be.
SLUG_LENGTH = 48


def clean_text(text: str, *, one_line: bool = False) -> str:
    """``text`` with invalid and control characters replaced or dropped.

    Lone surrogates become U+FFFD (a split pair is joined back into its
    character); ANSI/OSC escape sequences are removed whole; other C0 and C1
    controls are dropped except tab and newline; ``\\r\\n`` and ``\\r`` become
    ``\\n``. With ``one_line``, runs of tabs and newlines become one space (for
    names and log lines, where a newline could pose as a line of its own).
    """
    if not isinstance(text, str):
        text = str(text)
    if _NEEDS_WORK.search(text):
        if _SURROGATE.search(text):
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CONTROLS.sub("", _ESCAPES.sub("", text))
    if one_line and ("\n" in text or "\t" in text):
        text = _SPACES.sub(" ", text)
    return text


class TooDeep(ValueError):
    """Data nested deeper than any world file or proposal needs."""


MAX_DEPTH = 64


def clean_data(value: Any, *, max_depth: int = MAX_DEPTH, _depth: int = 0) -> Any:
    """``value`` (parsed JSON or TOML) with :func:`clean_text` applied to every string.

    Keys are cleaned too. No world file or proposal nests more than a few
    levels, so deeper data is refused rather than walked.

    Raises:
        TooDeep: tables or lists nested deeper than ``max_depth``.
    """
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict | list) and _depth >= max_depth:
        raise TooDeep(f"tables or lists nested more than {max_depth} deep")
    if isinstance(value, dict):
        return {(clean_text(k) if isinstance(k, str) else k):
                clean_data(v, max_depth=max_depth, _depth=_depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_data(v, max_depth=max_depth, _depth=_depth + 1) for v in value]
    return value


def either(choices: list[str]) -> str:
    """``a, b or c``: choices as a message lists them."""
    *rest, last = choices
    return f"{', '.join(rest)} or {last}" if rest else last


def number(value: Any) -> str:
    """A number as a person writes it: ``5.0`` -> ``5``, ``2.5`` -> ``2.5``.

    Whole floats lose their ``.0``; other floats keep ten significant digits, so
    float noise (``0.30000000000000004``) does not show. Anything else is ``str``.
    """
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.10g}"
    return str(value)


def slugify(name: str, fallback: str = "thing") -> str:
    """An ASCII id from a name: ``Widow's Reach`` -> ``widows-reach``, ``Åsa`` -> ``asa``.

    Apostrophes go, accents fold, every other run of non-letters becomes one ``-``;
    at most :data:`SLUG_LENGTH` characters. A name with nothing left gives ``fallback``.
    """
    flat = unicodedata.normalize("NFKD", _APOSTROPHES.sub("", name))
    flat = flat.encode("ascii", "ignore").decode().lower()
    slug = _NOT_SLUG.sub("-", flat).strip("-")[:SLUG_LENGTH].strip("-")
    return slug or fallback


def fresh_name(base: str, taken: Callable[[str], bool]) -> str:
    """``base``, or ``base-2``, ``base-3``... : the first that ``taken`` says is free."""
    candidate, n = base, 2
    while taken(candidate):
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def fresh_id(name: str, taken: Callable[[str], bool], fallback: str = "thing") -> str:
    """:func:`slugify` of ``name``, made free with :func:`fresh_name`."""
    return fresh_name(slugify(name, fallback), taken)


def error_message(exc: BaseException, *, with_file: bool = False) -> str:
    """A failure in the words a person reads, never a traceback or ``[Errno 13]``.

    An ``OSError`` gives the system's words (``Permission denied``), after its file
    with ``with_file`` (``story.md: Permission denied``); any other error its
    ``reason`` or message, or at least its class name.
    """
    if isinstance(exc, OSError):
        what = exc.strerror or str(exc) or type(exc).__name__
        return f"{exc.filename}: {what}" if with_file and exc.filename else what
    return str(getattr(exc, "reason", None) or exc) or type(exc).__name__
