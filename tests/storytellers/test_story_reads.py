"""The procedural story as a player reads it: no to-and-fro, no deeds put in the
player's mouth, talk with something in it, place names that read as English."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simengine.sim.session import Session
from simengine.world.loader import load_world
from simengine.world.ops import Adjust, Transfer

WORLDS = Path(__file__).parent.parent.parent / "worlds"


def trades(session):
    """(tick, item, buyer, seller) of every sale in the save, oldest first."""
    cur = session.state.currency
    out = []
    for event in session.save.log():
        paid = {op.entity: op.by for op in event.ops
                if isinstance(op, Adjust) and op.attribute == cur}
        for op in event.ops:
            if isinstance(op, Transfer) and paid.get(op.to, 0) < 0:
                seller = next(e for e, by in paid.items() if by > 0)
                out.append((event.tick, op.item, op.to, seller))
    return out


@pytest.mark.parametrize("world, seed", [("harbour", None), ("frontier", 7), ("starship", 3)])
def test_nobody_buys_back_what_they_just_sold(tmp_path, world, seed):
    """A sold thing rests a good while: no cutlass going to and fro hour after hour."""
    spec = load_world(WORLDS / f"{world}.toml")
    kw = {} if seed is None else {"seed": seed}
    session = Session.new(spec, tmp_path / "t.db", **kw)
    asyncio.run(session.wait(40))
    sales = trades(session)
    session.close()
    assert sales, "the world should see some trade"
    last: dict[str, int] = {}
    for tick, item, _buyer, _seller in sales:
        if item in last:
            assert tick - last[item] >= 8, (item, sales)
        last[item] = tick
