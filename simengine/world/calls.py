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
    #: The server's own time for the call (Ollama's ``total_duration``), when it says:
    #: the wait a model causes, without the client's set-up, JSON work and HTTP.
    #: A run's metrics count it; the save keeps no column for it.
    model_ms: float | None = None

    @property
    def model_seconds(self) -> float:
        """Seconds the model took: the server's own figure, else the whole call's."""
        ms = self.model_ms if self.model_ms is not None else self.latency_ms
        return (ms or 0) / 1000
