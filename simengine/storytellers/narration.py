"""Templated narration of accepted proposals, for the procedural storyteller.

Narration reads only the *accepted* ops (and the scene), never what was merely
proposed, so it cannot tell a rejected change as if it happened. The ops are
classified into an archetype (a trade is a pair of currency adjustments and a
transfer, a discovery is a created place ...); a template for it is filled with
names, places, descriptions and traits from the world. Ops no archetype covers
get a plain sentence each. Rejections add one sentence saying it failed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from simengine.storytellers import dialogue
from simengine.storytellers.base import Scene
from simengine.storytellers.dialogue import sentences as whole_sentences
from simengine.storytellers.namegen import style_of
from simengine.world.ops import (
    Adjust,
    Create,
    Kill,
    Move,
    Op,
    Proposal,
    Relate,
    Transfer,
    Unrelate,
    references,
)
from simengine.world.state import normalize_name
from simengine.world.text import number, ref

TEMPLATES: dict[str, tuple[str, ...]] = {
    "wander": (
        "{actor} leaves {here} behind and walks to {dest}. {dest_desc}",
        "With nothing more to keep them in {here}, {actor} sets off for {dest}.",
        "{actor}, {actor_trait} as ever, drifts over to {dest}. {dest_desc}",
        "The way to {dest} is short, and {actor} takes it. {dest_desc}",
        "Footsteps fade from {here}: {actor} is bound for {dest}.",
        "{actor} turns up in {dest} a little later, still thinking of {here}.",
    ),
    "meet": (
        "In {here}, {actor} and {other} meet properly for the first time and trade names.",
        "{actor} nods to {other}, {other_gloss}; by the end of it they know each other's names.",
        "{other} catches {actor}'s eye across {here}, and introductions follow.",
        "{actor}, {actor_trait}, falls into talk with a stranger: {other}.",
        "Strangers a moment ago, {actor} and {other} now know one another.",
    ),
    "talk": (
        "{actor} and {other} talk a while in {here} about {topic}.",
        "{actor} leans close to {other} and speaks low of {topic}; {other} listens.",
        "Words pass between {actor} and {other}: {topic}, mostly, and a complaint or two.",
        "{actor}, {actor_trait}, has something to say about {topic}, and {other} hears it out.",
        "{actor} passes the time with {other} in {here}, talking of {topic}.",
    ),
    "trade": (
        "{buyer} counts out {price} {currency} for {seller}, and {item} changes hands.",
        "After some haggling, {seller} lets {item} go to {buyer} for {price} {currency}.",
        "{buyer} weighs {item} ({item_gloss}), then pays {seller} {price} {currency} for it.",
        "In {here}, {price} {currency} pass from {buyer} to {seller}, and {item} goes the "
        "other way.",
        "{seller} drives a hard bargain, but {buyer} walks off with {item}, {price} "
        "{currency} lighter.",
    ),
    "quarrel": (
        "Harsh words fly between {actor} and {other} in {here}.",
        "{actor}, {actor_trait}, takes offence at something {other} says, and neither "
        "backs down.",
        "An old grievance flares: {actor} and {other} part on bad terms.",
        "{other} turns away from {actor} with a curse; the quarrel will be remembered.",
        "Voices rise in {here}, {actor} against {other}, until the whole place is listening.",
    ),
    "befriend": (
        "{actor} and {other} share a laugh in {here}, and something like friendship begins.",
        "{actor} does {other} a small kindness; {other} does not forget it.",
        "By the time they part, {actor} and {other} are friends.",
        "{other}, {other_trait}, finds in {actor} an unexpected ally.",
        "In {here}, {actor} and {other} discover they like one another.",
    ),
    "find": (
        "{actor} spots {item} in {here} and keeps it.",
        "Half hidden in {here}, {item} catches {actor}'s eye, and goes into a pocket. "
        "{item_desc}",
        "{actor} stoops and picks up {item}.",
        "Something lies at {actor}'s feet: {item}. {actor} keeps it.",
        "{actor}, {actor_trait}, turns {item} over and decides it is worth keeping.",
    ),
    "arrive": (
        "A newcomer comes into {here}: {newcomer}, {newcomer_gloss}.",
        "{newcomer} arrives and looks around {here} as if expecting "
        "someone.",
        "{newcomer} comes into {here} from somewhere else, and stays.",
        "Nobody in {here} has seen {newcomer} before: {newcomer_gloss}.",
        "{newcomer} turns up in {here} with a story nobody has asked for yet.",
    ),
    "discover": (
        "{actor} finds a way out of {here} nobody had bothered with, and it leads to "
        "{place}. {place_desc}",
        "Beyond {here} lies a place no one had spoken of, {place}. {actor} goes to see it.",
        "{actor}, {actor_trait}, pushes past the edge of the known and comes upon {place}.",
        "A new path leads from {here} to {place}, and {actor} is the first down it. "
        "{place_desc}",
        "{place}: {actor} is the first to set foot there in living memory.",
    ),
    "found": (
        "Beyond {here}, a way opens to a place nobody had mapped: {place}. {place_desc}",
        "The edge of the known shifts: past {here} lies {place}.",
        "Word comes of {place}, reached from {here}. {place_desc}",
        "Someone marks a new path on the old maps, from {here} to {place}.",
        "{place} was always there, past {here}; today it is found.",
    ),
    "fall_ill": (
        "{actor} goes pale and has to sit down; something is wrong.",
        "A fever takes hold of {actor} in {here}.",
        "{actor}, usually so {actor_trait}, is laid low by a sudden sickness.",
        "{actor} wakes aching and weak, and {here} seems to sway.",
        "Whatever is going around {here} has found {actor}.",
    ),
    "die": (
        "{actor} dies in {here}. It was {cause}.",
        "{cause} takes {actor}; {here} is quieter for it.",
        "In {here}, {actor} breathes a last breath. {cause}, they say.",
        "{actor}, {actor_trait} to the end, is gone: {cause}.",
        "News spreads through {here}: {actor} is dead, of {cause}.",
    ),
    "weather": (
        "Over {here}, {weather}.",
        "For a while nothing happens in {here} but this: {weather}.",
        "{weather}. In {here}, people look up and then go on.",
        "The world turns: {weather}, and {here} waits it out.",
        "Somewhere past {here}, {weather}; the story holds its breath.",
    ),
    "look": (
        "{actor} looks around {here}. {here_desc}",
        "{actor} takes a moment in {here}, and nothing much changes.",
        "{actor} pauses in {here}. {here_desc}",
        "{actor}, {actor_trait}, waits and watches.",
        "Time passes in {here}; {actor} keeps their own counsel.",
    ),
    "give": (
        "{actor} hands {item} to {other}.",
        "{other} accepts {item} from {actor}.",
        "{actor} presses {item} into {other}'s hands.",
        "With a shrug, {actor} gives {item} away to {other}.",
        "{item} passes from {actor} to {other}.",
    ),
    "drop": (
        "{actor} sets {item} down in {here}.",
        "{actor} leaves {item} lying in {here}.",
        "{item} is left behind in {here}; {actor} has no more use for it.",
        "{actor} drops {item}.",
        "With a soft clatter, {item} ends up on the ground in {here}.",
    ),
}

FAILURE: tuple[str, ...] = (
    "But it comes to nothing: {reason}.",
    "The attempt fails: {reason}.",
    "It does not happen, because {reason}.",
    "The world will not have it: {reason}.",
    "Nothing comes of it, for {reason}.",
)

_FALLBACK_GLOSS = {
    "location": "a place with little to say for itself",
    "item": "an ordinary thing",
    "character": "a face few would remember",
}
_ILL = ("health", "hp", "vitality", "vigour", "vigor", "stamina", "wellbeing")
_HOSTILE = ("rival_of", "enemy_of", "distrusts", "fears")
_FRIENDLY = ("friend_of", "loves", "trusts")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_QUOTED_ID = re.compile(r"'([a-z0-9][a-z0-9_-]*)'")


class _Slots(dict):
    """Template values; a slot nobody filled reads as something vague, never a KeyError.

    A value may be a function of no arguments, called when a template first asks for
    the slot: a beat offers a dozen slots (each person's name, trait, gloss and
    description ...) and its template names three or four, and glossing a
    description costs more than the rest of the telling.
    """

    def __getitem__(self, key: str) -> str:
        value = super().__getitem__(key)
        if callable(value):
            value = self[key] = value()
        return value

    def told(self) -> list[str]:
        """Every slot's value, worked out."""
        return [self[key] for key in list(self)]

    def __missing__(self, key: str) -> str:
        return "someone" if key in ("actor", "other", "buyer", "seller", "newcomer") else \
            "something"


