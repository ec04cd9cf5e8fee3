"""The decide-and-repair loop: propose, resolve, check, feed violations back, drop, fall back.

Orchestration, so it lives in ``sim/``: storytellers only propose and narrate.
``decide`` is the one place where a storyteller's proposal meets the world's
rules. It asks for a proposal, lets canon resolve its names, checks it, and
while it breaks rules sends the violations back for repair (``retries`` times).
Ops that still fail are dropped; if nothing is left (or the storyteller fails
outright), the fallback storyteller proposes for this beat instead. The result
always passes every rule: what it carries can be committed as is.

On the player's beat the player waits for every call, and a repair can never make
an impossible request possible (the player cannot afford the cutlass however the
model words it): it can only put a deed the player did not choose in its place. So
there a repair is asked only for the model's own mistakes (a rule's ``fault`` is
``model``), and the beat makes at most :data:`PLAYER_CALLS` model calls in all,
narration included (``Session._narrate`` tells it procedurally when a repair spent
the narration's call). When all the world refused is the whole request, nothing
happens and no fallback stands in: the model tells the attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simengine.storytellers.base import Intent, Scene, Storyteller, StorytellerError
from simengine.world.calls import Call
from simengine.world.canon import resolve
from simengine.world.ops import Adjust, Proposal, Transfer
from simengine.world.rules import Turn, Violation, check
from simengine.world.rules.registry import fault
from simengine.world.state import WorldState

#: The model calls a player waits for on their own beat, at most: the decide call and
#: the narration (a re-ask or a repair spends the narration's call; a drifting
#: narration is then told procedurally, not retold). Other beats repair ``retries``
#: times, whatever their calls.
PLAYER_CALLS = 2


@dataclass
class Attempt:
    """One proposal and what the rules made of it."""

    storyteller: str
    phase: str
    proposal: Proposal | None
    violations: list[Violation] = field(default_factory=list)
    error: str | None = None


@dataclass
class Decision:
    """What a beat will commit, and how it got there."""

    proposal: Proposal
    rejected: list[Violation]
    attempts: list[Attempt]
    storyteller: str
    fallback_reason: str | None = None
    invented: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    @property
    def dropped(self) -> int:
        """How many of the proposed ops did not make it (as the storyteller numbered them)."""
        return len({(v.op_index if v.op_index is not None else -1) for v in self.rejected})

    @property
    def repairs_tried(self) -> int:
        return sum(1 for a in self.attempts if a.phase == "repair")

    @property
    def repaired(self) -> bool:
        """The accepted proposal came out of a repair, whole."""
        last = self.attempts[-1] if self.attempts else None
        return bool(last and last.phase == "repair" and not last.violations and not last.error)


def drop_failing(
    proposal: Proposal, state: WorldState, turn: Turn
) -> tuple[Proposal, list[Violation]]:
    """Drop the ops that break rules until what is left passes.

    Returns the passing proposal (possibly with no ops) and every violation met on
    the way. A violation of the whole proposal (a dead or wrong actor) drops all,
    and a trade (money and priced goods changing hands) is dropped whole.
    """
    seen: list[Violation] = []
    current = proposal
    while True:
        violations = check(current, state, turn)
        if not violations:
            return current, seen
        seen.extend(violations)
        bad = {v.op_index for v in violations}
        if None in bad:
            return current.model_copy(update={"ops": []}), seen
        trade = _trade_ops(current, state)
        if bad & trade:
            bad |= trade  # a trade stands or falls whole: no payment for goods not given
        ops = [op for i, op in enumerate(current.ops) if i not in bad]
        current = current.model_copy(update={"ops": ops})


def _trade_ops(proposal: Proposal, state: WorldState) -> set[int]:
    """Indices of the ops that move money or priced goods."""
    conserved = {n for n, d in state.attribute_defs().items() if d.conserved}
    return {
        i
        for i, op in enumerate(proposal.ops)
        if (isinstance(op, Adjust) and op.attribute in conserved)
        or (isinstance(op, Transfer) and op.item in state and _priced(state, op.item))
    }


def _priced(state: WorldState, item: str) -> bool:
    """True when ``item`` or anything inside it has a price (a chest of pearls is goods)."""
    seen: set[str] = set()
    stack = [item]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if state.price(current) > 0:
            return True
        stack.extend(state.contents(current))
    return False


def _mark(calls: list[Call], accepted: bool, violations: list[Violation]) -> None:
    if calls:
        calls[-1].accepted = accepted
        calls[-1].violations = [str(v) for v in violations]


async def decide(
    teller: Storyteller,
    scene: Scene,
    intent: Intent,
    state: WorldState,
    *,
    retries: int = 2,
    fallback: Storyteller | None = None,
    first: Storyteller | None = None,
) -> Decision:
    """Run one beat's decide phase to a proposal that passes every rule.

    On a player's turn, ``rejected`` always says what of the attempt did not
    happen: the storyteller's own refusals (words that name nothing here, from
    the procedural parser) and the last rejections of the repair loop, even when
    a later round passed without them. There a repair is asked only when a
    violation is the model's fault, and only while the beat has made fewer than
    :data:`PLAYER_CALLS` model calls (see the module's docstring).

    ``first`` answers the first round in ``teller``'s stead: a call asked ahead
    (:class:`simengine.sim.ahead.Ahead`) for exactly this scene and intent.
    """
    decision = await _decide(teller, scene, intent, state, retries=retries, fallback=fallback,
                             first=first,
                             budget=PLAYER_CALLS if intent.kind == "player" else None)
    if intent.kind != "player":
        return decision
    refused: list[Violation] = []
    for who in (teller, fallback):
        ask = getattr(who, "refusals", None)
        if ask is not None and who is not None and who.name == decision.storyteller:
            refused = list(ask(scene, intent))
            break
    if not decision.rejected:
        failed = [a for a in decision.attempts if a.violations]
        if failed and decision.attempts[-1] is not failed[-1]:
            decision.rejected = list(failed[-1].violations)
    decision.rejected = _unique([*refused, *decision.rejected])
    return decision


async def _decide(
    teller: Storyteller,
    scene: Scene,
    intent: Intent,
    state: WorldState,
    *,
    retries: int = 2,
    fallback: Storyteller | None = None,
    first: Storyteller | None = None,
    budget: int | None = None,
) -> Decision:
    turn = Turn(intent.kind, intent.actor)
    attempts: list[Attempt] = []
    calls: list[Call] = []
    feedback: list[Violation] = []
    reason: str | None = None
    last = None
    for round_no in range(retries + 1):
        phase = "decide" if round_no == 0 else "repair"
        asker = first if round_no == 0 and first is not None else teller
        try:
            raw = await asker.propose(scene, intent, feedback)
        except StorytellerError as exc:
            calls.extend(asker.drain_calls())
            attempts.append(Attempt(teller.name, phase, None, error=exc.reason))
            reason = exc.reason
            break
        batch = asker.drain_calls()
        resolution = resolve(raw, state, turn, scene.ids)
        violations = [
            *resolution.violations,
            *resolution.as_sent(check(resolution.proposal, state, turn)),
        ]
        _mark(batch, not violations, violations)
        calls.extend(batch)
        attempts.append(Attempt(teller.name, phase, raw, violations))
        last = resolution
        if not violations:
            return Decision(
                resolution.proposal,
                _authored_refusals(attempts),
                attempts,
                teller.name,
                invented=resolution.invented,
                calls=calls,
            )
        feedback = violations
        if budget is not None and not _worth_a_repair(violations, state, len(calls), budget):
            break
    rejected = list(feedback)
    if last is not None and reason is None:
        kept, dropped = drop_failing(last.proposal, state, turn)
        rejected = _unique([*last_canon_violations(attempts), *last.as_sent(dropped)])
        if kept.ops:
            kept_ids = {e.id for op in kept.ops if (e := op.brings())}
            return Decision(
                kept,
                rejected,
                attempts,
                teller.name,
                invented=[i for i in last.invented if i in kept_ids],
                calls=calls,
            )
        if not last.proposal.ops and not rejected:
            return Decision(kept, [], attempts, teller.name, calls=calls)
        if budget is not None and not _model_at_fault(rejected, state):
            # The player asked for what the world forbids: nothing happens, and the
            # model that understood the attempt tells it (no other storyteller's guess).
            return Decision(kept, rejected, attempts, teller.name, calls=calls)
        reason = "every proposed change broke a rule: " + "; ".join(
            str(v) for v in _unique(rejected)[:3]
        )
    if fallback is None or fallback is teller:
        return Decision(
            Proposal(actor=intent.actor, ops=[]),
            _unique(rejected),
            attempts,
            teller.name,
            fallback_reason=reason,
            calls=calls,
        )
    inner = await _decide(fallback, scene, intent, state, retries=retries, fallback=None,
                          budget=None if budget is None else max(budget - len(calls), 0))
    return Decision(
        inner.proposal,
        _unique([*rejected, *inner.rejected]),
        [*attempts, *inner.attempts],
        inner.storyteller,
        fallback_reason=reason,
        invented=inner.invented,
        calls=[*calls, *inner.calls],
    )


def _worth_a_repair(violations: list[Violation], state: WorldState, spent: int,
                    budget: int) -> bool:
    """Whether a player's beat asks a repair: the model is at fault for one of the
    violations (what the world forbids, no rewording makes possible) and the beat
    has a model call left."""
    return spent < budget and _model_at_fault(violations, state)


def _model_at_fault(violations: list[Violation], state: WorldState) -> bool:
    return any(fault(v.rule, state) == "model" for v in violations)


def _authored_refusals(attempts: list[Attempt]) -> list[Violation]:
    """What the world's own rules refused on the way to a passing repair.

    A repair drops the refused change, but the player should still read the rule's
    ``says`` (the crypt is locked), so the narration is told what was refused.
    """
    return _unique([v for a in attempts[:-1] for v in a.violations if v.rule.startswith("world.")])


def last_canon_violations(attempts: list[Attempt]) -> list[Violation]:
    last = attempts[-1] if attempts else None
    return [v for v in (last.violations if last else []) if v.rule == "ref.unknown"]


def _unique(violations: list[Violation]) -> list[Violation]:
    return list(dict.fromkeys(violations))
