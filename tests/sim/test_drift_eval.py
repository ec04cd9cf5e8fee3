"""`simengine eval` measures the narration check: drift injected at known rates, its recall,
and its false alarms on clean prose."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.eval.replies import DRIFT_KINDS, inject_drift, roll_drift
from simengine.sim.evaluate import check_rates, evaluate, parse_rates
from simengine.storytellers.base import Intent
from simengine.storytellers.drift import RETELL_HEADER
from simengine.storytellers.prompts import narrate_messages
from simengine.storytellers.scene import build_scene
from simengine.testing.fake_ollama import FakeOllama
from simengine.testing.fixtures import tiny_state
from simengine.world.ops import Proposal

HARBOUR = Path(__file__).parent.parent.parent / "worlds" / "harbour.toml"
DRIFT = {"drift_name": 0.2, "drift_dead": 0.2, "drift_transfer": 0.2, "retell_success": 0.8}


def test_eval_reports_the_checks_recall_and_false_alarms(tmp_path):
    report = evaluate(HARBOUR, runs=1, ticks=12, seed=4, rates=DRIFT, out=tmp_path)
    d = report.total.to_dict()["narration_drift"]
    injected = sum(k["injected"] for k in d["kinds"].values())
    caught = sum(k["caught"] for k in d["kinds"].values())
    assert injected >= 5 and set(d["kinds"]) <= set(DRIFT_KINDS), d
    assert caught / injected >= 0.8, d  # conservative on names, strict on the rest
    for kind in ("drift_dead", "drift_transfer"):
        if kind in d["kinds"]:
            assert d["kinds"][kind]["recall"] == 1.0, d
    assert d["clean"] > injected and d["false_alarm_rate"] <= 0.05, d
    # each drifted beat was stopped once (retold) or twice (told procedurally)
    assert d["retold"] + 2 * d["procedural"] == caught + d["false_alarms"]
    assert report.total.to_dict()["committed_violations"] == 0


def test_eval_cli_prints_the_drift_table(tmp_path):
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(main, ["eval", str(HARBOUR), "-r", "1", "-n", "6", "--seed", "4",
                                       "--rates", "drift_dead=0.45,drift_name=0.45",
                                       "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "narration drift caught" in result.output
    assert "false alarms on clean prose" in result.output
    d = json.loads(out.read_text())["total"]["narration_drift"]
    assert {"kinds", "clean", "false_alarms", "false_alarm_rate", "retold"} <= set(d)


def test_drift_rates_parse_and_are_checked():
    assert parse_rates("drift_dead=0.3,retell_success=1") == {"drift_dead": 0.3,
                                                              "retell_success": 1.0}
    with pytest.raises(ValueError, match="drift kinds' rates sum to 1.2"):
        check_rates({"drift_dead": 0.6, "drift_name": 0.6})
    with pytest.raises(ValueError, match="drift rates must sum"):
        FakeOllama().set_faults({"drift_dead": 0.6, "drift_name": 0.6})


def test_the_fake_tells_each_drift_in_a_narrate_request():
    state = tiny_state()
    scene = build_scene(state, Intent("npc", "mara"), [])
    messages = narrate_messages(scene, Proposal(actor="mara", summary="Mara looks around"))
    rng = random.Random(1)
    prose = "Mara looks around. The tide turns."
    assert "Brother Tam" in inject_drift("drift_dead", prose, messages, rng)
    handed = inject_drift("drift_transfer", prose, messages, rng)
    assert any(thing in handed for thing in ("lantern", "tarred Rope"))
    named = inject_drift("drift_name", prose, messages, rng)
    assert prose.split(". ")[0] in named and len(named) > len(prose)
    retell = [*messages, {"role": "assistant", "content": named},
              {"role": "user", "content": f"{RETELL_HEADER}\n- x"}]
    assert roll_drift({"drift_name": 1.0, "retell_success": 1.0}, retell, rng) is None
    assert roll_drift({"drift_name": 1.0}, messages, rng) == "drift_name"
