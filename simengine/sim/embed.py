"""The library face: start or open a game from Python, with a save on disk or in memory.

``simengine`` re-exports these (see its ``__init__``). A game is a
:class:`~simengine.sim.session.Session`: ``await game.step(text)`` in async
code, :func:`step` from plain code; ``game.state`` is the world now;
``game.subscribe(callback)`` hears every beat, narration chunk and notice.
:func:`start` and :func:`open_game` are for plain code; in an event loop
``await start_async(...)`` and ``await open_game_async(...)`` (choosing an Ollama
storyteller probes the server, which is async).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from simengine.sim.session import Session, TickResult
from simengine.sim.tellers import TellerChoice, achoose
from simengine.store import Save
from simengine.world.loader import load_world
from simengine.world.spec import WorldSpec


class MemoryGame(Session):
    """A game whose save lives in a private temporary folder, removed when it closes.

    SQLite's ``:memory:`` cannot give the save its write lock or its crash-safe
    creation, so "in memory" is a file nobody else sees, gone on :meth:`close` (or,
    if the game is never closed, when it is garbage or the interpreter exits).
    """

    _cleanup: weakref.finalize

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._cleanup()


def _no_loop(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"an event loop is running here: use `await {what}`")


async def start_async(
    world: WorldSpec | str | Path,
    save: str | Path | None = None,
    *,
    seed: int | None = None,
    storyteller: str | None = None,
    model: str | None = None,
    host: str | None = None,
    **options: Any,
) -> Session:
    """Start a new game of ``world`` (a spec or a world file).

    Args:
        save: the new save file; ``None`` keeps the save in memory (see :class:`MemoryGame`).
        seed: the story's seed (default: the world's).
        storyteller: ``procedural`` (the default), ``ollama``, ``auto`` or ``replay:FILE``.
        options: passed to :class:`Session` (``narrate``, ``npc_rate``, ``retries`` ...).

    Raises:
        WorldFileError: a bad world file. SaveExists: ``save`` is already there.
        StorytellerError: the storyteller cannot be had (an unreachable Ollama).
    """
    spec = world if isinstance(world, WorldSpec) else load_world(world)
    run_seed = spec.world.seed if seed is None else seed
    choice = await achoose(storyteller or "procedural", spec=spec, seed=run_seed, model=model,
                           host=host)
    tellers = {"storyteller": choice.storyteller, "fallback": choice.fallback}
    if save is not None:
        return Session.new(spec, save, seed=run_seed, **tellers, **options)
    folder = Path(tempfile.mkdtemp(prefix="simengine-"))
    try:
        game = MemoryGame(Save.create(folder / "game.db", spec), seed=run_seed, **tellers,
                          **options)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    game._cleanup = weakref.finalize(game, shutil.rmtree, folder, ignore_errors=True)
    return game


async def open_game_async(
    save: str | Path,
    *,
    branch: str | None = None,
    storyteller: str | None = None,
    model: str | None = None,
    host: str | None = None,
    **options: Any,
) -> Session:
    """Continue the game in a save file (on ``branch``, or where it was left)."""
    game = Session.load(save, branch=branch, **options)
    try:
        choice: TellerChoice = await achoose(storyteller or "procedural", spec=game.save.settings,
                                             seed=game.seed, model=model, host=host)
    except BaseException:
        game.close()
        raise
    game.storyteller, game.fallback = choice.storyteller, choice.fallback
    return game


def start(world: WorldSpec | str | Path, save: str | Path | None = None,
          **kwargs: Any) -> Session:
    """:func:`start_async` for plain code."""
    _no_loop("simengine.start_async(...)")
    return asyncio.run(start_async(world, save, **kwargs))


def open_game(save: str | Path, **kwargs: Any) -> Session:
    """:func:`open_game_async` for plain code."""
    _no_loop("simengine.open_game_async(...)")
    return asyncio.run(open_game_async(save, **kwargs))


def step(game: Session, text: str | None = None) -> TickResult:
    """One tick from plain code; ``text`` is the player's action, if any.

    In async code ``await game.step(text)`` instead.
    """
    _no_loop("game.step(text)")
    return asyncio.run(game.step(text))
