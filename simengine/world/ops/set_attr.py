"""``set``: an attribute takes a new value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from simengine.world.ops.base import ANY, Kinder, Namer, OpBase, Ref, words
from simengine.world.spec import AttrValue

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class SetAttr(OpBase):
    op: Literal["set"] = "set"
    entity: Ref
    attribute: Ref
    value: AttrValue

    ORDER = 40
    REFS = {"entity": ANY}
    SUBJECT = "entity"
    VERB = "change"
    DEAD_CANNOT = "change"
    AIM = "entity"
    PROMPT = ('- {"op": "set", "entity": "<id>", "attribute": "<name>", '
              '"value": <text or true/false>}')

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.set_attribute(self.entity, self.attribute, self.value)

    def summary(self, n: Namer) -> str:
        return f"{n(self.entity)}'s {words(self.attribute)} becomes {self.value}"

    def told(self, n: Namer, kind: Kinder) -> str:
        return f"{n(self.entity)}'s {self.attribute} becomes {self.value}"

    def sentence(self, n: Namer) -> str:
        return f"The {words(self.attribute)} of {n(self.entity)} is now {self.value}."
