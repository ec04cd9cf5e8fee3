"""What a player does with people, money and contraptions: the second half of a turn.

:class:`Dealings` is mixed into :class:`simengine.storytellers.player.Turn`; each
``do_VERB`` plans one command as meant, for the rules to judge.
"""

from __future__ import annotations

from simengine.storytellers import dialogue
from simengine.storytellers.parser import Command
from simengine.storytellers.wording import (
    HEALTH,
    HOSTILE,
    Step,
    cap,
    display,
    first_name,
    listing,
    refuse,
    the,
    typed,
)
from simengine.world.ops import Adjust, Op, Relate, Tell, Transfer, Unrelate
from simengine.world.state import normalize_name
from simengine.world.text import number


class Dealings:
    """Give, pay, buy, sell, trade, ask, tell, say, attack, hide, rest, use, open."""

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
            you = f"You pay {self.s.name(seller)} {number(price)} {display(self.cur)} for {name}."
            they = (f"{self.name} pays {self.s.name(seller)} {number(price)} {display(self.cur)} "
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
                         you=[f"{n} pays you {number(price)} {cur} for {name}."],
                         they=[f"{n} pays {self.name} {number(price)} {cur} for {name}."],
                         meta={"item": item, "who": who, "price": price, "buyer": who,
                               "named": item})

    def do_trade(self, c: Command) -> Step:
        if not c.obj or not c.target:
            who, no = self.person(c, c.words or c.obj)
            if no:
                return no
            assert who is not None
            wares = [f"{the(self.s, i)} ({number(self.s.price(i))} {display(self.cur)})"
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
        answer = dialogue.answer(self.s, who, self.me, typed(c.text, c.obj) if c.obj else "",
                                 self.rng, self.recent)
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
        # A fact the player knows and the listener does not: now they know it too.
        fact = dialogue.fact_on(self.s, self.me, c.obj, who) if c.obj else None
        told = [Tell(entity=self.me, to=who, fact=fact)] if fact and not self.s.knows(
            who, fact) else []
        ops = [*self._know(who), *told]
        return self.step(c, summary=f"{self.name} tells {n} about {topic}", ops=ops,
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
