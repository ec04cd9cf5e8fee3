"""A player's commands as a plan: the ops they ask for, and what they read.

:func:`plan_turn` turns parsed commands (:mod:`simengine.storytellers.parser`)
into steps. A step either proposes ops, *as meant*, for the rules to judge
("buy the lantern" pays and takes it; the rules say whether the purse allows),
or answers at once with no ops: a look, an inventory, a question, or a
*refusal* in the world's words when the words name nothing here ("There is no
spoon here.", "Which do you mean, ...?"). Refusals are
:class:`~simengine.world.rules.Violation` records with ``parse.*`` rule ids, so
they are saved and shown like any rejection. :func:`explain` turns a rule's
violation back into the world's words for the player (see
:mod:`simengine.storytellers.outcomes`, re-exported here).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from simengine.storytellers import dialogue
from simengine.storytellers.outcomes import (  # noqa: F401  (one place to import from)
    Reaction,
    explain,
    explanations,
    react,
    route,
    tell_planned,
)
from simengine.storytellers.parser import Command, is_pronoun, parse, unknown_words
from simengine.storytellers.player_deals import Dealings
from simengine.storytellers.wording import (
    Found,
    Step,
    TurnPlan,
    _currency,
    _matches,
    _money,
    _typo,
    cap,
    display,
    first_name,
    listing,
    numbered_exits,
    refuse,
    the,
    wide_match,
)
from simengine.world.ops import Learn, Move, Transfer
from simengine.world.state import WorldState, normalize_name
from simengine.world.text import number

#: Pronouns for people; the others ("it", "that") stand for things.
PEOPLE_PRONOUNS = frozenset({"him", "her", "them", "he", "she", "they"})
#: Verbs that only look: they may follow a move in one line.
READ_ONLY = frozenset({"look", "examine", "inventory", "wait"})
#: Verbs whose object is a person the NPC then answers in their own beat.
ADDRESSING = frozenset({"ask", "tell", "say", "attack", "give", "pay", "buy", "sell", "trade"})


class Turn(Dealings):
    """Plans one player line against the state as it stands."""

    def __init__(self, state: WorldState, player: str, rng: random.Random,
                 last_named: str | tuple | None = None, recent: Sequence = ()):
        self.s = state
        self.recent = list(recent)
        self.me = player
        self.rng = rng
        # The last thing and the last person named: "take it", "ask him".
        last = last_named if isinstance(last_named, tuple) else (last_named, last_named)
        self.last: str | None = last[0] if last[0] in state and state.kind(last[0]) != \
            "character" else None
        self.last_person: str | None = last[1] if last[1] in state and \
            state.kind(last[1]) == "character" else None
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
            person = normalize_name(phrase) in PEOPLE_PRONOUNS
            last = self.last_person if person else self.last
            if last is None:
                return Found([], pronoun=True)
            if last in among:
                return Found([last])
            return Found([], elsewhere=last)
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
            far = wide_match(self.s, key, kind)
        if not far and kind is not None:  # "take the Saltmarket": a place, not a thing
            far = sorted(e for ids in everywhere.values() for e in ids)
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
                if self.s.kind(named) == "character":
                    self.last_person = named
                else:
                    self.last = named
        addressee = next((s.meta["who"] for s in steps if isinstance(s.meta.get("who"), str)
                          and s.command.verb in ADDRESSING and s.refusal is None), None)
        cue = next((s.command.verb for s in steps if s.meta.get("who") == addressee), "")
        topic = next((str(s.meta.get("topic") or "") for s in steps
                      if s.meta.get("who") == addressee), "")
        return TurnPlan(steps, addressee, f"{cue}:{topic}" if cue else "",
                        (self.last, self.last_person))

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
            you.append(f"Your purse holds {number(_money(self.s, self.me))} {display(self.cur)}.")
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
        # A thing at hand that reveals a fact teaches it to whoever looks closely.
        found = [f for f in self.s.reveals(e) if not self.s.knows(self.me, f)]
        ops: list = [Learn(entity=self.me, fact=f, item=e) for f in found]
        you = [f"You learn: {self.s.fact_text(f)}" for f in found]
        they = [f"{self.name} learns: {self.s.fact_text(f)}" for f in found]
        return self.step(c, summary=f"{self.name} looks at {self.s.name(e)}", ops=ops,
                         you=[f"You look at {name}.", *lines, *you],
                         they=[f"{self.name} looks at {name}.", *lines, *they],
                         meta={"named": e})

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
                lines.append(f"It is priced at {number(price)} {display(self.cur)}.")
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
        if normalize_name(c.obj) in ("all", "everything", "it all", "all of it"):
            return self.take_all(c)
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

    def take_all(self, c: Command) -> Step:
        """Everything lying here (not what people carry): each thing, as meant."""
        lying = self.s.things_at(self.here) if self.here else []
        if not lying:
            return self.step(c, summary=f"{self.name} finds nothing to take",
                             refusal=refuse("parse.absent", "There is nothing here to take."))
        names = listing([the(self.s, i) for i in lying])
        return self.step(c, summary=f"{self.name} takes everything lying here",
                         ops=[Transfer(item=i, to=self.me) for i in lying],
                         you=[f"You take {names}."], they=[f"{self.name} takes {names}."],
                         meta={"item": lying[0], "named": lying[-1]})

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

def plan_turn(state: WorldState, player: str, text: object, rng: random.Random,
              last_named: str | tuple | None = None, recent: Sequence = ()) -> TurnPlan:
    """Plan a player's line: every command, as meant, and what it reads as."""
    return Turn(state, player, rng, last_named, recent).plan(parse(text))
