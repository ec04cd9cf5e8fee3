"""``tell``: a character tells another a fact they know (both in one place)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from simengine.world.ops.base import KnowledgeOp, Namer, Ref

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class Tell(KnowledgeOp):
    op: Literal["tell"] = "tell"
    entity: Ref
    to: Ref
    fact: Ref

    ORDER = 100
    REFS = {"entity": ("character",), "to": ("character",), "fact": ("fact",)}
    SUBJECT = "entity"
    VERB = "speak for"
    DEAD_CANNOT = "tell anything"
    AIM = "to"
    PROMPT = ('- {"op": "tell", "entity": "<character>", "to": "<character here>", "fact": '
              '"<fact id they know>"}')

    def doer(self) -> str:
        return self.entity

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.learn(self.to, self.fact)

    def summary(self, n: Namer) -> str:
        return f'{n(self.entity)} tells {n(self.to)}: "{n(self.fact)}"'
