"""Lorebooks of every tool -> ``[[lore]]`` entry drafts, and notes on what became of each field.

Each converter turns one format's entries into dicts that
:class:`~simengine.world.spec.LoreSpec` accepts. Fields simengine does not use
(probability, insertion depth, groups, timers ...) go into the entry's
``extensions``, so nothing is lost, and a note says so once per file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: SillyTavern's ``selectiveLogic`` numbers (world-info.js ``world_info_logic``).
ST_LOGIC = {0: "and_any", 1: "not_all", 2: "not_any", 3: "and_all"}
DEFAULT_ORDER = 100


@dataclass
class Book:
    """What a lorebook file held: entry drafts, its own settings, and notes."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    #: Hints of what an entry is about ("location", "character"), by draft index.
    kinds: dict[int, str] = field(default_factory=dict)
    name: str = ""
    description: str = ""
    token_budget: int | None = None
    notes: list[str] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)
    #: How the format's fields map to ``[[lore]]`` fields, for the report.
    fields: str = ""

    def keep(self, extensions: dict[str, Any], raw: dict[str, Any], known: set[str]) -> None:
        """Copy ``raw``'s fields outside ``known`` into ``extensions``, counting them."""
        for key, value in raw.items():
            if key in known or value is None:
                continue
            extensions.setdefault(key, value)
            self.kept[key] = self.kept.get(key, 0) + 1

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def finish(self) -> Book:
        if self.kept:
            names = ", ".join(sorted(self.kept))
            self.note(f"kept in each entry's extensions, not used by simengine: {names}")
        return self


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _int(value: Any, default: int = DEFAULT_ORDER, limit: int = 10**9) -> int:
    """A whole number from what a tool wrote, within what a world file allows."""
    try:
        return max(-limit, min(limit, int(float(value))))
    except (TypeError, ValueError, OverflowError):
        return default


def split_keys(value: Any) -> list[str]:
    """Keys from a list or a comma-separated string, trimmed, empties and repeats dropped."""
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list):
        parts = [p for v in value for p in (v.split(",") if isinstance(v, str) else [])]
    else:
        parts = []
    out: list[str] = []
    for p in parts:
        p = " ".join(p.split())[:200]
        if p and p not in out:
            out.append(p)
    return out


_REGEX_KEY = re.compile(r"^/(.*)/([a-z]*)$", re.DOTALL)
_PLAIN = re.compile(r"^[\w' -]+$")


def plain_keys(keys: list[str], book: Book, title: str) -> list[str]:
    """Keys with ``/regex/`` ones turned into plain words where they are simple alternations."""
    out: list[str] = []
    for key in keys:
        match = _REGEX_KEY.match(key)
        if not match:
            out.append(key)
            continue
        body = match.group(1).replace(r"\b", "").strip("()")
        words = [w.strip() for w in body.split("|")]
        if all(w and _PLAIN.match(w) for w in words):
            out.extend(w for w in words if w not in out)
            book.note(f"'{title}': the regular expression key {key} became the keys "
                      f"{', '.join(words)}")
        else:
            book.note(f"'{title}': the regular expression key {key} is not used (simengine "
                      "matches words, not patterns)")
    return out


def _draft(
    book: Book, *, keys: list[str], content: str, name: str = "", secondary: list[str] = (),
    logic: str = "and_any", constant: bool = False, enabled: bool = True,
    order: int = DEFAULT_ORDER, case_sensitive: bool = False, whole_words: bool = True,
    extensions: dict[str, Any] | None = None,
) -> None:
    title = name or (keys[0] if keys else "(untitled)")
    content = content.strip()
    if not content:
        book.note(f"'{title}': no text, left out")
        return
    if not keys and not constant:
        if name:
            keys = [name]
            book.note(f"'{title}': no keys; its title is its key")
        else:
            enabled = False
            book.note(f"entry '{content[:30]}...': no keys and no title; kept, disabled")
    book.entries.append({
        "name": name, "keys": keys, "secondary_keys": list(secondary), "logic": logic,
        "content": content, "constant": constant, "enabled": enabled, "order": order,
        "case_sensitive": case_sensitive, "whole_words": whole_words,
        "extensions": extensions or {},
    })


# --------------------------------------------------------------- converters
_BOOK_ENTRY = {"keys", "secondary_keys", "content", "enabled", "insertion_order", "constant",
               "selective", "case_sensitive", "name", "comment", "extensions"}


