"""Fixtures for the fake Ollama server's own tests."""

from __future__ import annotations

import pytest

from simengine.testing.fake_ollama import FakeOllama
from simengine.testing.fixtures import simple_scene, tiny_state


@pytest.fixture
def fake():
    """A started scripted fake on a free 127.0.0.1 port."""
    with FakeOllama() as server:
        yield server


@pytest.fixture
def state():
    return tiny_state()


@pytest.fixture
def scene(state):
    return simple_scene(state, "mara")
