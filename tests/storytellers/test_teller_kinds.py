"""One registry of storyteller kinds: a kind registered once is chosen everywhere.

The CLI (run and batch), batch runs, the TUI's launcher and ``/storyteller``, and
the world file's ``[storyteller] kind`` all read ``storytellers.config.KINDS``.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import simengine
from simengine.cli import main
from simengine.sim.batch import check_kind
from simengine.sim.executors import RunTask
from simengine.storytellers.base import StorytellerError
from simengine.storytellers.config import (
    KINDS,
    OllamaConfig,
    TellerKind,
    choose_storyteller,
    register,
    uses_model,
)
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.tui.commands import Command, Invalid, parse
from simengine.tui.launcher import tellers
from simengine.world.loader import WorldFileError, parse_world
from simengine.world.spec import STORYTELLER_KINDS

ROOT = Path(__file__).parents[2]
HARBOUR = ROOT / "worlds" / "harbour.toml"


class Echo(ProceduralStoryteller):
    name = "echo"


def _echo(request):
    return Echo(seed=request.seed), f"echo storyteller, seed {request.seed}"


@pytest.fixture
def restored_kinds():
    """The registry as it was, after the test (whatever it registered)."""
    kinds, names = dict(KINDS), list(STORYTELLER_KINDS)
    yield
    KINDS.clear()
    KINDS.update(kinds)
    STORYTELLER_KINDS[:] = names


@pytest.fixture
def echo_kind(restored_kinds):
    """An ``echo`` kind, registered for one test."""
    register(TellerKind("echo", "says what the procedural one says", _echo))
    return KINDS["echo"]


def world_text(kind: str) -> str:
    return HARBOUR.read_text().replace('kind = "procedural"', f'kind = "{kind}"', 1)


def test_an_unregistered_kind_is_refused_everywhere():
    with pytest.raises(WorldFileError, match="storyteller.kind: input should be 'auto', "
                                             "'procedural' or 'ollama' \\(got 'echo'\\)"):
        parse_world(world_text("echo"), "harbour.toml")
    with pytest.raises(StorytellerError, match="unknown storyteller 'echo' — use auto, ollama, "
                                               "procedural or replay:FILE"):
        check_kind("echo")
    assert "echo" not in {k for k, _ in tellers()}
    assert isinstance(parse("/storyteller echo"), Invalid)
    result = CliRunner().invoke(main, ["run", str(HARBOUR), "-s", "echo", "-n", "1"])
    assert result.exit_code == 2 and "unknown storyteller 'echo'" in result.output


def test_a_kind_registered_once_shows_up_in_every_chooser(echo_kind, tmp_path):
    # The world file may name it.
    spec = parse_world(world_text("echo"), "harbour.toml")
    assert spec.storyteller.kind == "echo"
    # The chooser builds it.
    teller, why = asyncio.run(choose_storyteller("echo", OllamaConfig(), 5,
                                                 ProceduralStoryteller))
    assert isinstance(teller, Echo) and why == "echo storyteller, seed 5"
    # Batch runs accept it, and know it needs no model host.
    check_kind("echo")
    assert not uses_model("echo") and uses_model("auto") and uses_model("ollama")
    assert not RunTask(spec, 0, 0, "x.db", 1, storyteller="echo").uses_model
    batch_help = CliRunner().invoke(main, ["batch", "--help"]).output
    assert "[auto|ollama|procedural|replay:FILE|echo]" in batch_help
    # The TUI offers it in the launcher and takes it in /storyteller.
    assert ("echo", "echo") in tellers()
    assert parse("/storyteller echo") == Command("storyteller", word="echo")
    assert parse("/storyteller echo big") == Invalid("the echo storyteller has no model")
    # And a run told by it says so.
    save = tmp_path / "echo.db"
    result = CliRunner().invoke(main, ["run", str(HARBOUR), "-s", "echo", "-n", "1",
                                       "--save", str(save)])
    assert result.exit_code == 0, result.output
    assert "echo storyteller, seed" in result.output


def test_a_kind_with_an_argument_is_not_for_world_files_or_the_picker(tmp_path):
    assert KINDS["replay"].spelled == "replay:FILE"
    assert "replay" not in STORYTELLER_KINDS and "replay" not in {k for k, _ in tellers()}
    with pytest.raises(StorytellerError, match="unknown storyteller 'procedural:x'"):
        check_kind("procedural:x")
    with pytest.raises(StorytellerError, match="unknown storyteller 'replay:'"):
        check_kind("replay:")
    check_kind(f"replay:{tmp_path / 'run.jsonl'}")


def test_the_readme_example_adds_a_kind_a_game_can_use(restored_kinds):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Storytellers and models.*?```python\n(.*?)```", text, re.S)
    assert block, "the README's storyteller section has no Python example"
    exec(block.group(1), {})
    assert "gentle" in KINDS and "gentle" in STORYTELLER_KINDS
    world = parse_world(world_text("gentle"), "harbour.toml")  # a world file may name it
    with simengine.start(world, storyteller="gentle", seed=3) as game:  # unknown: an error
        assert isinstance(game.storyteller, ProceduralStoryteller)
        assert simengine.step(game, "look around").events
