"""Conditions: a small language over the world graph.

Author rules (``[[rules]]`` in a world file) say *when* they apply and *unless*
what in this language, and so do goals and endings (``goal:ID``: that goal is
done, on a reader that knows the story's goals). A condition is
parsed once, when the world loads, so a typo is an error with its column and a
"did you mean"; evaluating one is a handful of dictionary lookups.

Grammar (lowest binding first)::

    expr  := and ("or" and)*
    and   := not ("and" not)*
    not   := "not" not | atom
    atom  := "(" expr ")"
           | "tick" CMP NUMBER
           | "goal" ":" GOAL-ID               # a goal of the world is done
           | term "at" term              # where X is (a place, or whoever holds it)
           | term "holds" term           # carried, directly or inside something carried
           | term "is" ("alive" | "dead")
           | term ("==" | "!=") term     # the same entity or not
           | term "." ATTR CMP VALUE     # a number, true or false
           | term RELATION term          # a relation kind of the world (knows, serves ...)
           | term "knows" FACT-ID        # the character knows the fact
    term  := ENTITY-ID | "actor" | "target" | "here" | "item"
    CMP   := "==" | "!=" | "<" | "<=" | ">" | ">="

``actor``, ``target``, ``here`` and ``item`` name things about the op being
checked (see :class:`Context`); a name the op does not give makes every test
on it false (and ``!=`` true).
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

#: How deep parentheses and ``not`` may nest, and how long a condition may be.
MAX_DEPTH = 32
MAX_LENGTH = 1000

NAMES = ("actor", "target", "here", "item")
#: The relation that, aimed at a fact, says a character knows it.
KNOWS = "knows"
KEYWORDS = frozenset({"and", "or", "not", "at", "holds", "is", "alive", "dead", "tick",
                      "true", "false", *NAMES})
_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)(?![A-Za-z0-9_-])|(?P<word>[A-Za-z0-9][A-Za-z0-9_-]*)"
    r"|(?P<op>==|!=|<=|>=|<|>)|(?P<punct>[().:]))"
)


class ConditionError(ValueError):
    """A condition that does not parse; ``column`` counts from 1 in the condition text."""

    def __init__(self, message: str, column: int):
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Context:
    """What a condition's names stand for while one op is checked.

    ``actor``: who does it (for a move, the one who goes); ``target``: the place or
    thing it goes to or acts on; ``here``: where the actor stands; ``item``: the thing
    a transfer hands over.
    """

    actor: str | None = None
    target: str | None = None
    here: str | None = None
    item: str | None = None


#: The context of a condition checked outside any op (a goal, an ending): no names.
_NO_CONTEXT = Context()


class Reader(Protocol):
    """What a condition reads of the world (a ``WorldState``, or a view over one)."""

    tick: int

    def kind(self, e: str) -> str | None: ...
    def holder(self, e: str) -> str | None: ...
    def alive(self, e: str) -> bool: ...
    def attr(self, e: str, a: str) -> Any: ...
    def related(self, source: str, relation: str, target: str) -> bool: ...
    def knows(self, who: str, fact: str) -> bool: ...


class StateReader:
    """A :class:`Reader` over a ``WorldState`` (duck-typed: world/ imports no state here)."""

    def __init__(self, state: Any):
        self.s = state
        self.tick = state.tick
        # Where the state's own answer is the reader's, the reader is the state's bound
        # method, not a method that passes the call on (a story check after every beat
        # asks a dozen of them).
        self.kind: Callable[[str], str | None] = state.kind
        self.alive: Callable[[str], bool] = state.is_alive
        self.related: Callable[[str, str, str], bool] = state.has_relation
        self.knows: Callable[[str, str], bool] = state.knows

    def holder(self, e: str) -> str | None:
        return self.s.holder(e) if e in self.s else None

    def attr(self, e: str, a: str) -> Any:
        return self.s.attr(e, a) if e in self.s else None


# ------------------------------------------------------------------- the tree
@dataclass(frozen=True)
class Term:
    word: str  # an entity id, or one of NAMES

    def value(self, ctx: Context) -> str | None:
        return getattr(ctx, self.word) if self.word in NAMES else self.word


def _within(r: Reader, e: str, container: str) -> bool:
    """Whether ``container`` is among the holders of ``e``, however deep (a broken,
    circular tree ends where it comes round)."""
    seen = {e}
    current = r.holder(e)
    while current is not None and current not in seen:
        if current == container:
            return True
        seen.add(current)
        current = r.holder(current)
    return False


class Node:
    def __call__(self, r: Reader, ctx: Context) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class And(Node):
    parts: tuple[Node, ...]

    def __call__(self, r: Reader, ctx: Context) -> bool:
        return all(p(r, ctx) for p in self.parts)


@dataclass(frozen=True)
class Or(Node):
    parts: tuple[Node, ...]

    def __call__(self, r: Reader, ctx: Context) -> bool:
        return any(p(r, ctx) for p in self.parts)


@dataclass(frozen=True)
class Not(Node):
    part: Node

    def __call__(self, r: Reader, ctx: Context) -> bool:
        return not self.part(r, ctx)


@dataclass(frozen=True)
class At(Node):
    who: Term
    place: Term

    def __call__(self, r: Reader, ctx: Context) -> bool:
        who, place = self.who.value(ctx), self.place.value(ctx)
        return who is not None and place is not None and _within(r, who, place)


@dataclass(frozen=True)
class Holds(Node):
    who: Term
    thing: Term

    def __call__(self, r: Reader, ctx: Context) -> bool:
        who, thing = self.who.value(ctx), self.thing.value(ctx)
        if who is None or thing is None or r.kind(thing) != "item":
            return False
        return _within(r, thing, who)


@dataclass(frozen=True)
class Alive(Node):
    who: Term
    alive: bool

    def __call__(self, r: Reader, ctx: Context) -> bool:
        who = self.who.value(ctx)
        if who is None or r.kind(who) != "character":
            return False
        return r.alive(who) == self.alive


@dataclass(frozen=True)
class Same(Node):
    left: Term
    right: Term
    equal: bool

    def __call__(self, r: Reader, ctx: Context) -> bool:
        a, b = self.left.value(ctx), self.right.value(ctx)
        same = a is not None and a == b
        return same if self.equal else not same


@dataclass(frozen=True)
class Compare(Node):
    who: Term
    attribute: str
    op: str
    number: float | bool

    def __call__(self, r: Reader, ctx: Context) -> bool:
        who = self.who.value(ctx)
        if who is None:
            return False
        value = r.attr(who, self.attribute)
        if isinstance(self.number, bool) or isinstance(value, bool):
            # true/false compare only with true/false, and only for (in)equality
            if not (isinstance(self.number, bool) and isinstance(value, bool)):
                return False
            return _CMP[self.op](value, self.number)
        if not isinstance(value, int | float):
            return False
        return _CMP[self.op](value, self.number)


@dataclass(frozen=True)
class Tick(Node):
    op: str
    number: float

    def __call__(self, r: Reader, ctx: Context) -> bool:
        return _CMP[self.op](r.tick, self.number)


@dataclass(frozen=True)
class GoalDone(Node):
    goal: str

    def __call__(self, r: Reader, ctx: Context) -> bool:
        # Goals are the story's, not the graph's: a reader without them knows none done.
        return self.goal in getattr(r, "goals_done", ())


@dataclass(frozen=True)
class Related(Node):
    source: Term
    relation: str
    target: Term

    def __call__(self, r: Reader, ctx: Context) -> bool:
        a, b = self.source.value(ctx), self.target.value(ctx)
        if a is None or b is None:
            return False
        if self.relation == KNOWS and r.kind(b) == "fact":
            return r.knows(a, b)  # knowing a fact: an edge, or lore everyone knows
        return r.related(a, self.relation, b)


@dataclass(frozen=True)
class Condition:
    """A parsed condition and its text; call it with a state (or reader) and a context."""

    text: str
    root: Node

    def __hash__(self) -> int:
        # Its text says all (the tree is parsed from it): hashing the tree, node by node,
        # cost more than what a cache keyed by the condition saves (story.thread).
        return hash(self.text)

    def __call__(self, state: Any, ctx: Context | None = None) -> bool:
        reader = state if hasattr(state, "related") else StateReader(state)
        return self.root(reader, ctx or _NO_CONTEXT)

    def ids(self) -> set[str]:
        """The entity ids the condition names (for checks that they exist)."""
        return set(_ids(self.root))

    def goals(self) -> set[str]:
        """The goal ids the condition names with ``goal:ID``."""
        return {n.goal for n in walk(self.root) if isinstance(n, GoalDone)}


def walk(node: Node) -> Iterable[Node]:
    """``node`` and every node under it."""
    yield node
    for value in vars(node).values():
        for part in value if isinstance(value, tuple) else (value,):
            if isinstance(part, Node):
                yield from walk(part)


def _ids(node: Node) -> Iterable[str]:
    for value in vars(node).values():
        parts = value if isinstance(value, tuple) else (value,)
        for part in parts:
            if isinstance(part, Term) and part.word not in NAMES:
                yield part.word
            elif isinstance(part, Node):
                yield from _ids(part)


# ------------------------------------------------------------------ the parser
@dataclass(frozen=True)
class _Tok:
    kind: str  # num, word, op, punct, end
    text: str
    column: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            out.append(_Tok("end", "", pos + 1))
            return out
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConditionError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = m.lastgroup or "punct"
        out.append(_Tok(kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(set(options)), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


class _Parser:
    def __init__(self, text: str, ids: set[str] | None, relations: set[str] | None,
                 attributes: set[str] | None, goals: set[str] | None = None,
                 facts: set[str] | None = None):
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.ids, self.relations, self.attributes = ids, relations, attributes
        self.goals = goals
        self.facts = facts or set()

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def fail(self, message: str, tok: _Tok | None = None) -> ConditionError:
        tok = tok or self.tok
        return ConditionError(message, tok.column)

    def take(self) -> _Tok:
        tok = self.tok
        self.i += 1
        return tok

    def word(self, *words: str) -> bool:
        if self.tok.kind == "word" and self.tok.text in words:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "end":
            raise self.fail(f"expected 'and', 'or' or the end, found {self.tok.text!r}")
        return node

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} deep")

    def expr(self) -> Node:
        parts = [self.conj()]
        while self.word("or"):
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conj(self) -> Node:
        parts = [self.neg()]
        while self.word("and"):
            parts.append(self.neg())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def neg(self) -> Node:
        if self.word("not"):
            self.deeper()
            node = Not(self.neg())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "punct" and tok.text == "(":
            self.take()
            self.deeper()
            node = self.expr()
            self.depth -= 1
            if not (self.tok.kind == "punct" and self.tok.text == ")"):
                raise self.fail(f"expected ')' to close the '(' at column {tok.column}")
            self.take()
            return node
        if self.word("tick"):
            op = self.cmp()
            return Tick(op, self.number())
        after = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else tok
        if tok.kind == "word" and tok.text == "goal" and after.text == ":":
            self.i += 2
            return GoalDone(self.known("goal", "a goal id after 'goal:'", self.goals))
        left = self.term()
        tok = self.tok
        if self.word("at"):
            return At(left, self.term())
        if self.word("holds"):
            return Holds(left, self.term())
        if self.word("is"):
            if self.word("alive"):
                return Alive(left, True)
            if self.word("dead"):
                return Alive(left, False)
            raise self.fail("expected 'alive' or 'dead' after 'is'")
        if tok.kind == "op" and tok.text in ("==", "!="):
            self.take()
            return Same(left, self.term(), tok.text == "==")
        if tok.kind == "punct" and tok.text == ".":
            self.take()
            name = self.known("attribute", "an attribute name after '.'", self.attributes)
            op = self.cmp()
            return Compare(left, name, op, self.value())
        if tok.kind == "word" and tok.text not in KEYWORDS:
            self.take()
            if self.relations is not None and tok.text not in self.relations:
                raise self.fail(f"unknown relation kind '{tok.text}'"
                                f"{_suggest(tok.text, self.relations)}", tok)
            return Related(left, tok.text, self.term(fact_ok=tok.text == KNOWS))
        found = repr(tok.text) if tok.kind != "end" else "the end"
        raise self.fail(f"expected 'at', 'holds', 'is', '==', '!=', '.attribute' or a "
                        f"relation after '{left.word}', found {found}")

    def known(self, what: str, expected: str, names: set[str] | None) -> str:
        """The next word, a name of ``what`` (one of ``names``, when they are given)."""
        tok = self.take()
        if tok.kind != "word":
            raise self.fail(f"expected {expected}", tok)
        if names is not None and tok.text not in names:
            raise self.fail(f"unknown {what} '{tok.text}'{_suggest(tok.text, names)}", tok)
        return tok.text

    def term(self, fact_ok: bool = False) -> Term:
        tok = self.tok
        if tok.kind != "word" or (tok.text in KEYWORDS and tok.text not in NAMES):
            found = repr(tok.text) if tok.kind != "end" else "the end"
            raise self.fail(f"expected an entity id or actor, target, here, item; found {found}")
        self.take()
        if tok.text in self.facts and tok.text not in (self.ids or ()):
            if not fact_ok:
                raise self.fail(f"'{tok.text}' is a fact: say 'X knows {tok.text}'", tok)
        elif tok.text not in NAMES and self.ids is not None and tok.text not in self.ids:
            options = self.ids | self.facts if fact_ok else self.ids
            raise self.fail(f"unknown id '{tok.text}'{_suggest(tok.text, options)}", tok)
        return Term(tok.text)

    def cmp(self) -> str:
        tok = self.tok
        if tok.kind != "op":
            raise self.fail("expected a comparison (==, !=, <, <=, >, >=)")
        self.take()
        return tok.text

    def number(self) -> float:
        tok = self.take()
        if tok.kind != "num":
            raise self.fail("expected a number", tok)
        return float(tok.text) if "." in tok.text else int(tok.text)

    def value(self) -> float | bool:
        if self.word("true"):
            return True
        if self.word("false"):
            return False
        return self.number()


def parse(text: str, *, ids: Iterable[str] | None = None,
          relations: Iterable[str] | None = None,
          attributes: Iterable[str] | None = None,
          goals: Iterable[str] | None = None,
          facts: Iterable[str] | None = None) -> Condition:
    """Parse a condition. With ``ids``/``relations``/``attributes``/``goals``, unknown
    names are errors.

    ``facts`` are the world's fact ids: they may follow ``knows`` ("mara knows
    silas-log") and nothing else.

    Raises:
        ConditionError: with the column (from 1) of what is wrong.
    """
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH + 1)
    if not text.strip():
        raise ConditionError("empty condition", 1)
    root = _Parser(text, _set(ids), _set(relations), _set(attributes), _set(goals),
                   _set(facts)).parse()
    return Condition(text, root)


def _set(xs: Iterable[str] | None) -> set[str] | None:
    return None if xs is None else set(xs)


@lru_cache(maxsize=512)
def compiled(text: str) -> Condition:
    """A condition already checked at load, parsed once per process (rules ask every beat)."""
    return parse(text)
