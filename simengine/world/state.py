"""``WorldState``: the world as a typed graph.

Nodes are entities (``id``, ``kind``, ``name``, ``description``, ``alive``,
``origin``, ``attributes`` ...); edges are relations keyed by their name. ``at``
is containment (character -> location; item -> location or character) and
``connects`` is a passage, stored both ways. Callers ask questions through
methods, never by poking at the graph.
"""

from __future__ import annotations

import bisect
import contextlib
import copy as _copy
import difflib
import gc
import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import networkx as nx
import pydantic_core

from simengine.world.ops import NewEntity, Op
from simengine.world.spec import PRICE_ATTRIBUTE, AttributeDef, WorldSpec

AT = "at"
CONNECTS = "connects"
STRUCTURAL = (AT, CONNECTS)
#: The kind of a fact's node, and the edge from a character to a fact it knows.
FACT = "fact"
KNOWS = "knows"
#: Lore fields a fact node keeps (its id, name and text are the node's own).
FACT_FIELDS = ("keys", "secondary_keys", "logic", "constant", "enabled", "order", "tokens",
               "case_sensitive", "whole_words", "extensions")
#: Up to this many names, suggestions come from a scan of them all.
CLOSEST_SCAN_LIMIT = 5_000
#: Goal places whose distances :meth:`WorldState.toward` keeps (a whole big map's
#: is some 15,000 entries).
WAYS_KEPT = 4
#: Containers whose contents :meth:`WorldState.contents` keeps (a beat asks of a dozen;
#: a long game would otherwise come to keep a big world's every place and pocket).
HELD_KEPT = 4_096
_ARTICLES = re.compile(r"^(the|a|an)\s+")
_DIGIT = re.compile(r"\d")
_NON_WORD = re.compile(r"[^\w\s'-]+")
_PLAIN = re.compile(r"[a-z0-9'-]+(?: [a-z0-9'-]+)*")

#: Cyrillic and Greek letters that look like a Latin letter or digit, case kept
#: ("\u0421aptain", with a Cyrillic Es, is "Captain"). The pairs are Unicode's own
#: (confusables.txt, UTS #39) for these scripts; tests/world/test_names.py checks
#: them against the confusable-homoglyphs package's copy of that table.
_LOOK_ALIKE_PAIRS = (
    "\u037fJ\u0391A\u0392B\u0395E\u0396Z\u0397H\u0399I\u039aK\u039cM\u039dN\u039fO\u03a1P\u03a4T"
    "\u03a5Y\u03a7X\u03b1a\u03b3y\u03b9i\u03bdv\u03bfo\u03c1p\u03c3o\u03c5u\u03d2Y\u03dcF\u03f1p"
    "\u03f2c\u03f3j\u03f9C\u03faM\u1d26r\u1fbei"  # Greek; Cyrillic:
    "\u0405S\u0406I\u0408J\u0410A\u0412B\u0415E\u04173\u041aK\u041cM\u041dH\u041eO\u0420P\u0421C"
    "\u0422T\u0423Y\u0425X\u042cb\u0430a\u04316\u0433r\u0435e\u043eo\u0440p\u0441c\u0443y\u0445x"
    "\u0455s\u0456i\u0458j\u0461w\u0474V\u0475v\u04aeY\u04afy\u04bbh\u04bde\u04c0I\u04cfi\u04e03"
    "\u0501d\u050cG\u051bq\u051cW\u051dw\ua6442\ua647i"
)
_LOOK_ALIKES = {
    ord(_LOOK_ALIKE_PAIRS[i]): _LOOK_ALIKE_PAIRS[i + 1] for i in range(0, len(_LOOK_ALIKE_PAIRS), 2)
}
#: Characters that show nothing (besides the Cf "format" category: zero-width
#: spaces and joiners, soft hyphens, direction marks, which are dropped too).
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u2800\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
)


def _unconfuse(name: str) -> str:
    """One spelling for names that look alike: NFKC, no invisibles, Latin look-alikes."""
    # The table goes first too: NFKC would make a lunate sigma (which passes for C) a sigma.
    text = unicodedata.normalize("NFKC", name.translate(_LOOK_ALIKES))
    text = "".join(
        ch for ch in text
        if ch not in _INVISIBLE and unicodedata.category(ch) != "Cf"
        and not 0xE0100 <= ord(ch) <= 0xE01EF  # variation selectors 17-256
    )
    return text.translate(_LOOK_ALIKES).casefold()


def normalize_name(name: str) -> str:
    """How names are compared: lower-case, no punctuation, no leading article.

    Names that only look different are the same name: fullwidth and other
    compatibility forms (NFKC), case (casefold), invisible characters and
    Cyrillic or Greek letters standing in for Latin ones all fold away.
    """
    if not name.isascii():
        name = _unconfuse(name)
    else:
        low = name.lower()
        # Most names are already in the form (one space between plain words, no
        # article): a world of 100,000 names is indexed at every start.
        if _PLAIN.fullmatch(low) and not low.startswith(("the ", "a ", "an ")):
            return low
    text = _NON_WORD.sub(" ", name.lower()).strip()
    text = re.sub(r"\s+", " ", text)
    return _ARTICLES.sub("", text).strip()


