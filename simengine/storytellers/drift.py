"""Narration that agrees with the state: a model's prose checked sentence by sentence.

The ops of a beat are canon; a model's narration of them is not. It can drift: name
someone who exists nowhere, have a dead man speak, or hand over a thing that no op
moved. :class:`DriftCheck` reads one sentence against the beat's committed ops and
the world (after the commit) and says what in it did not happen. :class:`DriftGuard`
sits in the narration stream: it lets whole sentences through once they pass, and
stops the stream at the first that does not, so the reader never sees it. The
session then asks for one retelling (:func:`retell_messages` carries the reasons),
and if that drifts too, tells the beat procedurally.

The check is conservative, as a false alarm costs a retelling: words inside quotes
(people may speak of anyone), capitalised words that open a sentence, pronouns,
titles, and any word the prompt showed the model are never taken for unknown names,
and a name counts as known when any of its words is.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from simengine.storytellers.base import CUT_NOTE, Scene
from simengine.storytellers.prompts import narrate_messages
from simengine.world.calls import Call
from simengine.world.ops import Create, Kill, Proposal, Transfer, references
from simengine.world.state import WorldState, normalize_name

#: A cut-off mark (the engine's words, not the model's) is never judged as prose.
_CUT = re.compile(re.escape(CUT_NOTE).replace(re.escape("{}"), r"[^\]]*"))

RETELL_HEADER = "Your narration told things that did not happen:"
#: People and things of a place the beat went to that count as shown.
MAX_AROUND = 64

#: Where a sentence may end: a stop, then closing quotes or brackets, then a space.
_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)")
#: Closing quotes at the very start: the end of a sentence already let through.
_CLOSERS = re.compile(r"[\"\u201d\u2019)\]]+(?=\s)")
_WORD = re.compile(r"[^\W\d_][\w'\u2019-]*")
_QUOTED = re.compile(r"\"[^\"]*(?:\"|$)|\u201c[^\u201d]*(?:\u201d|$)"
                     # 'single-quoted speech', with apostrophes inside words ('Don't')
                     r"|(?:^|(?<=[\s(]))['\u2018](?:[^'\u2018\u2019]|(?<=\w)['\u2019](?=\w))*"
                     r"['\u2019](?=[\s,.!?;:\u2014]|$)")
_POSSESSIVE = re.compile(r"['\u2019]s?$")

#: Words that open sentences: a capitalised one of these is no name.
STARTERS = frozenset("""
a an the this that these those there here then now when while as after before behind
beyond above below across along around through under over inside outside in on at by
for from into of off onto out up down with without within upon near beside between
once still yet but and or so if though although because since until unless whether
he she it they we you i his her its their our your my me him them us one some someone
somebody something somewhere nobody nothing nowhere no none everyone everything every
each all both few many much most more less other another only even just perhaps maybe
somehow slowly quietly suddenly finally meanwhile later soon again also instead otherwise
neither either not never always sometimes often what who whom whose which where why how
yes well oh ah outside overhead nearby far close together alone""".split())

#: Capitalised words that are titles, days and such: they make no name on their own.
TITLES = frozenset("""
mr mrs ms miss mister madam sir lord lady dame master mistress captain sergeant
lieutenant commander doctor dr father mother brother sister uncle aunt old young
king queen prince princess duke duchess baron count saint st god gods heaven hell
north south east west monday tuesday wednesday thursday friday saturday sunday
january february march april may june july august september october november december
""".split())

#: Verbs of the living: a dead person who does one of these is acting or speaking.
ALIVE_VERBS = frozenset("""
says asks answers replies whispers mutters murmurs shouts calls cries laughs chuckles
smiles grins nods shrugs sighs speaks tells snaps growls adds agrees insists warns
winks waves frowns walks goes comes steps runs strides wanders enters leaves arrives
follows heads returns climbs crosses hands gives takes passes offers picks grabs
reaches points pays buys sells pours drinks eats lifts raises pulls pushes opens stands
gets sits rises""".split())
SPEECH_VERBS = frozenset("""
says asks answers replies whispers mutters murmurs shouts calls cries laughs snaps
growls adds agrees insists warns said asked""".split())

#: Verbs that move a thing from hand to hand (both "she hands" and "you hand").
TRANSFER_VERBS = frozenset("""
hands hand gives give passes pass slides slide tosses toss takes take grabs grab
pockets pocket snatches snatch steals steal buys buy sells sell receives receive
accepts accept picks pick""".split())
#: Of those, the ones by which a holder could only be handling their own thing.
TAKING = frozenset("""
takes take grabs grab pockets pocket snatches snatch picks pick""".split())
#: A word just after one that makes it no change of hands ("takes out her knife").
AWAY = frozenset("out down off apart aim stock note care heed hold at".split())
#: A word just before a verb that makes it no deed (wishes, refusals, attempts).
NOT_DONE = frozenset("""
to not never cannot can't won't doesn't don't didn't would could should might may
will wants want tries try refuses refuse""".split())


@dataclass(frozen=True)
class Drift:
    """One thing a sentence tells that did not happen: ``kind`` and the reason in words."""

    kind: str  # "name", "dead" or "transfer"
    reason: str

    def __str__(self) -> str:
        return self.reason


def split_sentences(text: str, final: bool = True) -> tuple[list[str], str]:
    """Whole sentences of ``text`` (each with its leading space), and the rest.

    A stop inside quoted speech ends no sentence; a stop at the very end does (a
    model may pause there), so closing quotes that come after it stand alone. With
    ``final`` the rest counts as a last sentence (the stream has ended).
    """
    out: list[str] = []
    lead = _CLOSERS.match(text)
    start = lead.end() if lead else 0
    if lead:
        out.append(lead.group())
    for m in _END.finditer(text, start):
        piece = text[start:m.end()]
        if _open_quote(piece):
            continue
        out.append(piece)
        start = m.end()
    rest = text[start:]
    if final and rest.strip():
        out.append(rest)
        rest = ""
    return out, rest


def _open_quote(text: str) -> bool:
    return text.count('"') % 2 == 1 or text.count("\u201c") > text.count("\u201d")


def _unquoted(sentence: str) -> str:
    """The sentence with quoted speech blanked out (same length, so positions hold)."""
    return _QUOTED.sub(lambda m: " " * len(m.group()), sentence)


def _tokens(text: str) -> set[str]:
    return set(normalize_name(text).split())


def _words_of(text: str) -> list[str]:
    """Lower-case words, split at anything not a letter or digit (fast on a whole prompt)."""
    return re.findall(r"[^\W_]+", text.casefold())


@functools.lru_cache(maxsize=4)
def _prefix_words(prefix: str) -> frozenset[str]:
    """The words of a scene's prefix (instructions, world bible): the same long text
    beat after beat, so its words are found once, not on every narration (about half
    a millisecond at 100,000 entities). A separate text's words are the same as
    within the whole: words never span the line between them."""
    return frozenset(_words_of(prefix))


class DriftCheck:
    """What a sentence of narration tells that the beat did not do.

    A name is known when the model was shown it: the scene (with the whole
    descriptions of what it shows, and who and what is in its place), what happened
    (the summary, everything the ops touch or create, and who and what is at a place
    they lead to) and what was refused. A name it was not shown, it made up, even if
    someone elsewhere has it.

    Args:
        scene: the beat's scene (what the model was shown).
        accepted: the committed proposal (its ops and summary).
        state: the world after the commit.
        rejected: what was refused, as the narrate call was told.
    """

    def __init__(self, scene: Scene, accepted: Proposal, state: WorldState,
                 rejected: Sequence[object] = ()):
        self.state = state
        touched = {v for op in accepted.ops for _, v in references(op) if v in state}
        touched |= {op.entity.id for op in accepted.ops if isinstance(op, Create)
                    and op.entity.id in state}
        # Who and what is here, and where the beat went: a telling may show them all.
        places = {e for e in touched if state.kind(e) == "location"}
        places |= {scene.location} if scene.location in state else set()
        around = {c for e in sorted(places) for c in state.contents(e)[:MAX_AROUND]}
        shown = [scene.context, accepted.summary, *map(str, rejected)]
        for e in sorted(touched | around | {i for i in scene.ids if i in state}):
            node = state.entity(e)
            shown += [node["name"], node.get("description") or "", *node.get("aliases", [])]
        self.known = set(_words_of("\n".join(shown))) | _prefix_words(scene.prefix) | TITLES
        killed = {op.entity for op in accepted.ops if isinstance(op, Kill)}
        people = [c for c in dict.fromkeys([*scene.ids, *sorted(touched | around)])
                  if c in state and state.kind(c) == "character" and state.is_alive(c)]
        #: How many people here each name word belongs to ("Zebediah" may be two men's).
        self.shared = Counter(w for c in people for w in _tokens(state.name(c)))
        self.fulls = [normalize_name(state.name(c)) for c in people]
        living = set(self.shared)
        #: The dead the model was told of (not those who die in this beat), by the words
        #: that name them alone.
        self.dead: list[tuple[str, list[str]]] = []
        for c in state.characters(alive=False):
            if c in killed or not set(_words_of(state.name(c))) & self.known - TITLES:
                continue  # dies in this beat, or was never named to the model
            names = [normalize_name(state.name(c)),
                     *(normalize_name(a) for a in state.entity(c).get("aliases", []))]
            words = {w for n in names for w in n.split()} - living - TITLES
            self.dead.append((state.name(c), sorted({n for n in names if n} | words,
                                                    key=lambda k: (-len(k), k))))
        moved = {op.item for op in accepted.ops if isinstance(op, Transfer)}
        moved |= {op.entity.id for op in accepted.ops if isinstance(op, Create) and op.entity.id}
        items = [i for i in dict.fromkeys(scene.ids) if i in state and state.kind(i) == "item"]
        heads: dict[str, list[str]] = {}
        for i in items:
            heads.setdefault(normalize_name(state.name(i)).rsplit(" ", 1)[-1], []).append(i)
        #: Items the scene shows that did not move: the phrases that name them, and the
        #: words that name their holder ("you" too, for the player's own things).
        self.still: list[tuple[str, list[str], set[str]]] = []
        for i in items:
            if i in moved:
                continue
            full = normalize_name(state.name(i))
            head = full.rsplit(" ", 1)[-1]
            phrases = [full] + ([head] if len(heads[head]) == 1 and len(head) > 3 else [])
            self.still.append((state.name(i), phrases, self._naming(state.holder(i))))

    def _naming(self, who: str | None) -> set[str]:
        """What names ``who`` alone: their whole name, its words no one else here has,
        and "you" for the player."""
        if not who:
            return set()
        full = normalize_name(self.state.name(who))
        keys = {full} | {w for w in full.split() if self.shared[w] <= 1 and w not in TITLES}
        return keys | {"you"} if who == self.state.player else keys

    def _named(self, text: str, keys: set[str]) -> bool:
        """Does ``text`` (spaced, lower case) name the one ``keys`` name, and not someone
        whose longer name holds it ("Silas Dunn" is not Silas)?"""
        return any(f" {k} " in text and not any(
            o != k and f" {k} " in f" {o} " and f" {o} " in text for o in self.fulls)
            for k in keys)

    def __call__(self, sentence: str) -> list[Drift]:
        plain = _unquoted(sentence)
        found = [*self._names(plain), *self._dead(plain), *self._transfers(plain)]
        return list({d.reason: d for d in found}.values())

    # ------------------------------------------------------------- names
    def _names(self, plain: str) -> list[Drift]:
        words = list(_WORD.finditer(plain))
        out: list[Drift] = []
        first = next((w.start() for w in words), -1)
        run: list[re.Match[str]] = []
        for i, w in enumerate(words + [None]):  # type: ignore[list-item]
            if w is not None and _capital(w.group()) and not (
                    run and plain[run[-1].end():w.start()].strip()):
                run.append(w)
                continue
            if w is not None and run and w.group() in ("of", "the") and i + 1 < len(words) \
                    and _capital(words[i + 1].group()) \
                    and not plain[run[-1].end():w.start()].strip():
                run.append(w)
                continue
            if run:
                drift = self._unknown(run, run[0].start() == first, plain)
                if drift:
                    out.append(drift)
                run = []
            if w is not None and _capital(w.group()):
                run = [w]
        return out

    def _unknown(self, run: list[re.Match[str]], opens: bool, plain: str) -> Drift | None:
        names = [w.group() for w in run if not (w.group().isupper() and len(w.group()) > 1)]
        if opens:
            while names and names[0].lower() in STARTERS:
                names.pop(0)
            if len(names) == 1 and len(run) == 1 and not self._acts(run[0], plain):
                return None  # "Footsteps fade": a capital that only opens the sentence
        parts = [p for n in names for p in _words_of(_POSSESSIVE.sub("", n))]
        real = [p for p in parts if p not in TITLES and p not in STARTERS]
        if not real or real == ["i"] or any(p in self.known for p in real):
            return None
        name = " ".join(names)
        name = _POSSESSIVE.sub("", name)
        return Drift("name", f"'{name}' is nobody and nothing in this scene; name only the "
                             "people, places and things the scene shows")

    @staticmethod
    def _acts(word: re.Match[str], plain: str) -> bool:
        """Does a sentence-opening word act like a person ("Zebediah nods", "Zeb's")?"""
        after = plain[word.end():].split()
        if word.group().endswith(("'s", "\u2019s")):
            return True
        return bool(after) and after[0].strip(",.;") in SPEECH_VERBS | {
            "nods", "smiles", "grins", "shrugs", "sighs", "winks", "frowns", "hands", "gives"}

    # -------------------------------------------------------------- dead
    def _dead(self, plain: str) -> list[Drift]:
        out = []
        for name, keys in self.dead:
            own = {w for k in keys for w in k.split()}
            if any(self._acting(m, plain, own) for key in keys
                   for m in re.finditer(r"\b" + r"\W+".join(map(re.escape, key.split())) + r"\b",
                                        plain, re.I)):
                out.append(Drift("dead", f"{name} is dead: the dead do not speak, move or act"))
        return out

    @staticmethod
    def _acting(m: re.Match[str], plain: str, own: set[str]) -> bool:
        """Is the person named at ``m`` speaking or doing something?"""
        after = re.findall(r"[\w'\u2019]+", plain[m.end():])[:3]
        before = re.findall(r"[\w'\u2019]+", plain[:m.start()])[-1:]
        if plain[m.end():m.end() + 1] in ("'", "\u2019"):
            return False  # "Silas's body": a possession, not a deed
        for word in (*before, *after[:1]):
            if word[:1].isupper() and word.lower() not in own | STARTERS:
                return False  # part of somebody else's name ("Tobiah Crane")
        words = [w.lower() for w in after]
        if words and words[0].endswith("ly"):
            words = words[1:]  # "Tam slowly nods"
        acts = bool(words) and words[0] in ALIVE_VERBS and not (
            len(words) > 1 and words[1] in ("nothing", "no"))  # "Tam says nothing"
        return acts or bool(before and before[0].lower() in SPEECH_VERBS)

    # ---------------------------------------------------------- transfers
    def _transfers(self, plain: str) -> list[Drift]:
        out = []
        words = re.findall(r"[\w'\u2019]+|[,;:\u2014]", plain.lower())
        for i, w in enumerate(words):
            if w not in TRANSFER_VERBS or (i and words[i - 1] in NOT_DONE):
                continue
            following = words[i + 1] if i + 1 < len(words) else ""
            if (w in ("picks", "pick") and following != "up") or following in AWAY:
                continue  # "picks at", "takes out her knife": nothing changes hands
            clause = []
            for x in words[i + 1:]:
                if x in (",", ";", ":", "\u2014") or x in ("and", "but", "while"):
                    break
                clause.append(x)
            said = " " + normalize_name(" ".join(clause)) + " "
            subject = f" {' '.join(words[:i])} "
            for name, phrases, holder in self.still:
                if w in TAKING and self._named(subject, holder):
                    continue  # "Silas takes the lantern down": his own, still his
                if any(f" {p} " in said for p in phrases):
                    out.append(Drift("transfer", f"{name} did not change hands: nobody gave, "
                                                 "took, bought or sold it"))
        return out


def _capital(word: str) -> bool:
    return word[:1].isupper()


# -------------------------------------------------------------- the stream
@dataclass
class Retell:
    """A second narrate call: what was already shown, the drifting prose, and why."""

    shown: str
    prose: str
    reasons: list[str]


def narrate_request(scene: Scene, accepted: Proposal, rejected: Sequence[Any] = (),
                    voice: str = "third", retell: Retell | None = None) -> list[dict[str, str]]:
    """A narrate call's messages; a retelling adds the drifting reply and why it drifted."""
    messages = narrate_messages(scene, accepted, rejected, voice)
    return messages if retell is None else retell_messages(messages, retell)


