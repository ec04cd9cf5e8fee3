"""Measure the consistency layer against a model that lies at known rates.

``evaluate`` runs seeded sessions of a world against the fake Ollama
(:mod:`simengine.eval.adversary`) in noisy mode, started in this process on
127.0.0.1. The fake tags each reply in which it injected a contradiction; the
engine keeps, for each call, what its validator found. Joining the two gives the
validator's recall on every injected kind. The join key is a digest of the
request (its messages and sampling seed) taken from both sides, matched first
in, first out, so it holds even if two requests were ever identical.

Every committed event is then checked again, from the save alone, on the state
before it: a consistency layer that works commits no violation at all. The
narration check is measured beside it (:mod:`simengine.sim.evaluate_drift`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simengine.eval.adversary import FakeOllama
from simengine.eval.replies import DRIFT_KINDS, INJECTION_KINDS
from simengine.sim.batch import endings_report
from simengine.sim.decide import Decision
from simengine.sim.evaluate_drift import DriftTally, narrates, tally_drift
from simengine.sim.session import Committed, Session
from simengine.store import Save
from simengine.storytellers.ollama import OllamaStoryteller
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.world.loader import load_world
from simengine.world.ops import Proposal
from simengine.world.rules import Turn, check
from simengine.world.spec import WorldSpec

#: Noisy-mode rates used unless told otherwise (``invention`` and ``repair_success``
#: are not contradictions: welcome inventions, and how often a repair is done right).
DEFAULT_RATES: dict[str, float] = {
    "unknown_name": 0.06, "dead_actor": 0.06, "unbalanced_currency": 0.06, "teleport": 0.06,
    "protected_change": 0.06, "invalid_json": 0.03, "schema_invalid": 0.03,
    "tell_unknown": 0.04, "tell_dead": 0.04, "tell_elsewhere": 0.04,
    "invention": 0.1, "repair_success": 0.8,
    "drift_name": 0.05, "drift_dead": 0.05, "drift_transfer": 0.05, "retell_success": 0.8,
}
#: The rule the validator must name for each injected contradiction (None: the
#: reply is not a proposal at all, and the parser must refuse it).
EXPECTED_RULE: dict[str, str | None] = {
    "unknown_name": "ref.unknown", "dead_actor": "dead.act",
    "unbalanced_currency": "currency.conserved", "teleport": "travel.adjacent",
    "protected_change": "attr.protected", "invalid_json": None, "schema_invalid": None,
    "tell_unknown": "know.unknown", "tell_dead": "dead.act", "tell_elsewhere": "know.absent",
}
RATE_KEYS = (*INJECTION_KINDS, "invention", "repair_success", *DRIFT_KINDS, "retell_success")


def parse_rates(text: str) -> dict[str, float]:
    """``kind=rate,kind=rate`` -> a dict, checked. Raises ValueError with the reason."""
    rates: dict[str, float] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        kind, sep, value = pair.partition("=")
        kind = kind.strip()
        if not sep:
            raise ValueError(f"'{pair}' is not kind=rate")
        if kind not in RATE_KEYS:
            raise ValueError(f"unknown kind '{kind}'; known: {', '.join(RATE_KEYS)}")
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"'{value.strip()}' is not a number (in '{pair}')") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rates are between 0 and 1, not {rate:g} (in '{pair}')")
        rates[kind] = rate
    return rates


def check_rates(rates: Mapping[str, float]) -> None:
    """Raise ValueError unless the injected kinds' rates (and the drift kinds') sum to at
    most 1."""
    for what, kinds in (("injected", INJECTION_KINDS), ("drift", DRIFT_KINDS)):
        total = sum(rates.get(k, 0.0) for k in kinds)
        if total > 1.0 + 1e-9:
            raise ValueError(f"the {what} kinds' rates sum to {total:g}; at most 1")


def request_digest(messages: Any, options: Mapping[str, Any] | None) -> str:
    """What identifies one model request on both sides of the wire."""
    parts = [[str(m.get("role")), str(m.get("content"))] for m in messages or []]
    seed = (options or {}).get("seed")
    return hashlib.sha256(json.dumps([parts, seed]).encode()).hexdigest()


@dataclass
class KindTally:
    """What became of the replies carrying one injected kind."""

    injected: int = 0
    caught_by_rule: int = 0  # the validator named the expected rule (or the parser refused)
    caught_otherwise: int = 0  # other rules fired: not committed as proposed
    missed: int = 0

    @property
    def recall(self) -> float | None:
        caught = self.caught_by_rule + self.caught_otherwise
        return caught / self.injected if self.injected else None


@dataclass
class Tally:
    """Counts over one run or, added up, over all."""

    ticks: int = 0
    beats: int = 0
    valid_first_try: int = 0
    model_proposals: int = 0
    calls: Counter = field(default_factory=Counter)
    violations: Counter = field(default_factory=Counter)  # every violation met, by rule
    rejected: Counter = field(default_factory=Counter)  # ops dropped in the end, by rule
    repairs_needed: int = 0
    repaired_after_1: int = 0
    repaired_after_2: int = 0
    inventions: int = 0
    fallbacks: Counter = field(default_factory=Counter)
    committed_violations: list[str] = field(default_factory=list)
    replay_matches: bool = True
    kinds: dict[str, KindTally] = field(default_factory=lambda: defaultdict(KindTally))
    joined: int = 0
    unjoined: int = 0
    #: The ending one run reached (id, kind, tick), or None; not added up.
    ending: dict[str, Any] | None = None
    drift: DriftTally = field(default_factory=DriftTally)

    def add(self, other: Tally) -> None:
        for name in ("ticks", "beats", "valid_first_try", "model_proposals", "repairs_needed",
                     "repaired_after_1", "repaired_after_2", "inventions", "joined", "unjoined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("calls", "violations", "rejected", "fallbacks"):
            getattr(self, name).update(getattr(other, name))
        self.committed_violations += other.committed_violations
        self.drift.add(other.drift)
        self.replay_matches = self.replay_matches and other.replay_matches
        for kind, t in other.kinds.items():
            mine = self.kinds[kind]
            for name in ("injected", "caught_by_rule", "caught_otherwise", "missed"):
                setattr(mine, name, getattr(mine, name) + getattr(t, name))

    def to_dict(self) -> dict[str, Any]:
        def share(n: int, d: int) -> float | None:
            return round(n / d, 4) if d else None

        recall = {
            kind: {"injected": t.injected, "caught_by_rule": t.caught_by_rule,
                   "caught_otherwise": t.caught_otherwise, "missed": t.missed,
                   "expected_rule": EXPECTED_RULE.get(kind) or "parse",
                   "recall": None if t.recall is None else round(t.recall, 4)}
            for kind, t in sorted(self.kinds.items())
        }
        return {
            "ticks": self.ticks, "proposals": self.beats,
            "valid_first_try": self.valid_first_try,
            "valid_first_try_share": share(self.valid_first_try, self.beats),
            "model_proposals": self.model_proposals, "calls": dict(sorted(self.calls.items())),
            "violations_by_rule": dict(self.violations.most_common()),
            "rejected_by_rule": dict(self.rejected.most_common()),
            "repair": {"needed": self.repairs_needed, "after_1": self.repaired_after_1,
                       "after_2": self.repaired_after_2,
                       "rate_after_1": share(self.repaired_after_1, self.repairs_needed),
                       "rate_after_2": share(self.repaired_after_2, self.repairs_needed)},
            "inventions_canonized": self.inventions,
            "fallbacks": sum(self.fallbacks.values()),
            "fallback_reasons": dict(self.fallbacks.most_common()),
            "committed_violations": len(self.committed_violations),
            "committed_violation_details": self.committed_violations[:20],
            "replay_matches": self.replay_matches,
            "recall": recall,
            "join": {"matched": self.joined, "unmatched": self.unjoined},
            "narration_drift": self.drift.to_dict(),
        }


@dataclass
class EvalReport:
    """Every run's tally and their sum."""

    world: str
    runs: int
    ticks: int
    seed: int
    rates: dict[str, float]
    total: Tally
    per_run: list[Tally]
    wall_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"world": self.world, "runs": self.runs, "ticks": self.ticks, "seed": self.seed,
                "rates": self.rates, "wall_seconds": round(self.wall_seconds, 3),
                "total": self.total.to_dict(),
                "endings": endings_report([t.ending for t in self.per_run]),
                "per_run": [{**t.to_dict(), "ending": t.ending} for t in self.per_run]}


