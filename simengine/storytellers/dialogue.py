"""People speak without a model: quoted lines built from what the world holds.

A line is built from the speaker's description, traits and goals, how they
stand with the listener (the relations between them) and what they *know*:
the people, places and things within two steps of them in the world graph,
and what happened recently around them. ``answer`` speaks of a topic only when
the speaker knows something of it, and says they know nothing otherwise; no
line names anything the world does not hold. Every choice comes from the RNG
the caller passes, so the same beat says the same words.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence

from simengine.world.lore import lore_about
from simengine.world.state import FACT, WorldState, normalize_name
from simengine.world.text import number

_WARM = ("friend_of", "loves", "trusts", "family_of", "partner_of")
_COLD = ("enemy_of", "rival_of", "distrusts", "fears")
#: What a person says of someone they stand with in one of these ways.
_OPINION = {
    "friend_of": "{who} is a good friend to me", "loves": "I'd do anything for {who}",
    "trusts": "I'd trust {who} with my life", "family_of": "{who} is family, whatever they say",
    "enemy_of": "If you see {who}, tell them I haven't forgotten",
    "rival_of": "{who} thinks they're better than me. We'll see",
    "distrusts": "Keep an eye on {who}. I do", "fears": "I'd rather not talk about {who}",
    "owes": "I owe {who}, and it sits badly with me", "serves": "I answer to {who}",
}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_STOP = frozenset(
    "the a an of to in on at and or for with about what who where is was are were did do "
    "does you your my me i he she they them it this that there here any anything know "
    "tell ask happened happen some thing things".split()
)


def sentences(description: object, limit: int | None = None) -> str:
    """A description as whole sentences (capitalised, ending in a full stop)."""
    text = " ".join(str(description or "").split())
    if not text:
        return ""
    parts = [p.strip() for p in _SENTENCE.split(text) if p.strip()]
    if limit:
        parts = parts[:limit]
    out = []
    for p in parts:
        p = p[:1].upper() + p[1:]
        out.append(p if p[-1] in ".!?\"'" else p + ".")
    return " ".join(out)


def _first(state: WorldState, e: str) -> str:
    name = state.name(e)
    return name.split()[0] if " " in name and state.kind(e) == "character" else name


def _the(state: WorldState, e: str) -> str:
    from simengine.storytellers.narration import ref

    return ref(state.name(e), state.kind(e))


def _clause(description: object) -> str:
    """The first sentence of a description, lower-cased to sit mid-sentence."""
    first = sentences(description, limit=1).rstrip(".!?")
    if not first:
        return ""
    head = first.split(" ", 1)[0]
    if head in ("A", "An", "The", "Some") or (head[1:].islower() and head.isalpha()):
        first = first[0].lower() + first[1:]
    return first


def stance(state: WorldState, speaker: str, listener: str) -> str:
    """``warm``, ``cold`` or ``plain``: how the speaker stands towards the listener."""
    if any(state.has_relation(speaker, r, listener) for r in _COLD if r in state.relation_kinds):
        return "cold"
    if any(state.has_relation(speaker, r, listener) for r in _WARM if r in state.relation_kinds):
        return "warm"
    return "plain"


def _says(state: WorldState, speaker: str, listener: str, rng: random.Random) -> str:
    """``Nell says`` with a manner from the speaker's traits and stance."""
    name = state.name(speaker)
    traits = [str(t) for t in state.entity(speaker).get("traits") or [] if len(str(t)) < 24]
    mood = stance(state, speaker, listener)
    if mood == "cold":
        return rng.choice((f"{name} says coldly", f"{name} answers without warmth",
                           f"{name} says, not bothering to hide the dislike"))
    if mood == "warm":
        return rng.choice((f"{name} says warmly", f"{name} smiles and says", f"{name} says"))
    if traits and rng.random() < 0.6:
        return f"{name}, {rng.choice(traits)}, says"
    return rng.choice((f"{name} says", f"{name} answers", f"{name} replies"))


def quote(state: WorldState, speaker: str, listener: str, words: str,
          rng: random.Random) -> str:
    words = words.strip()
    words = words[:1].upper() + words[1:]
    if words[-1:] not in ".!?":
        words += "."
    return f'{_says(state, speaker, listener, rng)}, "{words}"'


