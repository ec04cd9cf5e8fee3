"""Reading community files: JSON, PNG cards (text chunks) and CHARX zips, and saying what they are.

PNG chunks are read with the standard library only: a card keeps its JSON,
base64-encoded, in a ``tEXt`` chunk named ``chara`` (V2) or ``ccv3`` (V3;
``ccv3`` wins when both are there, as SillyTavern reads them). A NovelAI
lorebook image keeps its lorebook in ``naidata``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simengine.world.text import error_message

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Biggest file read: cards with embedded art run to a few MB.
MAX_FILE_BYTES = 64 * 1024 * 1024


class ImportFailed(Exception):
    """A file that cannot be imported; the message says which and why."""


@dataclass
class Source:
    """One file's content, recognised.

    Attributes:
        path: the file.
        format: what it is, for people ("Character Card V2 (PNG 'chara' chunk)").
        kind: ``card`` or one of the lorebook kinds in :mod:`.lorebooks`.
        data: the parsed JSON.
    """

    path: Path
    format: str
    kind: str
    data: Any
    notes: list[str] = field(default_factory=list)


# -------------------------------------------------------------------- PNG
def png_text_chunks(blob: bytes) -> dict[str, str]:
    """The text chunks (``tEXt``, ``zTXt``, ``iTXt``) of a PNG, keyword (lower case) -> text."""
    if not blob.startswith(PNG_SIGNATURE):
        raise ImportFailed("not a PNG file")
    out: dict[str, str] = {}
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(blob):
        length, kind = struct.unpack(">I4s", blob[pos : pos + 8])
        data = blob[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if len(data) < length:
            break  # a cut-off file: keep what was read
        if kind == b"IEND":
            break
        keyword, _, rest = data.partition(b"\0")
        key = keyword.decode("latin-1").lower()
        try:
            if kind == b"tEXt":
                out.setdefault(key, rest.decode("latin-1"))
            elif kind == b"zTXt" and rest[:1] == b"\0":
                out.setdefault(key, zlib.decompress(rest[1:]).decode("latin-1"))
            elif kind == b"iTXt":
                compressed, text = rest[:1] == b"\1", rest[2:]
                _lang, _, text = text.partition(b"\0")
                _translated, _, text = text.partition(b"\0")
                out.setdefault(key, (zlib.decompress(text) if compressed else text).decode())
        except (zlib.error, UnicodeDecodeError):
            continue  # one unreadable chunk does not hide the card in another
    return out


def _chunk_json(text: str, name: str, path: Path) -> Any:
    try:
        raw = base64.b64decode(text.strip(), validate=False)
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValueError):
        pass
    try:  # some tools write the JSON itself, not base64
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        raise ImportFailed(f"{path}: the PNG's '{name}' chunk holds no readable card "
                           "(expected base64-encoded JSON)") from None


def read_png(blob: bytes, path: Path) -> Source:
    chunks = png_text_chunks(blob)
    problems: list[str] = []
    for name in ("ccv3", "chara"):
        if name not in chunks:
            continue
        try:
            found = detect(_chunk_json(chunks[name], name, path), path)
            if found.kind != "card":
                raise ImportFailed(f"{path}: the PNG's '{name}' chunk is not a character card")
        except ImportFailed as exc:
            problems.append(str(exc))
            continue  # a broken ccv3 chunk: the chara one may still hold the card
        found.format = f"{found.format} (PNG '{name}' chunk)"
        found.notes.extend(f"not used: {p}" for p in problems)
        return found
    if problems:
        raise ImportFailed("; ".join(problems))
    if "naidata" in chunks:
        data = _chunk_json(chunks["naidata"], "naidata", path)
        found = detect(data, path)
        found.format = f"{found.format} (PNG 'naidata' chunk)"
        return found
    names = ", ".join(sorted(chunks)) or "none"
    raise ImportFailed(f"{path}: a PNG with no character card in it (no 'chara' or 'ccv3' "
                       f"text chunk; text chunks found: {names})")


# ------------------------------------------------------------------ CHARX
def read_charx(blob: bytes, path: Path) -> Source:
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            names = z.namelist()
            if "card.json" not in names:
                raise ImportFailed(f"{path}: a zip with no card.json: not a CHARX card")
            info = z.getinfo("card.json")
            if info.file_size > MAX_FILE_BYTES:
                raise ImportFailed(f"{path}: card.json is too big ({info.file_size} bytes)")
            text = z.read("card.json").decode("utf-8")
    except (zipfile.BadZipFile, UnicodeDecodeError, OSError) as exc:
        raise ImportFailed(f"{path}: not a readable CHARX zip ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{path}: card.json is not valid JSON ({exc.msg}, line "
                           f"{exc.lineno})") from None
    found = detect(data, path)
    if found.kind != "card":
        raise ImportFailed(f"{path}: card.json is not a character card")
    found.format = f"{found.format} (CHARX zip)"
    return found


# ---------------------------------------------------------------- detection
def _dicts(values: Any) -> bool:
    return isinstance(values, list) and bool(values) and all(isinstance(v, dict) for v in values)


def detect(data: Any, path: Path) -> Source:
    """Say what parsed JSON is. Raises ImportFailed for anything not importable."""
    if isinstance(data, dict):
        spec = data.get("spec")
        if spec == "chara_card_v3":
            return Source(path, "Character Card V3", "card", data)
        if spec == "chara_card_v2":
            return Source(path, "Character Card V2", "card", data)
        if spec == "lorebook_v3" and isinstance(data.get("data"), dict):
            return Source(path, "Character Card V3 lorebook", "character_book", data["data"])
        if "lorebookVersion" in data:
            return Source(path, "NovelAI lorebook", "novelai", data)
        content = data.get("content")
        if "storyContainerVersion" in data or (
            isinstance(content, dict) and isinstance(content.get("lorebook"), dict)
        ):
            book = content.get("lorebook") if isinstance(content, dict) else None
            if not isinstance(book, dict):
                raise ImportFailed(f"{path}: a NovelAI story with no lorebook in it")
            return Source(path, "NovelAI story", "novelai", book,
                          ["the story's own text and settings are not imported: only its "
                           "lorebook"])
        if data.get("kind") == "memory" and isinstance(data.get("entries"), list):
            return Source(path, "Agnai memory book", "agnai", data)
        if data.get("type") == "risu" and isinstance(data.get("data"), list):
            return Source(path, "RisuAI lorebook", "risu", data)
        entries = data.get("entries")
        if isinstance(entries, dict) and all(isinstance(v, dict) for v in entries.values()):
            return Source(path, "SillyTavern World Info", "st_world", data)
        if isinstance(entries, list) and all(isinstance(e, dict) for e in entries):
            return Source(path, "character book (lorebook)", "character_book", data)
        story = [k for k in ("prompt", "memory", "authorsnote", "actions") if data.get(k)]
        story_note = [f"the story's own text ({', '.join(story)}) is not imported: only its "
                      "world info"] if story else []
        if isinstance(data.get("worldinfo"), list):
            return Source(path, "KoboldAI story world info", "kobold", data["worldinfo"],
                          story_note)
        wi2 = data.get("worldinfo_v2")
        if isinstance(wi2, dict) and isinstance(wi2.get("entries"), dict):
            return Source(path, "KoboldAI United world info", "kobold",
                          list(wi2["entries"].values()), story_note)
        if isinstance(data.get("name"), str) and any(
            k in data for k in ("description", "personality", "first_mes", "scenario")
        ):
            return Source(path, "Character Card V1", "card", data)
    if _dicts(data):
        first = data[0]
        if "entry" in first and "keys" in first:
            return Source(path, "AI Dungeon world info", "aidungeon", data)
        if "value" in first and "keys" in first:
            return Source(path, "AI Dungeon story cards", "aid_cards", data)
        if "key" in first and "content" in first:
            return Source(path, "KoboldAI Lite world info", "kobold", data)
    if isinstance(data, list) and not data:
        raise ImportFailed(f"{path}: an empty list: nothing to import")
    raise ImportFailed(
        f"{path}: not a character card or lorebook simengine knows (expected a Character "
        "Card V1/V2/V3, SillyTavern World Info, a character book, KoboldAI world info, a "
        "NovelAI lorebook or story, AI Dungeon world info or an Agnai memory book)"
    )


def read_source(path: str | Path) -> Source:
    """Read and recognise one file. Raises ImportFailed with a message for people."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImportFailed(f"{p}: too big to be a card or lorebook ({size} bytes)")
        blob = p.read_bytes()
    except FileNotFoundError:
        raise ImportFailed(f"{p}: no such file") from None
    except OSError as exc:
        raise ImportFailed(f"{p}: cannot read ({error_message(exc)})") from None
    if blob.startswith(PNG_SIGNATURE):
        return read_png(blob, p)
    if blob.startswith(b"PK\x03\x04"):
        return read_charx(blob, p)
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed(f"{p}: not a PNG, a CHARX zip or UTF-8 JSON text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno}, column "
                           f"{exc.colno}); a card or lorebook is a JSON or PNG file") from None
    except RecursionError:
        raise ImportFailed(f"{p}: JSON nested too deeply to read") from None
    return detect(data, p)
