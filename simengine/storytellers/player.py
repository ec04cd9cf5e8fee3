"""A player's commands as a plan: the ops they ask for, and what they read.

:func:`plan_turn` turns parsed commands (:mod:`simengine.storytellers.parser`)
into steps. A step either proposes ops, *as meant*, for the rules to judge
("buy the lantern" pays and takes it; the rules say whether the purse allows),
or answers at once with no ops: a look, an inventory, a question, or a
*refusal* in the world's words when the words name nothing here ("There is no
spoon here.", "Which do you mean, ...?"). Refusals are
:class:`~simengine.world.rules.Violation` records with ``parse.*`` rule ids, so
they are saved and shown like any rejection. :func:`explain` turns a rule's
violation back into the world's words for the player.
"""

from __future__ import annotations

import difflib
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from simengine.storytellers import dialogue
from simengine.storytellers.parser import Command, is_pronoun, parse, unknown_words
from simengine.world.ops import Adjust, Move, Op, Relate, Transfer, Unrelate
from simengine.world.rules import Violation
from simengine.world.state import WorldState, normalize_name

HEALTH = ("health", "hp", "vitality", "vigour", "vigor", "stamina", "wellbeing")
HOSTILE = ("enemy_of", "rival_of", "distrusts")
#: Verbs that only look: they may follow a move in one line.
READ_ONLY = frozenset({"look", "examine", "inventory", "wait"})
#: Verbs whose object is a person the NPC then answers in their own beat.
ADDRESSING = frozenset({"ask", "tell", "say", "attack", "give", "pay", "buy", "sell", "trade"})


@dataclass
class Step:
    """One command's part of a turn.

    ``you`` and ``they`` tell it in the second and third person, as it reads if
    its ops are committed; ``refusal`` is set when the step has no ops because
    the words name nothing the world can act on.
    """

    command: Command
    summary: str
    ops: list[Op] = field(default_factory=list)
    you: list[str] = field(default_factory=list)
    they: list[str] = field(default_factory=list)
    refusal: Violation | None = None
    meta: dict[str, object] = field(default_factory=dict)


@dataclass
class TurnPlan:
    """A player's whole line, planned."""

    steps: list[Step]
    addressee: str | None = None
    cue: str = ""
    named: str | None = None

    @property
    def bundles(self) -> list[list[Op]]:
        return [s.ops for s in self.steps if s.ops]

    @property
    def summary(self) -> str:
        return "; ".join(s.summary for s in self.steps if s.summary)[:400]

    @property
    def refusals(self) -> list[Violation]:
        return [s.refusal for s in self.steps if s.refusal is not None]

    def step_of(self, op_index: int | None) -> Step | None:
        """The step whose ops hold the op numbered ``op_index`` in the proposal."""
        if op_index is None:
            return None
        n = 0
        for s in self.steps:
            if n <= op_index < n + len(s.ops):
                return s
            n += len(s.ops)
        return None


def typed(text: str, phrase: str) -> str:
    """``phrase`` as the player typed it (their capitals and article), found in ``text``."""
    import re

    m = re.search(r"\b(?:about|of|regarding|for)\s+(.+?)[.!?]*$", text, flags=re.I)
    if m and phrase and phrase.lower() in m.group(1).lower():
        return m.group(1)
    at = text.lower().find(phrase.lower()) if phrase else -1
    return text[at:at + len(phrase)] if at >= 0 else phrase


def refuse(rule: str, message: str) -> Violation:
    return Violation(rule, None, message)


# ----------------------------------------------------------------- names
def display(attribute: str | None) -> str:
    """An attribute as people say it: ``ration_credits`` -> ``ration credits``."""
    return (attribute or "coin").replace("_", " ").replace("-", " ")


def first_name(state: WorldState, e: str) -> str:
    name = state.name(e)
    return name.split()[0] if state.kind(e) == "character" and " " in name else name


def the(state: WorldState, e: str) -> str:
    """A name as it reads mid-sentence: a thing gets ``the``, a proper name none."""
    from simengine.storytellers.narration import ref  # one rule for articles

    return ref(state.name(e), state.kind(e))


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def listing(names: list[str], empty: str = "nothing") -> str:
    if not names:
        return empty
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def numbered_exits(state: WorldState, here: str) -> str:
    """``1 the Saltmarket, 2 the Fish Dock``: the numbers ``go N`` takes."""
    return ", ".join(f"{i} {the(state, x)}" for i, x in enumerate(state.exits(here), 1))


def _money(state: WorldState, who: str) -> int | float:
    cur = state.currency
    value = state.attr(who, cur) if cur else 0
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _currency(state: WorldState) -> str | None:
    cur = state.currency
    d = state.attribute_def(cur) if cur else None
    return cur if d is not None and d.numeric and "character" in d.kinds else None


def _matches(state: WorldState, ids: list[str], key: str, exact_only: bool = False) -> list[str]:
    """Ids named ``key`` exactly, else those whose name holds all its words."""
    exact, partial = [], []
    words = set(key.split())
    for e in ids:
        node = state.entity(e)
        names = {normalize_name(node["name"]), normalize_name(e.replace("-", " "))}
        names.update(normalize_name(a) for a in node.get("aliases", []))
        if key in names:
            exact.append(e)
        elif words and any(words <= set(n.split()) for n in names):
            partial.append(e)
    return exact if exact_only else (exact or partial)


