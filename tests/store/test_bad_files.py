"""Files that are not saves, damaged saves and saves from the future: refused, untouched."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from click.testing import CliRunner
from storekit import add_beats

from simengine.cli.saves import saves
from simengine.store import (
    NotASave,
    Save,
    SaveCorrupt,
    SaveNotFound,
    SaveTooNew,
)


def fingerprint(directory):
    """Every file in the directory with its content hash: proves nothing was written."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def long_save(path, spec, events=80):
    with Save.create(path, spec, snapshot_every=5) as s:
        add_beats(s, events)
    return path


def make_not_sqlite(tmp_path, spec):
    path = tmp_path / "notes.db"
    path.write_text("Dear diary, today the save file was a text file.\n" * 20)
    return path


def make_empty(tmp_path, spec):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    return path


def make_other_sqlite(tmp_path, spec):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.commit()
    conn.close()
    return path


def make_other_meta(tmp_path, spec):
    path = tmp_path / "meta.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('engine', '\"datasette\"')")
    conn.commit()
    conn.close()
    return path


def make_truncated(tmp_path, spec):
    path = long_save(tmp_path / "cut.db", spec)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_stub(tmp_path, spec):
    path = long_save(tmp_path / "stub.db", spec, events=3)
    path.write_bytes(path.read_bytes()[:60])
    return path


def make_scrambled(tmp_path, spec):
    path = long_save(tmp_path / "scrambled.db", spec)
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for i in range(page_size, len(data)):  # every page but the first
        data[i] = (i * 131) % 256
    path.write_bytes(bytes(data))
    return path


def make_too_new(tmp_path, spec):
    path = long_save(tmp_path / "future.db", spec, events=3)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
        "VALUES ('simengine', 'm099_from_the_future', '2099-01-01')"
    )
    conn.commit()
    conn.close()
    return path


CASES = {
    "not sqlite": (make_not_sqlite, NotASave, "not an SQLite database"),
    "empty": (make_empty, NotASave, "empty file"),
    "other sqlite": (make_other_sqlite, NotASave, "not a simengine save"),
    "other meta": (make_other_meta, NotASave, "not a simengine save"),
    "truncated": (make_truncated, SaveCorrupt, "truncated"),
    "stub": (make_stub, SaveCorrupt, "truncated"),
    "scrambled": (make_scrambled, SaveCorrupt, "damaged"),
    "too new": (make_too_new, SaveTooNew, "newer simengine"),
}


@pytest.mark.parametrize("readonly", [False, True], ids=["writable", "readonly"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_files_are_refused_and_untouched(tmp_path, spec, case, readonly):
    make, error, words = CASES[case]
    path = make(tmp_path, spec)
    before = fingerprint(tmp_path)
    with pytest.raises(error, match=words) as info:
        Save.open(path, readonly=readonly)
    assert str(path) in str(info.value)
    assert fingerprint(tmp_path) == before


@pytest.mark.parametrize(
    "command", [["log"], ["export", "--format", "json"], ["undo"], ["fork", "--at", "1"]]
)
@pytest.mark.parametrize("case", list(CASES))
def test_cli_refuses_bad_files_cleanly(tmp_path, spec, case, command):
    make, _, words = CASES[case]
    path = make(tmp_path, spec)
    before = fingerprint(tmp_path)
    name, *options = command
    args = [name, str(path), *(["alt"] if name == "fork" else []), *options]
    result = CliRunner().invoke(saves, args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert words in result.output and result.output.startswith("Error: ")
    assert fingerprint(tmp_path) == before


def test_missing_save(tmp_path):
    with pytest.raises(SaveNotFound, match="saves list"):
        Save.open(tmp_path / "nothing.db")
    result = CliRunner().invoke(saves, ["log", "nothing", "--saves-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no save at" in result.output and "nothing.db" in result.output
    assert list(tmp_path.iterdir()) == []


def test_directory_is_not_a_save(tmp_path):
    (tmp_path / "folder.db").mkdir()
    with pytest.raises(NotASave, match="directory"):
        Save.open(tmp_path / "folder.db")


def test_list_marks_bad_files_and_shows_good_ones(tmp_path, spec):
    long_save(tmp_path / "good.db", spec, events=4)
    make_not_sqlite(tmp_path, spec)
    make_too_new(tmp_path, spec)
    before = fingerprint(tmp_path)
    result = CliRunner().invoke(saves, ["list", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "Hollow Crossing" in lines["good"]
    assert "(not a save)" in lines["notes"]
    assert "(needs a newer simengine)" in lines["future"]
    after = fingerprint(tmp_path)
    # A read-only SQLite reader of a healthy WAL save may leave its -wal/-shm
    # index files behind (as Datasette's do); the files themselves stay as they were.
    assert {k: v for k, v in after.items() if not k.startswith("good.db-")} == before


def test_unreadable_event_is_reported_not_raised(tmp_path, spec):
    path = long_save(tmp_path / "hand-edited.db", spec, events=3)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE events SET ops = ? WHERE id = 2", [json.dumps([{"op": "fly"}])])
    conn.commit()
    conn.close()
    with Save.open(path, readonly=True) as s:
        with pytest.raises(SaveCorrupt, match="event #2"):
            s.state()
    result = CliRunner().invoke(saves, ["log", str(path)])
    assert result.exit_code == 1 and "event #2" in result.output
