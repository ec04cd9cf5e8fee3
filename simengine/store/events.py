"""The records a save keeps: committed events and the model calls behind them.

A model call is :class:`~simengine.world.calls.Call`, the record storytellers make.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simengine.store.errors import BadEvent, SaveCorrupt
from simengine.world.calls import Call
from simengine.world.ops import Op, OpList

EventKind = Literal["player", "npc", "world"]
EVENT_KINDS: tuple[str, ...] = ("player", "npc", "world")

#: The event fields exports carry, in order (wire format v1).
WIRE_FIELDS = (
    "id",
    "parent_id",
    "tick",
    "actor",
    "kind",
    "intent",
    "summary",
    "ops",
    "narration",
    "storyteller",
)


def now() -> str:
    """The current UTC time as the save writes it (ISO 8601, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Event(BaseModel):
    """One committed beat: a node of the save's event tree.

    ``parent_id`` is None for an event that follows the initial state directly;
    ``depth`` counts events from the initial state (a root event has depth 1).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    parent_id: int | None = None
    depth: int = Field(ge=1)
    tick: int
    actor: str | None = None
    kind: EventKind
    intent: str = ""
    summary: str = ""
    ops: list[Op] = Field(default_factory=list)
    narration: str = ""
    storyteller: str = ""
    created_at: str

    def wire(self) -> dict[str, Any]:
        """The event as exports carry it: wire-format ops, no storage details."""
        data = self.model_dump(mode="json", include=set(WIRE_FIELDS))
        return {name: data[name] for name in WIRE_FIELDS}


def to_json(value: Any) -> str:
    """JSON text for a column; violations and other records are turned into plain data."""
    return json.dumps(value, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def parse_ops(ops: Iterable[Any]) -> list[Op]:
    """Ops given as models or wire-format dicts, validated.

    Raises:
        BadEvent: an op is not valid wire format v1.
    """
    items = [op.model_dump() if isinstance(op, BaseModel) else op for op in ops]
    try:
        return OpList.validate_python(items)
    except ValidationError as err:
        raise BadEvent(f"the event's ops are not valid wire format v1: {err}") from err


def ops_json(ops: Iterable[Op]) -> str:
    """The ``ops`` column: a JSON array of wire-format ops."""
    return to_json([op.model_dump(mode="json") for op in ops])


def call_row(call: Any, event_id: int | None) -> dict[str, Any]:
    """A ``calls`` row from a :class:`Call` (or a dict of its fields).

    Raises:
        BadEvent: unknown keys or a wrong phase (caught before anything is written).
    """
    if isinstance(call, Call):
        record = call
    else:
        if not isinstance(call, Mapping):
            raise BadEvent(f"a call record must be a Call or a dict, got {type(call).__name__}")
        try:
            record = Call.model_validate(dict(call))
        except ValidationError as err:
            raise BadEvent(f"a call record is invalid: {err}") from err
    return {
        "event_id": event_id,
        "storyteller": record.storyteller,
        "model": record.model,
        "phase": record.phase,
        "request": to_json(record.request),
        "response": to_json(record.response),
        "accepted": None if record.accepted is None else int(record.accepted),
        "violations": to_json(record.violations),
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "latency_ms": record.latency_ms,
        "error": record.error,
        "created_at": now(),
    }


def call_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``calls`` row with its JSON columns decoded and ``accepted`` a bool again."""
    out = dict(row)
    for key in ("request", "response", "violations"):
        if out.get(key) is not None:
            out[key] = json.loads(out[key])
    if out.get("accepted") is not None:
        out["accepted"] = bool(out["accepted"])
    return out


def event_from_row(row: Mapping[str, Any], path: Path | str) -> Event:
    """An :class:`Event` from an ``events`` row (extra columns of a query are ignored).

    Raises:
        SaveCorrupt: the row's ops or fields do not parse.
    """
    try:
        data = {name: row[name] for name in Event.model_fields if name != "ops"}
        data["ops"] = OpList.validate_python(json.loads(row["ops"]))
        return Event.model_validate(data)
    except (ValidationError, ValueError, KeyError, TypeError) as err:
        raise SaveCorrupt(
            f"event #{row.get('id')} in {path} cannot be read ({err}); the save is damaged.",
            path,
        ) from err
