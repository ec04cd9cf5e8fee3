"""What the fake Ollama says: proposals from the request alone, and the lies it tells.

A real server is a separate process: it knows only the request. So do these
functions. They read the ``<<SCENE_JSON>>`` block the prompt builder puts in the
decide message (see :mod:`simengine.storytellers.prompts`), or failing that the
schema's ``actor`` enum, and return:

* :func:`plausible_proposal`: a proposal the rules accept (a move to an exit,
  a ``knows`` relation with someone here, picking up a loose unpriced item;
  answering a repair told that a person is unknown, that person's arrival);
  on the player's turn it does what the player wrote (:func:`player_proposal`:
  goes where asked, takes, gives, buys, answers when spoken to), impossible
  wishes included, so the engine's refusals show as they would with a model;
* :func:`inject`: the same with one contradiction of a known kind
  (:data:`INJECTION_KINDS`), each one the engine must refuse (an unknown name
  appears where canon cannot invent it: killed, or handed something), for
  measuring how the engine copes;
* :func:`invention`: a welcome ``create`` op (a stranger arrives, a thing is found);
* :func:`prose_for`: narration built from a narrate request's WHAT HAPPENED lines,
  with the dialogue a summary carries, varied by the request (a retelling goes on
  after what the reader has already read);
* :func:`inject_drift`: that prose with one sentence telling what did not happen
  (:data:`DRIFT_KINDS`: a name nobody has, a dead person acting, a thing changing
  hands), for measuring the narration check;
* :func:`model_entry`, :func:`show_entry`: what ``/api/tags`` and ``/api/show``
  say about a model (a qwen2.5-like 3B, Q4_K_M).

Proposals use the flat op objects of the per-call schema, as a model obeying
it would, so they also exercise the storyteller's parser.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping
from typing import Any

from simengine.storytellers.drift import RETELL_HEADER, split_sentences
from simengine.storytellers.prompts import (
    PLAYER_CLOSE,
    PLAYER_OPEN,
    REPAIR_HEADER,
    WORLD_OPEN,
    read_scene_block,
)
from simengine.world.seeds import mix_seed

#: Contradictions noisy mode can inject, in the order their rates are summed.
INJECTION_KINDS = (
    "unknown_name", "dead_actor", "unbalanced_currency", "teleport", "protected_change",
    "invalid_json", "schema_invalid", "tell_unknown", "tell_dead", "tell_elsewhere",
)
#: The knowledge lies: telling what one does not know, the dead telling, telling
#: someone in another place.
KNOWLEDGE_KINDS = ("tell_unknown", "tell_dead", "tell_elsewhere")
#: Narration drift noisy mode can inject into prose, in the order their rates are summed.
DRIFT_KINDS = ("drift_name", "drift_dead", "drift_transfer")
_PEOPLE = ("Odile Venn", "Bram Holloway", "Ysolde Marsh", "Tobiah Crane", "Wenna Flint")
_THINGS = ("brass compass", "sealed letter", "tin whistle", "bundle of herbs", "cracked mirror")
# Parts of names nobody in any world has: each injected stranger gets a fresh one,
# since a repair may bring one in for good and a second mention must stay a lie.
_GHOST_FIRST = ("Zebediah", "Ottoline", "Barnabus", "Philippa", "Ezekiel", "Cordelia",
                "Ignatius", "Henrietta", "Lucius", "Wilhelmina")
_GHOST_LAST = ("Quillfeather", "Ashcombe", "Thistlewood", "Marrowby", "Grimsditch",
               "Pellinore", "Fairweather", "Blackthorne", "Underhill", "Merriwether")
_GHOST_TAIL = ("", " of Nowhere", " the Younger", " the Elder", " of the Glass Abbey",
               " the Third")
_UNKNOWN_PERSON = re.compile(r"'([^'\n]{1,80})' is not a known character")


def plausible_proposal(facts: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A proposal the rules accept, from the scene block alone (flat ops, as asked);
    on the player's turn, what the player asked for (see :func:`player_proposal`)."""
    actor = facts.get("actor")
    here = facts.get("location")
    exits = list(facts.get("exits") or [])
    people = [p for p in facts.get("people") or [] if isinstance(p, dict)]
    alive = {p["id"] for p in people if p.get("alive", True)}
    names = {p["id"]: p.get("name", p["id"]) for p in people}
    relations = facts.get("relations") or []
    options: list[tuple[str, list[dict[str, Any]]]] = []
    newcomers = facts.get("newcomers") or []
    if newcomers and here:
        # The repair of an unknown name: the person arrives first (canon makes them).
        who = newcomers[0]
        return {"actor": actor, "summary": f"{who} arrives",
                "ops": [{"op": "move", "entity": who, "to": here}]}
    if facts.get("beat") == "player" and actor and facts.get("player_text"):
        return player_proposal(facts, str(facts["player_text"]), rng)
    mover = actor if actor else (sorted(alive)[0] if alive else None)
    if mover and (mover in alive or mover not in names):
        who = names.get(mover, mover)
        if exits:
            to = rng.choice(exits)
            options.append((f"{who} goes to {to}", [{"op": "move", "entity": mover, "to": to}]))
        others = sorted(alive - {mover})
        if others and "knows" in relations and actor:
            other = rng.choice(others)
            options.append((f"{who} talks with {names[other]}",
                            [{"op": "relate", "source": mover, "relation": "knows",
                              "target": other}]))
        loose = [i for i in facts.get("items") or [] if i.get("holder") == here
                 and not i.get("value")]
        if loose and actor:
            item = rng.choice(loose)
            options.append((f"{who} picks up the {item.get('name', item['id'])}",
                            [{"op": "transfer", "item": item["id"], "to": mover}]))
    if not options:
        summary = f"{names.get(actor, actor)} waits." if actor else "The hour passes quietly."
        return {"actor": actor, "summary": summary, "ops": []}
    summary, ops = rng.choice(options)
    return {"actor": actor, "summary": summary, "ops": ops}


