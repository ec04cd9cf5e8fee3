"""Wire format v1: proposals and the typed ops they carry.

A storyteller returns a :class:`Proposal`; the engine resolves its names, checks
it against the rules and only then applies it. The committed form of an event
stores the resolved ops (every reference an id, every ``create`` with its id),
so a save replays from its ops alone.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from simengine.world.spec import AttrValue, Kind, Strict

WIRE_VERSION = 1


class NewEntity(Strict):
    """What a ``create`` op brings into the world."""

    id: str | None = None
    kind: Kind
    name: str = Field(min_length=1, max_length=80)
    description: str = ""
    at: str | None = None
    attributes: dict[str, AttrValue] = Field(default_factory=dict)


class Move(Strict):
    op: Literal["move"] = "move"
    entity: str
    to: str


class Transfer(Strict):
    op: Literal["transfer"] = "transfer"
    item: str
    to: str


class Adjust(Strict):
    op: Literal["adjust"] = "adjust"
    entity: str
    attribute: str
    by: int | float


class SetAttr(Strict):
    op: Literal["set"] = "set"
    entity: str
    attribute: str
    value: AttrValue


class Relate(Strict):
    op: Literal["relate"] = "relate"
    source: str
    relation: str
    target: str


class Unrelate(Strict):
    op: Literal["unrelate"] = "unrelate"
    source: str
    relation: str
    target: str


class Connect(Strict):
    op: Literal["connect"] = "connect"
    source: str
    target: str


class Create(Strict):
    op: Literal["create"] = "create"
    entity: NewEntity


class Kill(Strict):
    op: Literal["kill"] = "kill"
    entity: str
    cause: str = ""


Op = Annotated[
    Move | Transfer | Adjust | SetAttr | Relate | Unrelate | Connect | Create | Kill,
    Field(discriminator="op"),
]
OP_TYPES: tuple[type[Strict], ...] = (
    Move, Transfer, Adjust, SetAttr, Relate, Unrelate, Connect, Create, Kill,
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
}


class Proposal(Strict):
    """What a storyteller proposes for one beat."""

    actor: str | None = None
    summary: str = Field("", max_length=400)
    ops: list[Op] = Field(default_factory=list, max_length=24)


OpList = TypeAdapter(list[Op])


def op_label(index: int, op: object) -> str:
    """``op 2 (move)``: how violations name the op they are about."""
    return f"op {index} ({getattr(op, 'op', '?')})"


def references(op: Op) -> list[tuple[str, str]]:
    """(field, value) pairs of the entity references an op makes."""
    refs = [(f, getattr(op, f)) for f in REFERENCE_FIELDS[op.op]]
    if isinstance(op, Create) and op.entity.at:
        refs.append(("entity.at", op.entity.at))
    return refs
