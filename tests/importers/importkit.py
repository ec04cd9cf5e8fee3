"""Hand-made cards and lorebooks (in ``fixtures/``), and PNG and CHARX files built from them."""

from __future__ import annotations

import base64
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF
    )


def png(text_chunks: dict[str, object] | None = None) -> bytes:
    """A 1x1 PNG with ``tEXt`` chunks (dicts are written as base64 JSON, like cards)."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    for name, value in (text_chunks or {}).items():
        text = value if isinstance(value, str) else base64.b64encode(
            json.dumps(value).encode()).decode()
        out += chunk(b"tEXt", name.encode("latin-1") + b"\0" + text.encode("latin-1"))
    out += chunk(b"IDAT", zlib.compress(b"\0\xff\x00\x00"))
    return out + chunk(b"IEND", b"")


def charx(card: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("card.json", json.dumps(card))
        z.writestr("assets/icon/images/main.png", png())
    return buf.getvalue()


def fixture(name: str) -> dict | list:
    return json.loads((FIXTURES / name).read_text())
