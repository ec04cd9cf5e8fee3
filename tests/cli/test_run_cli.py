"""`simengine run` and `simengine batch`, as a person types them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from simengine.cli import main
from simengine.store import Save

HARBOUR = str(Path(__file__).parent.parent.parent / "worlds" / "harbour.toml")


def test_run_prints_a_story_and_a_summary(tmp_path):
    save = tmp_path / "h.db"
    result = CliRunner().invoke(main, ["run", HARBOUR, "--ticks", "5", "--seed", "42",
                                       "--save", str(save), "-s", "procedural"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "— hour 1 —" in out and "ticks run: 5" in out and f"save: {save}" in out
    with Save.open(save, readonly=True) as s:
        assert max(e.tick for e in s.log()) <= 5 and s.log()


def test_run_continues_a_save_and_plays_a_script(tmp_path):
    save = tmp_path / "h.db"
    script = tmp_path / "turns.txt"
    script.write_text("# a short evening\nI walk to the market\n/wait 2\nI look around\n")
    runner = CliRunner()
    first = runner.invoke(main, ["run", HARBOUR, "--ticks", "2", "--save", str(save)])
    assert first.exit_code == 0, first.output
    result = runner.invoke(main, ["run", str(save), "--ticks", "4", "--script", str(script),
                                  "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    player = [r for r in rows if r["kind"] == "player"]
    assert [r["intent"] for r in player] == ["I walk to the market", "I look around"]
    assert {r["tick"] for r in player} == {3, 6}
    assert all({"id", "ops", "narration", "storyteller"} <= set(r) for r in rows)


def test_run_refuses_bad_input_cleanly(tmp_path):
    runner = CliRunner()
    bad_script = tmp_path / "s.txt"
    bad_script.write_text("/teleport vault\n")
    cases = [
        (["run", HARBOUR, "--script", str(bad_script)], "unknown command '/teleport'"),
        (["run", str(tmp_path / "nope.db")], "no save at"),
        (["run", str(tmp_path / "nope.toml")], "no such file"),
        (["run", HARBOUR, "-s", "wizard"], "unknown storyteller 'wizard'"),
        (["run", HARBOUR, "-s", "replay:" + str(tmp_path / "none.jsonl")], "no cassette"),
        (["run", HARBOUR, "--ticks", "-1"], "Invalid value"),
    ]
    for args, phrase in cases:
        result = runner.invoke(main, args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert phrase in result.output, (args, result.output)
        assert "Traceback" not in result.output
    not_a_save = tmp_path / "junk.db"
    not_a_save.write_bytes(b"hello, not sqlite" * 100)
    result = runner.invoke(main, ["run", str(not_a_save)])
    assert result.exit_code == 1 and "not a simengine save" in result.output
    assert not_a_save.read_bytes() == b"hello, not sqlite" * 100


def test_batch_command_reports(tmp_path):
    out = tmp_path / "b"
    result = CliRunner().invoke(main, ["batch", HARBOUR, "--runs", "2", "--ticks", "3",
                                       "--jobs", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "totals:" in result.output and (out / "report.json").exists()
    assert len(list(out.glob("*.db"))) == 2


def test_a_script_runs_to_its_end_unless_ticks_says_otherwise(tmp_path):
    script = tmp_path / "long.txt"
    lines = [f"I look around ({n})" for n in range(12)]
    script.write_text("\n".join([*lines, "/wait 3"]) + "\n")
    runner = CliRunner()
    whole = runner.invoke(main, ["run", HARBOUR, "--script", str(script), "--json",
                                 "--save", str(tmp_path / "a.db"), "-s", "procedural"])
    assert whole.exit_code == 0, whole.output
    player = [json.loads(line)["intent"] for line in whole.stdout.splitlines()
              if line.startswith("{") and json.loads(line)["kind"] == "player"]
    assert player == lines  # twelve turns, past the default of 10 ticks
    assert "ticks run: 15" in whole.stderr
    cut = runner.invoke(main, ["run", HARBOUR, "--script", str(script), "--ticks", "4",
                               "--save", str(tmp_path / "b.db"), "-s", "procedural"])
    assert cut.exit_code == 0, cut.output
    assert "the script's last 11 of 15 ticks are not run" in cut.stderr
    assert "ticks run: 4" in cut.stdout