# ---------------------------------------------------------------- one run
def _entries(fake: FakeOllama) -> dict[str, deque[dict[str, Any]]]:
    """The fake's decide-type requests (they carry a schema), by request digest."""
    out: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
    for entry in list(fake.log):
        body = entry.get("body") or {}
        if entry["path"] == "/api/chat" and body.get("format") and body.get("messages"):
            out[request_digest(body["messages"], body.get("options"))].append(entry)
    return out


def tally_decision(decision: Decision, teller: str, entries: dict[str, deque], t: Tally) -> None:
    """Fold one committed beat into ``t``: attempts, repairs, and injected kinds caught."""
    t.beats += 1
    first = decision.attempts[0] if decision.attempts else None
    if first and not first.violations and not first.error:
        t.valid_first_try += 1
    for attempt in decision.attempts:
        t.violations.update(v.rule for v in attempt.violations)
    t.rejected.update(v.rule for v in decision.rejected)
    t.inventions += len(decision.invented)
    if decision.fallback_reason:
        t.fallbacks[decision.fallback_reason.strip()[:80]] += 1
    own = [a for a in decision.attempts if a.storyteller == teller]
    if own and own[0].proposal is not None and own[0].violations:
        t.repairs_needed += 1
        for n, a in enumerate(own[1:3], 1):
            if a.proposal is not None and not a.violations and not a.error:
                t.repaired_after_1 += n == 1
                t.repaired_after_2 += 1
                break
    # A proposal the parser accepted is the one error-free call of its attempt, so
    # error-free calls and attempts with a proposal pair up in order.
    parsed = iter([a for a in own if a.proposal is not None])
    for call in decision.calls:
        t.calls[call.phase] += 1
        if call.storyteller != teller or call.phase == "narrate":
            continue
        request = call.request if isinstance(call.request, Mapping) else {}
        queue = entries.get(request_digest(request.get("messages"), request.get("options")))
        entry = queue.popleft() if queue else None
        t.joined += entry is not None
        t.unjoined += entry is None
        refused = bool(call.error and call.error.startswith("invalid reply"))
        attempt = None
        if call.error is None:
            attempt = next(parsed, None)
            t.model_proposals += 1
        kind = entry.get("injected") if entry else None
        if kind is None or (call.error and not refused):
            continue  # nothing injected, or the exchange itself failed
        k = t.kinds[kind]
        k.injected += 1
        rules = {v.rule for v in attempt.violations} if attempt else set()
        expected = EXPECTED_RULE.get(kind)
        if (refused and expected is None) or (expected is not None and expected in rules):
            k.caught_by_rule += 1
        elif refused or rules:
            k.caught_otherwise += 1
        else:
            k.missed += 1


