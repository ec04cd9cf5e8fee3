"""The procedural storyteller: no model, seeded, and bound by the same rules as any.

NPC beats pick a weighted archetype whose preconditions hold in the world
(wander, meet, talk, trade, quarrel, befriend, find, arrive, discover, fall ill,
die) and build its ops; world beats bring weather, a newcomer or a new place;
player beats parse plain English into ops *without* second-guessing them, so
the engine's rules, not this parser, decide what a player may do. Every random
choice comes from a ``random.Random`` seeded from (storyteller seed, beat seed,
tick, actor): same inputs, same story.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from simengine.storytellers.base import CallRecord, Intent, Scene
from simengine.storytellers.namegen import NameGen, unique_id
from simengine.storytellers.narration import tell
from simengine.storytellers.scene import clip, pick_location
from simengine.world.ops import (
    Adjust,
    Create,
    Kill,
    Move,
    NewEntity,
    Op,
    Proposal,
    Relate,
    Transfer,
    Unrelate,
)
from simengine.world.rules import Violation, invention_budget
from simengine.world.state import WorldState, normalize_name

ARCHETYPES: tuple[str, ...] = (
    "wander", "meet", "talk", "trade", "quarrel", "befriend",
    "find", "arrive", "discover", "fall_ill", "die",
)
WEIGHTS: dict[str, float] = {
    "wander": 3.0, "meet": 2.0, "talk": 3.0, "trade": 4.0, "quarrel": 1.0, "befriend": 1.2,
    # Finding and arriving invent things: kept rarer so a story is not all trinkets
    # and strangers.
    "find": 0.6, "arrive": 0.4, "discover": 0.3, "fall_ill": 0.6, "die": 0.15,
}
WORLD_EVENTS: dict[str, float] = {"weather": 4.0, "arrive": 1.2, "discover": 0.8}
#: Nobody dies of an archetype in a world with fewer living characters than this.
MIN_POPULATION_FOR_DEATH = 6
HEALTH_ATTRIBUTES = ("health", "hp", "vitality", "vigour", "vigor", "stamina", "wellbeing")
MOOD_ATTRIBUTES = ("mood", "morale", "spirits", "temper", "happiness", "cheer")
_HOSTILE_ORDER = ("rival_of", "enemy_of", "distrusts")

#: A planned beat: its summary and its ops in bundles that stand or fall together.
Plan = tuple[str, list[list[Op]]]


@dataclass(frozen=True)
class TickMemory:
    """What already happened to an actor this tick, so a beat does not undo or mirror it.

    Attributes:
        partners: the people who already shared a beat with the actor this tick
            (B does not meet A right after A met B).
        items: the things that already changed hands or place this tick (no item
            goes back and forth in one tick).
    """

    partners: frozenset[str] = frozenset()
    items: frozenset[str] = frozenset()


def tick_memory(scene: Scene, actor: str | None) -> TickMemory:
    """The actor's :class:`TickMemory` from the scene's recent events of this tick."""
    if actor is None:
        return TickMemory()
    state = scene.state
    partners: set[str] = set()
    items: set[str] = set()
    for ev in scene.recent:
        if ev.tick != scene.tick:
            continue
        involved = [e for e in ev.involves if e in state]
        items.update(e for e in involved if state.kind(e) == "item")
        if actor in involved or ev.actor == actor:
            partners.update(e for e in involved if state.kind(e) == "character" and e != actor)
            if ev.actor and ev.actor != actor:
                partners.add(ev.actor)
    return TickMemory(frozenset(partners), frozenset(items))


def mix_seed(*parts: object) -> int:
    """A 64-bit seed from any parts; stable across runs (no ``hash()`` of strings)."""
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


# ------------------------------------------------------------ world facts
def _num_attr(state: WorldState, names: Sequence[str]) -> str | None:
    """The first of ``names`` the world defines as a changeable number on characters."""
    defs = state.attribute_defs()
    for name in names:
        d = defs.get(name)
        if d and d.numeric and not d.protected and not d.conserved and "character" in d.kinds:
            return name
    return None


def _value(state: WorldState, e: str, attribute: str) -> float:
    current = state.attr(e, attribute)
    if current is None:
        d = state.attribute_def(attribute)
        current = d.default if d and d.default is not None else 0
    return current if isinstance(current, int | float) and not isinstance(current, bool) else 0


def _room_to_lower(state: WorldState, e: str, attribute: str) -> float:
    """How far an attribute can fall and stay above its minimum (by at least 1)."""
    d = state.attribute_def(attribute)
    current = _value(state, e, attribute)
    if d is None or d.min is None:
        return max(current, 0) + 25
    return current - d.min - 1


def _others_here(state: WorldState, actor: str, memory: TickMemory | None = None) -> list[str]:
    """The living people here besides ``actor`` (not those it already dealt with this tick)."""
    here = state.where(actor)
    skip = memory.partners if memory else frozenset()
    return [p for p in state.people_at(here) if p != actor and p not in skip] if here else []


def _acquainted(state: WorldState, a: str, b: str) -> bool:
    """Any tie between two people, either way: friends, rivals and masters know each other."""
    return any(b in (src, dst) for src, _, dst in state.relations(a))


def _budget(state: WorldState) -> int:
    return invention_budget(float(state.world.get("creativity", 0.5)))


def _currency(state: WorldState) -> str | None:
    cur = state.currency
    d = state.attribute_def(cur) if cur else None
    if d is None or not d.numeric or d.protected or "character" not in d.kinds:
        return None
    return cur


def _amount(state: WorldState, attribute: str, value: float) -> int | float | None:
    """``value`` as the attribute's type takes it, or None if it cannot be paid exactly."""
    d = state.attribute_def(attribute)
    if d is not None and d.type == "int":
        return int(value) if float(value).is_integer() else None
    return value


