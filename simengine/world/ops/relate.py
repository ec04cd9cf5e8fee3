"""``relate``: a relation starts between two entities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from simengine.world.ops.base import (
    ANY,
    HOSTILE_RELATIONS,
    Kinder,
    Namer,
    OpBase,
    Ref,
    Resolving,
    words,
)

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class Relate(OpBase):
    op: Literal["relate"] = "relate"
    source: Ref
    relation: Ref
    target: Ref

    ORDER = 50
    REFS = {"source": ANY, "target": ANY}
    INVENTS = {"target": "character"}  # someone is met
    SUBJECT = "source"
    VERB = "speak for"
    DEAD_CANNOT = "change their relations"
    AIM = "target"
    PROMPT = ('- {"op": "relate", "source": "<id>", "relation": "<kind>", "target": "<id>"} '
              '(and "unrelate" to end one)')

    def resolve(self, c: Resolving) -> Relate | None:
        source = c.ref(self, "source")
        target = c.ref(self, "target", creating=self.INVENTS["target"], at=c.where_of(source))
        if source and target:
            return self.model_copy(update={"source": source, "target": target})
        return None

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.relate(self.source, self.relation, self.target)

    def stirs(self, paid: frozenset[str]) -> float:
        return 0.2 if self.relation in HOSTILE_RELATIONS else 0.0

    def summary(self, n: Namer) -> str:
        return f"{n(self.source)} {words(self.relation)} {n(self.target)}"

    def told(self, n: Namer, kind: Kinder) -> str:
        return self.summary(n).replace("  ", " ")

    def sentence(self, n: Namer) -> str:
        return f"{n(self.source)} now {words(self.relation)} {n(self.target)}."
