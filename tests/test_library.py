"""The library face: the README's Python example runs, and embedders get what they need."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

import simengine

ROOT = Path(__file__).parent.parent
HARBOUR = ROOT / "worlds" / "harbour.toml"


def test_the_readme_example_runs(monkeypatch, capsys) -> None:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Use it from Python\s+```python\n(.*?)```", text, re.S)
    assert block, "README lost its Python example"
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 12
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) >= 3
    assert out[-1] in {loc.id for loc in simengine.load_world(HARBOUR).locations}
    assert "Mara" in out[-2]  # the tick's events, the player's first


def test_every_export_resolves() -> None:
    for name in simengine.__all__:
        assert getattr(simengine, name) is not None, name
    with pytest.raises(AttributeError):
        simengine.no_such_thing  # noqa: B018


def test_a_memory_game_leaves_nothing_behind() -> None:
    game = simengine.start(HARBOUR, narrate=False)
    folder = game.save.path.parent
    assert isinstance(game, simengine.MemoryGame) and folder.exists()
    simengine.step(game, "wait")
    game.close()
    assert not folder.exists()


def test_a_game_on_disk_is_continued_the_same(tmp_path) -> None:
    save = tmp_path / "g.db"
    with simengine.start(HARBOUR, save, narrate=False) as game:
        simengine.step(game, "go to the market")
        where = game.state.where(game.player)
    with simengine.open_game(save) as again:
        assert again.state.where(again.player) == where == "market"
        assert again.tick == 1


def test_async_code_awaits_start_open_and_step(tmp_path) -> None:
    async def play(save: Path) -> tuple[str, int]:
        with pytest.raises(RuntimeError, match="await simengine.start_async"):
            simengine.start(HARBOUR)
        with await simengine.start_async(HARBOUR, save, narrate=False) as game:
            with pytest.raises(RuntimeError, match="await game.step"):
                simengine.step(game, "wait")
            await game.step("go to the market")
        with await simengine.open_game_async(save) as again:
            return again.state.where(again.player), again.tick

    assert asyncio.run(play(tmp_path / "a.db")) == ("market", 1)


def test_same_seed_same_story() -> None:
    def story() -> list[str]:
        with simengine.start(HARBOUR, seed=3, narrate=False) as game:
            return [c.event.summary for _ in range(3) for c in simengine.step(game).events]

    assert story() == story()