def known(state: WorldState, speaker: str) -> set[str]:
    """What the speaker knows of: the graph two steps around them and their place."""
    out = state.neighbourhood(speaker, 2)
    here = state.where(speaker)
    if here:  # their place, the places next to it, and who and what is there
        out |= state.neighbourhood(here, 2)
    return out


def _topic_entity(state: WorldState, topic: str) -> str | None:
    key = normalize_name(topic)
    if not key:
        return None
    index = state.name_index()
    # Facts are asked about by their words (fact_on), not by name.
    hits = index.get(key, {})
    ids = sorted(e for kind, ids in hits.items() if kind != FACT for e in ids)
    if ids:
        return ids[0]
    words = {w for w in key.split() if w not in _STOP}
    if not words:
        return None
    for name in sorted(index):
        people = sorted(e for kind, ids in index[name].items() if kind != FACT for e in ids)
        if people and words <= set(name.split()):
            return people[0]
    close = [e for e in state.closest(topic) if state.kind(e) != FACT]
    return close[0] if close else None


def _about(state: WorldState, speaker: str, listener: str, e: str) -> str:
    """What the speaker can say of entity ``e`` they know of."""
    s = state
    kind = s.kind(e)
    first = _first(s, e)
    if e == speaker:
        goals = s.entity(speaker).get("goals") or []
        who = _clause(s.entity(speaker).get("description"))
        if goals:
            return f"Me? I mean to {own(goals[0])}. That's all you need to know."
        return f"Me? {who[:1].upper() + who[1:]}." if who else "Me? There's little to tell."
    if e == listener:
        return "You? I know you well enough, or I thought I did."
    if kind == "character":
        where = s.where(e)
        rel = next((r for r in (*_COLD, *_WARM) if s.has_relation(speaker, r, e)), None)
        feel = {"friend_of": f"{first} is a friend of mine.", "loves": f"I love {first}.",
                "trusts": f"I trust {first}.", "family_of": f"{first} is family.",
                "partner_of": f"{first} and I are partners.",
                "enemy_of": f"{first} is no friend of mine.", "rival_of": f"{first}? A rival.",
                "distrusts": f"I wouldn't trust {first} an inch.",
                "fears": f"I'd rather not cross {first}."}.get(rel or "", "")
        if not s.is_alive(e):
            cause = s.entity(e).get("cause") or ""
            dead = f"{first} is dead" + (f", of {cause}" if cause else "") + "."
            return f"{dead} {feel}".strip() + " " + (_clause(s.entity(e).get("description"))
                                                      .capitalize() + "." if
                                                      s.entity(e).get("description") else "")
        place = (f" {first} is in {_the(s, where)}, last I knew."
                 if where and where != s.where(speaker) else "")
        gloss = _clause(s.entity(e).get("description"))
        if gloss and not feel:  # name them, or the line reads as the speaker's own portrait
            text = f"{first}? {gloss[:1].upper() + gloss[1:]}."
        else:
            text = f"{feel} {gloss[:1].upper() + gloss[1:]}." if gloss else feel
        return (text + place).strip()
    if kind == "location":
        people = [s.name(p) for p in s.people_at(e)][:3]
        gloss = _clause(s.entity(e).get("description"))
        line = f"{_the(s, e)[:1].upper() + _the(s, e)[1:]}? {gloss[:1].upper() + gloss[1:]}." \
            if gloss else f"I know {_the(s, e)}."
        if people:
            line += f" {', '.join(people)} {'is' if len(people) == 1 else 'are'} there."
        return line
    if kind == "item":
        holder = s.holder(e)
        gloss = _clause(s.entity(e).get("description"))
        line = f"{_the(s, e)[:1].upper() + _the(s, e)[1:]}? {gloss[:1].upper() + gloss[1:]}." \
            if gloss else f"I know of {_the(s, e)}."
        if holder == speaker:
            price = s.price(e)
            cur = (s.currency or "coin").replace("_", " ")
            line += f" It's mine{f', and it costs {number(price)} {cur}' if price else ''}."
        elif holder == listener:
            line += " You've got it, haven't you?"
        elif holder and s.kind(holder) == "character":
            line += f" {s.name(holder)} has it."
        elif holder:
            line += f" It's in {_the(s, holder)}."
        return line
    return f"I've heard of {s.name(e)}."


