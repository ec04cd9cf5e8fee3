"""Author rules: a locked-door world written from the README holds for player and NPCs."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from simengine.sim.session import Session
from simengine.world.loader import WorldFileError, parse_world
from simengine.world.ops import Move, Proposal, Transfer
from simengine.world.rules import Turn, check
from simengine.world.rules.registry import prompt_rules
from simengine.world.state import WorldState

README = Path(__file__).parents[2] / "README.md"


def readme_rule(rule_id: str) -> str:
    """The ``[[rules]]`` entry with this id, exactly as the README writes it."""
    for block in re.findall(r"```toml\n(.*?)```", README.read_text(), re.S):
        for entry in block.split("[[rules]]"):
            if f'id = "{rule_id}"' in entry:
                return "[[rules]]" + entry
    raise AssertionError(f"README has no rule {rule_id}")


WORLD = """
[world]
id = "chapel"
name = "The Chapel"

[[locations]]
id = "nave"
name = "Nave"
connects = ["crypt"]

[[locations]]
id = "crypt"
name = "Crypt"

[[characters]]
id = "wren"
name = "Wren"
at = "nave"

[[characters]]
id = "sexton"
name = "Old Sexton"
at = "nave"

[[items]]
id = "iron-key"
name = "Iron Key"
at = "nave"

[player]
character = "wren"

"""
SAYS = "The crypt door is locked. It needs the iron key."


@pytest.fixture
def spec():
    return parse_world(WORLD + readme_rule("crypt-locked"), "chapel.toml")


def test_the_readme_rule_validates_and_reaches_the_prompt(spec) -> None:
    state = WorldState.from_spec(spec)
    lines = prompt_rules(state)
    assert any(SAYS in line and "actor holds iron-key" in line for line in lines)


def test_npc_beats_need_the_key(spec) -> None:
    state = WorldState.from_spec(spec)
    go = Proposal(actor="sexton", ops=[Move(entity="sexton", to="crypt")])
    refused = check(go, state, Turn("npc", "sexton"))
    assert [(v.rule, v.message) for v in refused] == [("world.crypt-locked", SAYS)]
    # picking the key up first, in the same beat, opens the door
    take_then_go = Proposal(actor="sexton", ops=[
        Transfer(item="iron-key", to="sexton"), Move(entity="sexton", to="crypt")])
    assert check(take_then_go, state, Turn("npc", "sexton")) == []
    # the rule is about the crypt: other moves are free
    state.apply([Move(entity="sexton", to="crypt")])
    back = Proposal(actor="sexton", ops=[Move(entity="sexton", to="nave")])
    assert check(back, state, Turn("npc", "sexton")) == []


def test_the_player_is_refused_without_the_key_and_let_in_with_it(spec, tmp_path) -> None:
    async def play() -> tuple[str, str, str]:
        with Session.new(spec, tmp_path / "chapel.db", npc_rate=0, world_event_rate=0) as s:
            first = await s.act("go to crypt")
            told = " ".join(c.narration for c in first.events)
            where_then = s.state.where("wren")
            await s.act("take the iron key")
            await s.act("go to crypt")
            return told, where_then, s.state.where("wren")

    told, before, after = asyncio.run(play())
    assert before == "nave"
    assert "crypt door is locked" in told  # the player reads the rule's `says`
    assert after == "crypt"


@pytest.mark.parametrize(("rule", "line", "words"), [
    ('forbid = "move"\nwhen = "target == crpyt"\nsays = "x"', 3,
     "column 19: unknown id 'crpyt' (did you mean: crypt?)"),
    ('forbid = "mvoe to crypt"\nsays = "x"', 2, "unknown op kind 'mvoe' (did you mean: move?)"),
    ('forbid = "move into crypt"\nsays = "x"', 2, "a move has no field 'into'"),
    ('forbid = "move to cyrpt"\nsays = "x"', 2, "did you mean: crypt?"),
    ('forbid = "move"\nunless = "actor hodls iron-key"\nsays = "x"', 3,
     "unknown relation kind 'hodls'"),
])
def test_validate_points_at_bad_rules(rule: str, line: int, words: str) -> None:
    text = WORLD + '[[rules]]\nid = "r"\n' + rule + "\n"
    with pytest.raises(WorldFileError) as err:
        parse_world(text, "chapel.toml")
    first_rule_line = WORLD.count("\n") + 1
    problem = err.value.problems[0]
    assert problem.line == first_rule_line + line
    assert words in str(problem)


def test_duplicate_rule_ids_are_refused(spec) -> None:
    rule = readme_rule("crypt-locked")
    with pytest.raises(WorldFileError, match="duplicate rule id 'crypt-locked'"):
        parse_world(WORLD + rule + rule)


def test_readme_examples_validate_in_a_world_that_has_their_names() -> None:
    world = WORLD.replace('[player]', '''[attributes.blade]
type = "bool"
kinds = ["item"]

[[locations]]
id = "cloister"
name = "Cloister"

[[locations]]
id = "open-sea"
name = "Open Sea"

[[characters]]
id = "captain"
name = "Captain"
at = "cloister"

[[factions]]
id = "crew"
name = "Crew"

[[items]]
id = "knife"
name = "Knife"
at = "sexton"
attributes = { blade = true }

[player]''')
    text = world + readme_rule("no-blades-in-cloister") + readme_rule("only-the-captain-sails")
    state = WorldState.from_spec(parse_world(text))
    give = Proposal(actor="sexton", ops=[Transfer(item="knife", to="captain")])
    assert [v.rule for v in check(give, state, Turn("npc", "sexton"))] == [
        "world.no-blades-in-cloister"]
    drop = Proposal(actor="sexton", ops=[Transfer(item="knife", to="nave")])
    assert check(drop, state, Turn("npc", "sexton")) == []
    sail = Proposal(actor="sexton", ops=[Move(entity="sexton", to="open-sea")])
    world_travel = {**state.world, "travel": "anywhere"}
    state.graph.graph["world"] = world_travel
    assert [v.rule for v in check(sail, state, Turn("npc", "sexton"))] == [
        "world.only-the-captain-sails"]
    captain = Proposal(actor="captain", ops=[Move(entity="captain", to="open-sea")])
    assert check(captain, state, Turn("npc", "captain")) == []


def test_a_model_gets_the_rule_in_its_prompt_and_its_says_back_for_repair(spec) -> None:
    from simengine.sim.decide import decide
    from simengine.storytellers.base import Intent
    from simengine.storytellers.scene import build_scene
    from simengine.testing.scripted import ScriptedStoryteller

    state = WorldState.from_spec(spec)
    intent = Intent("npc", "sexton", seed=1)
    scene = build_scene(state, intent)
    assert SAYS in scene.prefix  # listed with the hard rules every prompt carries
    go = {"actor": "sexton", "ops": [{"op": "move", "entity": "sexton", "to": "crypt"}]}
    stay = {"actor": "sexton", "summary": "The sexton sweeps the nave", "ops": []}
    model = ScriptedStoryteller("model").enqueue(go, stay)
    decision = asyncio.run(decide(model, scene, intent, state))
    repair = [h for h in model.history if h["phase"] == "repair"]
    assert repair and any(SAYS in f for f in repair[0]["feedback"])
    assert decision.proposal.ops == []
    assert [v.rule for v in decision.rejected] == ["world.crypt-locked"]  # told in narration
