"""``transfer``: an item passes to a character, a place or a container."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from simengine.world.ops.base import Kinder, Namer, OpBase, Ref, Resolving

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class Transfer(OpBase):
    op: Literal["transfer"] = "transfer"
    item: Ref
    to: Ref

    ORDER = 20
    REFS = {"item": ("item",), "to": ("character", "location", "item")}
    INVENTS = {"item": "item"}  # something is found
    AIM = "to"
    PROMPT = ('- {"op": "transfer", "item": "<item>", "to": "<character or place>"}: '
              "give, take, drop")

    def placed(self) -> tuple[str, str | None]:
        return self.item, self.to

    def carried(self) -> str:
        return self.item

    def resolve(self, c: Resolving) -> Transfer | None:
        to = c.ref(self, "to")
        if to is None:
            return None
        item_known, _ = c.lookup(self.item, self.REFS["item"])
        if item_known is None:
            # Something is found: it comes into being in the hands it lands in.
            c.ref(self, "item", creating=self.INVENTS["item"], at=to)
            return None
        return Transfer(item=item_known, to=to)

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.put(self.item, self.to)

    def summary(self, n: Namer) -> str:
        return f"{n(self.item)} passes to {n(self.to)}"

    def told(self, n: Namer, kind: Kinder) -> str:
        if kind(self.to) == "location":
            return f"{n(self.item)} is left at {n(self.to)}"
        return f"{n(self.to)} now has {n(self.item)}"

    def sentence(self, n: Namer) -> str:
        return f"{n(self.item)} ends up with {n(self.to)}."
