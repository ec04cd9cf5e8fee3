"""``connect``: a new passage between two places."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from simengine.world.ops.base import Kinder, Namer, OpBase, Ref, Resolving

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class Connect(OpBase):
    op: Literal["connect"] = "connect"
    source: Ref
    target: Ref

    ORDER = 70
    REFS = {"source": ("location",), "target": ("location",)}
    INVENTS = {"target": "location"}  # a passage to somewhere new
    AIM = "target"
    PROMPT = '- {"op": "connect", "source": "<place>", "target": "<place>"}: a new passage'

    def resolve(self, c: Resolving) -> Connect | None:
        source = c.ref(self, "source")
        if c.lookup(self.target, self.REFS["target"])[0] is None:
            c.refund()  # a new place opening off the source: its create is the invention
        target = c.ref(self, "target", creating=self.INVENTS["target"], at=source)
        if source and target and not c.made(target):
            return Connect(source=source, target=target)
        return None

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.connect(self.source, self.target)

    def summary(self, n: Namer) -> str:
        return f"a way opens between {n(self.source)} and {n(self.target)}"

    def told(self, n: Namer, kind: Kinder) -> str:
        return f"a way now leads between {n(self.source)} and {n(self.target)}"

    def sentence(self, n: Namer) -> str:
        return f"A way opens between {n(self.source)} and {n(self.target)}."
