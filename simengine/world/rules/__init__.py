"""The hard rules: what no proposal may do, whoever wrote it.

Each rule is one :class:`Rule` record (id, the sentence people and models read,
what it applies to, its check) in :mod:`~simengine.world.rules.registry`; a world
file's ``[[rules]]`` become records of the same kind. ``check(proposal, state,
turn)`` runs the registry over the proposal's ops, on an overlay of the state
(the state itself is never touched), and returns every :class:`Violation` it
finds: each names its rule, the op it is about and a message fit to send back
to a model. ``simengine rules`` prints the registry.

- ``base``: the records (:class:`Rule`, :class:`Violation`, :class:`Turn`);
- ``view``: the state as the ops so far leave it; ``checking``: running the rules;
- ``op_rules``, ``knowledge_rules``, ``proposal_rules``: the built-in rules (single ops,
  who may tell or learn what, the beat as a whole); ``authored``: the world's own;
- ``registry``: all of them in order, the prompt's lines and the README's table.
"""

from __future__ import annotations

from simengine.world.ops import Proposal
from simengine.world.rules.base import EVERY_OP, PROPOSAL, Rule, Turn, Violation, invention_budget
from simengine.world.rules.checking import Checking, touches
from simengine.world.rules.registry import BUILT_IN, in_force, records
from simengine.world.state import WorldState


def check(proposal: Proposal, state: WorldState, turn: Turn | None = None) -> list[Violation]:
    """Every rule the proposal breaks: proposal-wide first, then op by op.

    Never mutates ``state``.
    """
    return Checking(proposal, state, turn or Turn()).run(in_force(state))


__all__ = [
    "BUILT_IN", "EVERY_OP", "PROPOSAL", "Rule", "Turn", "Violation", "check",
    "invention_budget", "records", "touches",
]
