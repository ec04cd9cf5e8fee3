"""The narration check, measured: drift injected into the fake's prose, found or missed.

In noisy mode the fake Ollama slips one sentence that did not happen into a share
of its narrations (:data:`~simengine.eval.replies.DRIFT_KINDS`) and tags the reply
in its log. The session marks every narrate call its drift check stopped
(``accepted = False`` in the save's ``calls``). Joining the two, by a digest of the
request as :mod:`simengine.sim.evaluate` joins decide calls, gives the check's
recall on each kind, and its false alarms: clean prose it stopped all the same.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simengine.eval.adversary import FakeOllama
from simengine.eval.replies import DRIFT_KINDS
from simengine.store import Save


@dataclass
class DriftTally:
    """What the narration check made of the fake's prose, over one run or all."""

    injected: Counter = field(default_factory=Counter)  # by drift kind
    caught: Counter = field(default_factory=Counter)
    clean: int = 0  # narrations the fake told straight
    false_alarms: int = 0  # ... that the check stopped all the same
    outcomes: Counter = field(default_factory=Counter)  # retold / procedural

    def add(self, other: DriftTally) -> None:
        for name in ("injected", "caught", "outcomes"):
            getattr(self, name).update(getattr(other, name))
        self.clean += other.clean
        self.false_alarms += other.false_alarms

    def to_dict(self) -> dict[str, Any]:
        def share(n: int, d: int) -> float | None:
            return round(n / d, 4) if d else None

        kinds = {kind: {"injected": self.injected[kind], "caught": self.caught[kind],
                        "missed": self.injected[kind] - self.caught[kind],
                        "recall": share(self.caught[kind], self.injected[kind])}
                 for kind in DRIFT_KINDS if self.injected[kind]}
        return {"kinds": kinds, "clean": self.clean, "false_alarms": self.false_alarms,
                "false_alarm_rate": share(self.false_alarms, self.clean),
                "retold": self.outcomes["retold"], "procedural": self.outcomes["procedural"]}


def narrates(rates: Mapping[str, float]) -> bool:
    """Does a run with these rates need narration (some drift is injected)?"""
    return any(rates.get(kind, 0.0) > 0 for kind in DRIFT_KINDS)


def tally_drift(save: Save, teller: str, fake: FakeOllama,
                digest: Callable[[Any, Any], str]) -> DriftTally:
    """Join the save's narrate calls by ``teller`` with the fake's narrate replies."""
    replies: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
    for entry in list(fake.log):
        body = entry.get("body") or {}
        if entry["path"] == "/api/chat" and not body.get("format") and body.get("messages"):
            replies[digest(body["messages"], body.get("options"))].append(entry)
    t = DriftTally()
    for call in save.calls():
        if call["phase"] != "narrate" or call["storyteller"] != teller or call.get("error"):
            continue
        request = call["request"] if isinstance(call["request"], Mapping) else {}
        queue = replies.get(digest(request.get("messages"), request.get("options")))
        entry = queue.popleft() if queue else None
        if entry is None:
            continue
        stopped = call.get("accepted") is False
        kind = entry.get("injected")
        if kind in DRIFT_KINDS:
            t.injected[kind] += 1
            t.caught[kind] += stopped
        else:
            t.clean += 1
            t.false_alarms += stopped
    t.outcomes.update(d["outcome"] for d in save.drifts())
    return t
