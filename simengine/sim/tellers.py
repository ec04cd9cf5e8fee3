"""Choosing who tells a game: procedural, Ollama, auto or a replayed cassette."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from simengine.storytellers.base import Storyteller
from simengine.storytellers.config import choose_storyteller, resolve_ollama_config
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.world.spec import WorldSpec


@dataclass
class TellerChoice:
    """The storyteller, the fallback for beats it cannot tell, and why it was chosen."""

    storyteller: Storyteller
    fallback: Storyteller
    why: str


def choose(
    kind: str,
    *,
    spec: WorldSpec,
    seed: int,
    model: str | None = None,
    host: str | None = None,
    record: Path | None = None,
) -> TellerChoice:
    """Build the storyteller ``kind`` names (auto, ollama, procedural, replay:FILE).

    Raises:
        StorytellerError: an unknown kind, an unreachable server for ``ollama``, a
            cassette that cannot be read.
    """
    return asyncio.run(achoose(kind, spec=spec, seed=seed, model=model, host=host, record=record))


async def achoose(
    kind: str,
    *,
    spec: WorldSpec,
    seed: int,
    model: str | None = None,
    host: str | None = None,
    record: Path | None = None,
) -> TellerChoice:
    """:func:`choose`, for code already in an event loop."""
    config = resolve_ollama_config(spec.storyteller, cli_model=model, cli_host=host)
    teller, why = await choose_storyteller(kind, config, seed, ProceduralStoryteller,
                                           record=record)
    fallback = (
        teller if isinstance(teller, ProceduralStoryteller) else ProceduralStoryteller(seed=seed)
    )
    return TellerChoice(teller, fallback, why)