@dataclass
class Beat:
    """What an accepted proposal amounts to, for telling."""

    archetype: str
    slots: _Slots
    covered: set[int] = field(default_factory=set)
    #: The person the actor deals with (met, talked to, quarrelled with ...), if any.
    other: str | None = None


def gloss(
    description: str,
    kind: str | None = None,
    limit: int = 120,
    proper: Callable[[str], bool] = lambda word: False,
) -> str:
    """A description as a phrase to drop mid-sentence: first sentence, no full stop.

    ``proper(word)`` says whether a capitalised first word is a name to keep.
    """
    text = " ".join((description or "").split())
    first = _SENTENCE.split(text, maxsplit=1)[0].rstrip(".!? ") if text else ""
    if len(first) > limit:
        # Cut at the last clause boundary that leaves a phrase, else at a word.
        head_ = first[:limit]
        cut = max(head_.rfind(mark) for mark in (", ", "; ", ": ", " — ", " - ", " ("))
        first = head_[:cut] if cut >= 25 else head_.rsplit(" ", 1)[0].rstrip(",;:") + "…"
    if not first:
        return _FALLBACK_GLOSS.get(kind or "", "nothing remarkable")
    head = first.split(" ", 1)[0]
    # "Trestle tables under ..." reads mid-sentence as "trestle tables under ...";
    # a name ("Silas's stall") or an acronym keeps its capitals.
    if head in ("A", "An", "The", "Some") or (
        head[1:].islower() and head.isalpha() and not proper(head)
    ):
        first = first[0].lower() + first[1:]
    return first


