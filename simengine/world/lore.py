"""Lore: background entries that come into a prompt when their keys come up.

A world's ``[[lore]]`` entries (:class:`~simengine.world.spec.LoreSpec`) are
facts: nodes of the state graph (kind ``fact``), so a save carries them like the
rest of the world, and an event may amend them (the ``fact`` op).
:func:`activate` decides which entries a beat's text brings in and which
the lore budget then drops; :func:`lore_about` answers "what is known about X"
for a storyteller whose player asks about a keyword.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from simengine.world.spec import LoreSpec, WorldSpec
from simengine.world.state import FACT, FACT_FIELDS, WorldState, normalize_name

Estimate = Callable[[str], int]


def rough_tokens(text: str) -> int:
    """About four characters a token: the estimate when nobody calibrated one."""
    return math.ceil(len(text) / 4) if text else 0


def lore_entries(source: WorldState | WorldSpec | Iterable[LoreSpec]) -> list[LoreSpec]:
    """The lore of a state, a world file or a list of entries, in file order.

    Lore is the facts everyone knows (``[[lore]]`` or ``[[facts]]`` entries without
    ``known_by``); what only some know comes into a scene as what its focus knows.
    """
    if isinstance(source, WorldSpec):
        return [e for e in source.knowledge if e.known_by is None]
    if isinstance(source, WorldState):
        return list(_state_lore(source))
    return list(source)


def _state_lore(state: WorldState) -> list[LoreSpec]:
    # Built once per version of the facts: every beat asks, and few beats change them.
    key = (state._fact_version, len(state.sorted_ids(FACT)))
    cached = getattr(state, "_lore_cache", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    entries = [
        LoreSpec.model_validate({
            "id": node.get("lore_id", f), "name": "" if node.get("gist") else node["name"],
            "content": node["description"] or "-",
            **{k: node[k] for k in FACT_FIELDS if k in node},
        })
        for f in state.entities(FACT)
        if (node := state.entity(f)).get("public")
    ]
    # Saves made before lore became facts keep their lore in the graph's data.
    entries += [LoreSpec.model_validate(e) for e in state.graph.graph.get("lore") or []]
    state._lore_cache = (key, entries)  # type: ignore[attr-defined]
    return entries


# ------------------------------------------------------------------ matching
#: The only characters outside ASCII that ``re.IGNORECASE`` matches to an ASCII one
#: (dotted and dotless i, long s, the Kelvin sign), each to the ASCII letter it
#: matches. With them folded first, a lowercased text holds an ASCII key's
#: lowercase wherever the key's pattern can match (a test checks every code point).
_ASCII_FOLD = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}


@dataclass(frozen=True)
class _Key:
    """One key under an entry's settings: its pattern, and a plain substring that
    every match contains (``needle``; None when no cheap one is exact), looked for in
    the text as is or, for ``folded``, in :func:`_folded` text.

    Every beat looks for every entry's keys in a scene's text (a few thousand
    characters), and in most beats none is there: the substring test says so in a
    fraction of the time a search with the pattern takes.
    """

    pattern: re.Pattern[str]
    needle: str | None
    folded: bool

    def search(self, text: str) -> bool:
        if self.needle is not None and self.needle not in (
                _folded(text) if self.folded else text):
            return False
        return self.pattern.search(text) is not None


@functools.lru_cache(maxsize=4096)
def _key(key: str, case_sensitive: bool, whole_words: bool) -> _Key:
    # Cached: every beat asks about every entry's keys, and they seldom change.
    word = key.strip()
    flags = 0 if case_sensitive else re.IGNORECASE
    body = re.escape(word)
    if whole_words:
        # Word edges only where the key itself starts or ends with a word character.
        left = r"(?<!\w)" if re.match(r"\w", word) else ""
        right = r"(?!\w)" if re.search(r"\w$", word) else ""
        body = f"{left}{body}{right}"
    if case_sensitive:
        needle: str | None = word
    else:  # outside ASCII, case-blind matching has more exceptions than _ASCII_FOLD
        needle = word.lower() if word.isascii() else None
    return _Key(re.compile(body, flags), needle, not case_sensitive)


@functools.lru_cache(maxsize=8)  # one beat's text, asked about for every key
def _folded(text: str) -> str:
    """``text`` lowercased, after :data:`_ASCII_FOLD` (see :class:`_Key`)."""
    if not text.isascii():
        # A replace per character, not str.translate: that looks every character
        # of the text up in the table, and costs more than the patterns it spares.
        for char, letter in _ASCII_FOLD.items():
            text = text.replace(char, letter)
    return text.lower()


def key_in(key: str, text: str, entry: LoreSpec) -> bool:
    """Whether ``key`` appears in ``text`` under the entry's case and word settings."""
    return bool(key.strip()) and _key(key, entry.case_sensitive, entry.whole_words).search(text)


