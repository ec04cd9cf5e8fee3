"""Pytest-free helpers: a running fake server, a dead address, a tiny world and scene.

The tiny world ("Saltmarsh") is small enough to read at a glance and has one
of everything the rules care about: a conserved currency, a protected
attribute, a priced item, a dead man, and a place not adjacent to the start
(for teleports). ``simengine doctor`` uses it for its test decide call.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from simengine.eval.adversary import FakeOllama
from simengine.storytellers.base import Scene
from simengine.world.spec import WorldSpec
from simengine.world.state import WorldState

TINY_WORLD: dict[str, Any] = {
    "world": {
        "id": "saltmarsh",
        "name": "Saltmarsh",
        "premise": "A fishing town on a drowned coast, where the tide keeps secrets.",
        "tone": "quiet, salt-stained",
        "currency": "gold",
        "laws": ["Nobody crosses the marsh at night."],
    },
    "attributes": {
        "gold": {"type": "int", "min": 0, "default": 0, "conserved": True},
        "health": {"type": "int", "min": 0, "max": 100, "default": 100},
        "rank": {"type": "str", "default": "commoner", "protected": True},
        "mood": {"type": "str", "default": "calm"},
        "value": {"type": "int", "min": 0, "kinds": ["item"]},
    },
    "locations": [
        {"id": "dock", "name": "The Dock", "connects": ["market"]},
        {"id": "market", "name": "The Market", "connects": ["chapel"]},
        {"id": "chapel", "name": "The Chapel", "connects": ["keep"]},
        {"id": "keep", "name": "The Keep"},
    ],
    "characters": [
        {"id": "mara", "name": "Mara", "at": "dock", "attributes": {"gold": 10},
         "goals": ["find her brother"]},
        {"id": "silas", "name": "Silas", "at": "dock", "attributes": {"gold": 5},
         "traits": ["greedy"]},
        {"id": "tam", "name": "Brother Tam", "at": "dock", "alive": False},
        {"id": "ned", "name": "Old Ned", "at": "market"},
    ],
    "items": [
        {"id": "lantern", "name": "Lantern", "at": "silas", "attributes": {"value": 5}},
        {"id": "rope", "name": "Tarred Rope", "at": "dock"},
    ],
    "player": {"character": "mara"},
}


def tiny_world_spec() -> WorldSpec:
    """A fresh copy of the tiny world's spec."""
    return WorldSpec.model_validate(TINY_WORLD)


def tiny_state() -> WorldState:
    return WorldState.from_spec(tiny_world_spec())


def simple_scene(state: WorldState, focus: str | None = "mara", tick: int = 0) -> Scene:
    """A plain scene around ``focus`` (a stand-in for the real scene builder)."""
    here = state.where(focus) if focus else None
    ids: list[str] = []
    if focus:
        ids.append(focus)
    if here:
        ids += [here, *state.exits(here)]
        for e in state.contents(here):
            ids += [e, *state.contents(e)]
    if focus:
        ids += state.inventory(focus)
    ids = list(dict.fromkeys(ids))
    world = state.world
    laws = "\n".join(f"- {law}" for law in world.get("laws", []))
    prefix = (
        f"# World: {world['name']}\n{world.get('premise', '')}\nTone: {world.get('tone', '')}\n"
        f"Laws (prose):\n{laws}\n"
    )
    lines = [f"# Now (tick {tick})"]
    if here:
        lines.append(f"Place: {state.name(here)} ({here}); exits: {', '.join(state.exits(here))}")
        for e in state.contents(here):
            status = "" if state.is_alive(e) or state.kind(e) != "character" else " (dead)"
            lines.append(f"- {state.name(e)} ({e}), {state.kind(e)}{status}")
    return Scene(focus=focus, location=here, ids=ids, prefix=prefix,
                 context="\n".join(lines), tick=tick, state=state)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def dead_url() -> str:
    """An Ollama URL with no server behind it (connections are refused)."""
    return f"http://127.0.0.1:{free_port()}"


@contextmanager
def running_fake(**kwargs: Any) -> Iterator[FakeOllama]:
    """A started :class:`FakeOllama` on a free port, stopped on exit."""
    fake = FakeOllama(**kwargs)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
