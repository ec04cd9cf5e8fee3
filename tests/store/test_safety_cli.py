"""Files a user can lose, seen from the command line: ``--record``, exports,
read-only saves and full disks. Each failed before issue 10."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from storekit import can_make_read_only, run_cli

from simengine.cli import main
from simengine.cli.saves import saves
from simengine.store import Save
from simengine.testing.fixtures import running_fake

HARBOUR = Path(__file__).parent.parent.parent / "worlds" / "harbour.toml"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def game(tmp_path):
    """A harbour save with two ticks played, and a copy of the world file."""
    save = tmp_path / "x.db"
    result = invoke("run", HARBOUR, "--ticks", "2", "--save", save, "-s", "procedural")
    assert result.exit_code == 0, result.output
    world = tmp_path / "w.toml"
    world.write_bytes(HARBOUR.read_bytes())
    return save, world


# ------------------------------------------------------------ --record FILE
def test_record_never_clobbers_the_save_or_the_world(game, tmp_path):
    save, world = game
    before = {p: digest(p) for p in (save, world)}
    link = tmp_path / "link.toml"
    link.symlink_to(world)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    with running_fake(mode="plausible") as fake:
        ollama = ["-s", "ollama", "--host", fake.url]
        for source, record, words in (
            (save, save, "is the save being played"),
            (world, world, "is the world file being played"),
            (save, link, "not a cassette"),
            (save, notes, "not a cassette"),
        ):
            result = invoke("run", source, "--ticks", "1", *ollama, "--record", record)
            assert result.exit_code == 1, result.output
            assert words in result.output and "Traceback" not in result.output
        # A new cassette is made, and one that exists is recorded over.
        cassette = tmp_path / "run.jsonl"
        for _ in range(2):
            result = invoke("run", save, "--ticks", "1", *ollama, "--record", cassette)
            assert result.exit_code == 0, result.output
            assert json.loads(cassette.read_text().splitlines()[0])["cassette"] == 1
    assert digest(world) == before[world]
    assert notes.read_text() == "my notes\n"
    with Save.open(save, readonly=True) as s:
        assert s.verify() == [] and s.event_count() > 0


# ---------------------------------------------------------------- exports
def test_export_never_overwrites_its_source(game, tmp_path):
    save, _ = game
    before = digest(save)
    (tmp_path / "other").mkdir()
    hard = tmp_path / "other" / "hard.db"
    sym = tmp_path / "other" / "sym.db"
    sym.symlink_to(save)
    os.link(save, hard)
    try:
        for target in (hard, sym, save, tmp_path / "x.db-wal"):
            for force in ([], ["--force"]):
                result = CliRunner().invoke(saves, ["export", str(save), "-o", str(target), *force])
                assert result.exit_code == 1, result.output
                assert "refusing to write the export over the save" in result.output
    finally:
        hard.unlink()
    assert digest(save) == before


def test_export_refuses_an_existing_file_without_force(game, tmp_path):
    save, _ = game
    target = tmp_path / "story.md"
    target.write_text("my own story\n")
    result = CliRunner().invoke(saves, ["export", str(save), "-f", "markdown", "-o", str(target)])
    assert result.exit_code == 1 and "--force" in result.output
    assert target.read_text() == "my own story\n"
    result = CliRunner().invoke(
        saves, ["export", str(save), "-f", "markdown", "-o", str(target), "--force"]
    )
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("# Greywater Harbour")
    # Written through a temporary file renamed into place: nothing else is left.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# ------------------------------------------------------ read-only and full
@pytest.mark.skipif(not can_make_read_only(), reason="cannot drop root's file powers here")
def test_a_read_only_save_reads_and_refuses_writes_as_read_only(game, tmp_path):
    save, _ = game
    os.chmod(save, 0o444)
    before = digest(save)
    for args in (["saves", "log", save.name], ["saves", "list", "."],
                 ["saves", "export", save.name, "-f", "markdown"]):
        child = run_cli(args, cwd=tmp_path, read_only=True)
        assert child.returncode == 0, child.stderr
        assert "Greywater Harbour" in child.stdout
    for args in (["run", save.name, "--ticks", "1"], ["saves", "undo", save.name],
                 ["saves", "fork", save.name, "alt"]):
        child = run_cli(args, cwd=tmp_path, read_only=True)
        assert child.returncode == 1, child.stdout + child.stderr
        assert "read-only" in child.stderr and "damaged" not in child.stderr
        assert "Traceback" not in child.stderr
        assert len(child.stderr.strip().splitlines()) == 1, child.stderr
    assert digest(save) == before
    os.chmod(tmp_path, 0o555)  # and a read-only folder: SQLite cannot make its log files
    try:
        os.chmod(save, 0o644)
        child = run_cli(["saves", "log", save.name], cwd=tmp_path, read_only=True)
        assert child.returncode == 0 and "#1" in child.stdout, child.stderr
        child = run_cli(["run", save.name, "--ticks", "1"], cwd=tmp_path, read_only=True)
        assert child.returncode == 1 and "read-only" in child.stderr, child.stderr
        assert "damaged" not in child.stderr and "Traceback" not in child.stderr
    finally:
        os.chmod(tmp_path, 0o755)


@pytest.mark.parametrize("kb", [120, 400])
def test_a_full_disk_ends_a_run_with_one_line_and_keeps_every_tick(tmp_path, kb):
    save = tmp_path / "full.db"
    child = run_cli(
        ["run", str(HARBOUR), "--ticks", "300", "--save", save.name, "--no-narrate", "--json"],
        cwd=tmp_path,
        max_file_kb=kb,
    )
    assert child.returncode == 1, child.stderr
    assert "Traceback" not in child.stderr
    errors = [line for line in child.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, child.stderr
    assert "no room left" in errors[0] and "damaged" not in errors[0]
    committed = [json.loads(line)["id"] for line in child.stdout.splitlines()]
    assert committed  # the limit was reached mid-run, not at the start
    with Save.open(save, readonly=True) as s:
        assert s.verify() == []
        assert {e.id for e in s.events()} >= set(committed)
    with Save.open(save) as s:  # and the save goes on once there is room again
        assert s.head() is not None


def test_run_and_batch_leave_no_lock_files(game, tmp_path):
    save, _ = game
    stale = tmp_path / "x.db.lock"  # left by an older simengine
    stale.write_text("4242\n")
    assert invoke("run", save, "--ticks", "1").exit_code == 0
    result = invoke("batch", HARBOUR, "--runs", "2", "--ticks", "2", "--out", tmp_path / "b")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.rglob("*.lock")) == []
    assert len(list((tmp_path / "b").glob("*.db"))) == 2