def committed_violations(save: Save) -> tuple[list[str], Any]:
    """Re-check every committed event on the state before it; (problems, final state)."""
    problems: list[str] = []
    state = save.initial_state()
    for e in save.log():
        actor = e.actor if e.kind != "world" else None
        for v in check(Proposal(actor=actor, ops=e.ops), state, Turn(e.kind, actor)):
            problems.append(f"event #{e.id} (tick {e.tick}): [{v.rule}] {v}")
        state.apply(e.ops, tick=e.tick, event_id=e.id)
    return problems, state


def run_one(spec: WorldSpec, path: Path, *, ticks: int, seed: int, rates: Mapping[str, float],
            retries: int = 2,
            on_tick: Callable[[int], None] | None = None) -> Tally:
    """One session of ``ticks`` ticks against a fresh noisy fake; its tally."""
    t = Tally()
    decisions: list[Decision] = []
    with FakeOllama(mode="noisy", seed=seed) as fake:
        fake.set_faults(dict(rates))
        fake.world_facts = [node for node, e in spec.fact_nodes() if e.known_by is not None]
        teller = OllamaStoryteller(host=fake.url, timeout=10, backoff=0.01)
        session = Session.new(spec, path, seed=seed, storyteller=teller,
                              fallback=ProceduralStoryteller(seed=seed),
                              narrate=narrates(rates), retries=retries)
        try:
            session.subscribe(lambda m: decisions.append(m.decision)
                              if isinstance(m, Committed) else None)

            async def go() -> None:
                for _ in range(ticks):
                    if session.ending is not None:
                        break  # the story ended: the run is over
                    await session.step()
                    if on_tick:
                        on_tick(session.tick)

            asyncio.run(go())
            t.ticks = session.tick
            if session.ending is not None:
                t.ending = {"id": session.ending.id, "kind": session.ending.kind,
                            "tick": session.tick}
            entries = _entries(fake)
            for decision in decisions:
                tally_decision(decision, teller.name, entries, t)
            t.committed_violations, replayed = committed_violations(session.save)
            t.replay_matches = replayed == session.state
            t.drift = tally_drift(session.save, teller.name, fake, request_digest)
        finally:
            session.close()
    return t


def evaluate(world: str | Path | WorldSpec, *, runs: int = 4, ticks: int = 30, seed: int = 0,
             rates: Mapping[str, float] | None = None, out: str | Path | None = None,
             retries: int = 2,
             on_progress: Callable[[int, int], None] | None = None) -> EvalReport:
    """Run ``runs`` seeded sessions of ``world`` against the noisy fake and add them up.

    Args:
        world: a world file or spec.
        runs: sessions to run (run i uses seed ``seed + i``).
        ticks: ticks per session.
        seed: the first run's seed.
        rates: noisy-mode rates; merged over :data:`DEFAULT_RATES`.
        out: keep each run's save here (default: a temporary directory, removed).
        retries: repair rounds per beat.
        on_progress: called with (run index, tick) after every tick.
    """
    import time

    spec = world if isinstance(world, WorldSpec) else load_world(world)
    merged = {**DEFAULT_RATES, **(rates or {})}
    check_rates(merged)
    total, per_run = Tally(), []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="simengine-eval-") as tmp:
        where = Path(out) if out else Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        for i in range(runs):
            path = where / f"{spec.world.id}-eval{i:03d}-seed{seed + i}.db"
            path.unlink(missing_ok=True)
            tick_cb = (lambda tick, i=i: on_progress(i, tick)) if on_progress else None
            t = run_one(spec, path, ticks=ticks, seed=seed + i, rates=merged, retries=retries,
                        on_tick=tick_cb)
            per_run.append(t)
            total.add(t)
    return EvalReport(spec.world.id, runs, ticks, seed, merged, total, per_run,
                      time.perf_counter() - started)