# ------------------------------------------------------------ the player's turn
_GO = re.compile(r"\b(?:go|walk|head|run|enter|climb|return|hurry|move|travel|sail|wander"
                 r"|stroll|visit|leave for|make (?:my|our) way)\b\s*(?:back\s+|over\s+|on\s+)?"
                 r"(?:to|towards?|into|in|through|onto|for)?\s*(?P<x>.+)", re.I)
_GIVE_MONEY = re.compile(r"\b(?:give|pay|hand|offer)\s+(?P<y>.+?)\s+(?P<n>\d+)\s*(?P<cur>\w+)?"
                         r"|\b(?:give|pay|hand|offer)\s+(?P<n2>\d+)\s*(?P<cur2>\w+)?\s+to\s+"
                         r"(?P<y2>.+)", re.I)
_GIVE = re.compile(r"\b(?:give|hand|offer|pass)\s+(?P<x>.+?)\s+to\s+(?P<y>.+)", re.I)
_BUY = re.compile(r"\b(?:buy|purchase)\s+(?P<x>.+?)(?:\s+from\s+(?P<y>.+))?$", re.I)
_TAKE = re.compile(r"\b(?:take|get|grab|pick up|pocket|steal|snatch|collect)\s+(?P<x>.+?)"
                   r"(?:\s+from\s+(?P<y>.+))?$", re.I)
_SPEAK = re.compile(r"^\s*[\"\u201c']|\b(?:say|says|ask|asks|tell|talk|speak|greet|shout"
                    r"|whisper|reply|answer|chat|call out)\b", re.I)
