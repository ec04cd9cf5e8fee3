"""One model call, as storytellers record it and the save's ``calls`` table keeps it.

Storytellers make these (``drain_calls``), the decide loop marks whether the
proposal passed, and the save writes them as they are: one record type for
every layer, so a field added here reaches the save and every storyteller.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Phase = Literal["decide", "narrate", "repair"]


class Call(BaseModel):
    """One model call: who asked what, what came back, and what the rules made of it."""

    model_config = ConfigDict(extra="forbid")

    storyteller: str = ""
    model: str | None = None
    phase: Phase
    request: Any = None
    response: Any = None
    accepted: bool | None = None
    violations: list[Any] = Field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float | None = None
    error: str | None = None
