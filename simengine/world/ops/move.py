"""``move``: a character goes to a place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from simengine.world.ops.base import Kinder, Namer, OpBase, Ref, Resolving

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class Move(OpBase):
    op: Literal["move"] = "move"
    entity: Ref
    to: Ref

    ORDER = 10
    REFS = {"entity": ("character",), "to": ("location",)}
    INVENTS = {"entity": "character", "to": "location"}  # someone arrives; a place is found
    SUBJECT = "entity"
    VERB = "move"
    DEAD_CANNOT = "move"
    AIM = "to"
    PROMPT = '- {"op": "move", "entity": "<character>", "to": "<place>"}: go somewhere'

    def placed(self) -> tuple[str, str | None]:
        return self.entity, self.to

    def doer(self) -> str:
        return self.entity

    def resolve(self, c: Resolving) -> Move | None:
        to_known, _ = c.lookup(self.to, self.REFS["to"])
        mover_known, _ = c.lookup(self.entity, self.REFS["entity"])
        if mover_known is None and to_known is not None:
            # Someone new arrives: they come into being where they arrive.
            c.ref(self, "entity", creating=self.INVENTS["entity"], at=to_known)
            return None
        entity = c.ref(self, "entity")
        to = c.ref(self, "to", creating=self.INVENTS["to"], at=c.where_of(entity))
        return Move(entity=entity, to=to) if entity and to else None

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.put(self.entity, self.to)

    def summary(self, n: Namer) -> str:
        return f"{n(self.entity)} goes to {n(self.to)}"

    def told(self, n: Namer, kind: Kinder) -> str:
        return self.summary(n)

    def sentence(self, n: Namer) -> str:
        return f"{self.summary(n)}."