def retell_messages(messages: list[dict[str, str]], retell: Retell) -> list[dict[str, str]]:
    """The narrate messages, the drifting reply, and what to do better (for a small model)."""
    lines = [RETELL_HEADER, *(f"- {r}" for r in retell.reasons), ""]
    if retell.shown.strip():
        lines += ["The reader has already read this; do not repeat it:", retell.shown.strip(),
                  "", "Go on from there in 1 to 3 sentences."]
    else:
        lines += ["Tell it again in 2 to 4 sentences."]
    lines.append("Tell only what the list WHAT HAPPENED says.")
    return [*messages, {"role": "assistant", "content": retell.prose},
            {"role": "user", "content": "\n".join(lines)}]


@dataclass
class DriftGuard:
    """Lets a narration through sentence by sentence, and stops it where it drifts.

    One guard serves a beat's tellings: the model's, its retelling, and records
    both (``attempts``) for the save.
    """

    check: DriftCheck
    attempts: list[dict[str, Any]] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    drifted: bool = False  # the last telling drifted
    held: bool = False  # the last telling ran to its end, told something, and never drifted

    @classmethod
    def for_beat(cls, scene: Scene, accepted: Proposal, state: WorldState,
                 rejected: Sequence[object] = ()) -> DriftGuard:
        return cls(DriftCheck(scene, accepted, state, rejected))

    async def filter(self, stream: AsyncIterator[str]) -> AsyncIterator[str]:
        """Yield whole sentences of ``stream`` that pass; stop at the first that drifts."""
        self.drifted = self.held = False
        told: list[str] = []
        rest = ""
        try:
            done = False
            note = ""
            while not done:
                try:
                    chunk = await stream.__anext__()
                except StopAsyncIteration:
                    done, chunk = True, ""
                cut = _CUT.search(chunk)
                if cut:  # the telling was cut off: what came before is checked, the mark not
                    chunk, note, done = chunk[:cut.start()], chunk[cut.start():], True
                rest += chunk
                sentences, rest = split_sentences(rest, final=done)
                for sentence in sentences:
                    told.append(sentence)
                    drift = self.check(sentence)
                    if drift:
                        self._drifted(told, drift)
                        return
                    self.shown.append(sentence)
                    yield sentence
            if note:
                yield note if told and told[-1][-1:].isspace() else " " + note
            self.held = bool(told)
        finally:
            await _close(stream)

    def _drifted(self, told: list[str], drift: Sequence[Drift]) -> None:
        self.drifted = True
        self.attempts.append({"prose": "".join(told).strip(),
                              "sentence": told[-1].strip(),
                              "kinds": [d.kind for d in drift],
                              "reasons": [d.reason for d in drift]})

    def retell(self) -> Retell:
        """The retelling's brief, from the last drift."""
        last = self.attempts[-1]
        return Retell("".join(self.shown), last["prose"], last["reasons"])

    def judge(self, calls: Sequence[Call]) -> None:
        """Mark the last narrate call of a telling as accepted or drifting."""
        narrated = [c for c in calls if c.phase == "narrate"]
        if narrated and narrated[-1].error is None:
            narrated[-1].accepted = not self.drifted
            narrated[-1].violations = list(self.attempts[-1]["reasons"]) if self.drifted else []

    def record(self, outcome: str) -> dict[str, Any] | None:
        """What the save keeps of the drift (None: the narration never drifted)."""
        if not self.attempts:
            return None
        return {"outcome": outcome, "attempts": self.attempts}


async def _close(stream: AsyncIterator[str]) -> None:
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()