def trades(state: WorldState, actor: str,
           memory: TickMemory | None = None) -> list[tuple[str, str, str, int | float]]:
    """(buyer, seller, item, price) deals the actor could make with someone here."""
    cur = _currency(state)
    if cur is None:
        return []
    d = state.attribute_def(cur)
    moved = memory.items if memory else frozenset()
    out = []
    for other in _others_here(state, actor, memory):
        for buyer, seller in ((actor, other), (other, actor)):
            if state.player in (buyer, seller) and actor != state.player:
                continue  # the player's purse and goods move on the player's word only
            for item in state.inventory(seller):
                if item in moved:
                    continue  # it changed hands this tick already
                price = _amount(state, cur, state.price(item))
                if not price or price <= 0 or _value(state, buyer, cur) < price:
                    continue
                if d and d.max is not None and _value(state, seller, cur) + price > d.max:
                    continue
                out.append((buyer, seller, item, price))
    return out


def _quarrels(state: WorldState, actor: str,
              memory: TickMemory | None = None) -> list[tuple[str, str | None]]:
    kinds = state.relation_kinds
    mood = _num_attr(state, MOOD_ATTRIBUTES)
    out = []
    for other in _others_here(state, actor, memory):
        rel = next((r for r in _HOSTILE_ORDER
                    if r in kinds and not state.has_relation(actor, r, other)), None)
        if rel or (mood and _room_to_lower(state, actor, mood) >= 1):
            out.append((other, rel))
    return out


def _populous(state: WorldState) -> bool:
    """At least MIN_POPULATION_FOR_DEATH living characters (stops counting there)."""
    living = 0
    for e in state.entities("character"):
        living += state.is_alive(e)
        if living >= MIN_POPULATION_FOR_DEATH:
            return True
    return False


