"""The consistency evaluation: the fake lies at known rates, the engine must catch it all."""

from __future__ import annotations

from pathlib import Path

import pytest

from simengine.sim.decide import decide
from simengine.sim.evaluate import (
    DEFAULT_RATES,
    EXPECTED_RULE,
    check_rates,
    committed_violations,
    evaluate,
    parse_rates,
    run_one,
)
from simengine.store import Save
from simengine.storytellers.base import Intent
from simengine.storytellers.ollama import OllamaStoryteller
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.testing.fake_ollama import FakeOllama, Fault
from simengine.testing.fake_replies import INJECTION_KINDS
from simengine.testing.fixtures import simple_scene, tiny_state
from simengine.world.loader import load_world
from simengine.world.ops import Adjust, Move
from simengine.world.rules import Turn, check

HARBOUR = Path(__file__).parent.parent.parent / "worlds" / "harbour.toml"
LIES = {kind: 0.1 for kind in INJECTION_KINDS if kind not in ("invalid_json", "schema_invalid")}


def test_every_injected_contradiction_is_caught_and_none_is_committed(tmp_path):
    report = evaluate(HARBOUR, runs=2, ticks=10, seed=5,
                      rates={**LIES, "invalid_json": 0.05, "schema_invalid": 0.05},
                      out=tmp_path)
    t = report.total.to_dict()
    assert t["committed_violations"] == 0 and t["replay_matches"]
    assert t["join"]["unmatched"] == 0 and t["join"]["matched"] > 0  # every call found its reply
    injected = {k: r for k, r in t["recall"].items() if r["injected"]}
    assert len(injected) >= 4, t["recall"]
    for kind, r in injected.items():
        assert r["missed"] == 0 and r["recall"] == 1.0, (kind, r)
        assert r["caught_by_rule"] == r["injected"], (kind, r)  # named by its own rule
        assert r["expected_rule"] == (EXPECTED_RULE[kind] or "parse")
    repair = t["repair"]
    assert 0 < repair["needed"] and repair["after_1"] <= repair["after_2"] <= repair["needed"]
    assert t["valid_first_try"] < t["proposals"] and t["violations_by_rule"]
    assert len(report.per_run) == 2 and sorted(tmp_path.glob("*.db"))  # saves kept in --out


def test_a_run_with_one_kind_of_lie_counts_that_kind_only(tmp_path):
    spec = load_world(HARBOUR)
    t = run_one(spec, tmp_path / "t.db", ticks=6, seed=2,
                rates={"teleport": 1.0, "repair_success": 1.0})
    assert set(t.kinds) == {"teleport"}
    k = t.kinds["teleport"]
    assert k.injected > 0 and k.caught_by_rule == k.injected and k.missed == 0
    assert t.violations["travel.adjacent"] >= k.injected
    assert t.repairs_needed == t.repaired_after_1  # every repair was answered straight


def test_knowledge_lies_are_in_the_recall_table_and_all_caught(tmp_path):
    rates = {"tell_unknown": 0.2, "tell_dead": 0.2, "tell_elsewhere": 0.2}
    report = evaluate(HARBOUR, runs=1, ticks=12, seed=3, rates=rates, out=tmp_path)
    t = report.total.to_dict()
    assert t["committed_violations"] == 0
    expected = {"tell_unknown": "know.unknown", "tell_dead": "dead.act",
                "tell_elsewhere": "know.absent"}
    for kind, rule in expected.items():
        r = t["recall"][kind]
        assert r["injected"] > 0 and r["expected_rule"] == rule, (kind, r)
        assert r["caught_by_rule"] == r["injected"] and r["recall"] == 1.0, (kind, r)


async def test_an_unknown_name_is_caught_and_the_repair_brings_the_stranger_in():
    state = tiny_state()
    with FakeOllama(mode="noisy") as fake:
        fake.set_faults({"repair_success": 1.0}).enqueue(Fault.inject("unknown_name"))
        teller = OllamaStoryteller(host=fake.url, timeout=5, backoff=0.01)
        decision = await decide(teller, simple_scene(state, "mara"), Intent("npc", "mara", seed=3),
                                state, fallback=ProceduralStoryteller(seed=1))
    first = decision.attempts[0]
    assert fake.log[-2]["injected"] == "unknown_name"
    assert [v.rule for v in first.violations] == ["ref.unknown"]  # not welcomed as an arrival
    assert decision.repaired and len(decision.invented) == 1  # the repair introduces them
    assert check(decision.proposal, state, Turn("npc", "mara")) == []


def test_committed_violations_finds_an_event_that_breaks_a_rule(tmp_path):
    with Save.create(tmp_path / "bad.db", load_world(HARBOUR)) as save:
        save.append(tick=1, kind="npc", actor="mara", ops=[Move(entity="mara", to="market")])
        save.append(tick=1, kind="npc", actor="mara",
                    ops=[Adjust(entity="mara", attribute="gold", by=5)])  # money from nowhere
        problems, state = committed_violations(save)
    assert len(problems) == 1 and "currency.conserved" in problems[0]
    assert "travel.adjacent" not in problems[0]
    assert state.attr("mara", "gold") == 25


def test_rates_parse_and_are_checked():
    assert parse_rates("teleport=0.2, invention=0.5") == {"teleport": 0.2, "invention": 0.5}
    assert parse_rates("") == {}
    for bad, why in [("gremlins=0.1", "unknown kind"), ("teleport", "kind=rate"),
                     ("teleport=x", "not a number"), ("teleport=1.5", "between 0 and 1")]:
        with pytest.raises(ValueError, match=why):
            parse_rates(bad)
    check_rates(DEFAULT_RATES)
    with pytest.raises(ValueError, match="at most 1"):
        check_rates({"teleport": 0.6, "dead_actor": 0.6})
