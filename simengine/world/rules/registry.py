"""The rule registry: every rule, one record each, in the order an op meets them.

``check`` runs it, the prompt's rule list is its lines, the README's rule table
and ``simengine rules`` print it. A world's own ``[[rules]]`` follow the built-in
ones, as records of the same kind. Adding a rule is adding a record to
:data:`BUILT_IN` (its check beside the others of its kind, in ``op_rules``,
``knowledge_rules`` or ``proposal_rules``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simengine.world.rules.authored import author_rules
from simengine.world.rules.base import Fault, Rule
from simengine.world.rules.checking import Plan
from simengine.world.rules.knowledge_rules import (
    KNOW_ABSENT,
    KNOW_NEWCOMER,
    KNOW_SOURCE,
    KNOW_UNKNOWN,
    KNOW_WITNESS,
)
from simengine.world.rules.op_rules import (
    ATTR_BOUNDS,
    ATTR_PROTECTED,
    ATTR_TYPE,
    ATTR_UNKNOWN,
    CONTAINMENT_CYCLE,
    CREATE_INVALID,
    CREATIVITY_BUDGET,
    DEAD_ACT,
    KIND_MISMATCH,
    NAME_UNIQUE,
    REF_UNKNOWN,
    RELATION_KIND,
    STORY_ESSENTIAL,
    TRAVEL_ADJACENT,
)
from simengine.world.rules.proposal_rules import (
    ACTOR_MISMATCH,
    CURRENCY_CONSERVED,
    PLAYER_OWN,
    PRICE_FIXED,
    PRICE_UNPAID,
    SCOPE_PLAYER,
)

if TYPE_CHECKING:
    from simengine.world.state import WorldState

#: The engine's rules. An op meets them in this order, and the first it breaks
#: refuses it (so a check may count on the ones before it: references resolve
#: before the dead are looked for, attributes exist before their bounds are read).
BUILT_IN: tuple[Rule, ...] = (
    CREATE_INVALID,
    REF_UNKNOWN,
    RELATION_KIND,
    KIND_MISMATCH,
    DEAD_ACT,
    NAME_UNIQUE,
    ATTR_UNKNOWN,
    ATTR_PROTECTED,
    STORY_ESSENTIAL,
    PLAYER_OWN,
    TRAVEL_ADJACENT,
    CONTAINMENT_CYCLE,
    KNOW_UNKNOWN,
    KNOW_ABSENT,
    KNOW_SOURCE,
    KNOW_WITNESS,
    KNOW_NEWCOMER,
    ATTR_TYPE,
    PRICE_FIXED,
    CURRENCY_CONSERVED,
    ATTR_BOUNDS,
    CREATIVITY_BUDGET,
    PRICE_UNPAID,
    SCOPE_PLAYER,
    ACTOR_MISMATCH,
)


def records(state: Any | None = None) -> list[Rule]:
    """Every rule: the built-in ones, then the world's own (with ``state``)."""
    return [*BUILT_IN, *(author_rules(state) if state is not None else [])]


_PLANS: dict[tuple[int, int], tuple[tuple[Rule, ...], tuple[Rule, ...], Plan]] = {}


def in_force(state: WorldState) -> Plan:
    """The rules ``check`` runs in ``state``'s world, planned once per registry and world."""
    own = author_rules(state)
    key = (id(BUILT_IN), id(own))
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is BUILT_IN and hit[1] is own:
        return hit[2]
    plan = Plan([*BUILT_IN, *own])
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[key] = (BUILT_IN, own, plan)
    return plan


def fault(rule_id: str, state: Any | None = None) -> Fault:
    """Whose fault breaking the rule ``rule_id`` is (:data:`~simengine.world.rules.base.Fault`).

    A rule not in the registry (none is, today) counts as the model's: a repair may
    fix it, as every violation could be repaired before rules had a fault.
    """
    if rule_id.startswith("world."):
        return "world"  # an author's rule, whatever the world (records need its state)
    return next((r.fault for r in records(state) if r.id == rule_id), "model")


def prompt_rules(state: Any) -> list[str]:
    """The rules as a model reads them, worded for this world (the world's own last)."""
    return [line for rule in records(state) for line in rule.lines(state)]


def markdown_table(rows: list[Rule]) -> str:
    """The README's rule table."""
    out = ["| rule | what it says | applies to | fault |", "|---|---|---|---|"]
    out += [f"| `{r.id}` | {r.says} | {r.applies} | {r.fault} |" for r in rows]
    return "\n".join(out)
