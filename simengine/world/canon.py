"""Canon: turning a model's words into the world's ids, and welcome inventions into entities.

A proposal names things loosely ("the old lantern", "Silas", "teh market").
``resolve`` maps each reference to an id: exact ids first, then names and aliases
(case, punctuation and leading articles ignored), then small typos; within the
scene first, then the whole world. A name that still matches nothing, in a role
that implies it exists (someone arrives, something is found, a place is
discovered) and within the world's creativity budget, becomes a ``create`` op
with a fresh id. Anything else becomes a ``ref.unknown`` violation carrying the
closest known names, for the model to repair.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from simengine.world.ops import ANY, Connect, Create, NewEntity, Op, OpBase, Proposal
from simengine.world.rules import Turn, Violation, invention_budget
from simengine.world.spec import PRICE_ATTRIBUTE
from simengine.world.state import WorldState, normalize_name
from simengine.world.text import fresh_id, slugify


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count once)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def is_typo(a: str, b: str) -> bool:
    """A small typo: one slip in a name of 4+ letters, two in one of 9+."""
    allowed = 2 if min(len(a), len(b)) >= 9 else 1 if min(len(a), len(b)) >= 4 else 0
    return allowed > 0 and edit_distance(a, b) <= allowed


class Suggestions(Sequence[str]):
    """The closest known names to ``text``, looked up only when someone reads them.

    Finding them scans every name in the world; an unknown name that becomes an
    invention never needs them, only one that ends up in a violation does.
    """

    def __init__(self, state: WorldState, text: str, kind: str | None):
        self._args = (state, text, kind)
        self._ids: list[str] | None = None

    def _get(self) -> list[str]:
        if self._ids is None:
            state, text, kind = self._args
            self._ids = state.closest(text, kind=kind)
        return self._ids

    def __getitem__(self, i):  # type: ignore[override]
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())

    def __eq__(self, other: object) -> bool:
        return self._get() == (list(other) if isinstance(other, Sequence) else other)

    def __repr__(self) -> str:
        return repr(self._get())


@dataclass
class Resolution:
    """A proposal with every reference resolved, plus what canon decided."""

    proposal: Proposal
    violations: list[Violation] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    #: For each resolved op, the index of the op it came from in the proposal as sent.
    origin: list[int] = field(default_factory=list)

    def as_sent(self, violations: list[Violation]) -> list[Violation]:
        """Violations of the resolved proposal, numbered as the model numbered its ops."""
        return [
            v if v.op_index is None or v.op_index >= len(self.origin)
            else dataclasses.replace(v, op_index=self.origin[v.op_index])
            for v in violations
        ]


class Resolver:
    """Resolves names against a state, the scene first."""

    def __init__(self, state: WorldState, scene: Iterable[str] | None = None):
        self.state = state
        self.scene = set(scene or ())
        self.pending: dict[str, tuple[str, str]] = {}  # normalized name -> (id, kind)
        self.taken: set[str] = set()
        # One op may ask after the same unknown name two or three times (is the mover
        # known? then resolve it); only what is pending changes the answer meanwhile.
        self._memo: dict[tuple[str, tuple[str, ...]], tuple[str | None, Sequence[str]]] = {}

    def add_pending(self, entity_id: str, name: str, kind: str) -> None:
        self._memo.clear()
        self.pending[normalize_name(name)] = (entity_id, kind)
        self.pending[entity_id] = (entity_id, kind)
        self.taken.add(entity_id)

    def fresh_id(self, name: str, kind: str) -> str:
        return fresh_id(normalize_name(name), lambda c: c in self.state or c in self.taken, kind)

    def _pick(self, ids: list[str]) -> list[str]:
        """Prefer the living, then those in the scene."""
        living = [e for e in ids if self.state.is_alive(e)] or ids
        local = [e for e in living if e in self.scene]
        return local or living

    def lookup(
        self, text: str, kinds: tuple[str, ...] = ANY
    ) -> tuple[str | None, Sequence[str]]:
        """(id or None, candidates): the id ``text`` names, or the closest candidates."""
        memo_key = (str(text), tuple(kinds))
        if memo_key not in self._memo:
            self._memo[memo_key] = self._lookup(str(text), tuple(kinds))
        return self._memo[memo_key]

    def _lookup(self, text: str, kinds: tuple[str, ...]) -> tuple[str | None, Sequence[str]]:
        text = text.strip()
        if not text:
            return None, []
        if text in self.pending and self.pending[text][1] in kinds:
            return self.pending[text][0], []
        if text in self.state and self.state.kind(text) in kinds:
            return text, []
        key = normalize_name(text)
        if key in self.pending and self.pending[key][1] in kinds:
            return self.pending[key][0], []
        index = self.state.name_index()
        for candidate_key in (key, key.replace("-", " "), key.replace(" ", "-")):
            by_kind = index.get(candidate_key, {})
            ids = sorted(e for k in kinds for e in by_kind.get(k, []))
            if ids:
                picked = self._pick(ids)
                if len(picked) == 1:
                    return picked[0], []
                return None, picked[:3]
        # Small typos: the scene first, then the whole world.
        local = {
            normalize_name(self.state.name(e)): e
            for e in sorted(self.scene)
            if e in self.state and self.state.kind(e) in kinds
        }
        for close in difflib.get_close_matches(key, list(local), n=3, cutoff=0.6):
            if is_typo(key, close):
                return local[close], []
        # The world-wide search takes difflib's three best and keeps the typos among
        # them. When no name in the world is a typo away (the usual case: a new name),
        # that is empty, and the typo index says so without scanning every name.
        if any(
            is_typo(key, c) and any(kd in index[c] for kd in kinds)
            for c in self.state.typo_candidates(key)
        ):
            names = [k for k, by_kind in index.items() if any(kd in by_kind for kd in kinds)]
            typos = [
                c for c in difflib.get_close_matches(key, names, n=3, cutoff=0.6)
                if is_typo(key, c)
            ]
            if len(typos) == 1:
                picked = self._pick(sorted(e for k in kinds for e in index[typos[0]].get(k, [])))
                if len(picked) == 1:
                    return picked[0], []
        return None, Suggestions(self.state, text, kinds[0] if len(kinds) == 1 else None)


class _Canonizer:
    def __init__(self, proposal: Proposal, state: WorldState, turn: Turn, scene):
        self.p = proposal
        self.s = state
        self.turn = turn
        self.r = Resolver(state, scene)
        self.res = Resolution(proposal)
        self.budget = invention_budget(float(state.world.get("creativity", 0.5)))
        # A new passage is an invention too; one whose far end is invented is dropped
        # for the create, and given back below.
        self.creates = sum(
            isinstance(op, Create) or (isinstance(op, Connect) and not self.exists(op))
            for op in proposal.ops
        )
        self.ops: list[Op] = []
        self.index: int | None = None  # the proposal's op being resolved

    def exists(self, op: Connect) -> bool:
        """A passage already there (by id): connecting it again invents nothing."""
        return op.source in self.s and op.target in self.s.exits(op.source)

    def violation(self, index: int | None, op: str | None, message: str, suggestions=()) -> None:
        self.res.violations.append(Violation("ref.unknown", index, message, op, tuple(suggestions)))

    # What an op's ``resolve`` asks of canon (``world/ops/base.Resolving``).
    def fail(self, op: OpBase, message: str, candidates: list[str]) -> None:
        self.violation(self.index, op.op, message, candidates)

    def lookup(self, value: str, kinds: tuple[str, ...]) -> tuple[str | None, list[str]]:
        return self.r.lookup(value, kinds)

    def made(self, entity_id: str) -> bool:
        """A create for ``entity_id`` is among the resolved ops."""
        return any(o.created() == entity_id for o in self.ops)

    def refund(self) -> None:
        """One invention counted up front turns out to be another op's create."""
        self.creates -= 1

    def adopt(self, e: NewEntity) -> NewEntity:
        """A model-written new entity with its id: the one asked for when free, else fresh."""
        wanted = e.id if e.id and e.id not in self.s and e.id not in self.r.taken else None
        entity_id = (
            wanted if wanted and wanted == slugify(wanted) else self.r.fresh_id(e.name, e.kind)
        )
        self.r.add_pending(entity_id, e.name, e.kind)
        self.res.invented.append(entity_id)
        return self.unpriced(e.model_copy(update={"id": entity_id}))

    def invent(self, name: str, kind: str, at: str | None) -> str | None:
        """A create op for a welcome invention, or None when the budget is spent."""
        if self.creates >= self.budget:
            return None
        if kind in ("character", "item") and at is None:
            return None
        name = " ".join(str(name).split())[:80]
        if not name or not re.search(r"\w", name):
            return None
        entity_id = self.r.fresh_id(name, kind)
        self.ops.append(Create(entity=self.unpriced(
            NewEntity(id=entity_id, kind=kind, name=_title(name, kind), at=at))))
        self.r.add_pending(entity_id, name, kind)
        self.creates += 1
        self.res.invented.append(entity_id)
        return entity_id

    def unpriced(self, entity: NewEntity) -> NewEntity:
        """What a player brings into being is worth nothing, whatever the world's default."""
        if self.turn.kind != "player" or entity.kind != "item":
            return entity
        if PRICE_ATTRIBUTE in entity.attributes:
            return entity  # asked for in so many words: the rules judge it
        d = self.s.attribute_def(PRICE_ATTRIBUTE)
        if d is None or "item" not in d.kinds or not d.numeric or not (d.default or 0) > 0:
            return entity
        return entity.model_copy(
            update={"attributes": {**entity.attributes, PRICE_ATTRIBUTE: 0}}
        )

    def where_of(self, entity_id: str | None) -> str | None:
        if entity_id is None:
            return None
        if entity_id in self.s:
            return self.s.where(entity_id)
        for op in self.ops:
            if isinstance(op, Create) and op.entity.id == entity_id:
                return op.entity.at if op.entity.kind != "location" else entity_id
        return None

    def run(self) -> Resolution:
        actor = self.p.actor
        if actor is not None:
            found, candidates = self.r.lookup(actor, ("character",))
            if found is None and actor in self.s:
                found = actor  # a non-character actor is the rules' business
            if found is None:
                self.violation(None, None, f"actor '{actor}' is not a known character",
                               candidates)
            actor = found or actor
        for index, op in enumerate(self.p.ops):
            self.index = index
            resolved = op.resolve(self)  # each op kind resolves its own names
            if resolved is not None:
                self.ops.append(resolved)
            self.res.origin.extend([index] * (len(self.ops) - len(self.res.origin)))
        self.res.proposal = Proposal(actor=actor, summary=self.p.summary, ops=self.ops)
        return self.res

    def ref(
        self,
        op: OpBase,
        field_name: str,
        *,
        creating: str | None = None,
        at: str | None = None,
    ) -> str | None:
        value = getattr(op, field_name)
        kinds = op.REFS.get(field_name, ANY)
        found, candidates = self.r.lookup(value, kinds)
        if found is not None:
            if found != value:
                self.res.names[str(value)] = found
            return found
        if creating:
            taken = self.other_kind(str(value), kinds)
            if taken is not None:  # "transfer Hesper Vane": a person, not a new thing
                self.fail(op, f"'{value}' is {_a(self.s.kind(taken))} "
                          f"('{taken}'), not {' or '.join(_a(k) for k in kinds)}", [taken])
                return None
            new = self.invent(value, creating, at)
            if new is not None:
                return new
        spent = " (this world's creativity budget allows no more inventions)" if creating else ""
        self.fail(op, f"'{value}' is not a known {' or '.join(kinds)}{spent}", candidates)
        return None

    def other_kind(self, text: str, kinds: tuple[str, ...]) -> str | None:
        """An entity of another kind that ``text`` names exactly (id, name or alias)."""
        if text in self.s:
            return text
        by_kind = self.s.name_index().get(normalize_name(text), {})
        others = sorted(e for k, ids in by_kind.items() if k not in kinds for e in ids)
        return others[0] if others else None


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _title(name: str, kind: str) -> str:
    """Models often write new names in lower case; people and places get capitals."""
    if kind in ("character", "location", "faction") and name == name.lower():
        return " ".join(w[:1].upper() + w[1:] for w in name.split())
    return name


def resolve(
    proposal: Proposal,
    state: WorldState,
    turn: Turn | None = None,
    scene: Iterable[str] | None = None,
) -> Resolution:
    """Resolve a proposal's names to ids and canonize welcome inventions.

    Ops whose references cannot be resolved are left out of the resolved proposal
    and reported as ``ref.unknown`` violations (with suggestions) against their
    original op index, so a model can repair them.
    """
    return _Canonizer(proposal, state, turn or Turn(), scene).run()
