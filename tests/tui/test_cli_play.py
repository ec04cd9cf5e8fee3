"""``simengine play``: straight into a game with a SOURCE, the launcher without one."""

from __future__ import annotations

import sys

from click.testing import CliRunner

from simengine.cli import main
from simengine.tui.app import SimApp

from .conftest import HARBOUR


def run_without_a_terminal(monkeypatch) -> list[SimApp]:
    started: list[SimApp] = []
    monkeypatch.setattr(SimApp, "run", lambda self, *a, **k: started.append(self))
    # (the module, not the command of the same name that simengine.cli exports)
    monkeypatch.setattr(sys.modules["simengine.cli.play"], "has_terminal", lambda: True)
    return started


def test_play_a_world_file_goes_straight_in_and_closes_the_save(monkeypatch, tmp_path):
    started = run_without_a_terminal(monkeypatch)
    result = CliRunner().invoke(main, ["play", str(HARBOUR), "-s", "procedural", "--seed", "5",
                                       "--saves-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (app,) = started
    assert app.session is not None and app.session.seed == 5
    assert app.session.save.path == tmp_path / "harbour-5.db"
    assert app.session.save.closed  # closed when the app ended
    assert app.why == "procedural storyteller (no model needed)"


def test_play_a_save_continues_it(monkeypatch, tmp_path):
    started = run_without_a_terminal(monkeypatch)
    runner = CliRunner()
    runner.invoke(main, ["run", str(HARBOUR), "--ticks", "2", "--save", str(tmp_path / "a.db")])
    result = runner.invoke(main, ["play", str(tmp_path / "a.db")])
    assert result.exit_code == 0, result.output
    assert started[0].session.tick == 2


def test_play_with_nothing_opens_the_launcher(monkeypatch):
    started = run_without_a_terminal(monkeypatch)
    result = CliRunner().invoke(main, ["play", "--storyteller", "auto"])
    assert result.exit_code == 0, result.output
    (app,) = started
    assert app.session is None and app.options.storyteller == "auto"


def test_play_a_missing_file_is_a_clear_error(monkeypatch, tmp_path):
    started = run_without_a_terminal(monkeypatch)
    result = CliRunner().invoke(main, ["play", str(tmp_path / "nope.db")])
    assert result.exit_code == 1 and "no save at" in result.output
    assert started == []


def test_play_help_has_an_example():
    result = CliRunner().invoke(main, ["play", "--help"])
    assert "Example: simengine play worlds/harbour.toml" in result.output


def test_play_without_a_terminal_says_what_to_do_instead(monkeypatch):
    monkeypatch.setattr(SimApp, "run", lambda self, *a, **k: None)
    result = CliRunner().invoke(main, ["play", str(HARBOUR)])
    assert result.exit_code == 1 and "needs a terminal" in result.output
    assert "simengine run" in result.output


def test_quitting_says_where_the_save_is_and_how_to_go_on(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(SimApp, "run", lambda self, *a, **k: None)
    monkeypatch.setattr(sys.modules["simengine.cli.play"], "has_terminal", lambda: True)
    result = CliRunner().invoke(main, ["play", str(HARBOUR), "-s", "procedural", "--seed", "5",
                                       "--saves-dir", "my saves"])
    assert result.exit_code == 0, result.output
    assert "Saved in my saves/harbour-5.db (branch main" in result.output
    assert "Continue with: simengine play 'my saves/harbour-5.db'" in result.output
