"""The rule registry feeds `simengine rules`, the README's table and the prompt."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.world.loader import load_world
from simengine.world.ops import Move, Proposal, Transfer
from simengine.world.rules import BUILT_IN, Turn, check, records
from simengine.world.rules.registry import markdown_table
from simengine.world.state import WorldState

ROOT = Path(__file__).parents[2]
WORLDS = ROOT / "worlds"


def test_the_readme_table_matches_the_registry() -> None:
    assert len({r.id for r in BUILT_IN}) == len(BUILT_IN)
    readme = (ROOT / "README.md").read_text()
    table = re.search(r"<!-- rules:start -->\n(.*?)\n<!-- rules:end -->", readme, re.S)
    assert table, "README lost its rule table markers"
    assert table.group(1) == markdown_table(list(BUILT_IN)), (
        "README's rule table is out of step with world/rules/registry.py; regenerate it with "
        "markdown_table(BUILT_IN)")


def test_rules_command_lists_built_in_and_world_rules() -> None:
    result = CliRunner().invoke(main, ["rules", str(WORLDS / "harbour.toml")])
    assert result.exit_code == 0, result.output
    assert "travel.adjacent" in result.output
    assert "world.sea-chest-locked" in result.output and "brass key" in result.output
    plain = CliRunner().invoke(main, ["rules", "--json"])
    ids = [json.loads(line)["id"] for line in plain.output.splitlines()]
    assert ids == [r.id for r in BUILT_IN]


def test_rules_command_refuses_a_bad_world_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[world]\nid = "w"\nname = "W"\n\n[[rules]]\nid = "r"\nforbid = "fly"\n'
                   'says = "no"\n')
    result = CliRunner().invoke(main, ["rules", str(bad)])
    assert result.exit_code == 1
    assert "bad.toml:7" in result.output and "unknown op kind 'fly'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["harbour", "starship", "frontier"])
def test_each_shipped_world_has_a_rule_of_its_own(name: str) -> None:
    state = WorldState.from_spec(load_world(WORLDS / f"{name}.toml"))
    own = [r for r in records(state) if r.source == "world"]
    assert own
    prompt = CliRunner().invoke(main, ["rules", "--prompt", str(WORLDS / f"{name}.toml")])
    assert all(r.says in prompt.output for r in own)


def test_the_shipped_rules_bite() -> None:
    ship = WorldState.from_spec(load_world(WORLDS / "starship.toml"))
    # the quartermaster has the suit; without it nobody enters the bay
    go = Proposal(actor="quartermaster", ops=[Move(entity="quartermaster", to="shuttle-bay")])
    assert check(go, ship, Turn("npc", "quartermaster")) == []
    ship.apply([Transfer(item="pressure-suit", to="cargo-hold")])
    assert [v.rule for v in check(go, ship, Turn("npc", "quartermaster"))] == [
        "world.bay-needs-a-suit"]

    harbour = WorldState.from_spec(load_world(WORLDS / "harbour.toml"))
    harbour.apply([Move(entity="merchant", to="counting-house"),
                   Move(entity="merchant", to="vault")])
    loot = Proposal(actor="merchant", ops=[Transfer(item="pearl-necklace", to="merchant")])
    assert [v.rule for v in check(loot, harbour, Turn("npc", "merchant"))] == [
        "world.sea-chest-locked"]
    harbour.apply([Transfer(item="brass-key", to="merchant")])
    assert check(loot, harbour, Turn("npc", "merchant")) == []


def test_no_dynamite_in_the_saloon() -> None:
    gulch = WorldState.from_spec(load_world(WORLDS / "frontier.toml"))
    hand_over = Proposal(actor="storekeeper", ops=[Transfer(item="dynamite", to="dutch")])
    rules = [v.rule for v in check(hand_over, gulch, Turn("npc", "storekeeper"))]
    assert "world.no-dynamite-in-the-saloon" in rules  # (and unpaid: it has a price)
    elsewhere = Proposal(actor="storekeeper", ops=[Transfer(item="dynamite", to="general-store")])
    assert check(elsewhere, gulch, Turn("npc", "storekeeper")) == []
