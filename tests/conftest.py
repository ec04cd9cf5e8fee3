"""Fixtures every test shares."""

from __future__ import annotations

import pytest

from simengine.testing.fake_ollama import FakeOllama
from simengine.testing.fixtures import simple_scene, tiny_state


@pytest.fixture(autouse=True)
def _saves_in_tmp(tmp_path_factory, monkeypatch):
    """Tests never touch a real ./saves/: SIMENGINE_SAVES points at a fresh temp dir."""
    saves = tmp_path_factory.mktemp("saves")
    monkeypatch.setenv("SIMENGINE_SAVES", str(saves))
    monkeypatch.delenv("SIMENGINE_MODEL", raising=False)
    return saves


@pytest.fixture
def fake():
    """A fake Ollama server on a free 127.0.0.1 port, scripted mode."""
    with FakeOllama() as server:
        yield server


@pytest.fixture
def state():
    """The tiny Saltmarsh world (test folders may have their own ``state``)."""
    return tiny_state()


@pytest.fixture
def scene(state):
    return simple_scene(state, "mara")
