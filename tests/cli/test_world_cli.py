"""`simengine validate` and `simengine new`, as a person types them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from simengine.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures"
WORLDS = Path(__file__).parent.parent.parent / "worlds"


def test_validate_accepts_valid_worlds():
    paths = [str(FIXTURES / "mini.toml"), *map(str, sorted(WORLDS.glob("*.toml")))]
    result = CliRunner().invoke(main, ["validate", *paths])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == len(paths)


def test_validate_reports_every_problem_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (FIXTURES / "mini.toml")
        .read_text()
        .replace('at = "dock"', 'at = "dokc"', 1)
        .replace("creativity = 0.5", "creativty = 0.5")
    )
    broken = tmp_path / "syntax.toml"
    broken.write_text("[world\nid = 1\n")
    result = CliRunner().invoke(
        main, ["validate", str(bad), str(broken), str(FIXTURES / "mini.toml")]
    )
    assert result.exit_code == 1
    out = result.output
    assert "Traceback" not in out
    assert f"{bad}:5: world.creativty: unknown key 'creativty'; did you mean 'creativity'" in out
    assert f"{bad}:" in out and "characters[0].at: unknown location 'dokc'" in out
    assert f"{broken}:1: TOML syntax" in out
    assert "mini.toml: ok" in out  # a bad file does not stop the others


def test_validate_missing_file():
    result = CliRunner().invoke(main, ["validate", "no/such/world.toml"])
    assert result.exit_code == 1 and "no such file" in result.output


def test_new_writes_a_valid_world_and_refuses_to_overwrite(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["new", 'The "Salt" Marsh'])
    assert result.exit_code == 0, result.output
    path = Path("worlds/the-salt-marsh.toml")
    text = path.read_text()
    assert "#" in text  # commented for authors
    assert runner.invoke(main, ["validate", str(path)]).exit_code == 0
    again = runner.invoke(main, ["new", 'The "Salt" Marsh'])
    assert again.exit_code == 1 and "already exists" in again.output
    assert path.read_text() == text
    assert runner.invoke(main, ["new", "!!!"]).exit_code == 2


def test_every_command_has_help_with_an_example():
    def walk(group, prefix=()):
        for name, cmd in group.commands.items():
            yield (*prefix, name), cmd
            if hasattr(cmd, "commands"):
                yield from walk(cmd, (*prefix, name))

    for path, _cmd in walk(main):
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example:" in result.output, f"{' '.join(path)} has no Example in its help"


def test_new_copes_with_any_name(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    for name in ["Two\nLines \\ and \"quotes\"", "x" * 100, "Ünïcödé Wörld \x01"]:
        result = runner.invoke(main, ["new", name])
        assert result.exit_code == 0, result.output
        path = Path(result.output.split()[1].rstrip(";"))
        check = runner.invoke(main, ["validate", str(path)])
        assert check.exit_code == 0, check.output
    long = runner.invoke(main, ["new", "y" * 300])
    assert long.exit_code == 2 and "Traceback" not in long.output


def test_validate_refuses_a_world_with_nowhere_and_warns_of_no_player(tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text('[world]\nid = "empty"\nname = "Empty"\n')
    result = CliRunner().invoke(main, ["validate", str(empty)])
    assert result.exit_code == 1
    assert f"error: {empty}: locations: the world has no [[locations]]" in result.stderr
    assert f"warning: {empty}: player: no [player] character" in result.stderr
    assert ": ok (" not in result.stdout


def test_validate_warns_of_an_undeclared_relation_kind(tmp_path):
    odd = tmp_path / "odd.toml"
    odd.write_text((FIXTURES / "mini.toml").read_text().replace(
        'relation = "knows"', 'relation = "owes_money"', 1))
    result = CliRunner().invoke(main, ["validate", str(odd)])
    assert result.exit_code == 0  # it still runs: the kind is taken from the relation
    assert "relation kind 'owes_money' is not declared in world.relation_kinds" in result.stderr
    assert f"{odd}:" in result.stderr and ": ok (" in result.stdout
    clean = CliRunner().invoke(main, ["validate", str(FIXTURES / "mini.toml")])
    assert "warning" not in clean.stderr
