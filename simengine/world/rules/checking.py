"""Running the rule registry over a proposal: :func:`check`, and what every check reads.

:meth:`Checking.run` walks the ops in order. Each op meets the rules that apply
to it in registry order; the first rule it breaks refuses it and the rules after
it pass it by, except the ones that look at every op (the player's scope, the
world's own rules). An op nothing refused is applied to the
:class:`~simengine.world.rules.view.View`, so the next op meets the world it
leaves. Then the rules of the whole proposal run (money, prices, the actor). The
state itself is never touched.

Violations come back proposal-wide first, then op by op; each names its rule, the
op it is about and a message fit to send back to a model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from simengine.world.ops import Adjust, Create, Op, Proposal, Transfer, references
from simengine.world.rules.base import Rule, Turn, Violation, invention_budget
from simengine.world.rules.view import View, ViewReader
from simengine.world.spec import DEFAULT_NPCS_MAY
from simengine.world.state import WorldState


@dataclass(frozen=True)
class Handover:
    """An item that ends a proposal with another owner than it began with."""

    index: int  # the last transfer that moved it (or the container it is in)
    item: str
    bundle: str  # what was transferred: the item itself, or the container it went in
    before: str | None
    after: str | None
    price: float  # its own price as it stood before the proposal, never below 0


class Checking:
    """One proposal being checked: the view, whose beat it is, and what rules report.

    A rule's check reads the state (``s``), the view (``v``), the proposal (``p``)
    and the turn, and reports with :meth:`fail` (about the op being checked) or
    :meth:`fail_at` (a whole-proposal rule, pinned on the op that tips it over).
    """

    def __init__(self, proposal: Proposal, state: WorldState, turn: Turn):
        self.p = proposal
        self.s = state
        self.turn = turn
        self.v = View(state)
        self.reader = ViewReader(self.v)
        self.defs = state.attribute_defs()
        self.currency = state.currency
        self.budget = invention_budget(float(state.world.get("creativity", 0.5)))
        self.npcs_may = set(state.world.get("npcs_may", DEFAULT_NPCS_MAY))
        self.out: list[Violation] = []
        self.rule = ""
        self.i: int | None = None
        self.op_name: str | None = None
        self.refused = False  # the op being checked broke a rule that refuses it
        #: What rules keep between ops (a rule's own memory: who moved, what was invented).
        self.memo: dict[str, Any] = {}
        self._handovers: list[Handover] | None = None
        self._scope: tuple[set[str], str | None] | None = None

    # ------------------------------------------------------------ reporting
    def fail(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        """The op being checked (or the proposal, with no op) breaks the current rule."""
        self.out.append(Violation(self.rule, self.i, message, self.op_name, suggestions))

    def fail_at(self, index: int, op_name: str, message: str) -> None:
        """A violation of a whole-proposal rule, pinned on the op that tips it over."""
        self.out.append(Violation(self.rule, index, message, op_name))

    def refuse(self) -> None:
        """Refuse the op being checked without a violation (another rule said why)."""
        self.refused = True

    # ------------------------------------------------------------- reading
    def dead_since(self, e: str) -> str:
        if e in self.v.dead:
            return f"'{e}' dies earlier in this proposal"
        tick = self.s.entity(e).get("died_tick")
        if tick is None:
            return f"'{e}' is dead (since before the story began)"
        return f"'{e}' is dead since tick {tick}"

    def actor(self) -> str | None:
        """Who acts this beat: the proposal's actor, else the turn's."""
        return self.p.actor or self.turn.actor

    def player(self) -> str | None:
        """The player's character as this turn sees it."""
        return self.turn.actor or self.s.player

    def by_others(self, e: str) -> bool:
        """``e`` is the player's character and this beat is someone else's.

        (A beat acted by the player's own character is never scheduled as an NPC's;
        fixtures that do so speak for the player's character itself.)
        """
        return e == self.s.player and self.turn.kind != "player" and self.turn.actor != e

    def adjustments(self, attribute: str) -> list[tuple[int, Adjust]]:
        return [
            (i, op)
            for i, op in enumerate(self.p.ops)
            if isinstance(op, Adjust) and op.attribute == attribute
        ]

    def was_alive(self, who: str) -> bool:
        """Alive when the proposal began (someone new counts as alive)."""
        return self.s.is_alive(who) if who in self.s else self.v.exists(who)

    def player_scope(self) -> tuple[set[str], str | None]:
        """The player's character, where it stands and who and what is there or carried."""
        if self._scope is not None:
            return self._scope
        player = self.player()
        if player is None or player not in self.s:
            self._scope = (set(), None)
            return self._scope
        here = self.s.where(player)
        scope = {player}
        if here:
            scope.add(here)
            stack = list(self.s.contents(here))
            while stack:
                e = stack.pop()
                if e not in scope:
                    scope.add(e)
                    stack.extend(self.s.contents(e))
        stack = list(self.s.contents(player))
        while stack:
            e = stack.pop()
            scope.add(e)
            stack.extend(self.s.contents(e))
        self._scope = (scope, here)
        return self._scope

    def handovers(self) -> list[Handover]:
        """Every item whose owner the proposal changes, once, with the owners before and after.

        Owners are characters, found through containers: a pearl in a chest in the
        merchant's hands is the merchant's, and goes with the chest. Only where a
        thing starts and ends counts, so dropping it first or hiding it in a bag on
        the way changes nothing.
        """
        if self._handovers is not None:
            return self._handovers
        replay = View(self.s)
        start: dict[str, str | None] = {}
        last: dict[str, tuple[int, str]] = {}
        for i, op in enumerate(self.p.ops):
            if isinstance(op, Create) and op.entity.id and not replay.exists(op.entity.id):
                replay.add_entity(op.entity)
            if not isinstance(op, Transfer) or replay.kind(op.item) != "item":
                continue
            if not replay.exists(op.to) or replay.within(op.item, op.to):
                continue  # the rules report these; nothing moves
            for e in (op.item, *replay.inside(op.item)):
                if e not in start:
                    start[e] = replay.owner(e)
                last[e] = (i, op.item)
            replay.holders[op.item] = op.to
        out = []
        for e, before in start.items():
            after = replay.owner(e)
            if before != after:
                i, bundle = last[e]
                out.append(Handover(i, e, bundle, before, after, replay.price(e)))
        self._handovers = out
        return out

    # ------------------------------------------------------------- running
    def run(self, plan: Plan) -> list[Violation]:
        kind = self.turn.kind
        for i, op in enumerate(self.p.ops):
            self.i, self.op_name = i, op.op
            self.refused = False
            for rule in plan.for_op(kind, op.op):
                if self.refused and not rule.always:
                    continue
                before = len(self.out)
                self.rule = rule.id
                rule.check(self, op)
                if rule.refuses and len(self.out) > before:
                    self.refused = True
            if not self.refused:
                op.apply(self.v)  # type: ignore[arg-type]  # the view has the mutators
        self.i = self.op_name = None
        for rule in plan.for_proposal(kind):
            self.rule = rule.id
            rule.check(self, None)
        # Proposal-wide first, then op by op (stable: each op's in the order rules met it).
        return sorted(self.out, key=lambda v: -1 if v.op_index is None else v.op_index)