def archetype_options(state: WorldState, actor: str,
                      memory: TickMemory | None = None) -> dict[str, float]:
    """The archetypes whose preconditions hold for ``actor`` now, with their weights.

    ``memory`` (what the actor already did this tick) rules out beats that would
    mirror or undo it.
    """
    if state.kind(actor) != "character" or not state.is_alive(actor):
        return {}
    here = state.where(actor)
    others = _others_here(state, actor, memory)
    kinds = state.relation_kinds
    moved = memory.items if memory else frozenset()
    ok: dict[str, bool] = {
        "wander": bool(here and state.exits(here)),
        "meet": "knows" in kinds and any(not _acquainted(state, actor, o) for o in others),
        "talk": bool(others),
        "trade": bool(trades(state, actor, memory)),
        "quarrel": bool(_quarrels(state, actor, memory)),
        "befriend": "friend_of" in kinds and any(not state.has_relation(actor, "friend_of", o)
                                                 for o in others),
        "find": bool(here and (any(i not in moved for i in state.things_at(here))
                               or _budget(state) >= 1)),
        "arrive": bool(here) and _budget(state) >= 1,
        "discover": bool(here) and _budget(state) >= 1,
        "fall_ill": False,
        "die": actor != state.player and _populous(state),
    }
    health = _num_attr(state, HEALTH_ATTRIBUTES)
    ok["fall_ill"] = bool(health) and _room_to_lower(state, actor, health) >= 1
    weights = {a: WEIGHTS[a] for a in ARCHETYPES if ok[a]}
    if "die" in weights and health:
        d = state.attribute_def(health)
        if d and d.min is not None and d.max is not None and d.max > d.min:
            share = (_value(state, actor, health) - d.min) / (d.max - d.min)
            if share <= 0.2:  # the sick die more readily
                weights["die"] *= 8
    return weights


def _weighted(weights: dict[str, float], rng: random.Random) -> str | None:
    if not weights:
        return None
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def choose_archetype(state: WorldState, actor: str, rng: random.Random,
                     memory: TickMemory | None = None) -> str:
    """A weighted, seeded choice among the archetypes possible for ``actor`` (else 'talk')."""
    return _weighted(archetype_options(state, actor, memory), rng) or "talk"


def choose_world_event(state: WorldState, rng: random.Random) -> str:
    """Weather, a newcomer or a new place, as the creativity budget allows."""
    weights = dict(WORLD_EVENTS)
    if _budget(state) < 1:
        weights = {"weather": weights["weather"]}
    return _weighted(weights, rng) or "weather"