_QUOTED = re.compile(r"[\"\u201c]([^\"\u201d]{1,200})[\"\u201d]")
_ABOUT = re.compile(r"\babout\s+(?:the\s+|a\s+|an\s+)?(?P<t>[^.?!,;]{1,80})", re.I)
_ANSWERS_ABOUT = (
    '"{Topic}? I couldn\'t tell you much about that," {who} says, looking away.',
    '"{Topic}. I\'ve heard talk of it, nothing I\'d swear to," {who} answers.',
    '{who} is quiet a moment. "Why would you want to know about {topic}?"',
    '"Ask someone else about {topic}," {who} mutters. "I keep my head down."',
    '"{Topic}?" {who} lowers their voice. "Not here. Not now."',
)
_ANSWERS = (
    '"Is that so?" {who} says.',
    '{who} nods slowly. "I\'ll think on it."',
    '"Say that again, and slower," {who} answers.',
    '"You may be right," {who} says, "more\'s the pity."',
    '{who} shrugs. "Words are cheap here."',
)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower())) - {"the", "a", "an", "of", "to", "s"}


def _match(phrase: str, candidates: dict[str, str]) -> str | None:
    """The id among ``candidates`` (id -> name) whose name or id best fits ``phrase``."""
    want = _words(phrase)
    best, score = None, 0
    for cid, name in candidates.items():
        have = _words(name) | _words(cid.replace("-", " "))
        hit = len(want & have)
        if hit > score:
            best, score = cid, hit
    return best


_LABEL = re.compile(r"\b([a-z0-9][a-z0-9_-]*) \(([^()\n,]{1,60})(?:,[^()\n]*)?\)")


def player_text(messages: list[dict[str, Any]]) -> str | None:
    """What the player typed, from a decide request's player block."""
    for m in messages:  # the system message names the markers too: the user's block counts
        if m.get("role") != "user":
            continue
        content = str(m.get("content", ""))
        start = content.rfind(PLAYER_OPEN)
        end = content.find(PLAYER_CLOSE, start + 1) if start >= 0 else -1
        if start >= 0 and end > start:
            return content[start + len(PLAYER_OPEN):end].strip()
    return None


def context_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """``id -> name`` for every ``id (Name)`` label the scene text shows."""
    text = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    return {m.group(1): m.group(2) for m in _LABEL.finditer(text)}


