"""Wire format v1: proposals and the typed ops they carry.

A storyteller returns a :class:`Proposal`; the engine resolves its names, checks
it against the rules and only then applies it. The committed form of an event
stores the resolved ops (every reference an id, every ``create`` with its id),
so a save replays from its ops alone.

Each op kind is one module of this package: a subclass of
:class:`~simengine.world.ops.base.OpBase` that carries everything the layers
above need (its fields and the kinds each reference may name, what canon may
invent for an unknown name, how it applies to the state, its prompt line, its
summary and narration lines, its JSON schema, what it touches). Every layer asks
the op; none keeps a table of op kinds.

Adding an op (``tell``, say) touches two files:

1. ``simengine/world/ops/tell.py`` with ``class Tell(OpBase)``: ``op: Literal["tell"] =
   "tell"``, its fields, ``ORDER`` (after the others: 100, 110 ...), ``REFS`` for each
   reference field, ``PROMPT`` (the line a model learns it from), and ``apply``,
   ``summary``, ``told``, ``sentence``. Set ``INVENTS``/``SUBJECT``/``VERB``/``AIM``/
   ``DEAD_CANNOT`` and override ``resolve``/``placed``/``brings``/``kinds_of`` only when
   the defaults do not fit. If ``apply`` needs a new kind of change to the graph, give
   ``WorldState`` a mutator for it (the state owns its graph), and the rules' overlay
   (``world/rules/view.py``) the same mutator (it does nothing if no rule reads it),
   since checking applies each passing op to that overlay.
2. ``tests/world/test_op_tell.py``: its wire form, apply, lines.

Every module here (``base`` excepted) is collected when the package is imported, and
its class is importable from the package, so the op joins the wire union, the prompt's
op list, the model's JSON schema, canon, the rules' reference checks and ``forbid`` in
world files; the dead, if its ``SUBJECT`` has ``DEAD_CANNOT``. A rule that checks more is
one record in the rule registry (``world/rules/``) that names ``"tell"`` in its ``applies_to``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field, TypeAdapter

from simengine.world.ops.adjust import Adjust
from simengine.world.ops.base import (
    ANY,
    WIRE_VERSION,
    Amount,
    NewEntity,
    OpBase,
    Ref,
)
from simengine.world.ops.connect import Connect
from simengine.world.ops.create import Create
from simengine.world.ops.kill import Kill
from simengine.world.ops.move import Move
from simengine.world.ops.relate import Relate
from simengine.world.ops.set_attr import SetAttr
from simengine.world.ops.transfer import Transfer
from simengine.world.ops.unrelate import Unrelate
from simengine.world.spec import Strict

if TYPE_CHECKING:
    from simengine.world.state import WorldState


def _collect() -> tuple[type[OpBase], ...]:
    """Every op class defined in a module of this package, in ``ORDER``."""
    found: dict[str, type[OpBase]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (inspect.isclass(obj) and issubclass(obj, OpBase) and obj is not OpBase
                    and obj.__module__ == module.__name__):
                name = obj.wire_name()
                if name in found:
                    raise TypeError(f"two op classes say op = {name!r}")
                found[name] = obj
    return tuple(sorted(found.values(), key=lambda t: (t.ORDER, t.wire_name())))


#: Every op kind, in the order prompts and messages list them.
OP_TYPES: tuple[type[OpBase], ...] = _collect()
OP_NAMES: tuple[str, ...] = tuple(t.wire_name() for t in OP_TYPES)
OP_CLASSES: dict[str, type[OpBase]] = dict(zip(OP_NAMES, OP_TYPES, strict=True))

Op = Annotated[Union[OP_TYPES], Field(discriminator="op")]  # noqa: UP007 - built at runtime

#: For each op, the fields that hold entity references (``create`` refers through ``at``).
REFERENCE_FIELDS: dict[str, tuple[str, ...]] = {t.wire_name(): tuple(t.REFS) for t in OP_TYPES}


class Proposal(Strict):
    """What a storyteller proposes for one beat."""

    actor: Ref | None = None
    summary: str = Field("", max_length=400)
    ops: list[Op] = Field(default_factory=list, max_length=24)


OpList = TypeAdapter(list[Op])


def op_label(index: int, op: object) -> str:
    """``op 2 (move)``: how violations name the op they are about."""
    return f"op {index} ({getattr(op, 'op', '?')})"


def references(op: OpBase) -> list[tuple[str, str]]:
    """(field, value) pairs of the entity references an op makes."""
    return op.references()


def __getattr__(name: str) -> type[OpBase]:
    """``from simengine.world.ops import Tell`` for an op added after the ones above."""
    for t in OP_TYPES:
        if t.__name__ == name:
            return t
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def prompt_lines(state: WorldState | None = None) -> tuple[str, ...]:
    """The ops as the "How to propose" list teaches them, one line each (in ``state``'s world,
    those it teaches)."""
    return tuple(t.PROMPT for t in OP_TYPES if t.PROMPT and (state is None or t.taught(state)))


__all__ = [
    "ANY", "OP_CLASSES", "OP_NAMES", "OP_TYPES", "REFERENCE_FIELDS", "WIRE_VERSION",
    "Adjust", "Amount", "Connect", "Create", "Kill", "Move", "NewEntity", "Op", "OpBase",
    "OpList", "Proposal", "Ref", "Relate", "SetAttr", "Transfer", "Unrelate",
    "op_label", "prompt_lines", "references",
]