# -------------------------------------------------------------- planning
def plan_archetype(
    archetype: str, state: WorldState, actor: str, rng: random.Random,
    memory: TickMemory | None = None,
) -> Plan | None:
    """Summary and ops for one archetype, or None if it cannot be built here and now.

    A beat never proposes a tie the pair already has or a weaker one ("they meet"
    after they were friends), and with ``memory`` never mirrors or undoes what the
    actor already did this tick.
    """
    here = state.where(actor)
    name = state.name(actor)
    others = _others_here(state, actor, memory)
    if archetype == "wander":
        if not (exits := state.exits(here) if here else []):
            return None
        dest = rng.choice(exits)
        return f"{name} goes to {state.name(dest)}", [[Move(entity=actor, to=dest)]]
    if archetype in ("meet", "talk", "befriend"):
        rel = {"meet": "knows", "talk": "knows", "befriend": "friend_of"}[archetype]
        if archetype == "talk":
            pool = others
        elif archetype == "meet":  # anyone tied to the actor already knows them
            pool = [o for o in others if not _acquainted(state, actor, o)]
        else:
            pool = [o for o in others if not state.has_relation(actor, rel, o)]
        if not pool or rel not in state.relation_kinds:
            return None
        other = rng.choice(pool)
        ops: list[Op] = []
        # "knows" says less than any tie the pair already has: then it is not news.
        weaker = rel == "knows" and _acquainted(state, actor, other)
        if not weaker and not state.has_relation(actor, rel, other):
            ops.append(Relate(source=actor, relation=rel, target=other))
        if archetype != "talk" and not weaker and not state.has_relation(other, rel, actor):
            ops.append(Relate(source=other, relation=rel, target=actor))
        if archetype == "befriend":
            ops += [Unrelate(source=actor, relation=r, target=other)
                    for r in _HOSTILE_ORDER if state.has_relation(actor, r, other)]
        verb = {"meet": "meets", "talk": "talks with", "befriend": "befriends"}[archetype]
        return f"{name} {verb} {state.name(other)}", [[op] for op in ops]
    if archetype == "trade":
        deals = trades(state, actor, memory)
        if not deals:
            return None
        buyer, seller, item, price = rng.choice(deals)
        cur = _currency(state)
        assert cur is not None
        bundle: list[Op] = [
            Adjust(entity=buyer, attribute=cur, by=-price),
            Adjust(entity=seller, attribute=cur, by=price),
            Transfer(item=item, to=buyer),
        ]
        summary = (f"{state.name(buyer)} buys {state.name(item)} from {state.name(seller)} "
                   f"for {price} {cur}")
        return summary, [bundle]
    if archetype == "quarrel":
        pairs = _quarrels(state, actor, memory)
        if not pairs:
            return None
        other, rel = rng.choice(pairs)
        bundles: list[list[Op]] = []
        if rel:
            bundles.append([Relate(source=actor, relation=rel, target=other)])
        if state.has_relation(actor, "friend_of", other):
            bundles.append([Unrelate(source=actor, relation="friend_of", target=other)])
        mood = _num_attr(state, MOOD_ATTRIBUTES)
        room = _room_to_lower(state, actor, mood) if mood else 0
        if mood and room >= 1:
            by = -int(min(room, rng.randint(1, 3)))
            bundles.append([Adjust(entity=actor, attribute=mood, by=by)])
        return f"{name} quarrels with {state.name(other)}", bundles
    if archetype == "find":
        moved = memory.items if memory else frozenset()
        lying = [i for i in state.things_at(here) if i not in moved] if here else []
        if lying and (_budget(state) < 1 or rng.random() < 0.7):
            item = rng.choice(lying)
            return f"{name} finds {state.name(item)}", [[Transfer(item=item, to=actor)]]
        if _budget(state) < 1:
            return None
        new = _invent("item", state, actor, rng)
        if new is None:
            return None
        return f"{name} finds a {new.name}", [[Create(entity=new)]]
    if archetype == "arrive":
        new = _invent("character", state, here, rng)
        if new is None:
            return None
        return f"{new.name} arrives at {state.name(here)}", [[Create(entity=new)]]
    if archetype == "discover":
        new = _invent("location", state, here, rng)
        if new is None:
            return None
        bundle = [Create(entity=new), Move(entity=actor, to=new.id or "")]
        return f"{name} discovers {new.name}", [bundle]
    if archetype == "fall_ill":
        health = _num_attr(state, HEALTH_ATTRIBUTES)
        room = _room_to_lower(state, actor, health) if health else 0
        if not health or room < 1:
            return None
        drop = int(min(room, rng.randint(5, 25)))
        return f"{name} falls ill", [[Adjust(entity=actor, attribute=health, by=-drop)]]
    if archetype == "die":
        cause = NameGen.for_world(state).cause_of_death(rng)
        return f"{name} dies of {cause}", [[Kill(entity=actor, cause=cause)]]
    return None


def world_plan(event: str, state: WorldState, location: str | None, rng: random.Random) -> Plan:
    """A world beat at ``location``: weather (no ops), a newcomer or a new place."""
    where = state.name(location) if location else "the world"
    if event in ("arrive", "discover"):
        new = _invent("character" if event == "arrive" else "location", state, location, rng)
        if new is not None:
            verb = "arrives at" if event == "arrive" else "is found beyond"
            return f"{new.name} {verb} {where}", [[Create(entity=new)]]
    phrase = NameGen.for_world(state).weather(rng)
    return f"{phrase[:1].upper()}{phrase[1:]} over {where}", []


def _invent(kind: str, state: WorldState, at: str | None, rng: random.Random) -> NewEntity | None:
    """A new character, place or item at ``at``: a fresh name, a slug id, no attributes.

    Attributes are left to the world's defaults, so an invention never mints
    currency, a price or a protected value.
    """
    if at is None or at not in state or _budget(state) < 1:
        return None
    gen = NameGen.for_world(state)
    made = {"character": gen.person, "location": gen.place, "item": gen.thing}[kind](rng, state)
    if made is None:
        return None
    return NewEntity(id=unique_id(made[0], state, kind=kind), kind=kind,  # type: ignore[arg-type]
                     name=made[0], description=made[1], at=at)


def _prune(plan: Plan, feedback: Sequence[Violation]) -> Plan:
    """Drop every bundle an indexed violation names; anything unindexed drops it all."""
    summary, bundles = plan
    named = {getattr(v, "op_index", None) for v in feedback}
    if None in named:
        return summary, []
    owner = dict(enumerate(b for b, bundle in enumerate(bundles) for _ in bundle))
    if any(n not in owner for n in named):
        return summary, []
    dropped = {owner[n] for n in named}
    return summary, [bundle for b, bundle in enumerate(bundles) if b not in dropped]