def display_name(attribute: str | None) -> str:
    """An attribute as people say it: ``ration_credits`` -> ``ration credits``."""
    return (attribute or "coin").replace("_", " ")


class _Teller:
    """Looks up names and glosses for an accepted proposal, before or after it applies."""

    def __init__(self, scene: Scene, accepted: Proposal, voice: str = "third"):
        self.scene = scene
        self.s = scene.state
        self.you = scene.state.player if voice == "second" else None
        self.new = {e.id: e for op in accepted.ops if (e := op.brings()) and e.id}

    def kind(self, e: str | None) -> str | None:
        if e in self.new:
            return self.new[e].kind
        return self.s.kind(e) if e else None

    def name(self, e: str | None) -> str:
        if not e:
            return "someone"
        if e == self.you:
            return "you"
        if e in self.new:
            return ref(self.new[e].name, self.new[e].kind)
        if e in self.s:
            return ref(self.s.name(e), self.s.kind(e))
        return e

    def gloss(self, e: str | None) -> str:
        if e in self.new:
            return gloss(self.new[e].description, self.new[e].kind)
        if e and e in self.s:
            return gloss(self.s.entity(e).get("description", ""), self.s.kind(e),
                         proper=lambda w: normalize_name(w) in self.s.name_index())
        return "nothing remarkable"

    def trait(self, e: str | None) -> str:
        """A one-word trait: the templates say "X, blunt as ever", never "X, slow to
        trust as ever"."""
        traits = self.s.entity(e).get("traits") if e and e in self.s else None
        return next((str(x) for x in traits or [] if len(str(x).split()) == 1), "watchful")

    def desc(self, e: str | None) -> str:
        """The first sentence of a description, as a whole sentence."""
        text = self.new[e].description if e in self.new else (
            self.s.entity(e).get("description", "") if e and e in self.s else "")
        return whole_sentences(text, limit=1)

    def person(self, role: str, e: str | None) -> dict[str, Callable[[], str]]:
        """A person's slots, worked out when a template asks (see :class:`_Slots`)."""
        return {role: lambda: self.name(e), f"{role}_trait": lambda: self.trait(e),
                f"{role}_gloss": lambda: self.gloss(e), f"{role}_desc": lambda: self.desc(e)}

    def place(self, role: str, e: str | None) -> dict[str, Callable[[], str]]:
        """A place's slots, worked out when a template asks (see :class:`_Slots`)."""
        return {role: lambda: self.name(e), f"{role}_gloss": lambda: self.gloss(e),
                f"{role}_desc": lambda: self.desc(e)}


