"""Plain summaries of ops: what an event did, when nobody wrote a summary."""

from __future__ import annotations

from simengine.storytellers.base import Intent
from simengine.world.ops import (
    Adjust,
    Connect,
    Create,
    Kill,
    Move,
    Op,
    Relate,
    SetAttr,
    Transfer,
    Unrelate,
)
from simengine.world.state import WorldState
from simengine.world.text import number


def describe(ops: list[Op], state: WorldState, intent: Intent | None = None) -> str:
    """One line in plain words, names rather than ids (new entities by their new names)."""
    names = {op.entity.id: op.entity.name for op in ops if isinstance(op, Create)}

    def n(entity_id: str) -> str:
        return names.get(entity_id) or state.name(entity_id)

    parts: list[str] = []
    for op in ops:
        if isinstance(op, Move):
            parts.append(f"{n(op.entity)} goes to {n(op.to)}")
        elif isinstance(op, Transfer):
            parts.append(f"{n(op.item)} passes to {n(op.to)}")
        elif isinstance(op, Adjust):
            sign = "gains" if op.by > 0 else "loses"
            what = op.attribute.replace("_", " ")
            parts.append(f"{n(op.entity)} {sign} {number(abs(op.by))} {what}")
        elif isinstance(op, SetAttr):
            parts.append(f"{n(op.entity)}'s {op.attribute.replace('_', ' ')} becomes {op.value}")
        elif isinstance(op, Relate):
            parts.append(f"{n(op.source)} {op.relation.replace('_', ' ')} {n(op.target)}")
        elif isinstance(op, Unrelate):
            parts.append(f"{n(op.source)} no longer {op.relation.replace('_', ' ')} {n(op.target)}")
        elif isinstance(op, Connect):
            parts.append(f"a way opens between {n(op.source)} and {n(op.target)}")
        elif isinstance(op, Create):
            e = op.entity
            verb = {
                "character": "arrives",
                "location": "is discovered",
                "item": "turns up",
                "faction": "forms",
            }[e.kind]
            parts.append(f"{e.name} {verb}")
        elif isinstance(op, Kill):
            parts.append(f"{n(op.entity)} dies" + (f" ({op.cause})" if op.cause else ""))
    if parts:
        return "; ".join(parts)
    if intent is not None and intent.actor:
        return f"{state.name(intent.actor)} bides their time"
    return "Time passes"
