"""What a session's ticks leave in the save besides their events."""

from __future__ import annotations

import asyncio
from pathlib import Path

from simengine.sim.session import Session
from simengine.store import Save
from simengine.world.loader import load_world

FRONTIER = Path(__file__).parent.parent.parent / "worlds" / "frontier.toml"


def test_a_running_game_shows_when_it_was_last_played(tmp_path):
    """Each tick's bookkeeping carries ``last_played``: the saves list, read while the
    game runs, shows the time of its newest event, not when it was opened."""
    path = tmp_path / "game.db"
    session = Session.new(load_world(FRONTIER), path, seed=5, narrate=False)
    try:
        asyncio.run(session.wait(3))
        with Save.open(path, readonly=True) as reader:
            newest = max(e.created_at for e in reader.events())
            assert reader.get_meta("last_played") == newest
            assert reader.get_meta("clock:main")["head"] == reader.head()
    finally:
        session.close()
