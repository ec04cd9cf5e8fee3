"""``kill``: a character dies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from simengine.world.ops.base import Kinder, Namer, OpBase, Ref

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class Kill(OpBase):
    op: Literal["kill"] = "kill"
    entity: Ref
    cause: str = Field("", max_length=200)

    ORDER = 90
    REFS = {"entity": ("character",)}
    SUBJECT = "entity"
    VERB = "kill"
    DEAD_CANNOT = "die again"
    AIM = "entity"
    PROMPT = '- {"op": "kill", "entity": "<character>", "cause": "<text>"}: someone dies'

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.kill(self.entity, self.cause)

    def stirs(self, paid: frozenset[str]) -> float:
        return 1.0

    def deadly(self) -> bool:
        return True

    def summary(self, n: Namer) -> str:
        return f"{n(self.entity)} dies" + (f" ({self.cause})" if self.cause else "")

    def told(self, n: Namer, kind: Kinder) -> str:
        return self.summary(n)

    def sentence(self, n: Namer) -> str:
        return f"{n(self.entity)} dies."