def classify(scene: Scene, accepted: Proposal, rejected: bool = False,
             voice: str = "third", teller: _Teller | None = None) -> Beat:
    """The archetype an accepted proposal amounts to, with the slots to tell it
    (``teller``: the caller's :class:`_Teller` of the same proposal and voice, if any)."""
    t = teller or _Teller(scene, accepted, voice)
    s = scene.state
    ops = list(accepted.ops)
    actor = accepted.actor
    here = scene.location or (s.where(actor) if actor in s else None)
    base = _Slots({**t.person("actor", actor), **t.place("here", here)})

    def beat(archetype: str, covered: set[int], partner: str | None = None,
             **slots: str | Callable[[], str]) -> Beat:
        return Beat(archetype, _Slots({**base, **slots}), covered, partner)

    idx = {i: op for i, op in enumerate(ops)}
    for i, op in idx.items():
        if isinstance(op, Kill):
            cause = op.cause.strip() or "no cause anyone can name"
            return beat("die", {i}, **t.person("actor", op.entity), cause=cause)
    for i, op in idx.items():
        if isinstance(op, Create) and op.entity.kind == "location":
            covered = {i} | {j for j, o in idx.items()
                             if isinstance(o, Move) and o.to == op.entity.id}
            mover = next((o.entity for j, o in idx.items() if j in covered and j != i), actor)
            return beat("discover" if mover else "found", covered, **t.person("actor", mover),
                        **t.place("here", op.entity.at or here), **t.place("place", op.entity.id))
    for i, op in idx.items():
        if isinstance(op, Create) and op.entity.kind == "character":
            return beat("arrive", {i}, **t.person("newcomer", op.entity.id),
                        **t.place("here", op.entity.at or here))
    for i, op in idx.items():
        if isinstance(op, Create) and op.entity.kind == "item":
            finder = op.entity.at if t.kind(op.entity.at) == "character" else actor
            return beat("find", {i}, **t.person("actor", finder), item=t.name(op.entity.id),
                        item_gloss=partial(t.gloss, op.entity.id),
                        item_desc=partial(t.desc, op.entity.id))
    currency = s.currency
    pays = [(i, op) for i, op in idx.items()
            if isinstance(op, Adjust) and op.attribute == currency]
    for i, op in idx.items():
        if not isinstance(op, Transfer) or t.kind(op.to) != "character":
            continue
        if pays:
            paid = sum(-o.by for _, o in pays if o.entity == op.to)
            seller = next((o.entity for _, o in pays if o.by > 0 and o.entity != op.to), None)
            if seller and paid > 0:
                covered = {i} | {j for j, _ in pays}
                return beat("trade", covered, **t.person("buyer", op.to),
                            **t.person("seller", seller), item=t.name(op.item),
                            item_gloss=partial(t.gloss, op.item), price=number(paid),
                            currency=display_name(currency))
        giver = actor if actor and actor != op.to else None
        if giver:
            return beat("give", {i}, op.to, **t.person("actor", giver),
                        **t.person("other", op.to), item=t.name(op.item))
        return beat("find", {i}, **t.person("actor", op.to), item=t.name(op.item),
                    item_gloss=partial(t.gloss, op.item), item_desc=partial(t.desc, op.item))
    for i, op in idx.items():
        if isinstance(op, Transfer) and t.kind(op.to) == "location":
            return beat("drop", {i}, item=t.name(op.item), **t.place("here", op.to))
    for archetype, kinds in (("befriend", _FRIENDLY), ("quarrel", _HOSTILE), ("meet", ("knows",))):
        hits = {i for i, op in idx.items() if isinstance(op, Relate) and op.relation in kinds}
        if hits:
            first = idx[min(hits)]
            assert isinstance(first, Relate)
            covered = hits | {j for j, o in idx.items() if isinstance(o, Unrelate)}
            if archetype == "quarrel":
                covered |= {j for j, o in idx.items() if isinstance(o, Adjust) and o.by < 0
                            and o.entity == first.source and o.attribute != currency}
            return beat(archetype, covered, first.target, **t.person("actor", first.source),
                        **t.person("other", first.target))
    for i, op in idx.items():
        if isinstance(op, Adjust) and op.attribute in _ILL and op.by < 0:
            return beat("fall_ill", {i}, **t.person("actor", op.entity))
    for i, op in idx.items():
        if isinstance(op, Move):
            origin = here if here != op.to else None
            return beat("wander", {i}, **t.person("actor", op.entity),
                        **t.place("here", origin), **t.place("dest", op.to))
    if ops:
        return beat("look", set())
    if actor is None:
        return beat("weather", set(), weather=_weather_in(scene, accepted.summary))
    # Nothing was accepted of an attempt: tell the actor in the place, not the summary.
    other = None if rejected else _named_in(scene, accepted.summary, exclude=actor)
    if other:
        return beat("talk", set(), other, **t.person("other", other))
    return beat("look", set())


