"""``create``: something new comes into the world (its id given by canon)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from simengine.world.ops.base import Kinder, Namer, NewEntity, OpBase, Resolving

if TYPE_CHECKING:
    from simengine.world.state import WorldState

#: What a newcomer's ``at`` may name, by its kind (a faction has no place).
AT_KINDS: dict[str, tuple[str, ...]] = {
    "character": ("location",),
    "item": ("location", "character", "item"),
    "location": ("location",),
    "faction": (),
}
#: How each kind of newcomer turns up, in an event line.
_ARRIVES = {"character": "arrives", "location": "is discovered", "item": "turns up",
            "faction": "forms"}


class Create(OpBase):
    op: Literal["create"] = "create"
    entity: NewEntity

    ORDER = 80
    PROMPT = ('- {"op": "create", "entity": {"kind": "character|location|item|faction", '
              '"name": "<name>", "description": "<text>", "at": "<id>"}}: something new')

    def references(self) -> list[tuple[str, str]]:
        return [("entity.at", self.entity.at)] if self.entity.at else []

    def kinds_of(self, field: str) -> tuple[str, ...]:
        return AT_KINDS[self.entity.kind]

    def brings(self) -> NewEntity:
        return self.entity

    def placed(self) -> tuple[str, str | None] | None:
        if self.entity.kind == "location" or not self.entity.id:
            return None
        return self.entity.id, self.entity.at

    def aim(self) -> str | None:
        return self.entity.at

    def resolve(self, c: Resolving) -> Create | None:
        e = self.entity
        at = e.at
        if at is not None:
            # (a faction has no place: the rules refuse it, once its name resolves)
            kinds = AT_KINDS[e.kind] or AT_KINDS["item"]
            at, candidates = c.lookup(at, kinds)
            if at is None:
                c.fail(self, f"'{e.at}' is not a known {' or '.join(kinds)}", candidates)
                return None
        # Facts by id or name; one canon cannot place is left for ``know.newcomer`` to name.
        knows = list(dict.fromkeys(c.lookup(f, ("fact",))[0] or f for f in e.knows))
        return Create(entity=c.adopt(e.model_copy(update={"at": at, "knows": knows})))

    def apply(self, state: WorldState, event_id: object = None) -> None:
        state.add_entity(self.entity, event_id)

    def stirs(self, paid: frozenset[str]) -> float:
        return 0.2 if self.entity.kind == "character" else 0.0

    def summary(self, n: Namer) -> str:
        return f"{self.entity.name} {_ARRIVES[self.entity.kind]}"

    def told(self, n: Namer, kind: Kinder) -> str:
        e = self.entity
        where = f" at {n(e.at)}" if e.at else ""
        desc = f": {e.description}" if e.description else ""
        return f"a new {e.kind} appears{where}, {e.name}{desc}"

    def sentence(self, n: Namer) -> str:
        return f"{n(self.entity.id or '')} comes into the story."
