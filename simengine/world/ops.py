"""Wire format v1: proposals and the typed ops they carry.

A storyteller returns a :class:`Proposal`; the engine resolves its names, checks
it against the rules and only then applies it. The committed form of an event
stores the resolved ops (every reference an id, every ``create`` with its id),
so a save replays from its ops alone.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, TypeAdapter

from simengine.world.spec import AttrValue, BoundedInt, FiniteFloat, Kind, Strict

WIRE_VERSION = 1

#: A reference: an entity id, or a name for canon to resolve.
Ref = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Amount = BoundedInt | FiniteFloat


class NewEntity(Strict):
    """What a ``create`` op brings into the world."""

    id: str | None = None
    kind: Kind
    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=1000)
    at: Ref | None = None
    attributes: dict[str, AttrValue] = Field(default_factory=dict, max_length=32)


class Move(Strict):
    op: Literal["move"] = "move"
    entity: Ref
    to: Ref


class Transfer(Strict):
    op: Literal["transfer"] = "transfer"
    item: Ref
    to: Ref


class Adjust(Strict):
    op: Literal["adjust"] = "adjust"
    entity: Ref
    attribute: Ref
    by: Amount


class SetAttr(Strict):
    op: Literal["set"] = "set"
    entity: Ref
    attribute: Ref
    value: AttrValue


class Relate(Strict):
    op: Literal["relate"] = "relate"
    source: Ref
    relation: Ref
    target: Ref


class Unrelate(Strict):
    op: Literal["unrelate"] = "unrelate"
    source: Ref
    relation: Ref
    target: Ref


class Connect(Strict):
    op: Literal["connect"] = "connect"
    source: Ref
    target: Ref


class Create(Strict):
    op: Literal["create"] = "create"
    entity: NewEntity


class Kill(Strict):
    op: Literal["kill"] = "kill"
    entity: Ref
    cause: str = Field("", max_length=200)


class Tell(Strict):
    op: Literal["tell"] = "tell"
    entity: Ref
    to: Ref
    fact: Ref


class Learn(Strict):
    op: Literal["learn"] = "learn"
    entity: Ref
    fact: Ref
    item: Ref | None = None


class Fact(Strict):
    op: Literal["fact"] = "fact"
    id: Ref
    text: str = Field(min_length=1, max_length=1000)
    entity: Ref | None = None
    secret: bool = False


Op = Annotated[
    Move | Transfer | Adjust | SetAttr | Relate | Unrelate | Connect | Create | Kill
    | Tell | Learn | Fact,
    Field(discriminator="op"),
]
OP_TYPES: tuple[type[Strict], ...] = (
    Move, Transfer, Adjust, SetAttr, Relate, Unrelate, Connect, Create, Kill, Tell, Learn, Fact,
)
OP_NAMES: tuple[str, ...] = tuple(t.model_fields["op"].default for t in OP_TYPES)

#: For each op, the fields that hold entity references (``create`` refers through ``at``).
REFERENCE_FIELDS: dict[str, tuple[str, ...]] = {
    "move": ("entity", "to"),
    "transfer": ("item", "to"),
    "adjust": ("entity",),
    "set": ("entity",),
    "relate": ("source", "target"),
    "unrelate": ("source", "target"),
    "connect": ("source", "target"),
    "create": (),
    "kill": ("entity",),
    "tell": ("entity", "to", "fact"),
    "learn": ("entity", "fact", "item"),
    "fact": ("entity",),
}


class Proposal(Strict):
    """What a storyteller proposes for one beat."""

    actor: Ref | None = None
    summary: str = Field("", max_length=400)
    ops: list[Op] = Field(default_factory=list, max_length=24)


OpList = TypeAdapter(list[Op])


def op_label(index: int, op: object) -> str:
    """``op 2 (move)``: how violations name the op they are about."""
    return f"op {index} ({getattr(op, 'op', '?')})"


def references(op: Op) -> list[tuple[str, str]]:
    """(field, value) pairs of the entity references an op makes."""
    refs = [(f, getattr(op, f)) for f in REFERENCE_FIELDS[op.op] if getattr(op, f) is not None]
    if isinstance(op, Create) and op.entity.at:
        refs.append(("entity.at", op.entity.at))
    return refs
