"""simengine: simulative AI storytelling. Models propose; the world graph disposes.

Use it from Python::

    import simengine

    world = simengine.load_world("worlds/harbour.toml")
    with simengine.start(world) as game:          # the save lives in memory
        game.subscribe(print)                     # every beat, chunk and notice
        simengine.step(game, "look around")       # or `await game.step(...)`
        print(game.state.where(game.player))

The names below are loaded on first use, so ``import simengine`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: What an embedder needs, and where it lives.
_EXPORTS: dict[str, str] = {
    "load_world": "simengine.world.loader",
    "parse_world": "simengine.world.loader",
    "WorldFileError": "simengine.world.loader",
    "WorldSpec": "simengine.world.spec",
    "WorldState": "simengine.world.state",
    "Proposal": "simengine.world.ops",
    "Violation": "simengine.world.rules",
    "start": "simengine.sim.embed",
    "open_game": "simengine.sim.embed",
    "start_async": "simengine.sim.embed",
    "open_game_async": "simengine.sim.embed",
    "step": "simengine.sim.embed",
    "MemoryGame": "simengine.sim.embed",
    "Session": "simengine.sim.session",
    "TickResult": "simengine.sim.session",
    "BeatStarted": "simengine.sim.session",
    "NarrationChunk": "simengine.sim.session",
    "Committed": "simengine.sim.session",
    "Notice": "simengine.sim.session",
    "Save": "simengine.store",
    "SaveError": "simengine.store",
    "StorytellerError": "simengine.storytellers.base",
}
__all__ = [
    "__version__",
    "load_world",
    "parse_world",
    "WorldFileError",
    "WorldSpec",
    "WorldState",
    "Proposal",
    "Violation",
    "start",
    "open_game",
    "start_async",
    "open_game_async",
    "step",
    "MemoryGame",
    "Session",
    "TickResult",
    "BeatStarted",
    "NarrationChunk",
    "Committed",
    "Notice",
    "Save",
    "SaveError",
    "StorytellerError",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value  # once found, a plain attribute
        return value
    raise AttributeError(f"module 'simengine' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # for type checkers and editors; at run time the names load lazily
    from simengine.sim.embed import (
        MemoryGame,
        open_game,
        open_game_async,
        start,
        start_async,
        step,
    )
    from simengine.sim.session import (
        BeatStarted,
        Committed,
        NarrationChunk,
        Notice,
        Session,
        TickResult,
    )
    from simengine.store import Save, SaveError
    from simengine.storytellers.base import StorytellerError
    from simengine.world.loader import WorldFileError, load_world, parse_world
    from simengine.world.ops import Proposal
    from simengine.world.rules import Violation
    from simengine.world.spec import WorldSpec
    from simengine.world.state import WorldState