def _typo(state: WorldState, ids: list[str], key: str) -> str | None:
    """The one id whose name or alias is a slip of the keys away from ``key``."""
    names: dict[str, str] = {}
    for e in ids:
        node = state.entity(e)
        for n in (node["name"], *node.get("aliases", [])):
            names.setdefault(normalize_name(n), e)
            for word in normalize_name(n).split():
                if len(word) > 3:
                    names.setdefault(word, e)
    hits = difflib.get_close_matches(key, list(names), n=2, cutoff=0.8)
    found = {names[h] for h in hits}
    return hits and len(found) == 1 and names[hits[0]] or None


@dataclass
class Found:
    """What a phrase names: one id, several (ambiguous), or none."""

    ids: list[str]
    elsewhere: str | None = None  # a known entity of that name, not in reach
    pronoun: bool = False  # "it" with nothing named before

    @property
    def one(self) -> str | None:
        return self.ids[0] if len(self.ids) == 1 else None


class Turn:
    """Plans one player line against the state as it stands."""

    def __init__(self, state: WorldState, player: str, rng: random.Random,
                 last_named: str | None = None, recent: Sequence = ()):
        self.s = state
        self.recent = list(recent)
        self.me = player
        self.rng = rng
        self.last = last_named
        self.here = state.where(player)
        self.name = state.name(player)
        self.cur = _currency(state)

    # ------------------------------------------------------------- scope
    def people(self, alive: bool | None = True) -> list[str]:
        if not self.here:
            return []
        return [p for p in self.s.people_at(self.here, alive=alive) if p != self.me]

    def held(self) -> list[str]:
        return self._nested(self.s.inventory(self.me))

    def lying(self) -> list[str]:
        return self._nested(self.s.things_at(self.here)) if self.here else []

    def carried(self) -> list[str]:
        return self._nested([i for p in self.people(None) for i in self.s.inventory(p)])

    def _nested(self, tops: list[str]) -> list[str]:
        out, stack = [], list(reversed(tops))
        while stack:
            e = stack.pop()
            if e in out:
                continue
            out.append(e)
            stack.extend(reversed([c for c in self.s.contents(e) if self.s.kind(c) == "item"]))
        return out

    def find(self, phrase: str, among: list[str], kind: str | None = None,
             wider: list[str] | None = None) -> Found:
        """What ``phrase`` names among ``among``; the pronoun, then typos, then the world.

        ``wider`` is searched after ``among`` at each step: an exact name anywhere
        in it beats a partial one close by ("the lighthouse", not "Lighthouse Path").
        """
        if is_pronoun(phrase):
            if self.last not in self.s:
                return Found([], pronoun=True)
            if self.last in among:
                return Found([self.last])
            return Found([], elsewhere=self.last)
        key = normalize_name(phrase)
        if not key:
            return Found([])
        for pool in (among, wider or []):
            hits = _matches(self.s, pool, key, exact_only=True)
            if hits:
                return Found(hits)
        for pool in (among, wider or []):
            hits = _matches(self.s, pool, key)
            if hits:
                return Found(hits)
        for pool in (among, wider or []):
            close = _typo(self.s, pool, key)
            if close:
                return Found([close])
        everywhere = self.s.name_index().get(key, {})
        far = sorted(e for k, ids in everywhere.items() if kind in (None, k) for e in ids)
        if not far:  # "hesper" for Hesper Vane, wherever she is
            far = _matches(self.s, sorted(self.s.entities(kind)), key)
        if not far and kind is not None:  # "take the Saltmarket": a place, not a thing
            far = sorted(e for ids in everywhere.values() for e in ids) or _matches(
                self.s, sorted(self.s.entities()), key, exact_only=True)
        return Found([], elsewhere=far[0] if far else None)

    # ------------------------------------------------------------- steps
    def step(self, c: Command, **kw: object) -> Step:
        return Step(c, **kw)  # type: ignore[arg-type]

    def absent(self, c: Command, phrase: str, found: Found, what: str = "") -> Step:
        """A refusal for a phrase that names nothing in reach (or several things)."""
        if len(found.ids) > 1:
            names = [the(self.s, e) for e in found.ids[:4]]
            ask = "Which do you mean, " + " or ".join([", ".join(names[:-1]), names[-1]]
                                                       if len(names) > 2 else names) + "?"
            return self.step(c, summary=f"{self.name} is not sure which {phrase} is meant",
                             refusal=refuse("parse.ambiguous", ask))
        if found.elsewhere and found.elsewhere in self.s:
            e = found.elsewhere
            wanted = {"take": "item", "drop": "item", "buy": "item", "sell": "item",
                      "put": "item", "give": "item", "open": "item"}.get(c.verb)
            if wanted and self.s.kind(e) in ("location", "character") and (
                    self.s.kind(e) == "location" or e in self.people(None)):
                what = "a place" if self.s.kind(e) == "location" else "a person"
                return self.step(c, summary=f"{self.name} cannot {c.verb} {self.s.name(e)}",
                                 refusal=refuse("parse.kind", f"{cap(the(self.s, e))} is {what}, "
                                                f"not a thing you can {c.verb}."))
            if self.s.kind(e) == "character" and not self.s.is_alive(e):
                msg = f"{cap(the(self.s, e))} is dead, and not here."
            else:
                msg = f"{cap(the(self.s, e))} is not here."
            return self.step(c, summary=f"{self.name} looks for {self.s.name(e)}, who is not here"
                             if self.s.kind(e) == "character" else
                             f"{self.name} looks for {self.s.name(e)}, which is not here",
                             refusal=refuse("parse.absent", msg), meta={"named": e})
        if found.pronoun:
            return self.step(c, summary=f"{self.name} hesitates", refusal=refuse(
                "parse.pronoun", f"Which do you mean by {phrase!r}? Name it: nothing has been "
                "named yet."))
        if not phrase:
            msg = f"{cap(c.verb)} what? Say what you mean to {c.verb}."
            return self.step(c, summary=f"{self.name} hesitates",
                             refusal=refuse("parse.incomplete", msg))
        odd = unknown_words(self.s, phrase)
        msg = f"There is no {phrase} here."
        if what:
            msg = f"There is no {phrase} here {what}."
        if odd and len(odd) == len(phrase.split()):
            msg += " (No one here has heard of a " + phrase + ".)"
        return self.step(c, summary=f"{self.name} looks for {phrase}, and finds none",
                         refusal=refuse("parse.absent", msg))

    def plan(self, commands: list[Command]) -> TurnPlan:
        steps: list[Step] = []
        moved = False
        for c in commands:
            if moved and c.verb not in READ_ONLY:
                steps.append(self.step(c, summary="", refusal=refuse(
                    "parse.later", f"One thing at a time: \"{c.text.strip()}\" waits until you "
                    "have arrived; say it again then.")))
                continue
            step = getattr(self, f"do_{c.verb}", self.do_unknown)(c)
            steps.append(step)
            moved = moved or any(isinstance(op, Move) for op in step.ops)
            named = step.meta.get("named")
            if isinstance(named, str):
                self.last = named
        addressee = next((s.meta["who"] for s in steps if isinstance(s.meta.get("who"), str)
                          and s.command.verb in ADDRESSING and s.refusal is None), None)
        cue = next((s.command.verb for s in steps if s.meta.get("who") == addressee), "")
        topic = next((str(s.meta.get("topic") or "") for s in steps
                      if s.meta.get("who") == addressee), "")
        return TurnPlan(steps, addressee, f"{cue}:{topic}" if cue else "", self.last)

    # ---------------------------------------------------------- looking
    def do_look(self, c: Command) -> Step:
        if not self.here:
            return self.step(c, summary=f"{self.name} looks around",
                             you=["You are nowhere at all."], they=[f"{self.name} is nowhere."])
        place = the(self.s, self.here)
        lines = [dialogue.sentences(self.s.entity(self.here).get("description", ""))]
        exits = numbered_exits(self.s, self.here)
        lines.append(f"Ways out: {exits}." if exits else "There is no way out.")
        people = [self.s.name(p) for p in self.people()]
        dead = [self.s.name(p) for p in self.people(False)]
        things = [the(self.s, i) for i in self.s.things_at(self.here)]
        if people:
            lines.append(f"Here: {listing(people)}.")
        if dead:
            lines.append(f"Lying dead: {listing(dead)}.")
        if things:
            lines.append(f"You see {listing(things)}.")
        lines = [x for x in lines if x]
        return self.step(c, summary=f"{self.name} looks around {self.s.name(self.here)}",
                         you=[f"You look around {place}.", *lines],
                         they=[f"{self.name} looks around {place}.", *lines])

    def do_inventory(self, c: Command) -> Step:
        held = [the(self.s, i) for i in self.s.inventory(self.me)]
        you = [f"You carry {listing(held)}." if held else "You carry nothing."]
        if self.cur:
            you.append(f"Your purse holds {_num(_money(self.s, self.me))} {display(self.cur)}.")
        they = [f"{self.name} checks what they carry: {listing(held)}."]
        return self.step(c, summary=f"{self.name} takes stock", you=you, they=they)

    def do_wait(self, c: Command) -> Step:
        where = the(self.s, self.here) if self.here else "the world"
        return self.step(c, summary=f"{self.name} waits",
                         you=[f"You wait, and time passes in {where}."],
                         they=[f"{self.name} waits, and time passes in {where}."])

    def do_examine(self, c: Command) -> Step:
        if not c.obj or normalize_name(c.obj) in ("around", "room", "here", "place"):
            return self.do_look(c)
        scope = [*self.people(None), *self.held(), *self.lying(), *self.carried()]
        if self.here:
            scope += [self.here, *self.s.exits(self.here)]
        found = self.find(c.obj, scope)
        e = found.one
        if e is None:
            if normalize_name(c.obj) in ("me", "myself", "self"):
                e = self.me
            else:
                return self.absent(c, c.obj, found)
        lines = self.describe(e)
        name = the(self.s, e)
        return self.step(c, summary=f"{self.name} looks at {self.s.name(e)}",
                         you=[f"You look at {name}.", *lines],
                         they=[f"{self.name} looks at {name}.", *lines], meta={"named": e})

    def describe(self, e: str) -> list[str]:
        """What looking at ``e`` shows: description, contents, price, holder."""
        s = self.s
        kind = s.kind(e)
        desc = dialogue.sentences(s.entity(e).get("description", ""))
        lines = [desc] if desc else [f"Nothing much can be said of {the(s, e)}."]
        if kind == "item":
            inside = [the(s, i) for i in s.contents(e) if s.kind(i) == "item"]
            if inside:
                lines.append(f"In it: {listing(inside)}.")
            holder = s.holder(e)
            price = s.price(e)
            if holder == self.me:
                lines.append("You carry it.")
            elif holder and s.kind(holder) == "character":
                lines.append(f"{s.name(holder)} has it." if s.is_alive(holder) else
                             f"It lies with {s.name(holder)}, who is dead.")
            elif holder and s.kind(holder) == "item":
                lines.append(f"It is in {the(s, holder)}.")
            elif holder:
                lines.append(f"It lies in {the(s, holder)}.")
            if price and self.cur:
                lines.append(f"It is priced at {_num(price)} {display(self.cur)}.")
        elif kind == "character":
            if not s.is_alive(e):
                lines.append(f"{first_name(s, e)} is dead.")
            else:
                traits = s.entity(e).get("traits") or []
                if traits:
                    seems = listing([str(t) for t in traits[:3]])
                    lines.append(f"{first_name(s, e)} seems {seems}.")
            held = [the(s, i) for i in s.inventory(e)]
            if held and e != self.me:
                lines.append(f"{first_name(s, e)} carries {listing(held)}.")
            rels = [r.replace("_", " ") for src, r, t in s.relations(e)
                    if src == e and t == self.me]
            if rels and e != self.me:
                lines.append(f"Towards you: {listing(rels)}.")
        elif kind == "location":
            exits = numbered_exits(s, e) if e == self.here else ""
            if exits:
                lines.append(f"Ways out: {exits}.")
            elif e != self.here and self.here and e in s.exits(self.here):
                lines.append(f"It is one step from {the(s, self.here)}.")
        return lines

    # ----------------------------------------------------------- moving
    def do_go(self, c: Command) -> Step:
        if not self.here:
            return self.step(c, summary=f"{self.name} stays put",
                             refusal=refuse("parse.absent", "You are nowhere to leave from."))
        exits = self.s.exits(self.here)
        phrase = c.obj
        if phrase.isdigit():
            n = int(phrase)
            if not 1 <= n <= len(exits):
                msg = (f"There is no way {n} out of {the(self.s, self.here)}; the ways are "
                       f"{numbered_exits(self.s, self.here)}." if exits else "There is no way out.")
                return self.step(c, summary=f"{self.name} looks for a way {n}",
                                 refusal=refuse("parse.absent", msg))
            return self.move(c, exits[n - 1])
        if not phrase or normalize_name(phrase) in ("out", "outside", "away", "on"):
            if len(exits) == 1:
                return self.move(c, exits[0])
            msg = (f"Which way? From {the(self.s, self.here)}: {numbered_exits(self.s, self.here)}."
                   if exits else "There is no way out of here.")
            return self.step(c, summary=f"{self.name} wonders which way to go",
                             refusal=refuse("parse.ambiguous", msg))
        places = list(self.s.entities("location"))
        found = self.find(phrase, exits, "location", wider=places)
        if found.one is None and not found.ids:
            person = self.find(phrase, list(self.s.entities("character")), "character")
            if person.one and person.one != self.me and self.s.where(person.one):
                return self.move(c, self.s.where(person.one) or "", via=person.one)
            ways = numbered_exits(self.s, self.here)
            msg = f"You know of no place called {phrase!r}." + (
                f" From here the ways are {ways}." if ways else "")
            return self.step(c, summary=f"{self.name} looks for a way to {phrase}, and finds none",
                             refusal=refuse("parse.absent", msg))
        if found.one is None:
            return self.absent(c, phrase, found)
        return self.move(c, found.one)

    def move(self, c: Command, dest: str, via: str | None = None) -> Step:
        name = the(self.s, dest)
        if dest == self.here:
            who = f"{self.s.name(via)} is right here, in" if via else "You are already in"
            return self.step(c, summary=f"{self.name} is already in {self.s.name(dest)}",
                             refusal=refuse("parse.here", f"{who} {name}."))
        desc = dialogue.sentences(self.s.entity(dest).get("description", ""), limit=1)
        return self.step(c, summary=f"{self.name} goes to {self.s.name(dest)}",
                         ops=[Move(entity=self.me, to=dest)],
                         you=[f"You go to {name}.", desc], they=[f"{self.name} goes to {name}."],
                         meta={"dest": dest, "named": via})

    def do_follow(self, c: Command) -> Step:
        found = self.find(c.obj, list(self.s.entities("character")), "character")
        who = found.one
        if who is None or who == self.me:
            return self.absent(c, c.obj, found)
        where = self.s.where(who)
        if where == self.here:
            n = first_name(self.s, who)
            return self.step(c, summary=f"{self.name} keeps close to {self.s.name(who)}",
                             you=[f"You keep close to {n}; {n} is right here."],
                             they=[f"{self.name} keeps close to {n}."], meta={"named": who})
        if where and self.here and where in self.s.exits(self.here):
            step = self.move(c, where, via=who)
            step.you[0] = f"You follow {first_name(self.s, who)} to {the(self.s, where)}."
            return step
        return self.step(c, summary=f"{self.name} has lost the trail of {self.s.name(who)}",
                         refusal=refuse("parse.absent", f"You don't know which way "
                                        f"{first_name(self.s, who)} went; they are not one step "
                                        "from here."), meta={"named": who})

    # ------------------------------------------------------------ things
    def do_take(self, c: Command) -> Step:
        scope = [*self.lying(), *self.carried(), *self.held()]
        found = self.find(c.obj, scope, "item")
        item = found.one
        if item is None:
            return self.absent(c, c.obj, found)
        name = the(self.s, item)
        if self.s.is_within(item, self.me):
            return self.step(c, summary=f"{self.name} already has {self.s.name(item)}",
                             refusal=refuse("parse.held", f"You already have {name}."),
                             meta={"named": item})
        holder = self.s.holder(item)
        return self.step(c, summary=f"{self.name} takes {self.s.name(item)}",
                         ops=[Transfer(item=item, to=self.me)],
                         you=[f"You take {name}."], they=[f"{self.name} takes {name}."],
                         meta={"item": item, "holder": holder, "named": item})

    def do_drop(self, c: Command) -> Step:
        found = self.find(c.obj, self.held(), "item")
        item = found.one
        if item is None:
            if found.ids:
                return self.absent(c, c.obj, found)
            return self.step(c, summary=f"{self.name} is not carrying {c.obj}",
                             refusal=refuse("parse.held", f"You are not carrying any {c.obj}."))
        name = the(self.s, item)
        return self.step(c, summary=f"{self.name} drops {self.s.name(item)}",
                         ops=[Transfer(item=item, to=self.here or self.me)],
                         you=[f"You put {name} down in {the(self.s, self.here or self.me)}."],
                         they=[f"{self.name} puts {name} down."],
                         meta={"item": item, "named": item})

    def do_put(self, c: Command) -> Step:
        found = self.find(c.obj, [*self.held(), *self.lying()], "item")
        item = found.one
        if item is None:
            return self.absent(c, c.obj, found)
        box = self.find(c.target, [*self.held(), *self.lying(), *self.carried()], "item")
        into = box.one
        if into is None:
            return self.absent(c, c.target, box)
        a, b = the(self.s, item), the(self.s, into)
        return self.step(c, summary=f"{self.name} puts {self.s.name(item)} in {self.s.name(into)}",
                         ops=[Transfer(item=item, to=into)],
                         you=[f"You put {a} in {b}."], they=[f"{self.name} puts {a} in {b}."],
                         meta={"item": item, "into": into, "named": item})

    def person(self, c: Command, phrase: str) -> tuple[str | None, Step | None]:
        """The living person here that ``phrase`` names, or a refusal."""
        living = self.people()
        if not phrase:
            if len(living) == 1:
                return living[0], None
            msg = ("There is nobody here." if not living else
                   f"Who do you mean: {listing([self.s.name(p) for p in living])}?")
            rule = "parse.absent" if not living else "parse.ambiguous"
            return None, self.step(c, summary=f"{self.name} looks for someone",
                                   refusal=refuse(rule, msg))
        found = self.find(phrase, self.people(None), "character")
        who = found.one
        if who is None:
            return None, self.absent(c, phrase, found)
        if not self.s.is_alive(who):
            return None, self.step(c, summary=f"{self.name} turns to {self.s.name(who)}, "
                                   "who is dead", refusal=refuse(
                                       "parse.dead", f"{self.s.name(who)} is dead and will "
                                       "answer nothing."), meta={"named": who})
        return who, None

    def is_coin(self, phrase: str) -> bool:
        key = normalize_name(phrase)
        cur = self.cur or ""
        words = {normalize_name(display(cur)), normalize_name(cur), "coin", "coins", "money",
                 "cash", normalize_name(display(cur)).split(" ")[-1] if cur else "coin"}
        return key in words or key.rstrip("s") in words or (
            bool(cur) and key.split(" ")[0] == normalize_name(display(cur)).split(" ")[0])

    def do_give(self, c: Command) -> Step:
        if normalize_name(c.target) in ("me", "myself", "us") or (
                not c.target and normalize_name(c.obj).split(" ")[:1] == ["me"]):
            return self.step(c, summary=f"{self.name} asks to be given something",
                             refusal=refuse("parse.self", "Nobody hands you anything on your "
                                            "word alone: buy it, or ask for it."))
        if c.amount is not None and self.is_coin(c.obj):
            return self.pay(c, c.target, c.amount)
        obj, target = c.obj, c.target
        if not target:
            # "give Tamsin the key": the first words a person here, the rest a thing.
            words = obj.split()
            for k in range(1, len(words)):
                who = self.find(" ".join(words[:k]), self.people(), "character").one
                if who:
                    obj, target = " ".join(words[k:]), " ".join(words[:k])
                    obj = obj.removeprefix("the ").removeprefix("a ").removeprefix("my ")
                    break
        found = self.find(obj, self.held(), "item")
        item = found.one
        if item is None:
            if found.ids:
                return self.absent(c, obj, found)
            return self.step(c, summary=f"{self.name} has no {obj} to give",
                             refusal=refuse("parse.held", f"You have no {obj} to give."))
        who, no = self.person(c, target)
        if no:
            return no
        assert who is not None
        a, n = the(self.s, item), self.s.name(who)
        line = dialogue.thanks(self.s, who, self.me, item, self.rng)
        return self.step(c, summary=f"{self.name} gives {self.s.name(item)} to {n}",
                         ops=[Transfer(item=item, to=who)],
                         you=[f"You give {a} to {n}.", line],
                         they=[f"{self.name} gives {a} to {n}.", line],
                         meta={"item": item, "who": who, "named": who})

    def do_pay(self, c: Command) -> Step:
        if c.amount is None:
            who, no = self.person(c, c.target)
            if no:
                return no
            cur = display(self.cur)
            whom = first_name(self.s, who or "")
            return self.step(c, summary=f"{self.name} offers to pay", refusal=refuse(
                "parse.incomplete", f"How much? Say, for instance, \"pay {whom} 5 {cur}\", or "
                "\"buy\" the thing you want."))
        return self.pay(c, c.target, c.amount)

    def pay(self, c: Command, target: str, amount: int) -> Step:
        if not self.cur:
            return self.step(c, summary=f"{self.name} reaches for money that is not there",
                             refusal=refuse("parse.no_money", "There is no money in this world "
                                            "to give."))
        who, no = self.person(c, target)
        if no:
            return no
        assert who is not None
        cur, n = display(self.cur), self.s.name(who)
        line = dialogue.thanks(self.s, who, self.me, None, self.rng)
        return self.step(c, summary=f"{self.name} gives {amount} {cur} to {n}",
                         ops=[Adjust(entity=self.me, attribute=self.cur, by=-amount),
                              Adjust(entity=who, attribute=self.cur, by=amount)],
                         you=[f"You count {amount} {cur} into {n}'s hand.", line],
                         they=[f"{self.name} counts {amount} {cur} into {n}'s hand.", line],
                         meta={"amount": amount, "who": who, "named": who})

    def do_buy(self, c: Command) -> Step:
        scope = [*self.carried(), *self.lying()]
        if c.target:
            seller, no = self.person(c, c.target)
            if no:
                return no
            scope = self._nested(self.s.inventory(seller or "")) or scope
        found = self.find(c.obj, [*scope, *self.held()], "item")
        item = found.one
        if item is None:
            return self.absent(c, c.obj, found)
        name = the(self.s, item)
        seller = self._owner(item)
        if seller == self.me:
            return self.step(c, summary=f"{self.name} already owns {self.s.name(item)}",
                             refusal=refuse("parse.held", f"{cap(name)} is already yours."))
        price = self.s.price(item)
        ops: list[Op] = [Transfer(item=item, to=self.me)]
        if self.cur and price > 0 and seller and self.s.is_alive(seller):
            p = int(price) if float(price).is_integer() else price
            ops = [Adjust(entity=self.me, attribute=self.cur, by=-p),
                   Adjust(entity=seller, attribute=self.cur, by=p), *ops]
            you = f"You pay {self.s.name(seller)} {_num(price)} {display(self.cur)} for {name}."
            they = (f"{self.name} pays {self.s.name(seller)} {_num(price)} {display(self.cur)} "
                    f"for {name}.")
        else:
            you, they = f"You take {name}.", f"{self.name} takes {name}."
        return self.step(c, summary=f"{self.name} buys {self.s.name(item)}", ops=ops,
                         you=[you], they=[they],
                         meta={"item": item, "holder": seller, "price": price, "who": seller,
                               "named": item})

    def _owner(self, item: str) -> str | None:
        current = self.s.holder(item)
        seen: set[str] = set()
        while current and current not in seen:
            seen.add(current)
            if self.s.kind(current) == "character":
                return current
            if self.s.kind(current) != "item":
                return None
            current = self.s.holder(current)
        return None

    def do_sell(self, c: Command) -> Step:
        found = self.find(c.obj, self.held(), "item")
        item = found.one
        if item is None:
            if found.ids:
                return self.absent(c, c.obj, found)
            return self.step(c, summary=f"{self.name} has no {c.obj} to sell",
                             refusal=refuse("parse.held", f"You have no {c.obj} to sell."))
        price = self.s.price(item)
        name = the(self.s, item)
        if not self.cur or price <= 0:
            return self.step(c, summary=f"{self.name} finds no price for {self.s.name(item)}",
                             refusal=refuse("parse.no_price", f"Nobody pays for {name}: it has "
                                            "no price in this world. You could give it away."),
                             meta={"named": item})
        who, no = self.person(c, c.target)
        if no:
            return no
        assert who is not None
        p = int(price) if float(price).is_integer() else price
        n = self.s.name(who)
        cur = display(self.cur)
        return self.step(c, summary=f"{self.name} sells {self.s.name(item)} to {n}",
                         ops=[Adjust(entity=who, attribute=self.cur, by=-p),
                              Adjust(entity=self.me, attribute=self.cur, by=p),
                              Transfer(item=item, to=who)],
                         you=[f"{n} pays you {_num(price)} {cur} for {name}."],
                         they=[f"{n} pays {self.name} {_num(price)} {cur} for {name}."],
                         meta={"item": item, "who": who, "price": price, "buyer": who,
                               "named": item})

    def do_trade(self, c: Command) -> Step:
        if not c.obj or not c.target:
            who, no = self.person(c, c.words or c.obj)
            if no:
                return no
            assert who is not None
            wares = [f"{the(self.s, i)} ({_num(self.s.price(i))} {display(self.cur)})"
                     for i in self.s.inventory(who) if self.s.price(i) > 0 and self.cur]
            n = self.s.name(who)
            line = (f"{n} has for sale: {listing(wares)}. Buy a thing by its name."
                    if wares else f"{n} has nothing for sale.")
            return self.step(c, summary=f"{self.name} asks what {n} has to trade",
                             you=[f"You ask what {n} has to trade.", line],
                             they=[f"{self.name} asks what {n} has to trade.", line],
                             meta={"who": who, "named": who})
        mine = self.find(c.obj, self.held(), "item")
        if mine.one is None:
            return self.absent(c, c.obj, mine)
        theirs = self.find(c.target, self.carried(), "item")
        if theirs.one is None:
            return self.absent(c, c.target, theirs)
        other = self._owner(theirs.one)
        a, b = the(self.s, mine.one), the(self.s, theirs.one)
        n = self.s.name(other) if other else "someone"
        return self.step(c, summary=f"{self.name} trades {self.s.name(mine.one)} for "
                         f"{self.s.name(theirs.one)}",
                         ops=[Transfer(item=mine.one, to=other or self.here or self.me),
                              Transfer(item=theirs.one, to=self.me)],
                         you=[f"You trade {a} to {n} for {b}."],
                         they=[f"{self.name} trades {a} to {n} for {b}."],
                         meta={"item": theirs.one, "holder": other, "who": other,
                               "named": theirs.one})

    # ------------------------------------------------------------ people
    def _know(self, who: str) -> list[Op]:
        if "knows" in self.s.relation_kinds and not self.s.has_relation(self.me, "knows", who):
            return [Relate(source=self.me, relation="knows", target=who)]
        return []

    def do_ask(self, c: Command) -> Step:
        who, no = self.person(c, c.target)
        if no:
            return no
        assert who is not None
        n = self.s.name(who)
        topic = typed(c.text, c.obj) or "the news"
        answer = dialogue.answer(self.s, who, self.me, c.obj, self.rng, self.recent)
        return self.step(c, summary=f"{self.name} asks {n} about {topic}", ops=self._know(who),
                         you=[f"You ask {n} about {topic}.", answer],
                         they=[f"{self.name} asks {n} about {topic}.", answer],
                         meta={"who": who, "topic": c.obj, "named": who})

    def do_tell(self, c: Command) -> Step:
        who, no = self.person(c, c.target)
        if no:
            return no
        assert who is not None
        n = self.s.name(who)
        topic = typed(c.text, c.obj) or "what you know"
        reply = dialogue.hear(self.s, who, self.me, c.obj, self.rng, self.recent)
        return self.step(c, summary=f"{self.name} tells {n} about {topic}", ops=self._know(who),
                         you=[f"You tell {n} about {topic}.", reply],
                         they=[f"{self.name} tells {n} about {topic}.", reply],
                         meta={"who": who, "topic": c.obj, "named": who})

    def do_say(self, c: Command) -> Step:
        living = self.people()
        who = None
        if c.target:
            who, no = self.person(c, c.target)
            if no:
                return no
        else:
            low = f" {normalize_name(c.words or c.text)} "
            who = next((p for p in living if f" {normalize_name(self.s.name(p))} " in low
                        or f" {normalize_name(first_name(self.s, p))} " in low), None)
            if who is None and living and (len(living) == 1 or "?" in (c.words or c.text)):
                who = living[0] if len(living) == 1 else self.rng.choice(living)
        if c.obj and who:
            return self.do_ask(Command("ask", obj=c.obj, target=self.s.name(who), text=c.text))
        words = (c.words or "").strip()
        if words and words[-1] not in ".!?":
            words += "."
        said_you = f'You say, "{cap(words)}"' if words else "You speak up."
        said_they = f'{self.name} says, "{cap(words)}"' if words else f"{self.name} speaks up."
        if who is None:
            tail = ("; nobody is here to hear it." if not living else
                    f"; {listing([self.s.name(p) for p in living])} hear it, but no one answers "
                    "in particular.")
            return self.step(c, summary=f"{self.name} speaks to nobody in particular",
                             you=[said_you.rstrip(".") + tail], they=[said_they.rstrip(".") + tail])
        n = self.s.name(who)
        reply = dialogue.reply(self.s, who, self.me, words, self.rng, self.recent)
        if not words:
            said_you, said_they = f"You greet {n}.", f"{self.name} greets {n}."
        return self.step(c, summary=f"{self.name} speaks with {n}", ops=self._know(who),
                         you=[said_you, reply], they=[said_they, reply],
                         meta={"who": who, "named": who, "topic": words})

    def do_attack(self, c: Command) -> Step:
        who, no = self.person(c, c.obj)
        if no:
            return no
        assert who is not None
        n = self.s.name(who)
        ops: list[Op] = []
        kinds = self.s.relation_kinds
        rel = next((r for r in HOSTILE if r in kinds), None)
        if rel and not self.s.has_relation(self.me, rel, who):
            ops.append(Relate(source=self.me, relation=rel, target=who))
        for friendly in ("friend_of", "trusts", "loves"):
            if friendly in kinds and self.s.has_relation(self.me, friendly, who):
                ops.append(Unrelate(source=self.me, relation=friendly, target=who))
        declared = any(w in c.text.lower() for w in ("kill", "one blow", "murder", "dead"))
        intent = ", meaning to end it" if declared else ""
        return self.step(c, summary=f"{self.name} attacks {n}", ops=ops,
                         you=[f"You go for {n}{intent}. What comes of it is not yours to say."],
                         they=[f"{self.name} goes for {n}{intent}."],
                         meta={"who": who, "named": who})

    def do_hide(self, c: Command) -> Step:
        where = the(self.s, self.here) if self.here else "the dark"
        watchers = self.people()
        seen = (f" {first_name(self.s, watchers[0])} may have seen you go."
                if watchers and self.rng.random() < 0.5 else "")
        return self.step(c, summary=f"{self.name} keeps out of sight in "
                         f"{self.s.name(self.here) if self.here else 'the dark'}",
                         you=[f"You find a corner of {where} out of the way and keep still.{seen}"],
                         they=[f"{self.name} keeps out of sight in {where}.{seen}"])

    def do_rest(self, c: Command) -> Step:
        health = next((h for h in HEALTH if (d := self.s.attribute_def(h)) and d.numeric
                       and not d.protected and not d.conserved and "character" in d.kinds), None)
        where = the(self.s, self.here) if self.here else "the open"
        ops: list[Op] = []
        gained = ""
        if health:
            d = self.s.attribute_def(health)
            now = self.s.attr(self.me, health)
            now = now if isinstance(now, int | float) else (d.default if d else 0) or 0
            top = d.max if d and d.max is not None else now + 10
            gain = int(min(top - now, self.rng.randint(3, 8)))
            if gain > 0:
                ops = [Adjust(entity=self.me, attribute=health, by=gain)]
                gained = f" and feel better for it ({display(health)} +{gain})"
        return self.step(c, summary=f"{self.name} rests", ops=ops,
                         you=[f"You rest a while in {where}{gained}."],
                         they=[f"{self.name} rests a while in {where}."])

    # -------------------------------------------------------- contraptions
    def do_open(self, c: Command) -> Step:
        found = self.find(c.obj, [*self.held(), *self.lying(), *self.carried()], "item")
        item = found.one
        if item is None:
            return self.absent(c, c.obj, found)
        inside = [the(self.s, i) for i in self.s.contents(item) if self.s.kind(i) == "item"]
        name = the(self.s, item)
        if not inside:
            line = f"You look inside {name}: it holds nothing."
        else:
            line = f"You look inside {name}: {listing(inside)}."
        return self.step(c, summary=f"{self.name} looks inside {self.s.name(item)}",
                         you=[line], they=[f"{self.name} looks inside {name}."],
                         meta={"named": item})

    def do_close(self, c: Command) -> Step:
        return self._no_effect(c, "close")

    def do_use(self, c: Command) -> Step:
        return self._no_effect(c, "use")

    def _no_effect(self, c: Command, verb: str) -> Step:
        found = self.find(c.obj, [*self.held(), *self.lying(), *self.carried(),
                                  *self.people(None)])
        e = found.one
        if e is None:
            return self.absent(c, c.obj, found)
        on = ""
        if c.target:
            other = self.find(c.target, [*self.held(), *self.lying(), *self.people(None),
                                         *([self.here] if self.here else [])])
            if other.one is None:
                return self.absent(c, c.target, other)
            on = f" on {the(self.s, other.one)}"
        msg = (f"You try to {verb} {the(self.s, e)}{on}, but nothing comes of it: "
               "this world keeps no such workings.")
        return self.step(c, summary=f"{self.name} tries to {verb} {self.s.name(e)}{on}",
                         refusal=refuse("parse.no_effect", msg), meta={"named": e})

    def do_declared(self, c: Command) -> Step:
        return self.step(c, summary=f"{self.name} says it is so", refusal=refuse(
            "parse.declared", f"Saying it does not make it so: \"{c.text.strip()}\" is yours to "
            "attempt, not to decide."))

    def do_unknown(self, c: Command) -> Step:
        words = c.obj or c.text
        verb = words.split()[0] if words.split() else words
        msg = (f"Nothing comes of \"{words}\": this story does not know how to {verb!r}. "
               "Type /help for what you can do.")
        return self.step(c, summary=f"{self.name} hesitates", refusal=refuse("parse.unknown", msg))


