"""`simengine eval`, as a person types it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from simengine.cli import main

HARBOUR = str(Path(__file__).parent.parent.parent / "worlds" / "harbour.toml")


def test_eval_prints_the_tables_and_writes_json(tmp_path):
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(main, ["eval", HARBOUR, "--runs", "1", "--ticks", "4",
                                       "--seed", "2", "--rates", "dead_actor=0.3,teleport=0.3",
                                       "--json", str(out)])
    assert result.exit_code == 0, result.output
    for words in ("proposals (beats)", "valid at the first try", "repaired after 2 retries",
                  "inventions canonized", "fallbacks to procedural", "committed violations",
                  "violations by rule", "recall on injected contradictions"):
        assert words in result.output, words
    data = json.loads(out.read_text())
    assert data["runs"] == 1 and data["ticks"] == 4 and data["rates"]["teleport"] == 0.3
    total = data["total"]
    assert total["committed_violations"] == 0 and total["join"]["unmatched"] == 0
    for key in ("proposals", "valid_first_try_share", "violations_by_rule", "repair",
                "inventions_canonized", "fallbacks", "recall"):
        assert key in total


def test_eval_json_to_stdout_is_json(tmp_path):
    result = CliRunner().invoke(main, ["eval", HARBOUR, "-r", "1", "-n", "2", "--json", "-"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"]["committed_violations"] == 0


def test_eval_refuses_bad_rates_and_missing_worlds(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(main, ["eval", HARBOUR, "--rates", "gremlins=0.2"])
    assert bad.exit_code == 2 and "unknown kind 'gremlins'" in bad.output
    full = runner.invoke(main, ["eval", HARBOUR, "--rates", "teleport=0.7,dead_actor=0.7"])
    assert full.exit_code == 2 and "at most 1" in full.output
    missing = runner.invoke(main, ["eval", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 1 and "no such file" in missing.output
    assert "Traceback" not in missing.output


def test_eval_help_has_an_example():
    result = CliRunner().invoke(main, ["eval", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output