# --------------------------------------------------------- player words
#: Only this much of a player's text is parsed; the rest cannot change the verdict.
MAX_PLAYER_TEXT = 500
_LEAD = re.compile(
    r"^(?:(?:i|we)\s+(?:want\s+to\s+|will\s+|would\s+like\s+to\s+|try\s+to\s+|shall\s+)?"
    r"|let\s+me\s+|let's\s+|please\s+|then\s+|and\s+|now\s+)+"
)
_VERBS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (verb, re.compile(pattern)) for verb, pattern in (
        ("go", r"^(?:go|walk|head|run|travel|wander|stroll|hurry|return|climb|move|step|sail"
               r"|ride|march|flee|sneak|proceed|make\s+(?:my|our)\s+way|set\s+off)"
               r"(?:\s+(?:back|over|on|out|up|down|off|along))?"
               r"(?:\s+(?:to|towards|toward|into|in|through|onto|inside|for|across))?\s+(?P<x>.+)$"),
        ("go", r"^(?:enter|visit)\s+(?P<x>.+)$"),
        ("give", r"^(?:give|hand|offer|pass)\s+(?P<x>.+?)\s+to\s+(?P<y>.+)$"),
        ("buy", r"^(?:buy|purchase)\s+(?P<x>.+?)(?:\s+from\s+(?P<y>.+))?$"),
        ("sell", r"^sell\s+(?P<x>.+?)(?:\s+to\s+(?P<y>.+))?$"),
        ("take", r"^pick\s+(?P<x>.+?)\s+up$"),
        ("take", r"^(?:take|grab|get|snatch|steal|collect|lift|pocket|pick\s+up)\s+"
                 r"(?P<x>.+?)(?:\s+from\s+(?P<y>.+))?$"),
        ("drop", r"^(?:put|set|lay)\s+(?P<x>.+?)\s+down$"),
        ("drop", r"^(?:drop|discard|put\s+down|set\s+down|throw\s+away|leave\s+behind)\s+"
                 r"(?P<x>.+)$"),
        ("talk", r"^(?:say|ask|tell|talk|speak|greet|shout|whisper|call|chat|reply|answer"
                 r"|yell|hail|wave|thank|introduce)\b(?P<x>.*)$"),
    )
)
_DETERMINERS = re.compile(r"^(?:(?:the|a|an|my|your|his|her|their|our|some|that|this|those"
                          r"|these|to|with|at)\s+)+")


def parse_command(text: object) -> tuple[str, str, str]:
    """``(verb, object, target)`` from a player's words; verb ``look`` when nothing fits.

    Only the first line or sentence counts. Never raises, whatever the input.
    """
    raw = str(text or "")[:MAX_PLAYER_TEXT]
    first = next((part for part in re.split(r"[\n\r.;!?]+", raw) if part.strip()), "")
    line = " ".join(first.lower().split()).strip(" \"'`*>/-:,")
    line = _LEAD.sub("", line)
    if raw.lstrip()[:1] in ('"', "\u201c", "'"):
        return "talk", "", ""
    for verb, pattern in _VERBS:
        m = pattern.match(line)
        if m:
            groups = m.groupdict()
            return verb, _clean(groups.get("x") or ""), _clean(groups.get("y") or "")
    return "look", "", ""


def _clean(phrase: str) -> str:
    phrase = phrase.strip(" \"'`,:").removesuffix(" please").strip()
    return _DETERMINERS.sub("", phrase).strip()


def _named(state: WorldState, ids: Sequence[str], key: str, exact: bool) -> list[str]:
    """Ids whose name, id or alias is ``key`` (or, not ``exact``, holds all its words)."""
    out = []
    words = set(key.split())
    for e in ids:
        node = state.entity(e)
        names = {normalize_name(node["name"]), normalize_name(e.replace("-", " "))}
        names.update(normalize_name(a) for a in node.get("aliases", []))
        if key in names or (not exact and any(words <= set(n.split()) for n in names)):
            out.append(e)
    return out