def _fits_the_player(template: str) -> bool:
    """Whether a template may tell an NPC's beat with the player as ``{other}``.

    Not when the player would be the one acting ("{other} turns away ... with a
    curse"), be described to themselves ("nods to {other}, {other_gloss}") or be
    introduced as a stranger ("falls into talk with a stranger: {other}").
    """
    return not (template.startswith("{other}") or "{other_gloss}" in template
                or "{other_trait}" in template or "stranger: {other}" in template)


def topic(scene: Scene, speaker: str | None, listener: str | None,
          rng: random.Random, avoid: str = "") -> str:
    """Something from the world for two people to talk about, as a noun phrase.

    The speaker's own goal, a thing one of them carries or that lies here, or a
    place one can walk to from here; "the weather" only when the world offers none.
    ``avoid`` (what the pair talked of last) is chosen again only if nothing else is left.
    """
    s = scene.state
    goals = [f"what it would take to {g}" for g in
             (str(x).strip().rstrip(".") for x in
              (s.entity(speaker).get("goals") if speaker in s else None) or []) if g]
    here = s.where(speaker) if speaker in s else scene.location
    things = [i for p in (speaker, listener) if p in s for i in s.inventory(p)]
    things += s.things_at(here) if here in s else []
    wares = [f"{ref(s.name(i), 'item')} and what it might fetch" if s.price(i) > 0
             else ref(s.name(i), "item") for i in things[:12]]
    ways = [f"the way to {ref(s.name(x), 'location')}" for x in s.exits(here)[:8]] \
        if here in s else []
    # each kind as likely as the others
    groups = [g for g in ([x for x in opts if x != avoid] for opts in (goals, wares, ways)) if g]
    return rng.choice(rng.choice(groups)) if groups else avoid or "the weather"


def _weather_in(scene: Scene, summary: str) -> str:
    options = style_of(scene.state).weather
    low = summary.lower()
    for phrase in options:
        if phrase in low:
            return phrase
    return options[len(summary) % len(options)]


def _named_in(scene: Scene, summary: str, exclude: str | None) -> str | None:
    """The first person present in the scene whose name the summary mentions."""
    s = scene.state
    low = summary.lower()
    best: tuple[int, str] | None = None
    where = scene.location
    for e in sorted(s.people_at(where, alive=None)) if where in s else []:
        if e == exclude:
            continue
        pos = low.find(s.name(e).lower())
        if pos >= 0 and (best is None or pos < best[0]):
            best = (pos, e)
    return best[1] if best else None


def op_sentence(t: _Teller, op: Op) -> str:
    """A plain sentence for one op no archetype covered."""
    return op.sentence(t.name)


def reason_text(scene: Scene, violation: object) -> str:
    """A violation's message with ids swapped for names, ready to sit mid-sentence."""
    message = str(getattr(violation, "message", violation) or "the rules forbid it")
    s = scene.state

    def name(match: re.Match[str]) -> str:
        e = match.group(1)
        return ref(s.name(e), s.kind(e)) if e in s else match.group(0)

    # The first clause says what went wrong; what follows a ';' is advice for a model.
    text = _QUOTED_ID.sub(name, message.split("; ")[0]).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else "the rules forbid it"


