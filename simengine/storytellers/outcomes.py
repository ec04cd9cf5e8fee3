"""Answers to the player: what people do back, and why a refused attempt failed.

:func:`react` settles a person's answer to the player (an attack by a seeded roll);
:func:`explain` turns a rule's violation into the world's words; :func:`tell_planned`
tells a planned beat, the steps that happened and why the rest did not.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from simengine.storytellers import dialogue, gossip
from simengine.storytellers.wording import (
    HEALTH,
    HOSTILE,
    Step,
    TurnPlan,
    _money,
    cap,
    changeable_number,
    display,
    first_name,
    the,
)
from simengine.world.ops import Adjust, Move, Op, Relate
from simengine.world.rules import Violation
from simengine.world.state import WorldState
from simengine.world.text import number


# ------------------------------------------------------------- answering
@dataclass
class Reaction:
    """A person's answer, in their own beat, to what the player just did to them."""

    summary: str
    bundles: list[list[Op]]
    you: list[str]
    they: list[str]


def _room(state: WorldState, e: str, attribute: str) -> float:
    """How far an attribute may fall and stay above its minimum."""
    d = state.attribute_def(attribute)
    now = state.attr(e, attribute)
    now = now if isinstance(now, int | float) and not isinstance(now, bool) else (
        d.default if d and isinstance(d.default, int | float) else 0)
    return (now - d.min - 1) if d and d.min is not None else now + 25


def react(state: WorldState, actor: str, player: str, cue: str, rng: random.Random,
          recent: Sequence = ()) -> Reaction | None:
    """What ``actor`` does in answer to the player's ``cue`` (``verb:topic``), or None.

    An attack is settled here, by a seeded roll within the world's bounds: the
    one attacked is hurt (where the world has health), turns hostile, and hits
    back or flees. Talk earns acquaintance and sometimes friendship; a gift,
    goodwill. The player's words never settle any of it.
    """
    verb, _, topic = cue.partition(":")
    if not verb or actor not in state or not state.is_alive(actor) or player not in state:
        return None
    here = state.where(actor)
    if here is None or state.where(player) != here:
        return None
    kinds = state.relation_kinds
    last = next((e for e in reversed(list(recent)) if e.actor == player), None)
    touched = last is not None and actor in getattr(last, "involves", ())
    if verb in ("give", "pay", "buy", "sell", "trade") and not touched:
        return None  # the deal did not happen: nothing to answer
    n, me = state.name(actor), state.name(player)
    first = n.split()[0] if " " in n else n
    if verb == "attack":
        return _fight(state, actor, player, rng)
    bundles: list[list[Op]] = []
    if "knows" in kinds and not state.has_relation(actor, "knows", player):
        bundles.append([Relate(source=actor, relation="knows", target=player)])
    warm = next((r for r in ("friend_of", "trusts") if r in kinds), None)
    cold = any(state.has_relation(actor, r, player) for r in HOSTILE if r in kinds)
    chance = 0.5 if verb in ("give", "pay") else 0.2
    if warm and not cold and not state.has_relation(actor, warm, player) and \
            state.has_relation(actor, "knows", player) and rng.random() < chance:
        bundles.append([Relate(source=actor, relation=warm, target=player)])
    line = dialogue.remark(state, actor, player, rng, recent)
    if verb == "ask":  # what the answer said, committed: the player now knows it
        told = gossip.answer_ops(state, actor, player, topic)
        if told:
            bundles.extend(told)
            return Reaction(f"{n} tells {me} what they know", bundles,
                            [f"Now you know what {first} knows of it."],
                            [f"Now {me} knows what {first} knows of it."])
    warmer = any(op.relation == warm for b in bundles for op in b if isinstance(op, Relate))
    if warmer:
        you = [f"{first} looks at you differently now.", line]
        they = [f"{first} looks at {me} differently now.", line]
        summary = f"{n} warms to {me}"
    else:
        you, they = [line], [line]
        summary = f"{n} answers {me}"
    return Reaction(summary, bundles, you, they)


