"""Writing a world as a commented TOML file (the standard library only reads TOML)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: str) -> str:
    """Text that UTF-8 and TOML can hold: lone surrogates replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


def key(name: str) -> str:
    return name if _BARE.match(name) else string(name)


def string(text: str) -> str:
    """A TOML string: basic on one line, or multi-line for text with line breaks."""
    text = clean(text)
    if "\n" not in text:
        return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r\n", "\n")
    body = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", body.replace("\r", "\\r"))
    return f'"""\n{body}"""'


def drop_nulls(value: Any) -> tuple[Any, int]:
    """``value`` without None (TOML has no null), and how many were left out."""
    if isinstance(value, dict):
        out, dropped = {}, 0
        for k, v in value.items():
            if v is None:
                dropped += 1
                continue
            out[str(k)], n = drop_nulls(v)
            dropped += n
        return out, dropped
    if isinstance(value, list):
        items, dropped = [], 0
        for v in value:
            if v is None:
                dropped += 1
                continue
            item, n = drop_nulls(v)
            items.append(item)
            dropped += n
        return items, dropped
    if isinstance(value, float) and not math.isfinite(value):
        return str(value), 0
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return str(value), 0  # past TOML's 64-bit integers: kept as text
    return value, 0


def value(v: Any, indent: str = "") -> str:
    """A TOML value (strings, numbers, booleans, lists, inline tables)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else string(str(v))
    if isinstance(v, str):
        return string(v)
    if isinstance(v, list):
        parts = [value(x, indent + "  ") for x in v]
        one_line = "[" + ", ".join(parts) + "]"
        if len(one_line) <= 80 and "\n" not in one_line:
            return one_line
        inner = "".join(f"\n{indent}  {p}," for p in parts)
        return f"[{inner}\n{indent}]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{key(str(k))} = {value(x, indent)}" for k, x in v.items()) \
            + " }" if v else "{}"
    return string(str(v))


def table(header: str, fields: dict[str, Any], comments: dict[str, str] | None = None) -> str:
    """A table (``[x]`` or ``[[x]]`` in ``header``) with a ``# comment`` above keys that have one.

    Dict-valued fields become sub-tables (``[header.field]``) after the plain keys.
    """
    comments = comments or {}
    lines = [header]
    subtables: list[tuple[str, dict[str, Any]]] = []
    name = header.strip("[]")
    for k, v in fields.items():
        if v is None or v == "" or v == []:
            continue
        if isinstance(v, dict) and v:
            subtables.append((k, v))
            continue
        if k in comments:
            lines.append(f"# {comments[k]}")
        lines.append(f"{key(k)} = {value(v)}")
    for k, v in subtables:
        if k in comments:
            lines.append(f"# {comments[k]}")
        lines.append(f"[{name}.{key(k)}]")
        lines.extend(f"{key(str(sk))} = {value(sv)}" for sk, sv in v.items())
    return "\n".join(lines) + "\n"
