"""A small harbour world every world-layer test starts from."""

from __future__ import annotations

from pathlib import Path

import pytest

from simengine.world.loader import load_world
from simengine.world.state import WorldState

MINI = Path(__file__).parent.parent / "fixtures" / "mini.toml"


@pytest.fixture(scope="session")
def mini_spec():
    return load_world(MINI)


@pytest.fixture
def state(mini_spec) -> WorldState:
    return WorldState.from_spec(mini_spec)