def _fight(state: WorldState, actor: str, player: str, rng: random.Random) -> Reaction:
    s = state
    n, me = s.name(actor), s.name(player)
    first = n.split()[0] if " " in n else n
    health = changeable_number(s, HEALTH)
    kinds = s.relation_kinds
    bundles: list[list[Op]] = []
    you: list[str] = []
    they: list[str] = []
    rel = next((r for r in HOSTILE if r in kinds), None)
    if rel and not s.has_relation(actor, rel, player):
        bundles.append([Relate(source=actor, relation=rel, target=player)])
    landed = rng.random() < 0.6
    if landed and health and (room := int(_room(s, actor, health))) >= 1:
        hurt = min(room, rng.randint(4, 18))
        bundles.append([Adjust(entity=actor, attribute=health, by=-hurt)])
        you.append(f"Your blow lands: {first} staggers ({display(health)} -{hurt}).")
        they.append(f"{me}'s blow lands: {first} staggers ({display(health)} -{hurt}).")
    elif landed:
        you.append(f"Your blow lands, and {first} reels back.")
        they.append(f"{me}'s blow lands, and {first} reels back.")
    else:
        you.append(f"{first} sees it coming and twists away.")
        they.append(f"{first} sees {me} coming and twists away.")
    exits = s.exits(s.where(actor) or "")
    if exits and rng.random() < 0.35:
        dest = rng.choice(exits)
        bundles.append([Move(entity=actor, to=dest)])
        from simengine.storytellers.narration import ref
        place = ref(s.name(dest), "location")
        you.append(f"{first} breaks away and runs for {place}.")
        they.append(f"{first} breaks away and runs for {place}.")
        return Reaction(f"{n} is attacked by {me} and flees", bundles, you, they)
    if health and (room := int(_room(s, player, health))) >= 1:
        back = min(room, rng.randint(3, 15))
        bundles.append([Adjust(entity=player, attribute=health, by=-back)])
        you.append(f"{first} hits back, hard ({display(health)} -{back}).")
        they.append(f"{first} hits {me} back, hard ({display(health)} -{back}).")
    else:
        you.append(f"{first} shoves you off and stands ready for more.")
        they.append(f"{first} shoves {me} off and stands ready for more.")
    return Reaction(f"{n} fights back against {me}", bundles, you, they)


# ------------------------------------------------------------- explaining
def route(state: WorldState, start: str, goal: str) -> list[str]:
    """The shortest way from ``start`` to ``goal`` along passages (both ends included)."""
    back: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            path = [here]
            while back[path[-1]] is not None:
                path.append(back[path[-1]])  # type: ignore[arg-type]
            return list(reversed(path))
        for nxt in state.exits(here):
            if nxt not in back:
                back[nxt] = here
                queue.append(nxt)
    return []


def explain(v: Violation, state: WorldState, player: str, step: Step | None = None) -> str:
    """A rejection in the world's words, for the player to read."""
    import re

    if v.rule.startswith("parse."):
        return v.message
    meta = step.meta if step else {}
    s = state
    cur = state.currency
    item = meta.get("item") if isinstance(meta.get("item"), str) else None
    holder = meta.get("holder") if isinstance(meta.get("holder"), str) else None
    msg = v.message
    if v.rule == "travel.adjacent" and isinstance(meta.get("dest"), str):
        dest, here = str(meta["dest"]), s.where(player)
        if here and dest in s:
            path = route(s, here, dest)
            if len(path) > 2:
                return (f"You can't reach {the(s, dest)} from {the(s, here)}; "
                        f"the way goes through {the(s, path[1])}.")
            return f"No way leads from {the(s, here)} to {the(s, dest)}."
    quoted = re.findall(r"'([a-z0-9][a-z0-9_-]*)'", msg)
    if v.rule == "price.unpaid" and not item and len(quoted) >= 2:
        item, holder = quoted[0], quoted[-1]
    if v.rule == "scope.player" and "not in the player's scene" in msg and quoted \
            and quoted[0] in s:
        return f"{cap(the(s, quoted[0]))} is not here."
    if v.rule in ("price.unpaid", "attr.bounds", "currency.conserved") and item and holder \
            and holder in s and holder != player:
        price = s.price(item)
        have = _money(s, player)
        n = first_name(s, holder)
        if price > 0 and cur:
            return (f"{cap(the(s, item))} is {s.name(holder)}'s, and {n} wants {number(price)} "
                    f"{display(cur)} for it; you have {number(have)}.")
        return f"{cap(the(s, item))} is {s.name(holder)}'s, and {n} is not giving it away."
    if v.rule == "attr.bounds" and cur and f"'{cur}' of '{player}'" in msg:
        return f"You have only {number(_money(s, player))} {display(cur)}."
    if v.rule == "attr.bounds" and cur and isinstance(meta.get("buyer"), str):
        buyer = str(meta["buyer"])
        return (f"{s.name(buyer)} has only {number(_money(s, buyer))} {display(cur)}, "
                f"not enough for it.")
    if v.rule == "scope.player" and "on their say-so" in msg and item:
        owner = holder or next((e for e in s.entities("character") if s.is_within(item, e)), None)
        if owner:
            return (f"{cap(the(s, item))} is {s.name(owner)}'s, and "
                    f"{first_name(s, owner)} is not giving it away.")
    if v.rule == "currency.conserved":
        return (f"{display(cur).capitalize()} only changes hands in this world; "
                "none appears from nowhere.")
    if v.rule == "attr.protected":
        return "That is not something words can change: " + _plain(v, state) + "."
    if v.rule == "dead.act":
        return "The dead take nothing and give nothing; " + _plain(v, s) + "."
    if v.rule == "containment.cycle":
        return f"That cannot go inside itself: {_plain(v, s)}."
    return cap(_plain(v, s)) + "."


