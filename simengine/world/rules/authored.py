"""Author rules: ``[[rules]]`` in a world file, checked like the built-in rules.

::

    [[rules]]
    id = "crypt-locked"
    forbid = "move to crypt"
    unless = "actor holds iron-key"
    says = "The crypt door is locked. It needs the iron key."

An op matching ``forbid`` (its kind, and each ``FIELD VALUE`` pair after it) is
refused when ``when`` holds (or is absent) and ``unless`` does not. The loader
checks every part when the world loads; :func:`author_rules` gives each as a
:class:`~simengine.world.rules.base.Rule`, the same record as a built-in rule,
read on the world as the ops before it leave it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from simengine.world.conditions import Condition, Context, compiled
from simengine.world.ops import OP_NAMES, OP_TYPES, REFERENCE_FIELDS, OpBase
from simengine.world.rules.base import Rule
from simengine.world.rules.checking import Checking

#: The fields of each op kind a ``forbid`` may narrow by (plain values, not ``create``'s entity).
FORBID_FIELDS: dict[str, tuple[str, ...]] = {
    t.wire_name(): tuple(f for f in t.wire_fields() if f != "entity")
    + (("entity",) if "entity" in t.REFS else ())
    for t in OP_TYPES
}


class ForbidError(ValueError):
    """A ``forbid`` that names no op kind, or a field or value the op does not have."""


def parse_forbid(text: str, ids: Iterable[str] | None = None) -> tuple[str, dict[str, str]]:
    """``"move to crypt"`` -> ``("move", {"to": "crypt"})``, checked against the op's fields."""
    words = text.split()
    if not words:
        raise ForbidError("forbid names an op kind (move, transfer, ...)")
    kind, rest = words[0], words[1:]
    if kind not in OP_NAMES:
        raise ForbidError(f"unknown op kind '{kind}'{_suggest(kind, OP_NAMES)}; "
                          f"one of: {', '.join(OP_NAMES)}")
    if len(rest) % 2:
        raise ForbidError(f"after '{kind}' come pairs of field and value, like "
                          f"'{kind} {FORBID_FIELDS[kind][0] if FORBID_FIELDS[kind] else 'x'} ID'")
    known = set(ids) if ids is not None else None
    fields: dict[str, str] = {}
    for field, value in zip(rest[::2], rest[1::2], strict=True):
        if field not in FORBID_FIELDS[kind]:
            hint = _suggest(field, FORBID_FIELDS[kind])
            raise ForbidError(f"a {kind} has no field '{field}'{hint}"
                              f"; its fields: {', '.join(FORBID_FIELDS[kind]) or 'none'}")
        if known is not None and field in REFERENCE_FIELDS[kind] and value not in known:
            raise ForbidError(f"unknown id '{value}'{_suggest(value, known)}")
        fields[field] = value
    return kind, fields


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(set(options)), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


@dataclass(frozen=True)
class AuthorRule:
    """One ``[[rules]]`` entry, ready to check."""

    id: str
    kind: str
    fields: tuple[tuple[str, str], ...]
    when: Condition | None
    unless: Condition | None
    says: str
    line: str  # how a model reads it: what it forbids, when, unless what, and why

    def matches(self, op: Any) -> bool:
        return op.op == self.kind and all(
            str(getattr(op, f, None)) == v for f, v in self.fields
        )

    def broken(self, op: Any, reader: Any, ctx: Context) -> bool:
        """Whether ``op`` breaks this rule, on the world as ``reader`` shows it."""
        if not self.matches(op):
            return False
        if self.when is not None and not self.when(reader, ctx):
            return False
        return not (self.unless is not None and self.unless(reader, ctx))

    def check(self, c: Checking, op: OpBase | None) -> None:
        assert op is not None
        ctx = context(op, c.actor(), lambda e: c.v.location_of(e) if c.v.exists(e) else None)
        if self.broken(op, c.reader, ctx):
            c.fail(self.says)

    def teach(self, state: Any) -> list[str]:
        return [self.line]

    def record(self) -> Rule:
        """The rule as the registry holds it (``world.<id>``, apart from the built-in ones).

        It looks at every op: a world rule speaks even on an op a built-in rule refused.
        What it forbids, the world forbids: no repair makes it possible (``fault``).
        """
        return Rule(f"world.{self.id}", self.says, (self.kind,), self.check, always=True,
                    teach=self.teach, source="world", fault="world",
                    detail=" ".join(f"{f} {v}" for f, v in self.fields))


def compile_rule(raw: dict[str, Any]) -> AuthorRule:
    """An author rule from its world-file form (already checked by the loader)."""
    kind, fields = parse_forbid(raw["forbid"])
    line = f"No {raw['forbid']}"
    if raw.get("when"):
        line += f" when {raw['when']}"
    if raw.get("unless"):
        line += f", unless {raw['unless']}"
    return AuthorRule(
        id=raw["id"],
        kind=kind,
        fields=tuple(fields.items()),
        when=compiled(raw["when"]) if raw.get("when") else None,
        unless=compiled(raw["unless"]) if raw.get("unless") else None,
        says=raw["says"],
        line=f"{line}: {raw['says']}",
    )


_CACHE: dict[int, tuple[list, tuple[Rule, ...]]] = {}


def author_rules(state: Any) -> tuple[Rule, ...]:
    """The world's author rules (none for most worlds), compiled once per rules list."""
    raw = state.graph.graph.get("rules")
    if not raw:
        return ()
    hit = _CACHE.get(id(raw))
    if hit is not None and hit[0] is raw:
        return hit[1]
    rules = tuple(compile_rule(r).record() for r in raw)
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[id(raw)] = (raw, rules)
    return rules


def context(op: OpBase, actor: str | None, location_of: Any) -> Context:
    """What ``actor``, ``target``, ``here`` and ``item`` mean for one op.

    The actor is who does it: for a move, the one who goes; otherwise the beat's actor.
    The target is where a move or transfer goes, or what the op acts on.
    """
    actor = op.doer() or actor
    return Context(
        actor=actor,
        target=op.aim(),
        here=location_of(actor) if actor else None,
        item=op.carried(),
    )