def matches(entry: LoreSpec, text: str) -> bool:
    """Whether ``text`` brings ``entry`` in (ignoring ``enabled`` and ``constant``)."""
    if not any(key_in(k, text, entry) for k in entry.keys):
        return False
    if not entry.secondary_keys:
        return True
    found = [key_in(k, text, entry) for k in entry.secondary_keys]
    if entry.logic == "and_any":
        return any(found)
    if entry.logic == "and_all":
        return all(found)
    if entry.logic == "not_any":
        return not any(found)
    return not all(found)  # not_all


# --------------------------------------------------------------- activation
@dataclass
class LoreActivation:
    """Which lore entries one beat brought in.

    Attributes:
        active: the entries that go into the prompt, in the order they are written.
        dropped: entries whose keys came up but that the budget had no room for.
        used: tokens the active entries cost.
        budget: the lore budget they had.
    """

    active: list[LoreSpec] = field(default_factory=list)
    dropped: list[LoreSpec] = field(default_factory=list)
    used: int = 0
    budget: int = 0

    def ids(self) -> dict[str, list[str]]:
        """``{"active": [...], "dropped": [...]}`` ids, for JSON output."""
        return {"active": [str(e.id) for e in self.active],
                "dropped": [str(e.id) for e in self.dropped]}


def entry_text(entry: LoreSpec) -> str:
    """The line an entry takes in a prompt."""
    title = entry.name or (entry.keys[0] if entry.keys else str(entry.id))
    body = " ".join(entry.content.split())
    return f"- {title}: {body}"


def entry_cost(entry: LoreSpec, estimate: Estimate = rough_tokens) -> int:
    """What an entry costs against the lore budget: its ``tokens``, else an estimate."""
    return entry.tokens if entry.tokens is not None else estimate(entry_text(entry) + "\n")


def activate(
    entries: Sequence[LoreSpec],
    text: str,
    budget: int,
    estimate: Estimate = rough_tokens,
) -> LoreActivation:
    """The entries ``text`` brings in, kept within ``budget`` tokens.

    Constant entries come first, then by ``order`` (higher first), then file order;
    an entry that does not fit is dropped and the next ones still get their chance.
    The kept ones are returned lowest ``order`` first, so the most important entry
    sits nearest the beat.
    """
    wanted = [
        (i, e) for i, e in enumerate(entries)
        if e.enabled and (e.constant or matches(e, text))
    ]
    wanted.sort(key=lambda pair: (not pair[1].constant, -pair[1].order, pair[0]))
    out = LoreActivation(budget=budget)
    kept: list[tuple[int, LoreSpec]] = []
    for i, e in wanted:
        cost = entry_cost(e, estimate)
        if out.used + cost <= budget:
            kept.append((i, e))
            out.used += cost
        else:
            out.dropped.append(e)
    kept.sort(key=lambda pair: (pair[1].order, pair[0]))
    out.active = [e for _, e in kept]
    return out


# ----------------------------------------------------------------- asking
def lore_about(source: WorldState | WorldSpec | Iterable[LoreSpec], topic: str) -> list[LoreSpec]:
    """What the lore says about ``topic`` ("the forest", "Seraphina's past").

    An entry answers when one of its keys appears in the topic, or the topic (its
    words, without a leading article) names the entry or one of its keys. Disabled
    entries never answer. The best answers come first: a key named in full, then
    higher ``order``.

    Args:
        source: a world state, a world file's spec, or the entries themselves.
        topic: what was asked about, in the player's words.
    """
    wanted = normalize_name(topic)
    if not wanted:
        return []
    hits: list[tuple[int, int, int, LoreSpec]] = []
    for i, e in enumerate(lore_entries(source)):
        if not e.enabled:
            continue
        names = [normalize_name(k) for k in [*e.keys, e.name] if k]
        if any(n and n == wanted for n in names):
            rank = 0
        elif any(key_in(k, topic, e) for k in e.keys):
            rank = 1
        elif any(n and _words_in(wanted, n) for n in names):
            rank = 2
        else:
            continue
        hits.append((rank, -e.order, i, e))
    hits.sort(key=lambda h: h[:3])
    return [h[3] for h in hits]


def _words_in(wanted: str, name: str) -> bool:
    """Every word of ``wanted`` is a word of ``name`` ("forest" in "the old forest")."""
    words = set(name.split())
    return bool(wanted.split()) and all(w in words for w in wanted.split())


__all__ = [
    "LoreActivation",
    "activate",
    "entry_cost",
    "entry_text",
    "lore_about",
    "lore_entries",
    "matches",
    "rough_tokens",
]