def _low(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() or text[:2] == "A " else text


def _plain(v: Violation, state: WorldState) -> str:
    """A rule's message with ids swapped for names, its advice for models cut off."""
    import re

    text = v.message.split("; ")[0].strip().rstrip(".")

    def name(m: re.Match[str]) -> str:
        e = m.group(1)
        return the(state, e) if e in state else m.group(0)

    return re.sub(r"'([a-z0-9][a-z0-9_-]*)'", name, text)


# ---------------------------------------------------------------- telling
def tell_planned(state: WorldState, told: TurnPlan | Reaction, accepted: object,
                 rejected: list[Violation], voice: str = "third") -> list[str]:
    """The sentences of a planned beat: the steps that happened, and why the rest did not."""
    ops = list(getattr(accepted, "ops", []))
    second = voice == "second"
    if isinstance(told, Reaction):
        planned = [op for b in told.bundles for op in b]
        if not planned or all(op in ops for op in planned):
            return [x for x in (told.you if second else told.they) if x]
        return [x for x in (told.you if second else told.they)[:1] if x]
    player = state.player or ""
    out: list[str] = []
    by_step: dict[int, list[Violation]] = {}
    loose: list[Violation] = []
    for v in rejected:
        if v.rule.startswith("parse."):
            continue
        step = told.step_of(v.op_index)
        if step is None:
            loose.append(v)
        else:
            by_step.setdefault(id(step), []).append(v)
    for step in told.steps:
        if step.refusal is not None:
            out.append(step.refusal.message)
            continue
        if step.ops and not all(op in ops for op in step.ops):
            why = by_step.pop(id(step), None) or loose[:1]
            loose = [v for v in loose if v not in why]
            attempt = step.command.text.strip() or step.command.verb
            reason = explain(why[0], state, player, step) if why else "It comes to nothing."
            out.append(f"You try to {_bare(attempt)}, but it comes to nothing. {reason}"
                       if second else f"{state.name(player)} tries to {_bare(attempt)}, "
                       f"but it comes to nothing. {reason}")
            continue
        out.extend(x for x in (step.you if second else step.they) if x)
    # Whatever else was refused is said too: the player never loses a reason.
    rest = [v for vs in by_step.values() for v in vs] + loose
    said = set(out)
    for v in rest:
        why = explain(v, state, player, told.step_of(v.op_index))
        line = "Nothing comes of it: " + _low(why)
        if why not in said and line not in said:
            said.add(line)
            out.append(line)
    return out or ["Nothing happens."]


def _bare(text: str) -> str:
    """A command as it reads after "You try to": no "I", no trailing stop."""
    import re

    t = text.strip().rstrip(".!?")
    t = re.sub(r"^(?:i|we)\s+(?:want\s+to\s+|will\s+|try\s+to\s+|would\s+like\s+to\s+)?", "", t,
               flags=re.I)
    t = re.sub(r"^(?:please\s+|could\s+i\s+(?:please\s+)?|can\s+i\s+)", "", t, flags=re.I)
    t = re.sub(r"\b(?:my)\b", "your", t, flags=re.I)
    return t[:1].lower() + t[1:] if t else "act"


def explanations(state: WorldState, told: TurnPlan | None, rejected: list[Violation]) -> list[str]:
    """Each rejection of a player's turn, in the world's words (one line each)."""
    player = state.player or ""
    out = []
    for v in rejected:
        step = told.step_of(v.op_index) if told is not None else None
        out.append(explain(v, state, player, step))
    return list(dict.fromkeys(out))
