"""``simengine saves``: list, log, fork, undo, switch and export a save written by a test."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from storekit import add_beats

from simengine.cli.saves import saves
from simengine.store import Save


@pytest.fixture
def saves_home(_saves_in_tmp, spec):
    """The autouse temp SIMENGINE_SAVES dir, holding one save 'tavern' with 6 events."""
    with Save.create(_saves_in_tmp / "tavern.db", spec, snapshot_every=5) as s:
        add_beats(s, 6)
    return _saves_in_tmp


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(saves, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_every_command_has_help_with_an_example():
    assert "Example:" in (saves.help or "")
    for name, command in saves.commands.items():
        assert command.help and "Example:" in command.help, name
        assert "--saves-dir" in run(name, "--help").output, name


def test_list(saves_home):
    out = run("list").output.splitlines()
    assert out[0].split() == ["NAME", "WORLD", "BRANCHES", "TICKS", "LAST", "PLAYED"]
    assert out[1].split()[:5] == ["tavern", "Hollow", "Crossing", "1", "6"]


def test_list_directory_argument_and_option(saves_home, tmp_path):
    other = tmp_path / "elsewhere"
    assert run("list", str(other)).output.strip() == f"No saves in {other}."
    assert "tavern" in run("list", "--saves-dir", str(saves_home)).output
    assert "tavern" in run("list", str(saves_home)).output


def test_log(saves_home):
    out = run("log", "tavern").output.splitlines()
    assert out[0] == "tavern.db · Hollow Crossing · branch main (current)"
    assert len(out) == 7
    assert out[1].split()[:5] == ["#1", "hour", "1", "mara", "(npc)"]
    assert out[-1].endswith("Beat 6 happens.")
    assert len(run("log", "tavern", "-n", "2").output.splitlines()) == 3


def test_log_by_path_and_unknown_branch(saves_home):
    assert "#6" in run("log", str(saves_home / "tavern.db")).output
    result = run("log", "tavern", "--branch", "mian", ok=False)
    assert result.exit_code == 1
    assert "no branch 'mian'" in result.output and "Did you mean: main" in result.output


def test_fork_undo_switch_round_trip(saves_home):
    assert "Forked branch 'alt' at event #3" in run("fork", "tavern", "alt", "--at", "3").output
    assert (
        "Forked branch 'zero' at the initial state"
        in run("fork", "tavern", "zero", "--at", "0").output
    )
    out = run("undo", "tavern", "2").output
    assert "Branch 'main' is back at event #4" in out
    assert "--at 6" in out  # how to get the undone events back
    assert "Now on branch 'alt'" in run("switch", "tavern", "alt").output
    assert "#3" in run("log", "tavern").output.splitlines()[-1]
    with Save.open(saves_home / "tavern.db", readonly=True) as s:
        assert s.branches() == {"main": 4, "alt": 3, "zero": None}
        assert s.current_branch == "alt"
        assert s.event_count() == 6  # nothing deleted
    assert "main" in run("undo", "tavern", "--branch", "main").output
    result = run("undo", "tavern", "9", ok=False)
    assert result.exit_code == 1 and "cannot undo 9" in result.output


def test_fork_switch_flag_and_errors(saves_home):
    assert "and switched to it" in run("fork", "tavern", "b2", "--switch").output
    assert "branch b2 (current)" in run("log", "tavern").output
    for args, words in (
        (("fork", "tavern", "b2"), "already has a branch"),
        (("fork", "tavern", "b3", "--at", "99"), "no event #99"),
        (("fork", "tavern", "bad name"), "not a usable branch name"),
    ):
        result = run(*args, ok=False)
        assert result.exit_code == 1 and words in result.output, result.output


def test_export_json_to_stdout(saves_home):
    data = json.loads(run("export", "tavern", "--format", "json").output)
    assert set(data) == {"world", "initial", "events", "branches", "final"}
    assert data["branches"] == {"main": 6}
    assert len(data["events"]) == 6


def test_export_formats_to_files(saves_home, tmp_path):
    for fmt, name in (("json", "t.json"), ("graphml", "t.graphml"), ("markdown", "t.md")):
        target = tmp_path / name
        result = run("export", "tavern", "-f", fmt, "-o", str(target))
        assert f"Wrote {fmt} export" in result.output
        assert target.read_text(encoding="utf-8")
    assert (tmp_path / "t.md").read_text().startswith("# Hollow Crossing")
    assert "<graphml" in (tmp_path / "t.graphml").read_text()


def test_export_refuses_to_overwrite_the_save(saves_home):
    path = saves_home / "tavern.db"
    before = path.read_bytes()
    result = run("export", "tavern", "-o", str(path), ok=False)
    assert result.exit_code == 1 and "refusing" in result.output
    assert path.read_bytes() == before


def test_export_unknown_format_is_a_usage_error(saves_home):
    result = run("export", "tavern", "--format", "pdf", ok=False)
    assert result.exit_code == 2 and "pdf" in result.output


def test_env_var_decides_where_saves_are(saves_home, monkeypatch, tmp_path):
    monkeypatch.setenv("SIMENGINE_SAVES", str(tmp_path / "nowhere"))
    result = run("log", "tavern", ok=False)
    assert result.exit_code == 1 and "nowhere" in result.output
    assert "#6" in run("log", "tavern", "--saves-dir", str(saves_home)).output


def test_group_is_a_click_group():
    assert isinstance(saves, click.Group)
    assert set(saves.commands) >= {"list", "log", "fork", "undo", "export"}
