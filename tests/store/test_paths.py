"""Where saves live, and how a name finds its file."""

from __future__ import annotations

from pathlib import Path

import pytest

from simengine.store import list_saves, resolve_save, save_path, saves_dir


def test_saves_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("SIMENGINE_SAVES", str(tmp_path / "env"))
    assert saves_dir() == tmp_path / "env"
    assert saves_dir(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv("SIMENGINE_SAVES")
    assert saves_dir() == Path("saves")


def test_tests_never_use_the_real_saves_dir(_saves_in_tmp):
    assert saves_dir() == _saves_in_tmp


def test_resolve_save(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    (home / "tavern.db").write_bytes(b"")
    assert resolve_save("tavern", home) == home / "tavern.db"
    assert resolve_save("tavern.db", home) == home / "tavern.db"
    assert resolve_save("ghost", home) == home / "ghost.db"
    assert resolve_save("sub/ghost.db", home) == Path("sub/ghost.db")
    (tmp_path / "local.db").write_bytes(b"")
    assert resolve_save("local.db", home) == Path("local.db")


def test_save_path_and_list(tmp_path):
    assert save_path("tavern", tmp_path) == tmp_path / "tavern.db"
    assert save_path("tavern.db", tmp_path) == tmp_path / "tavern.db"
    for bad in ("../x", ".hidden", "a/b", ""):
        with pytest.raises(ValueError):
            save_path(bad, tmp_path)
    for name in ("b.db", "a.db", "a.db.lock", "a.db-wal", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_saves(tmp_path)] == ["a.db", "b.db"]
    assert list_saves(tmp_path / "missing") == []
