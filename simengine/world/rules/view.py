"""The state as a proposal would leave it so far: an overlay the rules read, never the state.

Checking walks a proposal's ops in order; each op that passes every rule is
applied to the :class:`View` (``op.apply(view)``: the view has the state's
mutators), so the next op meets the world it leaves (a man killed in op 0 does
not walk in op 1). The state itself is never touched.
"""

from __future__ import annotations

from typing import Any

from simengine.world.ops import NewEntity
from simengine.world.spec import PRICE_ATTRIBUTE
from simengine.world.state import WorldState, location_along, up_holders


class View:
    """The state as the ops checked so far would leave it. Reads through to the state."""

    def __init__(self, state: WorldState):
        self.s = state
        self.holders: dict[str, str] = {}
        self.dead: set[str] = set()
        self.attrs: dict[tuple[str, str], Any] = {}
        self.new: dict[str, dict[str, Any]] = {}
        self.links: set[tuple[str, str]] = set()
        #: (character, fact) pairs the ops so far teach, and where each fact came out.
        self.learned: set[tuple[str, str]] = set()
        self.shown: dict[str, set[str]] = {}

    # The state's mutators, as far as the rules read them: an op that passed every
    # rule is applied here with its own ``apply``, as it will be to the state.
    def add_entity(self, e: NewEntity, event_id: object = None) -> None:
        self.new[str(e.id)] = {
            "kind": e.kind,
            "name": e.name,
            "at": e.at,
            "attributes": dict(e.attributes),
        }
        # Known on arrival, not said aloud: nobody there overhears it (unlike ``learn``).
        self.learned.update((str(e.id), f) for f in e.knows)

    def put(self, subject: str, holder: str) -> None:
        self.holders[subject] = holder

    def add_to(self, entity: str, attribute: str, by: float) -> None:
        self.attrs[(entity, attribute)] = self.added(entity, attribute, by)

    def set_attribute(self, entity: str, attribute: str, value: Any) -> None:
        self.attrs[(entity, attribute)] = value

    def kill(self, entity: str, cause: str = "") -> None:
        self.dead.add(entity)

    def connect(self, a: str, b: str) -> None:
        self.links.add((a, b))

    def relate(self, source: str, relation: str, target: str) -> None:
        """Relations are read from the state: one made this beat counts from the next."""

    def unrelate(self, source: str, relation: str, target: str) -> None:
        """(As :meth:`relate`.)"""

    def learn(self, who: str, fact: str) -> None:
        """``who`` learns ``fact``; it has come out where they stand (others there may
        overhear it: ``know.witness``)."""
        self.learned.add((who, fact))
        where = self.location_of(who)
        if where is not None:
            self.shown.setdefault(fact, set()).add(where)

    def put_fact(self, fact: str, text: str, *, knower: str | None = None, secret: bool = False,
                 event_id: object = None) -> None:
        """A new fact known by ``knower`` (new text for an old one changes nothing here)."""
        if self.exists(fact):
            return
        self.new[fact] = {"kind": "fact", "name": fact, "at": None, "attributes": {},
                          "known_by": [knower] if knower else []}
        if knower is not None:
            self.learn(knower, fact)

    def knows(self, who: str, fact: str) -> bool:
        """Whether ``who`` knows ``fact`` as the ops so far leave the world."""
        if (who, fact) in self.learned:
            return True
        if fact in self.new:  # a fact made this beat: known by whom it says
            return who in self.new[fact].get("known_by", ())
        return self.s.knows(who, fact)

    def exists(self, e: str) -> bool:
        return e in self.new or e in self.s

    def kind(self, e: str) -> str | None:
        return self.new[e]["kind"] if e in self.new else self.s.kind(e)

    def name(self, e: str) -> str:
        return self.new[e]["name"] if e in self.new else self.s.name(e)

    def alive(self, e: str) -> bool:
        if e in self.dead:
            return False
        return True if e in self.new else self.s.is_alive(e)

    def holder(self, e: str) -> str | None:
        if e in self.holders:
            return self.holders[e]
        if e in self.new:
            return self.new[e].get("at")
        return self.s.holder(e)

    def owner(self, e: str) -> str | None:
        """The character holding ``e``, directly or through containers, if any."""
        seen: set[str] = set()
        current = self.holder(e)
        while current is not None and current not in seen:
            seen.add(current)
            kind = self.kind(current)
            if kind == "character":
                return current
            if kind != "item":
                return None
            current = self.holder(current)
        return None

    def location_of(self, e: str) -> str | None:
        return location_along(e, self.kind, self.holder)

    def dead_holder(self, e: str) -> str | None:
        """The dead character at or up the chain of holders from ``e``, if any.

        The whole chain, not the nearest holder: a ring put in a key in a pouch a
        dead man carries is the dead man's gain all the same.
        """
        seen: set[str] = set()
        current: str | None = e
        while current is not None and current not in seen and self.exists(current):
            seen.add(current)
            if self.kind(current) == "character" and not self.alive(current):
                return current
            current = self.holder(current)
        return None

    def contents(self, e: str) -> list[str]:
        """What ``e`` directly holds as the ops so far leave it."""
        out = [c for c in (self.s.contents(e) if e in self.s else []) if c not in self.holders]
        out += [c for c, h in self.holders.items() if h == e]
        out += [c for c, n in self.new.items() if n.get("at") == e and c not in self.holders
                and n["kind"] != "location"]  # a new place's `at` is a passage, not a pocket
        return out

    def inside(self, e: str) -> list[str]:
        """Everything within ``e``, however deep (each once, even in a broken tree)."""
        out: list[str] = []
        seen = {e}
        stack = self.contents(e)
        while stack:
            c = stack.pop()
            if c not in seen:
                seen.add(c)
                out.append(c)
                stack.extend(self.contents(c))
        return out

    def within(self, e: str, container: str) -> bool:
        return up_holders(container, e, self.holder)

    def connected(self, a: str, b: str) -> bool:
        """One move apart. A passage made by ``connect`` this beat does not count yet."""
        if a in self.new and self.new[a].get("at") == b:
            return True
        if b in self.new and self.new[b].get("at") == a:
            return True
        return a in self.s and b in self.s and b in self.s.exits(a)

    def attr(self, e: str, a: str) -> Any:
        if (e, a) in self.attrs:
            return self.attrs[(e, a)]
        if e in self.new:
            return self.new[e]["attributes"].get(a)
        return self.s.attr(e, a)

    def added(self, entity: str, attribute: str, by: float) -> Any:
        """What adding ``by`` to a number attribute leaves (as ``WorldState.add_to`` does)."""
        d = self.s.attribute_def(attribute)
        default = d.default if d is not None and d.default is not None else 0
        current = self.attr(entity, attribute)
        current = default if current is None else current
        return current + (int(by) if d is not None and d.type == "int" else by)

    def price(self, item: str) -> float:
        """What ``item`` cost when the proposal began (a new thing: what it was made with)."""
        if item in self.s:
            return self.s.price(item)
        value = self.new[item]["attributes"].get(PRICE_ATTRIBUTE) if item in self.new else None
        if value is None:
            d = self.s.attribute_def(PRICE_ATTRIBUTE)
            value = d.default if d is not None else 0
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 0
        return max(value, 0)


class ViewReader:
    """What a condition reads (world.conditions.Reader), through the checker's view."""

    def __init__(self, view: View):
        self.v = view
        self.tick = view.s.tick

    def kind(self, e: str) -> str | None:
        return self.v.kind(e) if self.v.exists(e) else None

    def holder(self, e: str) -> str | None:
        return self.v.holder(e) if self.v.exists(e) else None

    def alive(self, e: str) -> bool:
        return self.v.alive(e) if self.v.exists(e) else False

    def attr(self, e: str, a: str) -> Any:
        return self.v.attr(e, a) if self.v.exists(e) else None

    def related(self, source: str, relation: str, target: str) -> bool:
        s = self.v.s
        return source in s and target in s and s.has_relation(source, relation, target)

    def knows(self, who: str, fact: str) -> bool:
        return self.v.knows(who, fact)
