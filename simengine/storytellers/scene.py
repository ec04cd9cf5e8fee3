"""Scenes: bounded context for one beat, built from the world graph.

A scene has a stable ``prefix`` (the world bible with its principal cast and
places, attribute definitions, relation kinds, the wire format and the hard
rules; identical for every call in one world, so a server can reuse its KV
cache) and a changing ``context``, ordered from the slowest-changing part to the
fastest so that calls share as long a prefix as they can: the focus (goals,
attributes, what it carries), then the tick, its place, who and what is there,
relations, the k-hop neighbourhood, recent events, the machine-readable scene
block, and the lore the scene brought in. Every list is capped, and the context
(the scene block included) stops growing at a token budget, so a scene in a
world of 100,000 entities and a history of 100,000 events is about as long as
one in a world of 100 on its first tick.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from simengine.storytellers.base import Intent, RecentEvent, Scene
from simengine.world.lore import LoreActivation, activate, entry_text, lore_entries
from simengine.world.ops import prompt_lines
from simengine.world.rules import registry
from simengine.world.rules.authored import author_rules
from simengine.world.rules.registry import prompt_rules
from simengine.world.spec import PRICE_ATTRIBUTE
from simengine.world.state import FACT, WorldState
from simengine.world.text import number

# Hard caps per section (entries), whatever the budget.
MAX_LAWS = 12
MAX_ATTRIBUTES = 24
MAX_RELATION_KINDS = 40
MAX_EXITS = 12
#: Fact ids the actor knows, in the scene block.
MAX_BLOCK_KNOWN = 12
MAX_INVENTORY = 12
MAX_PEOPLE = 16
MAX_THINGS = 16
MAX_RELATIONS = 16
MAX_NEARBY = 40
MAX_RECENT = 10
MAX_KNOWN = 8
MAX_BFS_VISITS = 600
MAX_CARRIED = 3
#: The world bible's principal cast and places (the first authored ones, in world-file order).
MAX_CAST = 12
MAX_PLACES = 12
CAST_DESCRIPTION = 110
#: Caps of the scene block's lists (the prose above it shows the rest, budget allowing).
MAX_BLOCK_PEOPLE = 8
MAX_BLOCK_ITEMS = 8
MAX_BEYOND = 4
MAX_DEAD = 4
#: Share of the context budget held back for recent events before the neighbourhood fills it.
RECENT_SHARE = 0.5
#: How many of the latest events (anywhere) lore keys are looked for in, besides the scene.
LORE_SCAN_EVENTS = 4
NEARBY_HEADER = "Nearby (beyond this place):"
LORE_HEADER = "# Lore (background the world's author wrote; use what fits)"
SCENE_OPEN = "<<SCENE_JSON>>"
SCENE_CLOSE = "<<END>>"
#: The default size of a scene's changing part (context and scene block), in tokens.
#: Small on purpose: every call pays for it uncached, while the prefix is cached.
SCENE_BUDGET = 320
_T = TypeVar("_T")
#: No section's line is shorter: a dash, an id of one character, a colon (see _Context.entry).
_SHORTEST_ENTRY = "- x: "


@dataclass
class TokenEstimator:
    """Estimates tokens from characters; calibrated from a server's prompt token counts.

    Attributes:
        chars_per_token: the current ratio (4.0 is a fair guess for English and BPE).
        samples: how many calibrations went into the ratio.
    """

    chars_per_token: float = 4.0
    samples: int = 0
    min_ratio: float = 1.5
    max_ratio: float = 8.0

    def estimate(self, text: str) -> int:
        """Estimated tokens of ``text`` (rounded up)."""
        return math.ceil(len(text) / self.chars_per_token) if text else 0

    def calibrate(self, chars: int, prompt_eval_count: int) -> None:
        """Fold one observation (prompt characters, Ollama's ``prompt_eval_count``) in.

        A running mean for the first few samples, then an exponential moving average;
        each observation is clamped to a sane ratio so one odd reply cannot skew it.
        """
        if chars <= 0 or prompt_eval_count <= 0:
            return
        observed = min(max(chars / prompt_eval_count, self.min_ratio), self.max_ratio)
        alpha = max(1.0 / (self.samples + 1), 0.2)
        ratio = (1 - alpha) * self.chars_per_token + alpha * observed
        self.chars_per_token = min(max(ratio, self.min_ratio), self.max_ratio)
        self.samples += 1


def clip(text: object, limit: int) -> str:
    """One line of at most ``limit`` characters, cut at a word where it can."""
    flat = " ".join(str(text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


# ------------------------------------------------------------------ prefix
def world_prefix(state: WorldState) -> str:
    """The stable part of every prompt in this world: no tick, no focus, no entity lists.

    Asked at every beat and the same nearly all game, so it is made again only when
    something it is made of has changed (kept on the state, as its lore is).
    """
    people = _cast_people(state)
    ops = prompt_lines(state)
    settings = (state.currency, tuple(state.relation_kinds), id(state._attribute_defs()),
                id(registry.BUILT_IN), id(author_rules(state)))
    # The world's settings go in as they are and are kept as a copy: comparing the
    # two dicts finds an edit in place, at a small part of the cost of writing the
    # settings out (repr) at every beat. (Equal numbers of two types, 1 and 1.0, are
    # the same setting to it, as they are to the rules that read them.)
    key = (people, ops, state.world, settings)
    cached = getattr(state, "_prefix_cache", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    text = _world_prefix(state, _cast_section(people), ops)
    kept = (people, ops, copy.deepcopy(state.world), settings)
    state._prefix_cache = (kept, text)  # type: ignore[attr-defined]
    return text


def _world_prefix(state: WorldState, cast_lines: list[str], ops: tuple[str, ...]) -> str:
    w = state.world
    currency = state.currency
    out = [
        "You are the storyteller of a simulated world. You propose what happens as typed "
        "operations; the engine's rules decide what becomes true.",
        "",
        f"# World: {clip(w.get('name'), 120)}",
    ]
    if w.get("premise"):
        out.append(f"Premise: {clip(w['premise'], 1200)}")
    if w.get("tone"):
        out.append(f"Tone: {clip(w['tone'], 300)}")
    out.append(f"One tick of story time is one {clip(w.get('tick', 'hour'), 40)}.")
    laws = list(w.get("laws") or [])[:MAX_LAWS]
    if laws:
        out.append("Laws of this world (honour them in what you propose and tell; "
                   "no code checks them for you):")
        out.extend(f"- {clip(law, 300)}" for law in laws)
    out += ["", "# Attributes"]
    defs = sorted(state.attribute_defs().items())[:MAX_ATTRIBUTES]
    if not defs:
        out.append("(none)")
    for name, d in defs:
        bits = [d.type, "for " + ", ".join(d.kinds)]
        if d.min is not None or d.max is not None:
            lo = number(d.min) if d.min is not None else ""
            hi = number(d.max) if d.max is not None else ""
            bits.append(f"range {lo}..{hi}")
        if d.protected:
            bits.append("PROTECTED: never changes")
        if d.conserved:
            bits.append("conserved: only changes hands, a proposal's adjustments sum to 0")
        if name == currency:
            bits.append("the currency")
        if name == PRICE_ATTRIBUTE and currency:
            bits.append(f"the price in {currency}: an item with a value must be paid for")
        line = f"- {name}: " + "; ".join(bits)
        if d.description:
            line += f". {clip(d.description, 120)}"
        out.append(line)
    kinds = state.relation_kinds[:MAX_RELATION_KINDS]
    out += ["", "# Relation kinds", ", ".join(kinds)]
    out += cast_lines
    out += ["", *_OPS_HEAD, *ops]  # each op kind's own line (world/ops/)
    rules = prompt_rules(state)  # the rule registry words them for this world
    out += ["", "# Hard rules (a proposal that breaks one is rejected)"]
    out += [f"{i}. {rule}" for i, rule in enumerate(rules, 1)]
    return "\n".join(out) + "\n"


def cast(state: WorldState) -> list[str]:
    """The principal cast and places the world bible describes: the first authored
    characters and locations, in world-file order (never an invented one, so the
    list, like the prefix, stays the same all game)."""
    return [*state.authored("character", MAX_CAST), *state.authored("location", MAX_PLACES)]


#: What the prefix says of one of the cast: id, name, kind, description, traits.
_CastMember = tuple[str, str, str, str | None, tuple[str, ...]]


def _cast_people(state: WorldState) -> tuple[_CastMember, ...]:
    # Read at every beat (the prefix's key), written out only when it changed; from
    # networkx's node dict, as _bfs reads its adjacency (a node view costs as much again).
    nodes = state.graph._node
    return tuple((e, (node := nodes[e])["name"], node["kind"], node.get("description"),
                  tuple(node.get("traits") or ())) for e in cast(state))


def _cast_section(people: Sequence[_CastMember]) -> list[str]:
    if not people:
        return []
    out = ["", "# Who and what this world is made of (where people are, and who lives, "
           "each scene says)"]
    for e, name, kind, description, traits in people:
        line = f"- {e} ({clip(name, 60)}, {kind})"
        if description:
            line += f": {clip(description, CAST_DESCRIPTION)}"
        if traits:
            line += f" Traits: {clip(', '.join(traits), 80)}"
        out.append(line)
    return out


_OPS_HEAD = (
    "# How to propose",
    'Answer with one JSON object: {"actor": "<id>", "summary": "<one short sentence>", '
    '"ops": [<op>, ...]}. Ops:',
)


# ----------------------------------------------------------------- context
class _Here:
    """What one scene asks the state about its place and its focus, asked once.

    The scene block and the sections ask the same (who and what is at the place, its
    exits, the focus's relations); they share the answers, so read them, never
    change them.
    """

    def __init__(self, state: WorldState, here: str | None, focus: str | None):
        self.state = state
        self.here = here
        #: The place, when it is one of the world's (a scene may name one that is not).
        self.place = here if here is not None and here in state else None
        self.focus = focus

    @functools.cached_property
    def exits(self) -> list[str]:
        return self.state.exits(self.place) if self.place is not None else []

    @functools.cached_property
    def people(self) -> list[str]:
        """Everyone at the place, the dead too, in id order."""
        return self.state.people_at(self.place, alive=None) if self.place is not None else []

    @functools.cached_property
    def things(self) -> list[str]:
        return self.state.things_at(self.place) if self.place is not None else []

    @functools.cached_property
    def relations(self) -> list[tuple[str, str, str]]:
        return self.state.relations(self.focus) if self.focus else []


class _Context:
    """Lines of the changing part, with a running token count and the ids they show."""

    def __init__(self, state: WorldState, estimator: TokenEstimator, budget: int,
                 look: _Here):
        self.s = state
        self.look = look
        self.est = estimator
        self.budget = budget
        self.used = 0
        self.lines: list[str] = []
        self.ids: list[str] = []
        self._seen: set[str] = set()
        #: Described in the prefix already: the context shows them by label only.
        self.cast: set[str] = set()

    def cost(self, lines: Iterable[str]) -> int:
        return sum(self.est.estimate(line + "\n") for line in lines)

    def fits(self, lines: Sequence[str]) -> bool:
        return self._within(self.cost(lines))

    def _within(self, cost: int) -> bool:
        return self.used + cost <= self.budget

    def add(self, lines: Sequence[str], ids: Iterable[str] = (), force: bool = False) -> bool:
        """Append ``lines`` if they fit (or ``force``); record the ids they show."""
        cost = self.cost(lines)
        if not force and not self._within(cost):
            return False
        self.lines.extend(lines)
        self.used += cost
        self.show(*ids)
        return True

    def show(self, *ids: str | None) -> None:
        for e in ids:
            if e and e in self.s and e not in self._seen:
                self._seen.add(e)
                self.ids.append(e)

    def room_for(self, header: str) -> bool:
        """Whether a section under ``header`` could show its first entry at all
        (when not, it shows nothing, and nothing need be looked up for it)."""
        return self.fits([header, _SHORTEST_ENTRY])

    def section(self, header: str, items: Iterable[_T],
                describe: Callable[[_T], tuple[str, Sequence[str]]], limit: int) -> None:
        """A header and as many of ``items`` as the cap and budget allow, each written
        as ``describe`` says (its line and the ids it shows), then how many more.

        Only the items shown are described, and ``items`` may be lazy: those past
        the shown ones are only counted, and none is found when the section has no
        room (a scene's budget is mostly spent before its neighbourhood is walked).
        """
        if not self.room_for(header):
            return
        it = iter(items)
        tried = shown = 0
        for item in itertools.islice(it, limit):
            tried += 1
            line, ids = describe(item)
            if not self.add([header, line] if not shown else [line], ids):
                break
            shown += 1
        if not shown:
            return  # the header goes only with a first entry
        rest = tried - shown + sum(1 for _ in it)
        if rest > 0:
            self.add([f"  (and {rest} more)"])

    # -------------------------------------------------------- descriptions
    def label(self, e: str) -> str:
        return f"{e} ({clip(self.s.name(e), 60)})"

    def priced(self, e: str) -> str:
        price = self.s.price(e)
        if price and self.s.currency:
            return f"{e} ({clip(self.s.name(e), 60)}, value {number(price)} {self.s.currency})"
        return self.label(e)

    def entry(
        self, e: str, *, where: bool = False, carrying: bool = False
    ) -> tuple[str, list[str]]:
        s = self.s
        node = s.entity(e)
        bits = [f"- {e}: {clip(node['name'], 60)}"]
        kind = node["kind"]
        tags = [] if kind in ("character", "item") and not where else [kind]
        if kind == "character" and not s.is_alive(e):
            tags.append("DEAD")
        price = s.price(e) if kind == "item" else 0
        if price and s.currency:
            tags.append(f"value {number(price)} {s.currency}")
        ids = [e]
        holder = s.holder(e) if where and kind in ("character", "item") else None
        if holder:
            tags.append(f"at {holder}")
            ids.append(holder)
        if tags:
            bits.append(f" [{', '.join(tags)}]")
        if node.get("description") and e not in self.cast:
            bits.append(f" — {clip(node['description'], 100).rstrip('.')}")
        if carrying and kind == "character" and e not in self.cast:
            # What the prefix's cast says of authored people (traits), and why a
            # newcomer is in the story (their first goal), said here instead.
            if node.get("traits"):
                bits.append(f"; {clip(', '.join(node['traits'][:3]), 60)}")
            if node.get("goals"):
                bits.append(f"; wants: {clip(node['goals'][0], 80)}")
        if carrying and kind == "character":
            held = s.inventory(e)
            if held:
                shown = held[:MAX_CARRIED]
                more = f" and {len(held) - len(shown)} more" if len(held) > len(shown) else ""
                bits.append(f"; carries {', '.join(self.priced(i) for i in shown)}{more}")
                ids.extend(shown)
        return "".join(bits), ids

    def attributes(self, e: str) -> str:
        attrs = self.s.entity(e).get("attributes") or {}
        shown = [f"{k} {number(v)}" for k, v in sorted(attrs.items())[:12]]
        return ", ".join(shown)


def _bfs(state: WorldState, starts: Sequence[str], k: int) -> Iterator[str]:
    """Entities within ``k`` hops of ``starts`` in breadth-first, id-sorted order.

    Lazily: a caller that needs the first few stops the walk there (a place in a
    big world has dozens of neighbours, each with dozens more).
    """
    seen, frontier = set(starts), list(starts)
    succ, pred, kind = state.graph._succ, state.graph._pred, state.kind
    for _ in range(k):
        nxt: list[str] = []
        for node in frontier:
            for other in sorted({*succ[node], *pred[node]}):
                if other not in seen and kind(other) != FACT:
                    seen.add(other)
                    nxt.append(other)
                    yield other
            if len(seen) >= MAX_BFS_VISITS:
                return
        frontier = nxt
        if not frontier:
            break


def pick_location(state: WorldState, seed: int) -> str | None:
    """A location chosen deterministically from a beat's seed (for world beats)."""
    locations = state.sorted_ids("location")
    return locations[seed % len(locations)] if locations else None


def build_scene(
    state: WorldState,
    intent: Intent,
    recent: Sequence[RecentEvent] = (),
    *,
    budget_tokens: int = SCENE_BUDGET,
    k: int = 2,
    estimator: TokenEstimator | None = None,
    location: str | None = None,
    tick: int | None = None,
) -> Scene:
    """The scene for one beat; its context (the scene block included) within
    ``budget_tokens`` (estimated).

    The focus, its place and the scene block are always shown (each capped);
    everything else is added only while it fits. The prefix is the same for every
    beat of a world and is not counted: a server keeps it cached.

    Args:
        state: the world now.
        intent: the beat; its actor (or the player, or a location picked from its
            seed for a world beat) is the focus.
        recent: committed events, any order; those involving the focus or its place
            are shown newest first.
        budget_tokens: the target size of the context (the changing part).
        k: how many hops of neighbourhood to consider around the focus.
        estimator: the token estimator (calibrated ones give better fits).
        location: the focus place of a world beat, instead of one picked from the seed.
        tick: the tick to show (default: the state's).
    """
    est = estimator or TokenEstimator()
    prefix = world_prefix(state)
    now = state.tick if tick is None else tick
    focus: str | None = intent.actor if intent.actor in state else None
    if focus is None and intent.kind == "player" and state.player in state:
        focus = state.player
    if focus is None:
        here = location if location in state else pick_location(state, intent.seed)
        focus = here
    else:
        here = state.where(focus)
    look = _Here(state, here, focus)
    ctx = _Context(state, est, budget_tokens, look)
    ctx.cast = set(cast(state))
    # Slowest-changing first: the focus's own context, then this tick's scene.
    if focus is not None and focus != here:
        _focus_section(ctx, focus)
    ctx.add([f"# Scene at tick {now}"], force=True)
    facts = _block_facts(look, intent)
    block = scene_block_text(facts)
    ctx.budget -= ctx.cost([block])  # the block always goes in: the sections get the rest
    shown_recent = _select_recent(recent, focus, here)
    recent_lines = [f"- tick {ev.tick}: {clip(ev.summary, 160)}" for ev in shown_recent]
    # Held back for the story so far, which is written after the lists it outranks.
    reserve = min(ctx.cost(["# Recent events (newest first)", *recent_lines]),
                  int(max(ctx.budget - ctx.used, 0) * RECENT_SHARE))
    ctx.budget -= reserve
    if here is not None:
        _place_section(ctx, here, focus)
    if focus is not None:
        _relations_section(ctx)
        _knowledge_section(ctx, focus)
        _nearby_section(ctx, focus, here, k)
    ctx.budget += reserve
    kept: list[RecentEvent] = []
    if recent_lines and ctx.add(["# Recent events (newest first)", recent_lines[0]]):
        kept.append(shown_recent[0])
        for ev, line in zip(shown_recent[1:], recent_lines[1:], strict=True):
            if not ctx.add([line]):
                break
            kept.append(ev)
    ctx.budget += ctx.cost([block])
    ctx.add([block], _fact_ids(facts), force=True)
    lore = _lore_section(ctx, state, intent, recent)
    return Scene(
        focus=focus,
        location=here,
        ids=ctx.ids,
        prefix=prefix,
        context="\n".join(ctx.lines) + "\n",
        tick=now,
        state=state,
        recent=kept,
        lore=lore,
        facts=facts,
    )


# ------------------------------------------------------------ the scene block
def scene_facts(
    state: WorldState, intent: Intent, here: str | None, focus: str | None = None
) -> dict[str, Any]:
    """The machine-readable facts of a scene, every list capped: what goes between
    the scene markers (actor, place, exits, places beyond them, who is here, items
    and their holders, money, the dead).

    Small models copy ids from it more reliably than from prose, and the fake
    server (:mod:`simengine.eval.adversary`) reads it to make plausible proposals
    from the request alone, as a separate process would have to.
    """
    return _block_facts(_Here(state, here, focus), intent)


def _block_facts(look: _Here, intent: Intent) -> dict[str, Any]:
    state, here, there = look.state, look.here, look.place is not None
    actor = intent.actor or None
    exits = look.exits[:MAX_EXITS]
    # The living first (they are who a beat can involve), then the cap.
    people = sorted(look.people, key=lambda e: not state.is_alive(e))[:MAX_BLOCK_PEOPLE]
    if actor and actor in state and actor not in people:
        people.append(actor)
    items: list[dict[str, Any]] = []
    for holder in [here, *people] if there else people:
        if len(items) >= MAX_BLOCK_ITEMS:
            break
        held = look.things if holder == here else state.inventory(holder)
        for item in held[: MAX_BLOCK_ITEMS - len(items)]:
            entry: dict[str, Any] = {"id": item, "name": clip(state.name(item), 60),
                                     "holder": holder}
            price = state.price(item)
            if price:
                entry["value"] = price
            items.append(entry)
    # Places one step past the exits: not reachable in one move. Small models
    # need to see that the map goes on; the fake uses them for teleports.
    beyond = sorted({b for e in exits for b in state.exits(e)} - {here, *exits})[:MAX_BEYOND]
    related = [dst for _, _, dst in look.relations[:MAX_RELATIONS]]
    dead = [c for c in dict.fromkeys([*people, *related])
            if state.kind(c) == "character" and not state.is_alive(c)][:MAX_DEAD]
    currency = state.currency
    person: list[dict[str, Any]] = []
    for p in people:
        entry = {"id": p, "name": clip(state.name(p), 60)}
        if not state.is_alive(p):
            entry["alive"] = False  # the living are the default
        person.append(entry)
    out: dict[str, Any] = {
        "beat": intent.kind,
        "actor": actor,
        "location": here,
        "exits": exits,
        "beyond": beyond,
        "people": person,
        "items": items,
        "money": {p: state.attr(p, currency) for p in people} if currency else {},
        "dead": dead,
    }
    known = ([f for f in state.facts_known(actor) if not state.is_public(f)]
             if actor and actor in state else [])
    if known:  # the ids of what the actor knows that not everyone does, newest first
        out["knows"] = known[::-1][:MAX_BLOCK_KNOWN]
    return out


def _fact_ids(facts: dict[str, Any]) -> list[str]:
    ids = [facts.get("actor"), facts.get("location"), *facts["exits"],
           *(p["id"] for p in facts["people"]), *(i["id"] for i in facts["items"]),
           *(i["holder"] for i in facts["items"]), *facts["dead"]]
    return [e for e in ids if e]


#: One encoder for every block: ``json.dumps`` with options makes a new one each call.
_BLOCK_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def fact_block(opening: str, facts: dict[str, Any]) -> str:
    """``<<OPENING>>{...}<<END>>`` on one line (compact, sorted keys: stable bytes)."""
    body = _BLOCK_JSON.encode(facts)
    # "<" only occurs inside JSON strings; escaping it means no name can end the block.
    return f"{opening}{body.replace('<', chr(92) + 'u003c')}{SCENE_CLOSE}"


def scene_block_text(facts: dict[str, Any]) -> str:
    """``<<SCENE_JSON>>{...}<<END>>``: a scene's facts, one line."""
    return fact_block(SCENE_OPEN, facts)


def _lore_section(
    ctx: _Context, state: WorldState, intent: Intent, recent: Sequence[RecentEvent]
) -> LoreActivation:
    """Lore brought in by the scene, the player's words and the latest events, last of all.

    It goes after everything else (never into the stable prefix), so activating an
    entry changes only the end of the prompt and a server's cached prefix holds. It
    has its own budget, outside the scene's.
    """
    entries = lore_entries(state)
    budget = int(state.world.get("lore_budget", 400) or 0)
    if not entries:
        return LoreActivation(budget=budget)
    # By tick; a stable sort keeps the later of one tick's events later.
    latest = sorted(recent, key=operator.attrgetter("tick"))[-LORE_SCAN_EVENTS:]
    text = "\n".join([*ctx.lines, intent.text, *(ev.summary for ev in latest)])
    found = activate(entries, text, budget, ctx.est.estimate)
    if found.active:
        # Lore is author data, but it must not pose as the engine's own markers.
        lines = [entry_text(e).replace("<<", "« ").replace(">>", " »") for e in found.active]
        ctx.add([LORE_HEADER, *lines], force=True)
    return found


def _focus_section(ctx: _Context, focus: str) -> None:
    s = ctx.s
    node = s.entity(focus)
    head = f"# Focus: {ctx.label(focus)}, {node['kind']}"
    if node["kind"] == "character" and not s.is_alive(focus):
        head += " — DEAD"
    lines = [head]
    if focus not in ctx.cast:  # the cast is described in the prefix
        if node.get("description"):
            lines.append(clip(node["description"], 300))
        if node.get("traits"):
            lines.append("Traits: " + clip(", ".join(node["traits"]), 160))
    if node.get("goals"):
        lines.append("Goals: " + clip("; ".join(node["goals"]), 200))
    attrs = ctx.attributes(focus)
    if attrs:
        lines.append(f"Attributes: {attrs}")
    ctx.add(lines, [focus], force=True)
    carried = s.inventory(focus)
    if carried:
        ctx.section("Carrying:", carried, ctx.entry, MAX_INVENTORY)


def _place_section(ctx: _Context, here: str, focus: str | None) -> None:
    s = ctx.s
    node = s.entity(here)
    lines = [f"# Place: {ctx.label(here)}"]
    if node.get("description") and here not in ctx.cast:
        lines.append(clip(node["description"], 300))
    exits = ctx.look.exits
    shown = exits[:MAX_EXITS]
    more = f" (and {len(exits) - len(shown)} more)" if len(exits) > len(shown) else ""
    lines.append("Exits: " + (", ".join(ctx.label(e) for e in shown) or "none") + more)
    ctx.add(lines, [here, *shown], force=True)
    people = [e for e in ctx.look.people if e != focus]
    # The living first: they are who a beat can involve.
    people.sort(key=lambda e: (not s.is_alive(e), e))
    ctx.section("People here:", people, functools.partial(ctx.entry, carrying=True),
                MAX_PEOPLE)
    ctx.section("Things here:", ctx.look.things, ctx.entry, MAX_THINGS)


def _relations_section(ctx: _Context) -> None:
    rels = ctx.look.relations

    def line(rel: tuple[str, str, str]) -> tuple[str, list[str]]:
        src, kind, dst = rel
        return f"- {ctx.label(src)} {kind} {ctx.label(dst)}", [src, dst]

    ctx.section("Relations:", rels, line, MAX_RELATIONS)


def known_facts(state: WorldState, who: str, near: Iterable[str] = ()) -> list[str]:
    """The facts ``who`` knows that only some know, most relevant first.

    A fact naming more of ``near`` (the people, places and things in view) comes
    first; among equals, the newest (invented facts come last into the world).
    Facts everyone knows are lore, brought in by their keys instead.
    """
    known = [f for f in state.facts_known(who) if not state.is_public(f)]
    if len(known) < 2:
        return known
    names = [state.name(e).lower() for e in near if e in state and e != who]
    ranked = []
    for order, f in enumerate(known):
        text = state.fact_text(f).lower()
        hits = sum(n in text for n in names if n)
        ranked.append((-hits, -order, f))
    return [f for *_, f in sorted(ranked)]


def _knowledge_section(ctx: _Context, focus: str) -> None:
    s = ctx.s
    if s.kind(focus) != "character":
        return
    header = f"What {focus} knows (a tell may share only these):"
    if not ctx.room_for(header):
        return  # then the facts need not be ranked either

    def line(f: str) -> tuple[str, list[str]]:
        return f"- {f}{' [secret]' if s.is_secret(f) else ''}: {clip(s.fact_text(f), 220)}", [f]

    ctx.section(header, known_facts(s, focus, ctx.ids), line, MAX_KNOWN)


def _nearby_section(ctx: _Context, focus: str, here: str | None, k: int) -> None:
    # Hops count from the focus and from the place it stands in, so whoever is in
    # the next room is as near as what the focus's friends carry.
    # Walked lazily: only as far as the section shows, then counts (most beats, the
    # first entry does not fit and the walk stops there).
    shown = set(ctx.ids)
    walk = (e for e in _bfs(ctx.s, [x for x in (focus, here) if x], k) if e not in shown)
    ctx.section(NEARBY_HEADER, itertools.islice(walk, MAX_NEARBY),
                functools.partial(ctx.entry, where=True), MAX_NEARBY)


def _select_recent(
    recent: Sequence[RecentEvent], focus: str | None, here: str | None
) -> list[RecentEvent]:
    wanted = {e for e in (focus, here) if e}
    hits = [
        (i, ev) for i, ev in enumerate(recent)
        if ev.actor in wanted or not wanted.isdisjoint(ev.involves)
    ]
    # Newest first; among events of one tick, the later one in the list is newer.
    hits.sort(key=lambda pair: (-pair[1].tick, -pair[0]))
    return [ev for _, ev in hits[:MAX_RECENT]]


__all__ = [
    "TokenEstimator",
    "build_scene",
    "cast",
    "clip",
    "pick_location",
    "scene_facts",
    "world_prefix",
]
