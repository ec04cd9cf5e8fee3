"""``fact``: a new fact (a rumour, a discovery), or new text for a fact or lore entry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from simengine.world.ops.base import KnowledgeOp, Namer, Ref, Resolving
from simengine.world.text import slugify

if TYPE_CHECKING:
    from simengine.world.state import WorldState


class Fact(KnowledgeOp):
    op: Literal["fact"] = "fact"
    #: A new slug, or the id of the fact whose text changes.
    id: Ref
    text: str = Field(min_length=1, max_length=1000)
    #: Who knows a new fact (its inventor); a world beat's may be known by nobody yet.
    entity: Ref | None = None
    secret: bool = False

    ORDER = 120
    REFS = {"entity": ("character",)}
    SUBJECT = None
    AIM = "id"
    PROMPT = ('- {"op": "fact", "id": "<new-id>", "text": "<rumour or discovery>", '
              '"entity": "<who knows it>"}')

    def references(self) -> list[tuple[str, str]]:
        return [(f, v) for f, v in super().references() if v is not None]

    def resolve(self, c: Resolving) -> Fact | None:
        update: dict[str, str] = {}
        if self.entity is not None:
            who = c.ref(self, "entity")
            if who is None:
                return None
            update["entity"] = who
        # A fact by its very id gets new text; any other id is a new fact's, as a slug
        # (a near miss of an old id must not rewrite it).
        known, _ = c.lookup(self.id, ("fact",))
        if known != self.id:
            update["id"] = slugify(self.id, "rumour")
        return self.model_copy(update=update)

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.put_fact(self.id, self.text, knower=self.entity, secret=self.secret,
                       event_id=event_id)

    def summary(self, n: Namer) -> str:
        who = f"{n(self.entity)} knows" if self.entity else "It is known"
        return f'{who}: "{self.text}"'