def answer(state: WorldState, speaker: str, listener: str, topic: str,
           rng: random.Random, recent: Sequence = ()) -> str:
    """The speaker's answer to "what about TOPIC?", as a quoted line.

    A fact the speaker knows comes first: told (the speaker's beat then commits
    the ``tell``), or refused with a reason (see :func:`may_share`).
    """
    fact = fact_on(state, speaker, topic, listener) if topic.strip() else None
    if fact is not None:
        return quote(state, speaker, listener, _fact_words(state, speaker, listener, fact, rng),
                     rng)
    if stance(state, speaker, listener) == "cold" and rng.random() < 0.5:
        return quote(state, speaker, listener, "I've nothing to say to you", rng)
    if not topic.strip():
        return quote(state, speaker, listener, remark_words(state, speaker, listener, rng,
                                                            recent), rng)
    knows = known(state, speaker)
    e = _topic_entity(state, topic)
    if e is not None and e in knows:
        return quote(state, speaker, listener, _about(state, speaker, listener, e), rng)
    said = topic.strip().rstrip("?.!")
    shown = said[:1].upper() + said[1:]
    lore = lore_about(state, topic)
    if lore:  # what everyone in the world has heard (a [[lore]] entry keyed on the topic)
        told = sentences(lore[0].content, limit=2)
        if told:
            return quote(state, speaker, listener, f"{shown}? They say: {told}", rng)
    if e is not None:  # something the world holds, but nowhere near what they know
        return quote(state, speaker, listener, rng.choice((
            f"{shown}? I know nothing of that", f"I can't tell you anything about {said}",
            f"{shown}? Not that I've heard. Ask someone else")), rng)
    # Not a name: what the speaker has seen happen, or a thing near them that fits the words.
    words = {w for w in normalize_name(topic).split() if w not in _STOP and len(w) > 2}
    for ev in reversed(list(recent)):
        involves = set(getattr(ev, "involves", ()))
        if (speaker in involves or (involves & knows)) and words & set(
                normalize_name(ev.summary).split()):
            return quote(state, speaker, listener, f"I heard that {_lower(ev.summary)}", rng)
    if words:
        for near in sorted(knows):
            text = set(normalize_name(str(state.entity(near).get("description") or "")).split())
            if near not in (speaker, listener) and words <= text:
                return quote(state, speaker, listener,
                             f"{shown}? That puts me in mind of {_the(state, near)}. "
                             + _about(state, speaker, listener, near), rng)
    return quote(state, speaker, listener, rng.choice((
        f"{shown}? I know nothing of that",
        f"I can't tell you anything about {said}",
        f"{shown}? Never heard of it. Ask someone else",
    )), rng)


def fact_on(state: WorldState, speaker: str, topic: str,
            listener: str | None = None) -> str | None:
    """The fact ``speaker`` knows (and not everyone does) that ``topic`` asks about.

    Every word of the topic (past little words) must be in the fact's text or id,
    or the topic must be one of its keys; one the ``listener`` does not know yet
    wins, then the one naming most of the words, then the newest. Lore everyone
    knows is :func:`~simengine.world.lore.lore_about`'s.
    """
    words = _stems(w for w in normalize_name(topic).split() if w not in _STOP and len(w) > 2)
    key = normalize_name(topic)
    best: tuple[bool, int, int, str] | None = None
    for order, f in enumerate(state.facts_known(speaker)):
        if state.is_public(f):
            continue
        node = state.entity(f)
        text = _stems(normalize_name(f"{state.fact_text(f)} {f.replace('-', ' ')}").split())
        keyed = key and any(normalize_name(k) == key for k in node.get("keys") or ())
        if not keyed and not (words and words <= text):
            continue
        new = listener is None or not state.knows(listener, f)
        rank = (new, len(words & text) + (10 if keyed else 0), order, f)
        if best is None or rank > best:
            best = rank
    return best[-1] if best else None