def plan_turn(state: WorldState, player: str, text: object, rng: random.Random,
              last_named: str | None = None, recent: Sequence = ()) -> TurnPlan:
    """Plan a player's line: every command, as meant, and what it reads as."""
    return Turn(state, player, rng, last_named, recent).plan(parse(text))


# ------------------------------------------------------------- answering
@dataclass
class Reaction:
    """A person's answer, in their own beat, to what the player just did to them."""

    summary: str
    bundles: list[list[Op]]
    you: list[str]
    they: list[str]


def _health(state: WorldState) -> str | None:
    for h in HEALTH:
        d = state.attribute_def(h)
        if d and d.numeric and not d.protected and not d.conserved and "character" in d.kinds:
            return h
    return None


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
    health = _health(s)
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


def addressee(state: WorldState, player: str, text: object) -> str | None:
    """The living person here a player's line is aimed at, if any (for their answer)."""
    plan = plan_turn(state, player, text, random.Random(0))
    return plan.addressee


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
            return (f"{cap(the(s, item))} is {s.name(holder)}'s, and {n} wants {_num(price)} "
                    f"{display(cur)} for it; you have {_num(have)}.")
        return f"{cap(the(s, item))} is {s.name(holder)}'s, and {n} is not giving it away."
    if v.rule == "attr.bounds" and cur and f"'{cur}' of '{player}'" in msg:
        return f"You have only {_num(_money(s, player))} {display(cur)}."
    if v.rule == "attr.bounds" and cur and isinstance(meta.get("buyer"), str):
        buyer = str(meta["buyer"])
        return (f"{s.name(buyer)} has only {_num(_money(s, buyer))} {display(cur)}, "
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