def character_book(data: dict[str, Any], book: Book | None = None) -> Book:
    """A card's ``character_book`` (V2/V3), or a standalone one."""
    book = book or Book()
    book.fields = ("keys, secondary_keys (when selective), extensions.selectiveLogic -> "
                   "logic, name/comment -> name, content, insertion_order -> order, "
                   "constant, enabled, case_sensitive")
    book.name = _text(data.get("name"))
    book.description = _text(data.get("description"))
    if isinstance(data.get("token_budget"), int | float) and data["token_budget"] > 0:
        book.token_budget = _int(data["token_budget"], limit=100_000)
    if data.get("recursive_scanning"):
        book.note("recursive_scanning: simengine looks for keys in the scene and the story, "
                  "not in other entries")
    if data.get("scan_depth") is not None:
        book.note(f"scan_depth {data['scan_depth']}: simengine looks at the scene and the "
                  "latest events instead")
    for raw in data.get("entries") or []:
        if not isinstance(raw, dict):
            continue
        ext = dict(raw.get("extensions") or {}) if isinstance(raw.get("extensions"), dict) else {}
        secondary = split_keys(raw.get("secondary_keys"))
        selective = bool(raw.get("selective", False))
        title = _text(raw.get("name") or raw.get("comment"))
        if secondary and not selective:
            ext["secondary_keys_unused"] = secondary
            book.note(f"'{title or raw.get('keys')}': secondary keys with selective = false "
                      "are not used (kept in extensions)")
            secondary = []
        logic = ST_LOGIC.get(_int(ext.get("selectiveLogic"), 0), "and_any")
        whole = ext.get("match_whole_words")
        # The entry's own spec fields (id, priority, position ...) apart from its
        # extensions, which may hold a field of the same name (SillyTavern's position).
        entry_fields: dict[str, Any] = {}
        book.keep(entry_fields, raw, _BOOK_ENTRY)
        if entry_fields:
            ext["book_entry"] = entry_fields
        _draft(
            book, keys=plain_keys(split_keys(raw.get("keys")), book, title), name=title,
            content=_text(raw.get("content")), secondary=secondary, logic=logic,
            constant=bool(raw.get("constant")), enabled=raw.get("enabled", True) is not False,
            order=_int(raw.get("insertion_order")),
            case_sensitive=bool(raw.get("case_sensitive") or ext.get("case_sensitive")),
            whole_words=True if whole is None else bool(whole), extensions=ext,
        )
    return book.finish()


_ST_ENTRY = {"key", "keysecondary", "comment", "content", "constant", "selectiveLogic",
             "order", "disable", "caseSensitive", "matchWholeWords", "selective"}


def st_world(data: dict[str, Any]) -> Book:
    """SillyTavern World Info: ``{"entries": {uid: {key, keysecondary, content, ...}}}``."""
    book = Book(name=_text(data.get("name")), fields=(
        "key -> keys, keysecondary -> secondary_keys, selectiveLogic -> logic, comment -> "
        "name, content, order, constant, disable -> enabled, caseSensitive, matchWholeWords"))
    for uid, raw in data["entries"].items():
        ext: dict[str, Any] = {"uid": raw.get("uid", uid)}
        book.keep(ext, raw, _ST_ENTRY)
        title = _text(raw.get("comment"))
        probability = raw.get("probability")
        if raw.get("useProbability", True) and isinstance(probability, int | float) \
                and probability < 100:
            book.note(f"'{title or uid}': fires {probability:g}% of the time in SillyTavern; "
                      "here whenever its keys come up")
        whole = raw.get("matchWholeWords")
        _draft(
            book, keys=split_keys(raw.get("key")), name=title, content=_text(raw.get("content")),
            secondary=split_keys(raw.get("keysecondary")),
            logic=ST_LOGIC.get(_int(raw.get("selectiveLogic"), 0), "and_any"),
            constant=bool(raw.get("constant")), enabled=not raw.get("disable", False),
            order=_int(raw.get("order")), case_sensitive=bool(raw.get("caseSensitive")),
            whole_words=True if whole is None else bool(whole), extensions=ext,
        )
    if any("position" in e["extensions"] or "depth" in e["extensions"] for e in book.entries):
        book.note("position and depth: simengine puts all lore after the scene, where the "
                  "model's cached prompt prefix is not disturbed")
    return book.finish()


_KOBOLD_ENTRY = {"key", "keysecondary", "keyanti", "content", "comment", "title", "selective",
                 "constant"}


def kobold(entries: list[Any]) -> Book:
    """KoboldAI Lite and client world info: ``key`` a comma-separated string (or a list)."""
    book = Book(fields="key (comma-separated) -> keys, keysecondary -> secondary_keys (when "
                "selective), keyanti -> secondary_keys with logic not_any, comment/title -> "
                "name, content, constant")
    for raw in entries:
        if not isinstance(raw, dict):
            continue
        ext: dict[str, Any] = {}
        book.keep(ext, raw, _KOBOLD_ENTRY)
        secondary = split_keys(raw.get("keysecondary"))
        anti = split_keys(raw.get("keyanti"))
        logic = "and_any"
        title = _text(raw.get("comment") or raw.get("title"))
        if secondary and raw.get("selective") is False:
            ext["secondary_keys_unused"] = secondary
            book.note(f"'{title}': secondary keys with selective off are not used (kept in "
                      "extensions)")
            secondary = []
        if anti and not secondary:
            secondary, logic = anti, "not_any"
        elif anti:
            ext["keyanti"] = anti
            book.note(f"'{title}': exclusion keys next to secondary keys are not used (kept "
                      "in extensions)")
        _draft(book, keys=split_keys(raw.get("key")), name=title,
               content=_text(raw.get("content")), secondary=secondary, logic=logic,
               constant=bool(raw.get("constant")), extensions=ext)
    return book.finish()