def _stems(words: Iterable[str]) -> set[str]:
    """Words cut to five letters, so "killed" finds "killer" and "lamps" "lamp"."""
    return {w[:5] if len(w) > 5 else w.rstrip("s") or w for w in words}


def may_share(state: WorldState, speaker: str, listener: str, fact: str) -> str | None:
    """Why ``speaker`` will not tell ``listener`` the ``fact``, or None if they will.

    A secret goes only to a friend (someone the speaker is warm to); nobody tells
    anything to someone they are cold to. No dice: the answer and the ``tell``
    the speaker's beat commits always agree.
    """
    mood = stance(state, speaker, listener)
    if mood == "cold":
        return "cold"
    if state.is_secret(fact) and mood != "warm":
        return "secret"
    return None


_WONT = {
    "cold": ("I've nothing to say to you about that", "Why would I tell you anything"),
    "secret": ("Some things are better left unsaid. Not to you, not yet",
               "That's not mine to tell, and you're not the one I'd tell it to",
               "Ask me again when I know I can trust you"),
}


#: Verbs that read the same after "I" as after a name ("Tamsin saw" -> "I saw").
_PAST = frozenset("saw was put found heard told knew took hung had struck drowned owed "
                  "held swore kept made met lost sold bought stole".split())


def first_person(state: WorldState, speaker: str, text: str) -> str:
    """A fact about the speaker as they say it: "Tamsin Reed saw ..." -> "I saw ..."."""
    name = state.name(speaker)
    if text.startswith(name + " "):
        verb = text[len(name) + 1:].split(" ", 1)[0]
        if verb in _PAST or (verb.endswith("ed") and verb.islower()):
            return "I " + text[len(name) + 1:]
    return text


def _fact_words(state: WorldState, speaker: str, listener: str, fact: str,
                rng: random.Random) -> str:
    why = may_share(state, speaker, listener, fact)
    if why:
        return rng.choice(_WONT[why])
    told = first_person(state, speaker, sentences(state.fact_text(fact), limit=3)).rstrip(".")
    if state.knows(listener, fact):
        return f"You know it as well as I do: {told}"
    if state.is_secret(fact):
        return f"Keep this between us. {told}"
    return rng.choice((f"Here's what I know. {told}", f"I'll tell you. {told}",
                       f"Since you ask: {told}"))


