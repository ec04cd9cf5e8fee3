"""Plain summaries of ops: what an event did, when nobody wrote a summary."""

from __future__ import annotations

from simengine.storytellers.base import Intent
from simengine.world.ops import Op
from simengine.world.state import WorldState


def describe(ops: list[Op], state: WorldState, intent: Intent | None = None) -> str:
    """One line in plain words, names rather than ids (new entities by their new names)."""
    names = {e.id: e.name for op in ops if (e := op.brings()) and e.id}

    def n(entity_id: str) -> str:
        return names.get(entity_id) or state.name(entity_id)

    parts = [op.summary(n) for op in ops]
    if parts:
        return "; ".join(parts)
    if intent is not None and intent.actor:
        return f"{state.name(intent.actor)} bides their time"
    return "Time passes"
