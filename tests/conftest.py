"""Fixtures every test shares."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _saves_in_tmp(tmp_path_factory, monkeypatch):
    """Tests never touch a real ./saves/: SIMENGINE_SAVES points at a fresh temp dir."""
    saves = tmp_path_factory.mktemp("saves")
    monkeypatch.setenv("SIMENGINE_SAVES", str(saves))
    monkeypatch.delenv("SIMENGINE_MODEL", raising=False)
    return saves