def _lower(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def own(goal: str) -> str:
    """A goal written about its holder ("collect what Silas owed her") as they say it."""
    g = re.sub(r"\b(?:her|his|their) own\b", "my own", goal.strip().rstrip("."))
    g = re.sub(r"\b(?:herself|himself|themselves)\b", "myself", g)
    return re.sub(r"\b(?:her|him|them)$", "me", g)


def remark_words(state: WorldState, speaker: str, listener: str, rng: random.Random,
                 recent: Sequence = ()) -> str:
    """Something the speaker might say unprompted: their goal, their place, the news."""
    s = state
    options: list[str] = []
    goals = [str(g) for g in s.entity(speaker).get("goals") or []]
    if goals:
        options.append(f"I mean to {own(rng.choice(goals))}, one way or another")
    here = s.where(speaker)
    others = [p for p in s.people_at(here) if p not in (speaker, listener)] if here else []
    if others:
        o = rng.choice(others)
        options.append(_about(s, speaker, listener, o))
    held = [i for i in s.inventory(speaker) if s.price(i) > 0]
    if held and rng.random() < 0.5:  # a sales pitch now and then, not every time
        options.append(_about(s, speaker, listener, rng.choice(held)))
    ties = [(r, t) for src, r, t in s.relations(speaker)
            if src == speaker and t != listener and r in _OPINION and t in s]
    if ties:
        r, t = rng.choice(ties)
        options.append(_OPINION[r].format(who=_first(s, t)))
    if listener in s and not any(listener in (a, b) for a, _, b in s.relations(speaker)):
        options.append("I don't believe we've met. You'll find I keep my own counsel")
    near = known(s, speaker) if recent else set()
    for ev in reversed(list(recent)[-8:]):
        # News of others: not of the speaker or the listener themselves.
        if ev.actor not in (speaker, listener, None) and not {speaker, listener} & set(
                ev.involves) and set(ev.involves) & near:
            options.append(f"Did you hear? {ev.summary.strip().rstrip('.')}")
            break
    if not options and here:
        gloss = _clause(s.entity(here).get("description"))
        options.append(f"Look at {_the(s, here)}: {gloss}" if gloss else
                       "Not much to say, is there")
    if not options:
        options.append("Not much to say, is there")
    return rng.choice(options)


def remark(state: WorldState, speaker: str, listener: str, rng: random.Random,
           recent: Sequence = ()) -> str:
    """An unprompted quoted line, for beats where people talk."""
    return quote(state, speaker, listener, remark_words(state, speaker, listener, rng, recent),
                 rng)


def reply(state: WorldState, speaker: str, listener: str, words: str,
          rng: random.Random, recent: Sequence = ()) -> str:
    """The speaker's answer to the listener's spoken words (a question gets an answer)."""
    text = normalize_name(words)
    if "?" in words:
        topic = re.sub(
            r"^(?:(?:did|do|have|has|can|could|would)\s+you\s+(?:hear|know|see|seen|heard"
            r"|tell\s+me)(?:\s+anything)?(?:\s+(?:about|of))?|what\s+(?:about|of|do\s+you\s+know"
            r"\s+(?:about|of)|happened\s+to|is|are|was)|where\s+(?:is|are|was|did)|who\s+(?:is|are"
            r"|was|killed)|tell\s+me\s+about|why\s+(?:is|did|was)|how\s+(?:is|was|about))\s+", "",
            words.strip().rstrip("?!. "), flags=re.I)
        return answer(state, speaker, listener, topic, rng, recent)
    mood = stance(state, speaker, listener)
    if any(w in text.split() for w in ("hello", "hi", "hey", "greetings", "morning", "evening")):
        opener = {"warm": "Good to see you", "cold": "You again",
                  "plain": "Well met"}[mood]
        return quote(state, speaker, listener,
                     f"{opener}. {remark_words(state, speaker, listener, rng, recent)}", rng)
    if any(w in text.split() for w in ("thanks", "thank")):
        return quote(state, speaker, listener, "Don't mention it", rng)
    if any(w in text.split() for w in ("bye", "goodbye", "farewell")):
        return quote(state, speaker, listener, "Mind how you go", rng)
    lead = {"warm": "Is that so", "cold": "And why should I care", "plain": "Hm"}[mood]
    return quote(state, speaker, listener,
                 f"{lead}. {remark_words(state, speaker, listener, rng, recent)}", rng)


def hear(state: WorldState, speaker: str, listener: str, topic: str,
         rng: random.Random, recent: Sequence = ()) -> str:
    """The speaker's response to being told about a topic."""
    e = _topic_entity(state, topic) if topic else None
    if e is not None and e in known(state, speaker):
        return quote(state, speaker, listener, "I know. " + _about(state, speaker, listener, e),
                     rng)
    mood = stance(state, speaker, listener)
    words = {"warm": "Thank you for telling me. I'll keep it in mind",
             "cold": "Why would I believe you",
             "plain": "Is that so? I'll think on it"}[mood]
    return quote(state, speaker, listener, words, rng)


def thanks(state: WorldState, speaker: str, giver: str, item: str | None,
           rng: random.Random) -> str:
    """What someone says on being given a thing (or money)."""
    mood = stance(state, speaker, giver)
    if mood == "cold":
        words = "I'll take it. Don't think it changes anything"
    elif item:
        words = rng.choice((f"For me? {_the(state, item).capitalize()}. Thank you",
                            "That's good of you", "I won't forget this"))
    else:
        words = rng.choice(("That's good of you", "I won't forget this", "Much obliged"))
    return quote(state, speaker, giver, words, rng)


def mentioned(state: WorldState, text: str) -> set[str]:
    """Ids of the entities whose names appear in ``text`` (for checking a line)."""
    low = normalize_name(text)
    return {e for e in state.entities() if normalize_name(state.name(e)) in low}
