"""What a session counts: the numbers behind a run's report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from simengine.sim.decide import Decision
from simengine.world.calls import Call


@dataclass
class Metrics:
    """Counters for one session (or, added up, for a batch)."""

    ticks: int = 0
    events: Counter = field(default_factory=Counter)  # by kind: player, npc, world
    ops_accepted: int = 0
    ops_rejected: Counter = field(default_factory=Counter)  # every violation met, by rule id
    ops_dropped: int = 0  # ops still failing after the repairs, left out of the commit
    proposals: int = 0
    valid_first_try: int = 0
    repairs_tried: int = 0
    repairs_succeeded: int = 0
    inventions: int = 0
    fallbacks: Counter = field(default_factory=Counter)  # by reason
    calls: Counter = field(default_factory=Counter)  # by phase
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    engine_seconds: float = 0.0

    def count_decision(self, d: Decision, kind: str) -> None:
        self.events[kind] += 1
        self.proposals += 1
        first = d.attempts[0] if d.attempts else None
        if first and not first.violations and not first.error:
            self.valid_first_try += 1
        self.ops_accepted += len(d.proposal.ops)
        for attempt in d.attempts:
            for v in attempt.violations:
                self.ops_rejected[v.rule] += 1
        self.ops_dropped += d.dropped
        self.repairs_tried += d.repairs_tried
        self.repairs_succeeded += int(d.repaired)
        self.inventions += len(d.invented)
        if d.fallback_reason:
            self.fallbacks[_short(d.fallback_reason)] += 1
        self.count_calls(d.calls)

    def count_calls(self, calls: list[Call]) -> None:
        for c in calls:
            self.calls[c.phase] += 1
            self.prompt_tokens += c.prompt_tokens or 0
            self.completion_tokens += c.completion_tokens or 0
            self.model_seconds += c.model_seconds

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Counter):
                value = dict(sorted(value.items()))
            elif isinstance(value, float):
                value = round(value, 4)
            data[f.name] = value
        data["events_total"] = sum(self.events.values())
        data["ops_rejected_total"] = sum(self.ops_rejected.values())
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Metrics:
        m = cls()
        for key, value in (data or {}).items():
            if not hasattr(m, key):
                continue
            current = getattr(m, key)
            setattr(m, key, Counter(value) if isinstance(current, Counter) else value)
        return m

    def __add__(self, other: Metrics) -> Metrics:
        out = Metrics()
        for f in fields(self):
            setattr(out, f.name, getattr(self, f.name) + getattr(other, f.name))
        return out


def _short(reason: str) -> str:
    """Fallback reasons, trimmed so counts by reason stay readable."""
    return reason.strip()[:100]
