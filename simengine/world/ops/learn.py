"""``learn``: a character learns a fact from a thing at hand, or by witnessing it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from simengine.world.ops.base import KnowledgeOp, Namer, Ref, Resolving

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class Learn(KnowledgeOp):
    op: Literal["learn"] = "learn"
    entity: Ref
    fact: Ref
    #: The thing that reveals it; none: the character witnessed it told or shown here.
    item: Ref | None = None

    ORDER = 110
    REFS = {"entity": ("character",), "fact": ("fact",), "item": ("item",)}
    SUBJECT = "entity"
    VERB = "speak for"
    DEAD_CANNOT = "learn anything"
    AIM = "item"
    PROMPT = ('- {"op": "learn", "entity": "<character>", "fact": "<fact id>", "item": '
              '"<thing here that reveals it>"}')

    def references(self) -> list[tuple[str, str]]:
        return [(f, v) for f, v in super().references() if v is not None]

    def resolve(self, c: Resolving) -> Learn | None:
        resolved = {f: c.ref(self, f) for f, _ in self.references()}
        return self.model_copy(update=resolved) if all(resolved.values()) else None

    def doer(self) -> str:
        return self.entity

    def carried(self) -> str | None:
        return self.item

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.learn(self.entity, self.fact)

    def summary(self, n: Namer) -> str:
        how = f" from {n(self.item)}" if self.item else ""
        return f'{n(self.entity)} learns{how}: "{n(self.fact)}"'
