"""One writer per file, damaged saves refused before any write, walks that end.

Each test here failed on the store before issue 10: the lock was per path, a
hard link or a symlink let two writers in, flipped bytes were written into,
a loop in the event tree hung ``saves log``, and every SQLite complaint was
called "damaged".
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from storekit import add_beats, append_beat

from simengine.cli.saves import saves
from simengine.store import Save, SaveCorrupt, SaveInUse
from simengine.store.errors import SaveDiskFull, SaveLinked, SaveReadOnly
from simengine.store.files import db_error


def fingerprint(directory):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def make_save(path, spec, events=6):
    with Save.create(path, spec, snapshot_every=5) as s:
        add_beats(s, events)
    return path


def sql(path, *statements):
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def other_process(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


# ---------------------------------------------------------------- one writer
def test_a_symlink_does_not_let_a_second_writer_in(tmp_path, spec):
    path = make_save(tmp_path / "game.db", spec)
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "alias.db"
    link.symlink_to(path)
    with Save.open(path):
        child = other_process(
            f"""
            from simengine.store import Save, SaveInUse
            try:
                Save.open({str(link)!r})
            except SaveInUse as err:
                print(err)
                raise SystemExit(3)
            """
        )
        assert child.returncode == 3, child.stderr
        assert "in use by another process" in child.stdout
        assert f"(pid {os.getpid()})" in child.stdout
        with pytest.raises(SaveInUse):
            Save.open(link)  # and within one process too
    # Through the symlink, SQLite's log sits beside the real file, and the
    # events written through it are the save's.
    with Save.open(link) as s:
        append_beat(s, 7)
    assert not (tmp_path / "elsewhere" / "alias.db-wal").exists()
    with Save.open(path, readonly=True) as s:
        assert s.event_count() == 7 and s.verify() == []


def test_a_save_with_a_hard_link_is_refused_for_writing(tmp_path, spec):
    path = make_save(tmp_path / "game.db", spec)
    (tmp_path / "other").mkdir()
    hard = tmp_path / "other" / "hard.db"
    os.link(path, hard)
    before = fingerprint(tmp_path)
    for name in (path, hard):
        with pytest.raises(SaveLinked, match="2 hard links") as info:
            Save.open(name)
        assert "copy" in str(info.value)
    result = CliRunner().invoke(saves, ["undo", str(hard)])
    assert result.exit_code == 1 and "hard links" in result.output
    assert "Traceback" not in result.output
    assert fingerprint(tmp_path) == before
    # Reading through either name still works.
    with Save.open(hard, readonly=True) as s:
        assert s.event_count() == 6
    hard.unlink()
    Save.open(path).close()


def test_no_lock_file_is_left_beside_a_save(tmp_path, spec):
    path = make_save(tmp_path / "game.db", spec)
    with Save.open(path) as s:
        append_beat(s, 7)
        assert not (tmp_path / "game.db.lock").exists()
    Save.open(path).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["game.db"]


def test_a_lock_file_left_by_an_older_simengine_is_honoured_then_tidied(tmp_path, spec):
    path = make_save(tmp_path / "game.db", spec)
    legacy = tmp_path / "game.db.lock"
    legacy.write_text("4242\n")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'r+'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
            str(legacy),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(SaveInUse, match="older simengine"):
            Save.open(path)
    finally:
        holder.communicate("")
    Save.open(path).close()
    assert not legacy.exists()


# ---------------------------------------------------- damaged saves, refused
def flip_text(path, needle: bytes):
    """Flip one byte inside ``needle`` where it sits in the file (a bit rot)."""
    data = bytearray(path.read_bytes())
    at = data.find(needle)
    assert at > 0, needle
    data[at + len(needle) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def damage_narration(path):
    flip_text(path, b"Beat 3 is told.")


def damage_loop(path):
    sql(path, "UPDATE events SET parent_id = 6 WHERE id = 1")


def damage_snapshot(path):
    sql(path, "UPDATE snapshots SET state = '{\"nodes\": 3}'")


def damage_meta_type(path):
    sql(path, "UPDATE meta SET value = '\"fifty\"' WHERE key = 'snapshot_every'")


def damage_initial(path):
    sql(path, "UPDATE meta SET value = '{\"nodes\": 3}' WHERE key = 'initial'")


def damage_current_branch(path):
    sql(path, "UPDATE meta SET value = '\"nowhere\"' WHERE key = 'current_branch'")


def damage_head(path):
    sql(path, "PRAGMA foreign_keys = OFF", "UPDATE branches SET head = 99")


def damage_depth(path):
    sql(path, "UPDATE events SET depth = 9 WHERE id = 4")


DAMAGE = {
    "flipped byte": (damage_narration, "event #3 has unreadable text in narration"),
    "loop": (damage_loop, "loop of parents (#1 -> #6 -> #5 -> #4 -> #3 -> #2 -> #1)"),
    "snapshot without a graph": (damage_snapshot, "snapshot of event #5 holds no graph"),
    "meta of the wrong type": (damage_meta_type, "'snapshot_every' should be int, not str"),
    "missing current branch": (damage_current_branch, "current branch 'nowhere'"),
    "initial state without a graph": (damage_initial, "'initial' holds no graph of nodes"),
    "head at a missing event": (damage_head, "points at missing event #99"),
    "wrong depth": (damage_depth, "event #4 is at the wrong depth"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_save_is_refused_before_any_write(tmp_path, spec, case):
    damage, words = DAMAGE[case]
    path = make_save(tmp_path / "game.db", spec)
    damage(path)
    before = fingerprint(tmp_path)
    with pytest.raises(SaveCorrupt, match="damaged") as info:
        Save.open(path)
    assert words in str(info.value)
    runner = CliRunner()
    for args in (["undo", str(path)], ["fork", str(path), "alt", "--at", "2"]):
        result = runner.invoke(saves, args)
        assert result.exit_code == 1, result.output
        assert "damaged" in result.output and "Traceback" not in result.output
    assert fingerprint(tmp_path) == before


def test_run_refuses_a_damaged_save_and_writes_nothing(tmp_path, spec):
    from simengine.cli import main

    path = make_save(tmp_path / "game.db", spec)
    damage_narration(path)
    before = fingerprint(tmp_path)
    result = CliRunner().invoke(main, ["run", str(path), "--ticks", "1"])
    assert result.exit_code == 1, result.output
    assert "is damaged" in result.output and "Traceback" not in result.output
    assert fingerprint(tmp_path) == before


def test_undamaged_saves_still_open_after_the_checks(tmp_path, spec):
    path = make_save(tmp_path / "game.db", spec, events=12)
    with Save.open(path) as s:
        s.fork("alt", at=3)
        s.switch("alt")
        add_beats(s, 4)
        assert s.verify() == []
    Save.open(path).close()


# ------------------------------------------------------- walks always end
def test_a_loop_in_the_tree_is_reported_not_walked_forever(tmp_path, spec):
    path = make_save(tmp_path / "game.db", spec)
    damage_loop(path)
    with Save.open(path, readonly=True) as s:
        walks = (s.log, lambda: s.state_at(3), lambda: s.state_at(6, use_snapshots=False))
        for walk in walks:
            with pytest.raises(SaveCorrupt, match="loop of parents"):
                walk()
        assert any("hangs off" in p or "loop" in p for p in s.verify())
    result = CliRunner().invoke(saves, ["log", str(path)])
    assert result.exit_code == 1 and "loop of parents" in result.output
    result = CliRunner().invoke(saves, ["export", str(path), "-f", "markdown"])
    assert result.exit_code == 1 and "loop of parents" in result.output


def test_a_parent_that_is_missing_is_reported(tmp_path, spec):
    path = make_save(tmp_path / "game.db", spec)
    sql(path, "PRAGMA foreign_keys = OFF", "DELETE FROM events WHERE id = 2")
    with Save.open(path, readonly=True) as s, pytest.raises(SaveCorrupt, match="missing event #2"):
        s.log()


# ------------------------------------------------- four different messages
def busy_error(path) -> sqlite3.OperationalError:
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        return err
    finally:
        other.close()
        holder.rollback()
        holder.close()
    raise AssertionError("no lock")


def test_locked_read_only_full_and_damaged_are_told_apart(tmp_path, spec):
    path = make_save(tmp_path / "game.db", spec)
    locked = db_error(path, busy_error(path))
    assert isinstance(locked, SaveInUse) and "locked by another process" in str(locked)
    read_only = db_error(path, sqlite3.OperationalError("attempt to write a readonly database"))
    assert isinstance(read_only, SaveReadOnly) and "read-only" in str(read_only)
    full = db_error(path, sqlite3.OperationalError("database or disk is full"))
    assert isinstance(full, SaveDiskFull) and "no room left" in str(full)
    damaged = db_error(path, sqlite3.DatabaseError("database disk image is malformed"))
    assert isinstance(damaged, SaveCorrupt)
    for err in (locked, read_only, full):
        assert "damaged" not in str(err) and "backup" not in str(err)
    assert "damaged" in str(damaged)


# ------------------------------------------------ listing survives bad saves
def test_saves_list_shows_every_bad_save_as_unreadable(tmp_path, spec):
    make_save(tmp_path / "good.db", spec)
    for name, damage in (("bitrot", damage_narration), ("meta", damage_meta_type)):
        damage(make_save(tmp_path / f"{name}.db", spec))
    nested = make_save(tmp_path / "deep.db", spec)
    sql(nested, "UPDATE meta SET value = '" + "[" * 100_000 + "' WHERE key = 'last_played'")
    (tmp_path / "empty.db").write_bytes(b"")
    result = CliRunner().invoke(saves, ["list", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "Hollow Crossing" in lines["good"]
    assert "(damaged)" in lines["meta"] and "(damaged)" in lines["deep"]
    assert "(not a save)" in lines["empty"]
    assert set(lines) == {"good", "bitrot", "meta", "deep", "empty"}


def test_the_launcher_lists_bad_saves_with_the_reason(tmp_path, spec):
    from simengine.tui.launcher import find_saves

    make_save(tmp_path / "good.db", spec)
    damage_meta_type(make_save(tmp_path / "meta.db", spec))
    nested = make_save(tmp_path / "deep.db", spec)
    sql(nested, "INSERT OR REPLACE INTO meta VALUES ('seed', '" + "{\"a\":" * 50_000 + "')")
    entries = {e.path.stem: e for e in find_saves(tmp_path)}
    assert not entries["good"].error and entries["good"].world == "Hollow Crossing"
    assert "should be int" in entries["meta"].error
    assert "damaged" in entries["deep"].error and "nested too deeply" in entries["deep"].error


# ---------------------------------------------- the check after a clean close
@pytest.fixture
def checks(monkeypatch):
    """Count the whole-file checks before writing."""
    from simengine.store import save as save_module

    ran = []
    real = save_module.check_before_write

    def counted(conn, path):
        ran.append(path)
        return real(conn, path)

    monkeypatch.setattr(save_module, "check_before_write", counted)
    return ran


def test_a_cleanly_closed_save_reopens_without_the_whole_file_check(tmp_path, spec, checks):
    path = make_save(tmp_path / "game.db", spec)
    with Save.open(path) as s:
        add_beats(s, 2)
    with Save.open(path) as s:
        assert s.event_count() == 8
    assert checks == []  # nothing but this engine touched the file since its clean closes


def test_any_write_after_a_clean_close_brings_the_check_back(tmp_path, spec, checks):
    path = make_save(tmp_path / "game.db", spec)
    size = path.stat().st_size
    flip_text(path, b"Beat 3 is told.")  # same size, same name: only its mtime tells
    assert path.stat().st_size == size
    with pytest.raises(SaveCorrupt, match="unreadable text"):
        Save.open(path).close()
    assert len(checks) == 1


def test_a_change_made_with_sqlite_brings_the_check_back(tmp_path, spec, checks):
    path = make_save(tmp_path / "game.db", spec)
    damage_loop(path)
    with pytest.raises(SaveCorrupt, match="loop"):
        Save.open(path).close()
    assert len(checks) == 1


def test_a_save_left_with_its_log_is_checked_in_full(tmp_path, spec, checks):
    path = make_save(tmp_path / "game.db", spec)
    with Save.open(path, readonly=True) as reader:  # keeps the log beside the file
        with Save.open(path) as writer:
            add_beats(writer, 1)
        assert reader.event_count() == 7
        assert path.with_name(path.name + "-wal").exists()
        with Save.open(path):
            pass
    assert len(checks) == 1