def tell(
    scene: Scene, accepted: Proposal, rejected: Sequence[object], rng: random.Random,
    voice: str = "third", topics: dict[frozenset, str] | None = None,
) -> list[str]:
    """The sentences telling an accepted proposal (and, briefly, what was rejected).

    In the ``second`` voice the player is "you"; people talking where the player
    stands say something aloud. ``topics`` remembers what each pair talked of last,
    so they talk of something else next time (it is updated here).
    """
    t = _Teller(scene, accepted, voice)
    b = classify(scene, accepted, rejected=bool(rejected), voice=voice, teller=t)
    options = TEMPLATES[b.archetype]
    s = scene.state
    if b.other is not None and b.other == s.player and accepted.actor != s.player:
        options = tuple(x for x in options if _fits_the_player(x)) or options
    if b.archetype == "talk":
        pair = frozenset({accepted.actor, b.other})
        memory = topics if topics is not None else {}
        b.slots["topic"] = memory[pair] = topic(scene, accepted.actor, b.other, rng,
                                                memory.get(pair, ""))
    text = rng.choice(options).format_map(b.slots)
    sentences = [_cap(x) for x in _SENTENCE.split(text) if x.strip()]
    extra = [op_sentence(t, op) for i, op in enumerate(accepted.ops) if i not in b.covered]
    sentences += [_cap(x) for x in extra if x][:4]
    said = _spoken(scene, accepted, b, rng)
    if said:
        sentences.append(said)
    if rejected:
        reason = reason_text(scene, rejected[0])
        sentences.append(_cap(rng.choice(FAILURE).format_map(_Slots(reason=reason))))
    if voice == "second":
        sentences = [_agree(x) for x in sentences]
    return sentences


def _spoken(scene: Scene, accepted: Proposal, b: Beat, rng: random.Random) -> str:
    """A quoted line for people talking where the player can hear them, else ''."""
    s = scene.state
    actor = accepted.actor
    if b.archetype not in ("talk", "meet", "befriend", "quarrel") or not actor or actor not in s:
        return ""
    player = s.player
    here = s.where(actor)
    if player is None or player not in s or s.where(player) != here or not s.is_alive(actor):
        return ""
    others = [p for p in s.people_at(here) if p != actor] if here else []
    if not others:
        return ""
    touched = {v for op in accepted.ops for _, v in references(op)}
    told = text_of(b)
    named = [p for p in others if p in touched or s.name(p) in told]
    # Talking with the player, they talk to the player.
    listener = b.other if b.other in others else player if player in named else (
        named[0] if named else others[0])
    return dialogue.remark(s, actor, listener, rng, scene.recent)


def text_of(b: Beat) -> str:
    return " ".join(str(v) for v in b.slots.told())


_IRREGULAR = {"has": "have", "is": "are", "was": "were", "does": "do", "goes": "go"}


def _agree(sentence: str) -> str:
    """Verbs after "you" in the person templates write for "he/she": "you takes" -> "you take"."""

    def fix(m: re.Match[str]) -> str:
        you, verb = m.group(1), m.group(2)
        low = verb.lower()
        if low in _IRREGULAR:
            return f"{you} {_IRREGULAR[low]}"
        if low.endswith(("sses", "shes", "ches", "xes", "zes")):
            return f"{you} {verb[:-2]}"
        if low.endswith("ies") and len(low) > 4:
            return f"{you} {verb[:-3]}y"
        if low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3:
            return f"{you} {verb[:-1]}"
        return m.group(0)

    if re.search(r"\b(and you|you and)\b", sentence, re.I):  # "X and you": a "we", told as "you"
        sentence = re.sub(r"\bthey\b", "you", sentence)
        sentence = re.sub(r"\btheir\b", "your", sentence)
        sentence = re.sub(r"\bThey\b", "You", sentence)
    out = re.sub(r"\b([Yy]ou) ([a-z]+)\b", fix, sentence)
    out = re.sub(r"\b([Yy]ou)'s\b", lambda m: "Your" if m.group(1) == "You" else "your", out)
    return out.replace("you, watchful,", "you").replace("You, watchful,", "You")


def _cap(sentence: str) -> str:
    sentence = sentence.strip()
    return sentence[:1].upper() + sentence[1:]
