"""``unrelate``: a relation between two entities ends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from simengine.world.ops.base import ANY, WARM_RELATIONS, Kinder, Namer, OpBase, Ref, words

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class Unrelate(OpBase):
    op: Literal["unrelate"] = "unrelate"
    source: Ref
    relation: Ref
    target: Ref

    ORDER = 60
    REFS = {"source": ANY, "target": ANY}
    SUBJECT = "source"
    VERB = "speak for"
    DEAD_CANNOT = "change their relations"
    AIM = "target"
    PROMPT = ""  # relate's line teaches it

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.unrelate(self.source, self.relation, self.target)

    def stirs(self, paid: frozenset[str]) -> float:
        return 0.1 if self.relation in WARM_RELATIONS else 0.0

    def summary(self, n: Namer) -> str:
        return f"{n(self.source)} no longer {words(self.relation)} {n(self.target)}"

    def told(self, n: Namer, kind: Kinder) -> str:
        return self.summary(n).replace("  ", " ")

    def sentence(self, n: Namer) -> str:
        return (f"{n(self.source)} is no longer bound to {n(self.target)} "
                f"({words(self.relation)}).")