_NAI_ENTRY = {"text", "keys", "displayName", "enabled", "forceActivation"}


def novelai(data: dict[str, Any]) -> Book:
    """NovelAI lorebook (``lorebookVersion``, ``entries[].{text, keys, displayName, ...}``)."""
    book = Book(fields="keys -> keys, text -> content, displayName -> name, forceActivation -> "
                "constant, enabled, contextConfig.budgetPriority -> order")
    for raw in data.get("entries") or []:
        if not isinstance(raw, dict):
            continue
        ext: dict[str, Any] = {}
        book.keep(ext, raw, _NAI_ENTRY)
        title = _text(raw.get("displayName"))
        config = raw.get("contextConfig") if isinstance(raw.get("contextConfig"), dict) else {}
        _draft(book, keys=plain_keys(split_keys(raw.get("keys")), book, title), name=title,
               content=_text(raw.get("text")), constant=bool(raw.get("forceActivation")),
               enabled=raw.get("enabled", True) is not False,
               order=_int(config.get("budgetPriority"), 0), extensions=ext)
    for key in ("settings", "categories"):
        if data.get(key):
            book.note(f"the lorebook's {key}: not used by simengine")
    return book.finish()


_AID_ENTRY = {"keys", "entry", "value", "name", "title", "type"}


def aidungeon(entries: list[Any]) -> Book:
    """AI Dungeon legacy world info (``{keys, entry, hidden}``) and story cards."""
    book = Book(fields="keys (comma-separated) -> keys, entry/value -> content, name/title -> "
                "name, type location/character -> also a place or a person")
    for raw in entries:
        if not isinstance(raw, dict):
            continue
        ext: dict[str, Any] = {}
        book.keep(ext, raw, _AID_ENTRY)
        if raw.get("hidden"):
            book.note("hidden: AI Dungeon keeps such entries from the player's view; simengine "
                      "shows lore only to the storyteller anyway")
        kind = _text(raw.get("type")).lower()
        title = _text(raw.get("title") or raw.get("name"))
        before = len(book.entries)
        _draft(book, keys=split_keys(raw.get("keys")), name=title,
               content=_text(raw.get("entry") if "entry" in raw else raw.get("value")),
               extensions=ext)
        if kind and len(book.entries) > before:
            book.entries[-1]["extensions"]["type"] = kind
            book.kinds[before] = kind
    return book.finish()


def agnai(data: dict[str, Any]) -> Book:
    """Agnai memory book (``entries[].{name, entry, keywords, weight, priority, enabled}``)."""
    book = Book(name=_text(data.get("name")), description=_text(data.get("description")),
                fields="keywords -> keys, entry -> content, name, weight -> order, enabled")
    for raw in data.get("entries") or []:
        if not isinstance(raw, dict):
            continue
        ext: dict[str, Any] = {}
        book.keep(ext, raw, {"name", "entry", "keywords", "weight", "enabled"})
        _draft(book, keys=split_keys(raw.get("keywords")), name=_text(raw.get("name")),
               content=_text(raw.get("entry")), order=_int(raw.get("weight")),
               enabled=raw.get("enabled", True) is not False, extensions=ext)
    return book.finish()


def risu(data: dict[str, Any]) -> Book:
    """RisuAI lorebook (``{"type": "risu", "data": [{key, secondkey, content, ...}]}``)."""
    book = Book(fields="key -> keys, secondkey -> secondary_keys (when selective), comment -> "
                "name, content, alwaysActive -> constant, insertorder -> order")
    for raw in data["data"]:
        if not isinstance(raw, dict):
            continue
        ext: dict[str, Any] = {}
        book.keep(ext, raw, {"key", "secondkey", "comment", "content", "alwaysActive",
                             "selective", "insertorder"})
        secondary = split_keys(raw.get("secondkey")) if raw.get("selective") else []
        _draft(book, keys=split_keys(raw.get("key")), name=_text(raw.get("comment")),
               content=_text(raw.get("content")), secondary=secondary,
               constant=bool(raw.get("alwaysActive")), order=_int(raw.get("insertorder")),
               extensions=ext)
    return book.finish()


CONVERTERS: dict[str, Callable[[Any], Book]] = {
    "character_book": character_book,
    "st_world": st_world,
    "kobold": kobold,
    "novelai": novelai,
    "aidungeon": aidungeon,
    "aid_cards": aidungeon,
    "agnai": agnai,
    "risu": risu,
}
