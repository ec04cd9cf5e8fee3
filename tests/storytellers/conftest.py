"""Worlds for the scene and procedural storyteller tests.

``proc_harbour.toml`` is a small harbour with money, prices, health, mood, a
protected rank and a dead keeper; ``proc_closed.toml`` invents nothing and has
no money. ``grow_world`` makes a big world out of a small one for the
"a scene does not grow with the world" test.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from simengine.world.spec import WorldSpec
from simengine.world.state import WorldState

FIXTURES = Path(__file__).parent.parent / "fixtures"


def load_raw(name: str) -> dict[str, Any]:
    with open(FIXTURES / name, "rb") as f:
        return tomllib.load(f)


def load_spec(name: str) -> WorldSpec:
    return WorldSpec.model_validate(load_raw(name))


def load_state(name: str) -> WorldState:
    return WorldState.from_spec(load_spec(name))


def entity_count(raw: dict[str, Any]) -> int:
    return sum(len(raw.get(s, [])) for s in ("locations", "characters", "items", "factions"))


def grow_world(raw: dict[str, Any], total: int, attach_to: str, width: int = 20) -> WorldSpec:
    """``raw`` plus a grid of new places (one person and one thing in each) up to ``total``.

    The grid hangs off ``attach_to``: cell ``i`` connects to the cell before it in
    its row and to the cell above it, so every place has at most four exits and the
    world grows in extent, not in how crowded any one room is.
    """
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in raw.items()}
    i = 0
    while entity_count(out) + 3 <= total:
        loc = f"cell-{i}"
        connects = [attach_to] if i == 0 else []
        if i % width:
            connects.append(f"cell-{i - 1}")
        if i >= width:
            connects.append(f"cell-{i - width}")
        out["locations"].append({
            "id": loc, "name": f"Cell {i}", "connects": connects,
            "description": f"Stretch {i} of the long marsh, reeds and black water.",
        })
        out["characters"].append({
            "id": f"walker-{i}", "name": f"Walker {i}", "at": loc,
            "description": "Someone who walks the marsh.", "traits": ["quiet"],
        })
        out["items"].append({
            "id": f"pebble-{i}", "name": f"Pebble {i}", "at": loc,
            "description": "A smooth grey pebble.",
        })
        i += 1
    while entity_count(out) < total:
        n = entity_count(out)
        out["items"].append({"id": f"reed-{n}", "name": f"Reed {n}", "at": attach_to})
    return WorldSpec.model_validate(out)


@pytest.fixture
def harbour() -> WorldState:
    return load_state("proc_harbour.toml")


@pytest.fixture
def closed() -> WorldState:
    return load_state("proc_closed.toml")


@pytest.fixture
def world_files():
    """The loaders and the grower, for tests that need more than one world."""

    class Worlds:
        raw = staticmethod(load_raw)
        spec = staticmethod(load_spec)
        state = staticmethod(load_state)
        grow = staticmethod(grow_world)
        count = staticmethod(entity_count)

    return Worlds
