"""``adjust``: a number attribute changes by an amount."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from simengine.world.ops.base import ANY, Amount, Kinder, Namer, OpBase, Ref, words
from simengine.world.text import number

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class Adjust(OpBase):
    op: Literal["adjust"] = "adjust"
    entity: Ref
    attribute: Ref
    by: Amount

    ORDER = 30
    REFS = {"entity": ANY}
    SUBJECT = "entity"
    VERB = "change"
    DEAD_CANNOT = "change"
    AIM = "entity"
    PROMPT = ('- {"op": "adjust", "entity": "<id>", "attribute": "<name>", "by": <number>}: '
              "add to a number (negative to take away)")

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.add_to(self.entity, self.attribute, self.by)

    def stirs(self, paid: frozenset[str]) -> float:
        # a wound, an illness, a blow to the mood; not money changing hands
        return 0.25 if self.by < 0 and self.attribute not in paid else 0.0

    def summary(self, n: Namer) -> str:
        sign = "gains" if self.by > 0 else "loses"
        return f"{n(self.entity)} {sign} {abs(self.by):g} {words(self.attribute)}"

    def told(self, n: Namer, kind: Kinder) -> str:
        return f"{n(self.entity)}'s {self.attribute} changes by {self.by:+g}"

    def sentence(self, n: Namer) -> str:
        word = "rises" if self.by > 0 else "falls"
        return (f"The {words(self.attribute)} of {n(self.entity)} {word} by "
                f"{number(abs(self.by))}.")