def resolve(state: WorldState, phrase: str, tiers: Sequence[Sequence[str]],
            kind: str | None = None) -> str | None:
    """The entity a phrase names: the scene's tiers first, then the world, then close spellings.

    It finds what the player *means*, not what they may do: "take the ship" resolves
    the ship wherever it is, and the rules reject the transfer.
    """
    key = normalize_name(phrase)
    if not key:
        return None
    tiers = [[e for e in tier if e in state] for tier in tiers]
    for tier in tiers:
        hits = _named(state, tier, key, exact=True)
        if hits:
            return hits[0]
    by_kind = state.name_index().get(key, {})
    everywhere = sorted(e for k, ids in by_kind.items() if kind in (None, k) for e in ids)
    if everywhere:
        return sorted(everywhere, key=lambda e: not state.is_alive(e))[0]
    for tier in tiers:
        hits = _named(state, tier, key, exact=False)
        if hits:
            return hits[0]
    scene = [e for tier in tiers for e in tier]
    close = state.closest(phrase, kind=kind, among=scene) if scene else []
    if not close and kind is not None:
        close = state.closest(phrase, kind=kind)
    return close[0] if close else None


def player_plan(state: WorldState, player: str, text: object) -> Plan:
    """Ops for a player's words, proposed as meant; the rules judge them later."""
    verb, obj, target = parse_command(text)
    me = state.name(player)
    here = state.where(player)
    people = [p for p in state.people_at(here, alive=None) if p != player] if here else []
    held = state.inventory(player)
    lying = state.things_at(here) if here else []
    carried_by_others = [i for p in people for i in state.inventory(p)]
    cur = _currency(state)
    if verb == "go":
        dest = resolve(state, obj, [state.exits(here) if here else []], "location")
        if dest is None:
            return f"{me} looks for a way to {clip(obj, 60) or 'somewhere'}, and finds none", []
        if dest == here:
            return f"{me} is already in {state.name(dest)}", []
        return f"{me} goes to {state.name(dest)}", [[Move(entity=player, to=dest)]]
    if verb in ("take", "drop", "give", "buy", "sell"):
        tiers = [held, lying, carried_by_others] if verb in ("drop", "give", "sell") else [
            lying, carried_by_others, held]
        item = resolve(state, obj, tiers)
        if item is None:
            return f"{me} looks around for {clip(obj, 60) or 'something'} in vain", []
        other = resolve(state, target, [people], "character") if target else None
        what = state.name(item)
        if verb == "take":
            if state.holder(item) == player:
                return f"{me} already has {what}", []
            return f"{me} takes {what}", [[Transfer(item=item, to=player)]]
        if verb == "drop":
            if not state.is_within(item, player):
                return f"{me} is not carrying {what}", []
            return f"{me} drops {what}", [[Transfer(item=item, to=here or player)]]
        if verb == "give":
            if other is None:
                return f"{me} offers {what} to no one in particular", []
            return f"{me} gives {what} to {state.name(other)}", [[Transfer(item=item, to=other)]]
        if verb == "buy":
            seller = state.holder(item)
            price = _amount(state, cur, state.price(item)) if cur else None
            ops: list[Op] = [Transfer(item=item, to=player)]
            if cur and price and seller and seller != player and state.kind(seller) == "character":
                ops = [Adjust(entity=player, attribute=cur, by=-price),
                       Adjust(entity=seller, attribute=cur, by=price), *ops]
            return f"{me} buys {what}", [ops]
        buyer = other or next((p for p in people if state.is_alive(p)), None)
        if buyer is None:
            return f"{me} finds no one to sell {what} to", []
        price = _amount(state, cur, state.price(item)) if cur else None
        ops = [Transfer(item=item, to=buyer)]
        if cur and price:
            ops = [Adjust(entity=buyer, attribute=cur, by=-price),
                   Adjust(entity=player, attribute=cur, by=price), *ops]
        return f"{me} sells {what} to {state.name(buyer)}", [ops]
    if verb == "talk":
        living = [p for p in people if state.is_alive(p)]
        low = normalize_name(str(text or "")[:MAX_PLAYER_TEXT])
        named = [p for p in living if normalize_name(state.name(p)) in low
                 or normalize_name(state.name(p)).split(" ")[0] in low.split()]
        other = named[0] if named else (living[0] if len(living) == 1 else None)
        if other is None:
            return f"{me} speaks, but nobody answers", []
        relate: list[list[Op]] = []
        if "knows" in state.relation_kinds and not state.has_relation(player, "knows", other):
            relate = [[Relate(source=player, relation="knows", target=other)]]
        return f"{me} speaks with {state.name(other)}", relate
    return f"{me} looks around", []