def _pieces(length: int) -> list[tuple[int, int]]:
    """(start, size) of the 2k+1 near-equal pieces a name key of ``length`` is cut into."""
    count = 5 if length >= 9 else 3  # k = 2 slips allowed from 9 letters, else 1
    bounds = [length * i // count for i in range(count + 1)]
    return [(bounds[i], bounds[i + 1] - bounds[i]) for i in range(count)]


def _index_pieces(index: dict[tuple[int, int, str], list[str]], key: str) -> None:
    if len(key) < 4:
        return  # too short to be anybody's typo
    for j, (start, size) in enumerate(_pieces(len(key))):
        index.setdefault((len(key), j, key[start : start + size]), []).append(key)


def location_along(
    entity_id: str, kind: Callable[[str], str | None], holder: Callable[[str], str | None]
) -> str | None:
    """The first location up the chain of holders from ``entity_id`` (itself, if a place)."""
    seen: set[str] = set()
    current: str | None = entity_id
    while current is not None and current not in seen:
        seen.add(current)
        if kind(current) == "location":
            return current
        current = holder(current)
    return None


def up_holders(
    start: str | None, target: str, holder: Callable[[str], str | None]
) -> bool:
    """True when ``target`` is ``start`` or up the chain of holders from it (loop-safe)."""
    seen: set[str] = set()
    current = start
    while current is not None and current not in seen:
        if current == target:
            return True
        seen.add(current)
        current = holder(current)
    return False


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """No cyclic garbage collection inside: building or writing out a big world makes
    millions of objects that live on, and the collector, woken by each few hundred
    of them, would walk them all again and again (half the time of a 100,000-entity
    load). Nothing made inside is garbage in a cycle, so nothing is lost.

    On the way out, everything alive joins the oldest generation (``freeze`` then
    ``unfreeze`` moves it there without walking it), so the next beats do not walk
    the new world once as young objects (a 100-500 ms stall at 100,000 entities).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was:
            gc.enable()


def fact_node(entry: dict[str, Any], origin: str, event_id: Any = None) -> dict[str, Any]:
    """A fact's node data from its ``[[facts]]``/``[[lore]]`` form (a dumped ``LoreSpec``).

    ``public`` facts (no ``known_by``) are known by everyone, newcomers too, and
    need no edges; the others are known along ``knows`` edges.
    """
    text = str(entry.get("content") or entry.get("text") or "")
    data = {
        "id": str(entry["id"]),
        "kind": FACT,
        "name": entry.get("name") or fact_gist(text) or str(entry["id"]),
        "description": text,
        "aliases": [],
        "alive": None,
        "origin": origin,
        "origin_event": event_id,
        "attributes": {},
        "public": entry.get("known_by") is None,
        "secret": bool(entry.get("secret")),
        **{k: _copy.deepcopy(entry[k]) for k in FACT_FIELDS if k in entry},
    }
    if not entry.get("name"):
        data["gist"] = True  # its name is its text's opening words, not the author's title
    return data


def fact_gist(text: str, limit: int = 60) -> str:
    """A fact's name when its author gave none: the opening words of its text."""
    flat = " ".join(text.split()).rstrip(".")
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    return (cut[: cut.rfind(" ")] if " " in cut else cut).rstrip(" ,;:") + "…"


class StateError(ValueError):
    """An op could not be applied (only raised for ops that never passed ``check``)."""


class BrokenGraph(ValueError):
    """Node-link data that is not a world's graph; the message says what is wrong
    with it ("has a node without an id")."""


class WorldState:
    """The world at one moment: a ``networkx.MultiDiGraph`` with game-level queries."""

    def __init__(self, graph: nx.MultiDiGraph):
        self.graph = graph
        # networkx's own node dict: the hot lookups (kind, name, is_alive) read it
        # directly, skipping NodeView's Mapping layer, which costs several times more.
        self._node: dict[str, dict[str, Any]] = graph._node
        self._names: dict[str, dict[str, list[str]]] | None = None
        #: Every word of a character's name or alias, kept with the name index.
        self._name_words: set[str] = set()
        # Indexes derived from the nodes, built on first use and kept up to date by
        # apply(): nodes are never removed and never change kind, so only create and
        # kill touch them. Without them a 100,000-entity world is scanned every beat.
        # kind -> {id: its place among that kind, in the order they came into the world}
        self._by_kind: dict[str, dict[str, int]] | None = None
        self._living: list[str] | None = None
        self._dead: list[str] | None = None
        self._sorted: dict[str, list[str]] = {}
        self._authored: dict[tuple[str, int], list[str]] = {}
        self._defs: tuple[dict[str, Any], dict[str, AttributeDef]] | None = None
        self._typos: tuple[dict[str, Any], dict[tuple[int, int, str], list[str]]] | None = None
        #: Bumped whenever a fact is added or amended (lore is read through a cache).
        self._fact_version = 0
        #: (the fact version it was read at, the public facts in the world's order).
        self._public: tuple[int, list[str]] | None = None
        self._revealers: dict[str, list[str]] | None = None
        #: goal place -> (distances to it found so far, the search's next level), the
        #: most recently asked last; dropped whenever a passage is made.
        self._ways: dict[str, tuple[dict[str, int], list[str]]] = {}
        #: container -> (what it directly holds, the characters of it, the items of
        #: it), each in id order: kept once asked, dropped by whatever makes or undoes
        #: an ``at`` edge to it (put, add_entity; relate and unrelate, should a caller
        #: that skips the rules name ``at``).
        self._held: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}

    # ------------------------------------------------------------------ build
    @classmethod
    def from_spec(cls, spec: WorldSpec) -> WorldState:
        """Build the initial state of a world file (assumed validated)."""
        g = nx.MultiDiGraph()
        g.graph.update(
            world=spec.world.model_dump(mode="json"),
            attributes={k: d.model_dump(mode="json") for k, d in spec.attributes.items()},
            relation_kinds=spec.relation_kinds,
            currency=spec.currency,
            player=spec.player.character if spec.player else None,
            tick=0,
        )
        if any(e.known_by is not None for e in spec.knowledge):  # some know what others don't
            g.graph["gossip"] = spec.story.gossip
        if spec.rules:  # likewise: author rules, checked by world.rules (rules.authored)
            g.graph["rules"] = [rule.model_dump(mode="json") for rule in spec.rules]
        nodes: list[dict[str, Any]] = []
        for section, kind in (
            ("locations", "location"),
            ("characters", "character"),
            ("items", "item"),
            ("factions", "faction"),
        ):
            # The kind's attribute defaults, worked out once (a big world has 100,000
            # entities); each entity's own attributes override them.
            defaults = {
                name: d.default
                for name, d in spec.attributes.items()
                if kind in d.kinds and d.default is not None
            }
            for e in getattr(spec, section):
                data: dict[str, Any] = {
                    "id": e.id,
                    "kind": kind,
                    "name": e.name,
                    "description": e.description,
                    "aliases": list(e.aliases),
                    "alive": getattr(e, "alive", True) if kind == "character" else None,
                    "origin": "authored",
                    "origin_event": None,
                    "attributes": {**defaults, **e.attributes},
                }
                if kind == "character":
                    data["traits"] = list(e.traits)
                    data["goals"] = list(e.goals)
                    data["died_tick"] = None  # authored dead died before the story began
                    if e.essential:  # the director never kills them by chance
                        data["essential"] = True
                elif kind == "item" and e.reveals:  # only then: worlds without facts keep
                    data["reveals"] = list(e.reveals)  # byte-identical states
                nodes.append(data)
        # Each edge is only its relation: _built gives every edge of a relation one
        # dict, so these need not be one each.
        passage, at = {"relation": CONNECTS}, {"relation": AT}
        edges = []
        for loc in spec.locations:
            for other in loc.connects:
                edges.append((loc.id, other, CONNECTS, passage))
                edges.append((other, loc.id, CONNECTS, passage))
        edges.extend((e.id, e.at, AT, at) for e in [*spec.characters, *spec.items])
        edges.extend(
            (r.source, r.target, r.relation, {"relation": r.relation}) for r in spec.relations
        )
        for node_id, entry in spec.fact_nodes():
            data = fact_node({**entry.model_dump(mode="json"), "id": node_id}, "authored")
            if node_id != entry.id:
                data["lore_id"] = entry.id
            nodes.append(data)
            edges.extend((who, node_id, KNOWS, {"relation": KNOWS}) for who in entry.known_by or ())
        return cls._built(g, nodes, edges)

    @classmethod
    def _built(
        cls,
        g: nx.MultiDiGraph,
        nodes: Iterable[dict[str, Any]],
        edges: Iterable[tuple[str, str, str, dict[str, Any]]],
        *,
        shared: bool = False,
    ) -> WorldState:
        """``g`` (empty but for its graph data) filled with ``nodes`` (each its node
        data, ``id`` included) and ``edges`` (source, target, key, data), as
        ``add_node`` and ``add_edge`` fill it, without their per-call overhead: a
        world of 100,000 entities is built at every start and every resume.

        Strings that recur across entities (kinds, origins, traits, attribute
        values, relation names) are shared, not held once per entity (unless
        ``shared`` says the nodes' already are, as a parser that caches strings
        leaves them: a resume at 100,000 entities then skips a walk over them all),
        and an edge
        names its ends with its nodes' own id strings, not copies of them (a file
        read back holds one per mention). The data of an edge that is only its
        relation, as every edge of a world is, is one dict per relation name,
        shared by those edges: read-only, as networkx leaves it (``add_edge`` of an
        existing edge writes the same relation back). A world of 100,000 entities
        keeps about 75 MB less this way.

        Raises:
            BrokenGraph: a node without an id, an edge whose ends are not among ``nodes``.
        """
        with bulk():
            node, succ, pred = g._node, g._succ, g._pred
            same: dict[str, str] = {}
            share = same.setdefault
            only: dict[str, dict[str, Any]] = {}  # relation name -> {"relation": it}
            for data in nodes:
                n = data.get("id") if data.__class__ is dict else None
                if n.__class__ is not str:
                    raise BrokenGraph("has a node without an id")
                node[n] = data
                succ[n] = {}
                pred[n] = {}
                if shared:
                    continue
                for key in ("kind", "origin", "description"):
                    value = data.get(key)
                    if value.__class__ is str:
                        data[key] = share(value, value)
                attrs = data.get("attributes")
                if attrs.__class__ is dict:
                    for key, value in attrs.items():
                        if value.__class__ is str:
                            attrs[key] = share(value, value)
                for key in ("traits", "goals"):
                    values = data.get(key)
                    if values.__class__ is list and values:
                        values[:] = [share(v, v) if v.__class__ is str else v for v in values]
            for u, v, key, attrs in edges:
                if u.__class__ is not str or v.__class__ is not str:
                    raise BrokenGraph("has an edge without both ends")
                source, target = node.get(u), node.get(v)
                if source is None or target is None:
                    missing = v if source is not None else u
                    raise BrokenGraph(f"has an edge to {missing!r}, which is not among its nodes")
                u, v = source["id"], target["id"]  # the key objects themselves
                if key.__class__ is str:
                    relation = only.get(key)
                    if relation is None:
                        key = share(key, key)
                        relation = only[key] = {"relation": key}
                    key = relation["relation"]
                    if attrs == relation:
                        attrs = relation
                keydict = succ[u].get(v)
                if keydict is None:
                    succ[u][v] = pred[v][u] = {key: attrs}
                else:
                    keydict[key] = attrs
        return cls(g)

    # ----------------------------------------------------------- world facts
    @property
    def world(self) -> dict[str, Any]:
        return self.graph.graph["world"]

    @property
    def tick(self) -> int:
        return self.graph.graph["tick"]

    @tick.setter
    def tick(self, value: int) -> None:
        self.graph.graph["tick"] = value

    @property
    def player(self) -> str | None:
        return self.graph.graph.get("player")

    @property
    def currency(self) -> str | None:
        return self.graph.graph.get("currency")

    @property
    def relation_kinds(self) -> list[str]:
        return self.graph.graph["relation_kinds"]

    def attribute_defs(self) -> dict[str, AttributeDef]:
        return dict(self._attribute_defs())

    def attribute_def(self, name: str) -> AttributeDef | None:
        return self._attribute_defs().get(name)

    def _attribute_defs(self) -> dict[str, AttributeDef]:
        # Built once per attributes table (no op changes it): every check, scene and
        # procedural beat asks, and building pydantic models each time adds up.
        raw = self.graph.graph["attributes"]
        cached = self._defs
        if cached is None or cached[0] is not raw or len(cached[1]) != len(raw):
            cached = (raw, {k: AttributeDef(**v) for k, v in raw.items()})
            self._defs = cached
        return cached[1]

    # -------------------------------------------------------------- entities
    def __contains__(self, entity_id: object) -> bool:
        try:  # networkx's own test, without its method call (asked many times a beat)
            return entity_id in self._node
        except TypeError:  # unhashable: no entity
            return False

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def entity(self, entity_id: str) -> dict[str, Any]:
        """The node data of an entity (read it, do not mutate it)."""
        return self._node[entity_id]  # what graph.nodes[...] answers, without its view

    def kind(self, entity_id: str) -> str | None:
        node = self._node.get(entity_id)
        return node["kind"] if node else None

    def of_kind(self, ids: Iterable[str], kind: str) -> list[str]:
        """Those of ``ids`` that are entities of ``kind``, in their order (others, and
        ids the world does not hold, left out)."""
        node = self._node
        return [e for e in ids if (data := node.get(e)) is not None and data["kind"] == kind]

    def name(self, entity_id: str) -> str:
        node = self._node.get(entity_id)
        return node["name"] if node else entity_id

    def is_alive(self, entity_id: str) -> bool:
        node = self._node.get(entity_id)
        return bool(node) and node.get("alive") is not False

    def attr(self, entity_id: str, attribute: str, default: Any = None) -> Any:
        return self._node[entity_id]["attributes"].get(attribute, default)

    def price(self, item_id: str) -> float:
        """What an item costs: its ``value``, never below 0 (a curse does not pay you)."""
        value = self.attr(item_id, PRICE_ATTRIBUTE, 0) if item_id in self.graph else 0
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 0
        return max(value, 0)

    def entities(self, kind: str | None = None) -> Iterator[str]:
        """Entity ids (of ``kind``), in the order they came into the world."""
        if kind is None:
            yield from self._node
        else:
            yield from self._kinds().get(kind, ())

    def characters(self, alive: bool | None = None) -> list[str]:
        """Character ids in the order they came into the world (living or dead only)."""
        everyone = self._kinds().get("character", ())
        if alive is None:
            return list(everyone)
        if alive:
            if self._living is None:
                self._living = [c for c in everyone if self.is_alive(c)]
            return list(self._living)
        if self._dead is None:
            self._dead = [c for c in everyone if not self.is_alive(c)]
        return list(self._dead)

    def sorted_ids(self, kind: str) -> Sequence[str]:
        """Ids of ``kind`` in id order (kept, and kept sorted as entities are made,
        since every tick picks from it; read it, do not change it)."""
        ids = self._sorted.get(kind)
        if ids is None:
            ids = self._sorted[kind] = sorted(self._kinds().get(kind, ()))
        return ids

    def authored(self, kind: str, n: int) -> list[str]:
        """The first ``n`` entities of ``kind`` the world file made, in its order.

        Kept once asked (every beat's prompt names them): whatever play makes is
        ``invented``, so the answer never changes (read it, do not change it).
        """
        found = self._authored.get((kind, n))
        if found is None:
            node = self._node
            found = self._authored[kind, n] = list(itertools.islice(
                (e for e in self.entities(kind) if node[e].get("origin") == "authored"), n))
        return found

    def _kinds(self) -> dict[str, dict[str, int]]:
        if self._by_kind is None:
            index: dict[str, dict[str, int]] = {}
            for node_id, data in self._node.items():
                of_kind = index.setdefault(data["kind"], {})
                of_kind[node_id] = len(of_kind)
            self._by_kind = index
        return self._by_kind

    # ------------------------------------------------------------ containment
    # The containment and passage queries read networkx's adjacency dicts (target ->
    # {key: data}) directly: an edge view per call cost more than the lookup itself,
    # and a scene asks hundreds of them. Anything but an entity id keeps the views'
    # own answer (None, for one, means every node to them).
    def holder(self, entity_id: str) -> str | None:
        """The direct container of a character or item (a location, or a character)."""
        adj = self.graph._succ.get(entity_id) if isinstance(entity_id, str) else None
        if adj is not None:
            for target, keys in adj.items():
                if AT in keys:
                    return target
            return None
        for _, target, key in self.graph.out_edges(entity_id, keys=True):
            if key == AT:
                return target
        return None

    def where(self, entity_id: str) -> str | None:
        """The location an entity is in, following holders (an item in a pocket)."""
        return location_along(entity_id, self.kind, self.holder)

    def contents(self, container: str) -> list[str]:
        """Everything directly at a location or carried by a character, in id order."""
        held = self._held_by(container)
        if held is not None:
            return list(held[0])
        return sorted(
            source for source, _, key in self.graph.in_edges(container, keys=True) if key == AT
        )

    def _held_by(
        self, container: object
    ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None:
        """What an entity directly holds, its characters and its items (None for anything
        but an entity id).

        Kept per container: a beat asks of the same few places and pockets many times
        (the scene, the plan, the narration, the director), and sorting and sorting
        out their contents each time cost more than the rest of those questions.
        """
        if not isinstance(container, str):
            return None
        held = self._held.get(container)
        if held is not None:
            return held
        adj = self.graph._pred.get(container)
        if adj is None:
            return None
        node = self._node
        everything = tuple(sorted(source for source, keys in adj.items() if AT in keys))
        held = (
            everything,
            tuple(e for e in everything if node[e]["kind"] == "character"),
            tuple(e for e in everything if node[e]["kind"] == "item"),
        )
        if len(self._held) >= HELD_KEPT:
            del self._held[next(iter(self._held))]  # the longest kept
        self._held[container] = held
        return held

    def present_at(self, location: str) -> list[str]:
        """Characters and items directly at a location."""
        return self.contents(location)

    def people_at(self, location: str, alive: bool | None = True) -> list[str]:
        held = self._held_by(location)
        if held is None:
            return [e for e in self.contents(location)
                    if self.kind(e) == "character" and (alive is None or self.is_alive(e) == alive)]
        if alive is None:
            return list(held[1])
        node = self._node
        return [e for e in held[1] if (node[e].get("alive") is not False) == alive]

    def things_at(self, location: str) -> list[str]:
        return self._items(location)

    def inventory(self, character: str) -> list[str]:
        return self._items(character)

    def _items(self, container: str) -> list[str]:
        held = self._held_by(container)
        if held is None:
            return [e for e in self.contents(container) if self.kind(e) == "item"]
        return list(held[2])

    def exits(self, location: str) -> list[str]:
        adj = self.graph._succ.get(location) if isinstance(location, str) else None
        if adj is not None:
            return sorted(target for target, keys in adj.items() if CONNECTS in keys)
        return sorted(
            target
            for _, target, key in self.graph.out_edges(location, keys=True)
            if key == CONNECTS
        )

    def toward(self, start: str, goal: str) -> str | None:
        """Where the shortest way from ``start`` to ``goal`` begins: the first of
        ``start``'s exits (in their order) one step nearer (None when no way leads
        there, or ``start`` is ``goal``). What a plain search from ``start`` finds.

        Distances to ``goal`` are searched outward from it, a level at a time and
        only as far as asked, and kept until a passage is made: the director asks
        this for the same few goals at every beat, one step nearer each time, and a
        search of a 15,000-place map at each beat cost more than the rest of it.
        """
        if start == goal:
            return None
        far = self._steps_to(start, goal)
        if not far:
            return None
        dist = self._ways[goal][0]  # every place nearer than ``start`` is in it
        return next((e for e in self.exits(start) if dist.get(e) == far - 1), None)

    def _steps_to(self, start: str, goal: str) -> int | None:
        """Passages on the shortest way from ``start`` to ``goal`` (None: no way)."""
        ways = self._ways.pop(goal, None)
        if ways is None:
            if len(self._ways) >= WAYS_KEPT:
                del self._ways[next(iter(self._ways))]  # the least recently asked
            ways = ({goal: 0}, [goal])
        self._ways[goal] = ways
        dist, front = ways
        succ = self.graph._succ
        # Passages go both ways (the spec's and connect's), so the search from the
        # goal follows exits too. A whole level at a time: then every place nearer
        # than ``start`` is known once it is.
        while start not in dist and front:
            level, nxt = dist[front[0]] + 1, []
            for here in front:
                for there, keys in (succ.get(here) or {}).items():
                    if CONNECTS in keys and there not in dist:
                        dist[there] = level
                        nxt.append(there)
            front[:] = nxt
        return dist.get(start)

    def is_within(self, entity_id: str, container: str) -> bool:
        """True when ``container`` holds ``entity_id``, directly or through others."""
        return up_holders(self.holder(entity_id), container, self.holder)

    # -------------------------------------------------------------- relations
    def relations(self, entity_id: str | None = None) -> list[tuple[str, str, str]]:
        """Social and other non-structural relations, (source, relation, target)."""
        node = self._node

        def social(relation: str, target: str) -> bool:
            # Knowing a fact is an edge too, but no relation between entities.
            return relation not in STRUCTURAL and not (
                relation == KNOWS and node[target]["kind"] == FACT)

        if entity_id is None:
            return sorted({(s, k, t) for s, t, k in self.graph.edges(keys=True) if social(k, t)})
        out_adj = self.graph._succ.get(entity_id) if isinstance(entity_id, str) else None
        if out_adj is None:
            return []  # not in this world
        # One entity's: read its adjacency dicts, not edge views (asked at every beat).
        found = {(entity_id, k, t) for t, keys in out_adj.items() for k in keys if social(k, t)}
        found.update((s, k, entity_id) for s, keys in self.graph._pred[entity_id].items()
                     for k in keys if social(k, entity_id))
        return sorted(found)

    def has_relation(self, source: str, relation: str, target: str) -> bool:
        # graph.has_edge's answer, without the KeyError it raises and catches for a
        # pair with no tie (most pairs: a beat asks of every hostile tie, for everyone here)
        ties = self.graph._succ.get(source)
        keys = ties.get(target) if ties is not None else None
        return keys is not None and relation in keys

    def neighbourhood(self, entity_id: str, k: int = 1) -> set[str]:
        """Every entity within ``k`` hops of ``entity_id``, edges taken both ways."""
        frontier = {entity_id}
        seen = {entity_id}
        for _ in range(k):
            nxt: set[str] = set()
            for node in frontier:
                nxt.update(self.graph.successors(node))
                nxt.update(self.graph.predecessors(node))
            # Facts are not places nor people: knowing one brings nobody nearer.
            frontier = {e for e in nxt - seen if self._node[e]["kind"] != FACT}
            seen |= frontier
            if not frontier:
                break
        return seen

    # -------------------------------------------------------------- knowledge
    def private_knowledge(self) -> bool:
        """Whether some know what others do not (the world has facts with ``known_by``)."""
        return "gossip" in self.graph.graph

    def is_fact(self, entity_id: str) -> bool:
        node = self._node.get(entity_id) if isinstance(entity_id, str) else None
        return bool(node) and node["kind"] == FACT

    def fact_text(self, fact: str) -> str:
        return str(self._node[fact].get("description") or "") if self.is_fact(fact) else ""

    def is_secret(self, fact: str) -> bool:
        return self.is_fact(fact) and bool(self._node[fact].get("secret"))

    def is_public(self, fact: str) -> bool:
        """Known by everyone (lore without ``known_by``): no edge needed."""
        return self.is_fact(fact) and bool(self._node[fact].get("public"))

    def knows(self, who: str, fact: str) -> bool:
        """Whether character ``who`` knows ``fact``."""
        if not self.is_fact(fact) or self.kind(who) != "character":
            return False
        if self._node[fact].get("public"):
            return True
        return KNOWS in self.graph._succ[who].get(fact, {})

    def known_by(self, fact: str) -> list[str]:
        """The characters who know ``fact``, in the order they came into the world."""
        if not self.is_fact(fact):
            return []
        if self._node[fact].get("public"):
            return self.characters()
        order = self._kinds().get("character", {})
        knowers = (s for s, keys in self.graph._pred[fact].items() if KNOWS in keys)
        return sorted((c for c in knowers if c in order), key=order.__getitem__)

    def facts_known(self, who: str) -> list[str]:
        """The facts ``who`` knows, in the order they came into the world.

        Read from ``who``'s own ``knows`` edges and the public facts, not from every
        fact of the world: a long game's gossip makes facts by the hundred.
        """
        if self.kind(who) != "character":
            return []
        order = self._kinds().get(FACT, {})  # fact -> its place among the facts
        known = {t for t, keys in self.graph._succ[who].items() if KNOWS in keys and t in order}
        known.update(self._public_facts())
        return sorted(known, key=order.__getitem__)

    def _public_facts(self) -> list[str]:
        """The facts everyone knows, in the order they came into the world (kept
        until a fact is added or amended: read it, do not change it)."""
        if self._public is None or self._public[0] != self._fact_version:
            node = self._node
            self._public = (self._fact_version,
                            [f for f in self.entities(FACT) if node[f].get("public")])
        return self._public[1]

    def revealers(self, fact: str) -> list[str]:
        """The things that teach ``fact`` when examined (world-file ``reveals``)."""
        if self._revealers is None:  # reveals are authored only: read the items once
            index: dict[str, list[str]] = {}
            node = self._node
            for item in self._kinds().get("item", ()):
                for f in node[item].get("reveals") or ():
                    index.setdefault(f, []).append(item)
            self._revealers = index
        return list(self._revealers.get(fact, ()))

    def reveals(self, item: str) -> list[str]:
        """The facts examining ``item`` teaches (its ``reveals``)."""
        node = self._node.get(item) if isinstance(item, str) else None
        return [f for f in (node or {}).get("reveals") or () if self.is_fact(f)]

    def learn(self, who: str, fact: str) -> None:
        """Record that ``who`` now knows ``fact`` (a checked op's effect)."""
        self._need(who, fact)
        if not self.knows(who, fact):
            self.graph.add_edge(who, fact, key=KNOWS, relation=KNOWS)

    def put_fact(self, fact: str, text: str, *, knower: str | None = None, secret: bool = False,
                 event_id: Any = None) -> None:
        """Add a new fact known by ``knower``, or give an existing one new ``text``."""
        if self.is_fact(fact):
            self._node[fact]["description"] = text
            self._fact_version += 1
            return
        if fact in self.graph:
            raise StateError(f"'{fact}' is a {self.kind(fact)}, not a fact")
        self.graph.add_node(fact, **fact_node(
            {"id": fact, "content": text, "known_by": [], "secret": secret}, "invented",
            event_id))
        self._fact_version += 1
        if self._names is not None:
            self._index_node(self._names, fact, self._name_words)
        if self._by_kind is not None:
            facts = self._by_kind.setdefault(FACT, {})
            facts[fact] = len(facts)
        self._sorted.pop(FACT, None)
        if knower is not None:
            self.learn(knower, fact)

    # ------------------------------------------------------------------ names
    def name_index(self) -> dict[str, dict[str, list[str]]]:
        """normalized name or alias -> kind -> ids. Built once, kept up to date."""
        if self._names is None:
            index: dict[str, dict[str, list[str]]] = {}
            words: set[str] = set()
            with bulk():
                for node_id in self._node:
                    self._index_node(index, node_id, words)
            self._names, self._name_words = index, words
        return self._names

    def name_words(self) -> set[str]:
        """Every word of every character's name, id and alias (normalized): what a
        newcomer's name must avoid. Kept with the name index, as entities come,
        so no beat reads 100,000 names for it (read it, do not change it). Words
        with a digit are left out: no invented name has one, and a big world's
        numbered people would make them 35,000 words (4 MB) kept for nothing."""
        self.name_index()
        return self._name_words

    def _index_node(self, index: dict[str, dict[str, list[str]]], node_id: str,
                    words: set[str]) -> None:
        data = self._node[node_id]
        keys = {normalize_name(data["name"]), normalize_name(node_id.replace("-", " "))}
        keys.update(normalize_name(a) for a in data.get("aliases", []))
        typos = self._typos[1] if self._typos is not None and self._typos[0] is index else None
        for key in keys:
            if typos is not None and key and key not in index:
                _index_pieces(typos, key)
            if key:
                index.setdefault(key, {}).setdefault(data["kind"], []).append(node_id)
        if data["kind"] == "character":
            words.update(w for w in " ".join(keys).split() if not _DIGIT.search(w))

    def typo_candidates(self, key: str) -> set[str]:
        """Name keys that may be a small typo away from ``key`` (normalized).

        Never misses a key within the distance canon forgives (one slip between
        names of 4+ letters, two between names of 9+), so a world-wide typo search
        that finds none here can stop; a few more come back, for the caller to
        check. Each key is cut into 2k+1 pieces: k slips (a swap included) touch
        at most 2k of them, so one piece appears in ``key`` as it is, shifted by
        at most k. Looking those pieces up is what keeps the search off a
        100,000-name scan.
        """
        lq = len(key)
        if lq < 4:
            return set()
        index = self._typo_index()
        out: set[str] = set()
        for length in range(max(4, lq - 2), lq + 3):
            k = 2 if min(lq, length) >= 9 else 1
            if abs(length - lq) > k:
                continue
            for j, (start, size) in enumerate(_pieces(length)):
                for pos in range(max(start - k, 0), min(start + k, lq - size) + 1):
                    hits = index.get((length, j, key[pos : pos + size]))
                    if hits:
                        out.update(hits)
        return out

    def _typo_index(self) -> dict[tuple[int, int, str], list[str]]:
        names = self.name_index()
        if self._typos is None or self._typos[0] is not names:
            index: dict[tuple[int, int, str], list[str]] = {}
            with bulk():
                for key in names:
                    _index_pieces(index, key)
            self._typos = (names, index)
        return self._typos[1]

    def living_named(self, name: str, kind: str) -> list[str]:
        """Living entities of ``kind`` whose name (not alias) matches ``name``."""
        key = normalize_name(name)
        return [
            e
            for e in self.name_index().get(key, {}).get(kind, [])
            if self.is_alive(e) and normalize_name(self.name(e)) == key
        ]

    def closest(
        self, text: str, *, kind: str | None = None, among: Iterable[str] | None = None, n: int = 3
    ) -> list[str]:
        """Ids whose names come closest to ``text``: suggestions for a model or author."""
        key = normalize_name(text)
        if among is not None:
            candidates = {normalize_name(self.name(e)): e for e in among if e in self.graph}
            candidates.update(
                {normalize_name(e.replace("-", " ")): e for e in among if e in self.graph}
            )
            if kind:
                candidates = {k: e for k, e in candidates.items() if self.kind(e) == kind}
            names = list(candidates)
            lookup = lambda k: [candidates[k]]  # noqa: E731
        else:
            index = self.name_index()
            # In a big world a scan of every name costs more than a beat: suggest
            # only the names a few slips away, which the typo index finds at once.
            pool = index if len(index) <= CLOSEST_SCAN_LIMIT else self.typo_candidates(key)
            # Without a kind, suggest entities: a fact is named by its id, after "knows".
            names = [k for k in pool if kind in index[k] or kind is None
                     and any(kd != FACT for kd in index[k])]
            lookup = lambda k: [  # noqa: E731
                e for kd, ids in index[k].items()
                if kd == kind or kind is None and kd != FACT for e in ids
            ]
        out: list[str] = []
        for match in difflib.get_close_matches(key, names, n=n, cutoff=0.5):
            for e in lookup(match):
                if e not in out:
                    out.append(e)
        return out[:n]

    # ------------------------------------------------------------------ apply
    def apply(self, ops: Iterable[Op], *, tick: int | None = None, event_id: Any = None) -> None:
        """Apply resolved, checked ops in order. Mutates this state."""
        if tick is not None:
            self.tick = tick
        for op in ops:
            op.apply(self, event_id)  # each op kind says how (``world/ops/``)

    # The changes ops make (``Op.apply`` composes them; the state owns its graph).
    def add_entity(self, e: NewEntity, event_id: Any = None) -> None:
        """Bring a new entity into the world (``e.id`` must be new)."""
        g = self.graph
        if not e.id or e.id in g:
            raise StateError(f"create needs a new id, got {e.id!r}")
        if e.at is not None:
            self._need(e.at)
        defs = self.attribute_defs()
        attributes = {
            n: d.default for n, d in defs.items() if e.kind in d.kinds and d.default is not None
        }
        attributes.update(e.attributes)
        data: dict[str, Any] = {
            "id": e.id,
            "kind": e.kind,
            "name": e.name,
            "description": e.description,
            "aliases": [],
            "alive": True if e.kind == "character" else None,
            "origin": "invented",
            "origin_event": event_id,
            "attributes": attributes,
        }
        if e.kind == "character":
            data.update(traits=list(e.traits), goals=list(e.goals), died_tick=None)
        g.add_node(e.id, **data)
        if e.at:
            if e.kind == "location":
                self._connect(e.id, e.at)
            else:
                g.add_edge(e.id, e.at, key=AT, relation=AT)
                self._held.pop(e.at, None)
        if self._names is not None:
            self._index_node(self._names, e.id, self._name_words)
        if self._by_kind is not None:
            of_kind = self._by_kind.setdefault(e.kind, {})
            of_kind[e.id] = len(of_kind)
        if e.kind in self._sorted:
            bisect.insort(self._sorted[e.kind], e.id)
        if e.kind == "character" and self._living is not None:
            self._living.append(e.id)  # the newest entity: its place in node order
        for fact in e.knows:
            self.learn(e.id, fact)

    def put(self, subject: str, holder: str) -> None:
        """``subject`` is now at (or inside, or carried by) ``holder``."""
        g = self.graph
        self._need(subject, holder)
        old = self.holder(subject)
        if old is not None:
            g.remove_edge(subject, old, key=AT)
            self._held.pop(old, None)
        g.add_edge(subject, holder, key=AT, relation=AT)
        self._held.pop(holder, None)

    def add_to(self, entity: str, attribute: str, by: float) -> None:
        """Add ``by`` to a number attribute (from its default when unset)."""
        self._need(entity)
        attrs = self.graph.nodes[entity]["attributes"]
        current = attrs.get(attribute)
        d = self.attribute_def(attribute)
        if current is None:
            current = d.default if d and d.default is not None else 0
        # An int attribute stays an int (check only lets whole amounts through).
        attrs[attribute] = current + (int(by) if d and d.type == "int" else by)

    def set_attribute(self, entity: str, attribute: str, value: Any) -> None:
        self._need(entity)
        self.graph.nodes[entity]["attributes"][attribute] = value

    def relate(self, source: str, relation: str, target: str) -> None:
        self._need(source, target)
        self.graph.add_edge(source, target, key=relation, relation=relation)
        if relation == AT:  # the rules refuse it (relation.kind); a replay does not ask
            self._held.pop(target, None)

    def unrelate(self, source: str, relation: str, target: str) -> None:
        if self.graph.has_edge(source, target, key=relation):
            self.graph.remove_edge(source, target, key=relation)
            if relation == AT:
                self._held.pop(target, None)

    def connect(self, a: str, b: str) -> None:
        """A passage between two places, both ways."""
        self._need(a, b)
        self._connect(a, b)

    def kill(self, entity: str, cause: str = "") -> None:
        self._need(entity)
        node = self.graph.nodes[entity]
        if self._living is not None and entity in self._living:
            self._living.remove(entity)
        self._dead = None
        node["alive"] = False
        node["died_tick"] = self.tick
        node["cause_of_death"] = cause

    def _connect(self, a: str, b: str) -> None:
        if self._ways and not self.has_relation(a, CONNECTS, b):
            self._way_made(a, b)
        for s, t in ((a, b), (b, a)):
            if not self.graph.has_edge(s, t, key=CONNECTS):
                self.graph.add_edge(s, t, key=CONNECTS, relation=CONNECTS)

    def _way_made(self, a: str, b: str) -> None:
        """Keep :meth:`toward`'s distances right as a passage ``a``-``b`` is made.

        A place that joins the map by its first passage (a new place, as stories
        invent them) is one step past the other end, and shortens no other way: it
        is added where the search has gone that far, and found later where not.
        Any other passage may shorten many ways: their distances are searched anew.
        """
        succ = self.graph._succ
        bare = [x for x in (a, b) if not any(CONNECTS in k for k in succ[x].values())]
        if len(bare) != 1:
            self._ways.clear()
            return
        new = bare[0]
        old = b if new == a else a
        for goal, (dist, front) in list(self._ways.items()):
            if new in dist:  # the goal itself: everything is nearer now
                del self._ways[goal]
                continue
            d = dist.get(old)
            if d is None:
                continue  # beyond the search so far: found when it gets there
            # Known where the search has gone past ``old`` (a finished one too); a
            # leaf leads nowhere else, so no later level needs it in its frontier.
            if not front or d < dist[front[0]]:
                dist[new] = d + 1

    def _need(self, *ids: str) -> None:
        for entity_id in ids:
            if entity_id not in self.graph:
                raise StateError(f"unknown entity {entity_id!r}")

    # ------------------------------------------------------- copy, equality
    def copy(self) -> WorldState:
        with bulk():
            return WorldState(_copy.deepcopy(self.graph))

    def to_node_link(self, *, copy: bool = True) -> dict[str, Any]:
        """The state as node-link JSON data (``edges`` key, ``relation`` per edge).

        ``copy=False`` skips the deep copies: only for data serialised at once,
        before the state changes (it shares the graph's dicts).
        """
        data = self._node_link()
        if copy:
            data["graph"] = _copy.deepcopy(data["graph"])
            data["nodes"] = [_copy.deepcopy(n) for n in data["nodes"]]
        return data

    def to_json(self) -> str:
        """``self.to_node_link()`` as JSON text (compact, key order kept), without the copies."""
        return self.to_json_bytes().decode("utf-8")

    def to_json_bytes(self) -> bytes:
        """:meth:`to_json` in UTF-8, as a save stores it (no text made on the way).

        A new game writes its big world's initial state, and snapshots one every
        few dozen events: deep-copying it first cost several times more than the
        JSON itself, and pydantic's writer takes a third of what ``json.dumps``
        does. ``json.dumps`` writes what pydantic's cannot (a lone surrogate,
        which is not UTF-8).
        """
        with bulk():
            data = self._node_link()
            try:
                return pydantic_core.to_json(data, inf_nan_mode="constants")
            except ValueError:  # pydantic_core.PydanticSerializationError
                return json.dumps(data).encode("ascii")

    def _node_link(self) -> dict[str, Any]:
        # What nx.node_link_data(graph, edges="edges") builds, key order included,
        # reading networkx's dicts directly (its views cost more than the rest). A
        # node's data already holds its ``id`` where {**d, "id": n} would put it, so
        # it goes as it is: 100,000 dict copies fewer for a big world.
        return {
            "directed": True,
            "multigraph": True,
            "graph": self.graph.graph,
            "nodes": [d if d.get("id") == n else {**d, "id": n} for n, d in self._node.items()],
            "edges": [
                {**d, "source": u, "target": v, "key": k}
                for u, targets in self.graph._succ.items()
                for v, keys in targets.items()
                for k, d in keys.items()
            ],
        }

    @classmethod
    def from_node_link(
        cls, data: dict[str, Any], *, copy: bool = True, shared: bool = False
    ) -> WorldState:
        """A state from node-link data; ``copy=False`` hands ``data`` over (it is consumed).
        ``shared``: the nodes' recurring strings are one object each already (as
        pydantic's JSON parser, caching strings, leaves them).

        Raises:
            BrokenGraph: not a world's graph (a node without an id, an edge without ends).
        """
        if copy:
            data = _copy.deepcopy(data)
        g = nx.MultiDiGraph()
        g.graph.update(data.get("graph") or {})

        def edges() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
            for e in data["edges"]:
                if e.__class__ is not dict:
                    raise BrokenGraph("has an edge without both ends")
                u, v = e.pop("source", None), e.pop("target", None)
                key = e.pop("key", None)
                yield u, v, e.get("relation") if key is None else key, e

        return cls._built(g, data["nodes"], edges(), shared=shared)

    def _canonical(self) -> tuple:
        nodes = sorted(
            (n, json.dumps(d, sort_keys=True, default=str)) for n, d in self.graph.nodes(data=True)
        )
        edges = sorted(self.graph.edges(keys=True))
        graph = json.dumps(self.graph.graph, sort_keys=True, default=str)
        return nodes, edges, graph

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorldState):
            return NotImplemented
        return self._canonical() == other._canonical()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<WorldState {self.world.get('id')} tick={self.tick} entities={len(self)}>"