class Plan:
    """The rules in force, sorted once by what they apply to (checks run often)."""

    def __init__(self, rules: list[Rule]):
        self.rules = rules
        self._ops: dict[tuple[str, str], tuple[Rule, ...]] = {}
        self._whole: dict[str, tuple[Rule, ...]] = {}

    def for_op(self, turn: str, op_kind: str) -> tuple[Rule, ...]:
        """The rules an op of this kind meets on this kind of turn, in order."""
        key = (turn, op_kind)
        if key not in self._ops:
            self._ops[key] = tuple(r for r in self.rules if turn in r.turns and r.covers(op_kind))
        return self._ops[key]

    def for_proposal(self, turn: str) -> tuple[Rule, ...]:
        """The rules of the whole proposal on this kind of turn, in order."""
        if turn not in self._whole:
            self._whole[turn] = tuple(r for r in self.rules if turn in r.turns and r.whole)
        return self._whole[turn]

def touches(ops: Iterable[Op], entity: str, state: WorldState | None = None) -> bool:
    """Whether ``ops`` concern ``entity``: name it, or move or change something it holds.

    With ``state``, an op on an item the entity carries (however deep) counts too:
    a beat that takes the player's purse touches the player.
    """
    for op in ops:
        refs = [value for _, value in references(op)]
        if entity in refs:
            return True
        if state is not None and any(
            ref in state and state.kind(ref) == "item" and state.is_within(ref, entity)
            for ref in refs
        ):
            return True
    return False