class ProceduralStoryteller:
    """A storyteller without a model: seeded archetypes, parsed player words, templates.

    Args:
        seed: mixed into every choice, so two tellers with different seeds tell
            different stories of the same world.
    """

    name = "procedural"

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.last_archetype: str | None = None
        self._last: OrderedDict[tuple, Plan] = OrderedDict()

    def rng_for(self, scene: Scene, intent: Intent) -> random.Random:
        """The RNG of one beat: a function of the seeds, the tick and the actor only."""
        return random.Random(mix_seed("propose", self.seed, intent.kind, intent.seed,
                                      scene.tick, intent.actor or ""))

    def plan(self, scene: Scene, intent: Intent) -> Plan:
        """The beat this storyteller wants, before any feedback."""
        state, rng = scene.state, self.rng_for(scene, intent)
        actor = intent.actor or (state.player if intent.kind == "player" else None)
        if intent.kind == "world" or actor is None:
            location = scene.location if scene.location in state else pick_location(
                state, intent.seed)
            event = choose_world_event(state, rng)
            self.last_archetype = event
            return world_plan(event, state, location, rng)
        if actor not in state or not state.is_alive(actor):
            self.last_archetype = None
            return f"{state.name(actor)} does nothing", []
        if intent.kind == "player":
            self.last_archetype = "player"
            return player_plan(state, actor, intent.text)
        memory = tick_memory(scene, actor)
        archetype = choose_archetype(state, actor, rng, memory)
        planned = plan_archetype(archetype, state, actor, rng, memory)
        if planned is None:  # a builder can still fail (every invented name taken ...)
            archetype = "talk" if _others_here(state, actor, memory) else "look"
            planned = plan_archetype(archetype, state, actor, rng, memory) or (
                f"{state.name(actor)} waits", [])
        self.last_archetype = archetype
        return planned

    async def propose(
        self, scene: Scene, intent: Intent, feedback: Sequence[Violation] = ()
    ) -> Proposal:
        key = (intent.kind, intent.actor, intent.seed, intent.text, scene.tick)
        if feedback:
            base = self._last.get(key) or self.plan(scene, intent)
            plan = _prune(base, feedback)
            if not plan[1]:
                who = scene.state.name(intent.actor) if intent.actor else "The world"
                plan = (f"{who} hesitates, and lets the moment pass", [])
        else:
            plan = self.plan(scene, intent)
        self._last[key] = plan
        self._last.move_to_end(key)
        while len(self._last) > 64:
            self._last.popitem(last=False)
        actor = intent.actor
        if actor is not None and (actor not in scene.state or not scene.state.is_alive(actor)):
            actor = None  # the dead do not act: not even emptily
        ops = [op for bundle in plan[1] for op in bundle]
        return Proposal(actor=actor, summary=clip(plan[0], 400), ops=ops)

    async def narrate(
        self, scene: Scene, accepted: Proposal, rejected: Sequence[Violation] = ()
    ) -> AsyncIterator[str]:
        """Two to four sentences about what the accepted proposal did, one per chunk."""
        ops = [op.model_dump(mode="json") for op in accepted.ops]
        reasons = [str(v) for v in rejected]
        rng = random.Random(mix_seed("narrate", self.seed, scene.tick, accepted.actor,
                                     accepted.summary, ops, reasons))
        sentences = tell(scene, accepted, list(rejected), rng)
        for i, sentence in enumerate(sentences):
            yield sentence if i == len(sentences) - 1 else sentence + " "

    def drain_calls(self) -> list[CallRecord]:
        """No model calls are ever made."""
        return []