def player_proposal(facts: dict[str, Any], text: str, rng: random.Random) -> dict[str, Any]:
    """What a compliant model proposes for the player's words: the wish, as asked.

    It does not second-guess the world: a walk to a place that is not an exit, or
    taking what is not for the taking, is proposed all the same, and the engine's
    rules refuse it as they would a real model's.
    """
    actor = facts["actor"]
    here = facts.get("location")
    people = [p for p in facts.get("people") or [] if isinstance(p, dict)]
    names: dict[str, str] = {**(facts.get("names") or {}),
                             **{p["id"]: p.get("name", p["id"]) for p in people}}
    me = names.get(actor, actor)
    others = {p["id"]: p.get("name", p["id"]) for p in people
              if p["id"] != actor and p.get("alive", True)}
    items = {i["id"]: i for i in facts.get("items") or [] if isinstance(i, dict)}
    item_names = {i: d.get("name", i) for i, d in items.items()}
    line = " ".join(text.split())
    cur = facts.get("currency")

    def said(summary: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        return {"actor": actor, "summary": summary, "ops": ops}

    def absent(phrase: str) -> dict[str, Any] | None:
        """The player named someone the scene knows of who is not here."""
        gone = _match(phrase, {k: v for k, v in names.items() if k not in others
                               and k != actor and k not in items})
        if gone and _match(phrase, others) is None:
            return said(f"{me} looks around for {names[gone]}, who is not here", [])
        return None

    if (m := _GIVE_MONEY.search(line)) and cur:
        target = m.group("y") or m.group("y2") or ""
        who = _match(target, others)
        amount = int(m.group("n") or m.group("n2") or 0)
        if who is None and (away := absent(target)):
            return away
        if who and amount > 0:
            return said(f"{me} hands {names[who]} {amount} {cur}",
                        [{"op": "adjust", "entity": actor, "attribute": cur, "by": -amount},
                         {"op": "adjust", "entity": who, "attribute": cur, "by": amount}])
    if m := _GIVE.search(line):
        mine = {i: n for i, n in item_names.items() if items[i].get("holder") == actor}
        item, who = _match(m.group("x"), mine or item_names), _match(m.group("y"), others)
        if who is None and (away := absent(m.group("y"))):
            return away
        if item and who:
            return said(f"{me} gives {item_names[item]} to {names[who]}",
                        [{"op": "transfer", "item": item, "to": who}])
    if m := _BUY.search(line):
        item = _match(m.group("x"), item_names)
        if item:
            seller, price = items[item].get("holder"), items[item].get("value")
            ops: list[dict[str, Any]] = []
            if cur and price and seller in others:
                ops = [{"op": "adjust", "entity": actor, "attribute": cur, "by": -price},
                       {"op": "adjust", "entity": seller, "attribute": cur, "by": price}]
            ops.append({"op": "transfer", "item": item, "to": actor})
            return said(f"{me} buys {item_names[item]}", ops)
    if m := _TAKE.search(line):
        item = _match(m.group("x"), item_names)
        if item:
            return said(f"{me} takes {item_names[item]}",
                        [{"op": "transfer", "item": item, "to": actor}])
        return said(f"{me} looks for {m.group('x').strip(' .')} here, in vain", [])
    if _SPEAK.search(line) or any(_words(n) & _words(line) for n in others.values()):
        return _speech(me, others, line, rng, said)
    if m := _GO.search(line):
        places = {e: names.get(e, e) for e in [*(facts.get("exits") or []),
                                               *(facts.get("beyond") or [])]}
        to = _match(m.group("x"), places) or _match(m.group("x"), {
            k: v for k, v in names.items() if k not in others and k not in items})
        if to and to != here:
            return said(f"{me} goes to {names.get(to, to)}",
                        [{"op": "move", "entity": actor, "to": to}])
        return said(f"{me} looks for a way to {m.group('x').strip(' .')}, and finds none", [])
    place = names.get(here, here) if here else "the place"
    return said(f"{me} takes a long look around {place}", [])


def _speech(me: str, others: dict[str, str], line: str, rng: random.Random,
            said: Any) -> dict[str, Any]:
    """The player speaks: whoever is addressed (else someone here) answers, in quotes."""
    if not others:
        return said(f'{me} speaks, but nobody is there to hear it', [])
    named = [o for o, n in others.items() if _words(n) & _words(line)]
    who = named[0] if named else sorted(others)[0]
    name = others[who]
    quoted = _QUOTED.search(line)
    words = quoted.group(1).strip() if quoted else ""
    about = _ABOUT.search(line)
    if about:
        topic = about.group("t").strip()
        answer = rng.choice(_ANSWERS_ABOUT).format(who=name, topic=topic,
                                                   Topic=topic[:1].upper() + topic[1:])
        opening = f"{me} asks {name} about {topic}."
    else:
        answer = rng.choice(_ANSWERS).format(who=name)
        opening = f'{me} says to {name}: "{words}"' if words else f"{me} speaks to {name}."
    return said(f"{opening} {answer}", [])


def inject(kind: str, proposal: dict[str, Any], facts: dict[str, Any],
           rng: random.Random) -> dict[str, Any] | str | None:
    """``proposal`` with one contradiction of ``kind``; None when the scene has no room for it."""
    p = json.loads(json.dumps(proposal))
    actor = p.get("actor")
    people = [x for x in facts.get("people") or [] if isinstance(x, dict)]
    alive = [x["id"] for x in people if x.get("alive", True)]
    subject = actor or (alive[0] if alive else None)
    exits = facts.get("exits") or []
    here = facts.get("location")
    if kind == "invalid_json":
        return '{"actor": "%s", "summary": "She goes to the' % (actor or "x")
    if kind == "schema_invalid":
        return {"actor": actor, "summary": "Something odd", "ops": [{"op": "fly", "to": here}]}
    if kind == "unknown_name":
        # Someone who does not exist, in a role that cannot invent them (canon turns
        # an unknown *mover* into a welcome arrival, so that would be no contradiction).
        ghost = f"{rng.choice(_GHOST_FIRST)} {rng.choice(_GHOST_LAST)}{rng.choice(_GHOST_TAIL)}"
        loose = [i["id"] for i in facts.get("items") or [] if i.get("holder") == here
                 and not i.get("value")]
        if loose and rng.random() < 0.5:
            p["ops"].append({"op": "transfer", "item": rng.choice(loose), "to": ghost})
        else:
            p["ops"].append({"op": "kill", "entity": ghost, "cause": "a fall from the quay"})
    elif kind == "dead_actor":
        dead = facts.get("dead") or []
        target = exits[0] if exits else here
        if dead and target:
            p["ops"].append({"op": "move", "entity": dead[0], "to": target})
        elif subject and target:
            p["ops"] = [{"op": "kill", "entity": subject, "cause": "a sudden fever"},
                        {"op": "move", "entity": subject, "to": target}]
        else:
            return None
    elif kind == "unbalanced_currency":
        if not facts.get("currency") or not subject:
            return None
        p["ops"].append({"op": "adjust", "entity": subject, "attribute": facts["currency"],
                         "by": rng.randint(3, 30)})
    elif kind == "teleport":
        far = facts.get("beyond") or []
        if not far or not subject:
            return None
        p["ops"] = [{"op": "move", "entity": subject, "to": far[0]}]
    elif kind == "protected_change":
        protected = facts.get("protected") or []
        if not protected or not subject:
            return None
        p["ops"].append({"op": "adjust", "entity": subject, "attribute": protected[0], "by": 1})
    elif kind in KNOWLEDGE_KINDS:
        return _knowledge_lie(kind, p, facts, subject, alive, rng)
    else:
        raise ValueError(f"unknown injection {kind!r}")
    return p


def invention(facts: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """A welcome ``create`` op: a new person or thing here (flat form)."""
    here = facts.get("location")
    if not here:
        return None
    taken = {str(x.get("name", "")).lower() for x in facts.get("people") or []}
    if rng.random() < 0.5:
        name = next((n for n in rng.sample(_PEOPLE, len(_PEOPLE)) if n.lower() not in taken), None)
        if name:
            return {"op": "create", "kind": "character", "name": name,
                    "description": "a stranger who has just arrived", "at": here}
    thing = rng.choice(_THINGS)
    return {"op": "create", "kind": "item", "name": thing.capitalize(),
            "description": f"a {thing} nobody had noticed before", "at": here}


_QUIET = (
    "The moment passes, and nothing much changes.",
    "For a while nothing happens at all.",
    "Time goes by without much to show for it.",
    "Nobody does anything worth telling, for now.",
)
_CLOSERS = (
    "", "",
    "For a moment nobody moves.",
    "Somewhere close by a door bangs shut.",
    "The light shifts a little, and the moment passes.",
    "Footsteps go by outside and fade.",
    "{place} keeps its own counsel.",
    "Nobody in {place} says anything more about it.",
    "It is quiet in {place} again, for now.",
)


_MONEY_LINE = re.compile(r"'s \w+ changes by [-+]")
_KNOWS_LINE = re.compile(r"^(.+?) knows (.+)$")
_HAS_LINE = re.compile(r"^(.+?) now has (.+)$")
_KNOWING = ("{0} falls to talking with {1}", "{0} and {1} trade a few words",
            "{0} gets to know {1} a little", "{0} strikes up a conversation with {1}")


def prose_for(messages: list[dict[str, Any]]) -> str:
    """Narration from the WHAT HAPPENED lines of a narrate request.

    The summary leads when it carries dialogue (a model writes what people say);
    otherwise the op lines tell it. The closing sentence varies with the request,
    so two beats do not end alike.
    """
    text = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    rng = random.Random(mix_seed(text))
    place_match = re.search(r"^# Place: [^(\n]*\(([^)\n]+)\)", text, re.M)
    place = place_match.group(1) if place_match else "The place"
    happened: list[str] = []
    if "WHAT HAPPENED:" in text:
        block = text.split("WHAT HAPPENED:", 1)[1].split("\n\n", 1)[0]
        happened = [ln[2:].strip() for ln in block.splitlines() if ln.startswith("- ")]
    if happened and ('"' in happened[0] or "\u201c" in happened[0]):
        happened = happened[:1]  # the dialogue says it; the op lines would only repeat it
    elif len(happened) > 1:  # the op lines carry names; the summary would repeat them
        happened = happened[1:]
        plain = [h for h in happened if not _MONEY_LINE.search(h)]
        happened = plain or happened  # who paid whom is in the transfer's telling
    happened = [_HAS_LINE.sub(r"\1 comes away with \2",
                              _KNOWS_LINE.sub(lambda m: rng.choice(_KNOWING).format(*m.groups()),
                                              h)) for h in happened]
    sentences = [h[0].upper() + h[1:] for h in happened[:3] if h]
    sentences = [s if s[-1] in '.!?"\u201d' else s + "." for s in sentences]
    if not sentences:
        return rng.choice(_QUIET)
    closer = rng.choice(_CLOSERS).format(place=place)
    read = _already_read(messages)
    told = [s for s in [*sentences, closer] if s and s not in read]
    return " ".join(told).strip() or rng.choice(_QUIET)


# ------------------------------------------------------------- narration drift
_READ = re.compile(r"already read this; do not repeat it:\n(.*?)\n\n", re.S)
_ENTRY = re.compile(r"^- ([\w-]+): ([^\[\n\u2014;]+?)(?: \[([^\]\n]*)\])?(?: \u2014|;|$)", re.M)
_CARRIED = re.compile(r"[;,] (?:carries )?[\w-]+ \(([^,()\n]+)")
_DRIFT_NAMES = (
    "{ghost} watches from the doorway, saying nothing.",
    "{ghost} nods to {person} and slips away into the fog.",
    "Somewhere behind them, {ghost} laughs at something nobody else heard.",
)
_DRIFT_DEAD = (
    "{dead} nods slowly, as if nothing had happened.",
    '"You took your time," says {dead}.',
    "{dead} walks over to the window and looks out.",
)
_DRIFT_TRANSFER = (
    "{person} hands the {item} to {other} without a word.",
    "{person} picks up the {item} and pockets it.",
    "{person} takes the {item} and turns it over in the light.",
)


def is_retell(messages: list[dict[str, Any]]) -> bool:
    """Is this narrate request a retelling (told why its first telling drifted)?"""
    last = next((str(m.get("content", "")) for m in reversed(messages)
                 if m.get("role") == "user"), "")
    return last.startswith(RETELL_HEADER)


def _already_read(messages: list[dict[str, Any]]) -> str:
    last = str(messages[-1].get("content", "")) if messages else ""
    m = _READ.search(last) if is_retell(messages) else None
    return m.group(1) if m else ""


def narrated_cast(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The people (living, dead) and things a narrate request's scene text shows, and
    who holds each thing (``holders``: item name -> person's name, or the focus' "")."""
    text = str(next((m.get("content", "") for m in messages if m.get("role") == "user"), ""))
    happened = text.split("WHAT HAPPENED:", 1)
    scene, events = happened[0], (happened[1] if len(happened) > 1 else "")
    cast: dict[str, Any] = {"living": [], "dead": [], "items": [], "holders": {}}
    section = ""
    for line in scene.splitlines():
        if line.endswith(":") and not line.startswith("-"):
            section = line
        m = _ENTRY.match(line)
        if not m:
            continue
        name, tags = m.group(2).strip(), m.group(3) or ""
        if "DEAD" in tags:
            cast["dead"].append(name)
        elif section == "People here:":
            cast["living"].append(name)
            carried = [n for n in _CARRIED.findall(line) if n.lower() not in events.lower()]
            cast["items"] += carried
            cast["holders"].update(dict.fromkeys(carried, name))
        elif section in ("Carrying:", "Things here:") and name.lower() not in events.lower():
            cast["items"].append(name)
            if section == "Carrying:":
                cast["holders"][name] = ""  # the focus: named below
    focus = re.search(r"^# Focus: [\w-]+ \(([^)\n]+)\), character(.*)$", scene, re.M)
    if focus:
        cast["dead" if "DEAD" in focus.group(2) else "living"].insert(0, focus.group(1))
        cast["holders"] = {i: h or focus.group(1) for i, h in cast["holders"].items()}
    return cast


def inject_drift(kind: str, prose: str, messages: list[dict[str, Any]],
                 rng: random.Random) -> str | None:
    """``prose`` with one sentence of ``kind`` that did not happen; None when the scene
    has no room for it (nobody dead, nothing to hand over)."""
    cast = narrated_cast(messages)
    living = cast["living"] or ["A stranger"]
    person = rng.choice(living)
    others = [p for p in living if p != person] or ["you"]
    if kind == "drift_name":
        ghost = f"{rng.choice(_GHOST_FIRST)} {rng.choice(_GHOST_LAST)}"
        sentence = rng.choice(_DRIFT_NAMES).format(ghost=ghost, person=person)
    elif kind == "drift_dead":
        if not cast["dead"]:
            return None
        sentence = rng.choice(_DRIFT_DEAD).format(dead=rng.choice(cast["dead"]))
    elif kind == "drift_transfer":
        if not cast["items"] or not cast["living"]:
            return None
        item = rng.choice(cast["items"])
        # Not its holder: one may take up one's own things without anything changing hands.
        takers = [p for p in living if p != cast["holders"].get(item)] or ["A stranger"]
        person = rng.choice(takers)
        others = [p for p in living if p != person] or ["you"]
        sentence = rng.choice(_DRIFT_TRANSFER).format(person=person, other=rng.choice(others),
                                                      item=item[:1].lower() + item[1:])
    else:
        raise ValueError(f"unknown drift {kind!r}")
    told = [t.strip() for t in split_sentences(prose)[0]]
    told.insert(rng.randrange(min(len(told), 1) + 1), sentence)
    return " ".join(told)


def roll_drift(rates: Mapping[str, float], messages: list[dict[str, Any]],
               rng: random.Random) -> str | None:
    """Which drift (if any) noisy mode tells in this narration; a retelling is told
    straight with probability ``retell_success`` (0.8 by default)."""
    if is_retell(messages) and rng.random() < rates.get("retell_success", 0.8):
        return None
    return _roll(rates, DRIFT_KINDS, rng)


def _knowledge_lie(kind: str, p: dict[str, Any], facts: dict[str, Any], subject: str | None,
                   alive: list[str], rng: random.Random) -> dict[str, Any] | None:
    """A ``tell`` the rules must refuse; None when the scene has no room for one.

    ``knows`` (the actor's facts, from the scene block) and ``world_facts`` (the
    world's facts only some know, which the evaluation hands the fake) say what
    the actor does and does not know.
    """
    knows = list(facts.get("knows") or [])
    listeners = [x for x in alive if x != subject]
    if not subject or not listeners:
        return None
    listener = rng.choice(listeners)
    if kind == "tell_unknown":
        unknown = [f for f in facts.get("world_facts") or [] if f not in knows]
        if not unknown or len(knows) >= 64:  # a full list may not be all they know
            return None
        p["ops"].append({"op": "tell", "entity": subject, "to": listener,
                         "fact": rng.choice(unknown)})
        return p
    told = knows or list(facts.get("world_facts") or [])
    if not told:
        return None
    fact = rng.choice(told)
    if kind == "tell_dead":
        dead = facts.get("dead") or []
        if dead:
            p["ops"].append({"op": "tell", "entity": dead[0], "to": listener, "fact": fact})
        else:
            p["ops"] = [{"op": "kill", "entity": subject, "cause": "a sudden fever"},
                        {"op": "tell", "entity": subject, "to": listener, "fact": fact}]
        return p
    exits = facts.get("exits") or []
    if not exits or not knows:
        return None
    # The teller walks out first, then "tells" the one left behind.
    p["ops"] = [{"op": "move", "entity": subject, "to": exits[0]},
                {"op": "tell", "entity": subject, "to": listener, "fact": fact}]
    return p


def scene_facts_from(body: Mapping[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The scene facts of a request: its last scene block, else the schema's actor enum.

    A repair request told that a person is unknown also yields ``newcomers``: a
    model so told often fixes it by bringing that person in properly.
    """
    facts: dict[str, Any] | None = None
    for m in reversed(messages):
        facts = read_scene_block(str(m.get("content", "")))
        if facts is not None:
            break
    for m in messages:  # the world's fixed facts sit in the system message
        world = read_scene_block(str(m.get("content", "")), WORLD_OPEN)
        if world is not None and facts is not None:
            facts = {**world, **facts}
            break
    if facts is None:
        fmt = body.get("format") if isinstance(body.get("format"), dict) else {}
        actor_enum = fmt.get("properties", {}).get("actor", {}).get("enum") or [None]
        facts = {"actor": actor_enum[0], "people": [], "exits": [], "items": []}
    if facts.get("beat") == "player":
        facts["player_text"] = player_text(messages)
        facts["names"] = context_names(messages)
    if is_repair(messages):
        feedback = str(messages[-1].get("content", ""))
        # Names, not ids: an unknown slug is a typo to fix, not a person to bring in.
        names = [n for n in _UNKNOWN_PERSON.findall(feedback) if n != n.lower() or " " in n]
        if names:
            facts["newcomers"] = list(dict.fromkeys(names))
    return facts


def is_repair(messages: list[dict[str, Any]]) -> bool:
    """Does the last user message carry violations to fix?"""
    last_user = next((str(m.get("content", "")) for m in reversed(messages)
                      if m.get("role") == "user"), "")
    return last_user.startswith(REPAIR_HEADER)


def roll_injection(rates: Mapping[str, float], messages: list[dict[str, Any]],
                   rng: random.Random) -> str | None:
    """Which contradiction (if any) noisy mode tells this time.

    A repair request is answered straight with probability ``repair_success``
    (0.8 by default), so repairs sometimes succeed and sometimes do not.
    """
    if is_repair(messages) and rng.random() < rates.get("repair_success", 0.8):
        return None
    return _roll(rates, INJECTION_KINDS, rng)


def _roll(rates: Mapping[str, float], kinds: tuple[str, ...], rng: random.Random) -> str | None:
    """One of ``kinds`` with its rate (their rates summed in order), or None."""
    u, acc = rng.random(), 0.0
    for kind in kinds:
        acc += rates.get(kind, 0.0)
        if u < acc:
            return kind
    return None


# ------------------------------------------------------------------ model facts
DETAILS = {"parent_model": "", "format": "gguf", "family": "qwen2", "families": ["qwen2"],
           "parameter_size": "3.1B", "quantization_level": "Q4_K_M"}
MODIFIED_AT = "2025-12-01T10:00:00Z"


def model_tag(name: str) -> str:
    """``qwen2.5`` -> ``qwen2.5:latest``, as the server names models."""
    return name if ":" in name else f"{name}:latest"


def tokens_of(text: str) -> list[str]:
    """Crude tokens (a word with its leading space): what streams as chunks."""
    return re.findall(r"\s*\S+|\s+$", text) or ([text] if text else [])


def keep_alive_seconds(value: Any) -> float:
    """``"10m"``, ``"30s"``, ``3600`` or None (the 5 minute default) -> seconds."""
    if value is None:
        return 300.0
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)(ms|s|m|h)?", str(value).strip())
    if not m:
        return 300.0
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    return float(m.group(1)) * scale


def model_entry(model: str) -> dict[str, Any]:
    """One model as ``/api/tags`` lists it."""
    digest = hashlib.sha256(model.encode()).hexdigest()
    return {"name": model, "model": model, "modified_at": MODIFIED_AT,
            "size": 1_929_912_432, "digest": digest, "details": dict(DETAILS)}


def show_entry(model: str, context_length: int) -> dict[str, Any]:
    """``/api/show`` for a model (``model_info`` must be present for the client)."""
    return {"modelfile": f"FROM {model}\n", "parameters": 'stop "<|im_end|>"',
            "template": "{{ .Prompt }}", "details": dict(DETAILS),
            "model_info": {"general.architecture": "qwen2",
                           "qwen2.context_length": context_length},
            "capabilities": ["completion", "tools"], "modified_at": MODIFIED_AT}
