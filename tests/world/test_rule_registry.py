"""A rule is one record: added to the registry, it reaches check(), prompts, `simengine rules`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.storytellers.scene import world_prefix
from simengine.world.loader import load_world
from simengine.world.ops import Kill, Move, Proposal, Tell
from simengine.world.rules import EVERY_OP, Rule, Turn, check, registry
from simengine.world.rules.checking import Checking
from simengine.world.state import WorldState

ROOT = Path(__file__).parents[2]
HARBOUR = ROOT / "worlds" / "harbour.toml"
MINI = ROOT / "tests" / "fixtures" / "mini.toml"


def _a_death_has_a_cause(c: Checking, op: object) -> None:
    assert isinstance(op, Kill)
    if not op.cause.strip():
        c.fail(f"say how '{op.entity}' dies ('cause')")


CAUSE = Rule("kill.cause", "A death has a cause the story can tell.", ("kill",),
             _a_death_has_a_cause)


@pytest.fixture
def with_cause(monkeypatch):
    monkeypatch.setattr(registry, "BUILT_IN", (*registry.BUILT_IN, CAUSE))


def test_a_rule_added_as_one_record_reaches_check_the_prompt_and_the_rules_command(with_cause):
    state = WorldState.from_spec(load_world(HARBOUR))
    npc = next(e for e in state.characters(alive=True)  # one the story may lose
               if e != state.player and not state.entity(e).get("essential"))
    silent = Proposal(actor=npc, ops=[Kill(entity=npc, cause="")])
    (v,) = [v for v in check(silent, state, Turn("npc", npc)) if v.rule == "kill.cause"]
    assert str(v) == f"op 0 (kill): say how '{npc}' dies ('cause')"
    told = Proposal(actor=npc, ops=[Kill(entity=npc, cause="a fall")])
    assert "kill.cause" not in [v.rule for v in check(told, state, Turn("npc", npc))]

    assert f". {CAUSE.says}\n" in world_prefix(state)  # the hard rules a model reads

    listed = CliRunner().invoke(main, ["rules"])
    assert listed.exit_code == 0, listed.output
    assert "kill.cause" in listed.output and CAUSE.says in listed.output
    rows = [json.loads(line) for line in CliRunner().invoke(main, ["rules", "--json"]).output
            .splitlines()]
    assert rows[-1] == {"id": "kill.cause", "says": CAUSE.says, "applies_to": "kill",
                        "source": "engine", "fault": "model"}


def test_an_op_a_rule_refuses_is_passed_by_later_rules_but_not_by_those_that_look_always(
        monkeypatch):
    state = WorldState.from_spec(load_world(MINI))
    seen: dict[str, list[int]] = {"after": [], "always": []}

    def watcher(name):
        def look(c: Checking, op: object) -> None:
            seen[name].append(c.i)
        return look

    monkeypatch.setattr(registry, "BUILT_IN", (
        *registry.BUILT_IN,
        Rule("test.after", "Looks at what passed.", (EVERY_OP,), watcher("after")),
        Rule("test.always", "Looks at every op.", ("move",), watcher("always"), always=True),
    ))
    dead = next(e for e in state.characters() if not state.is_alive(e))
    living = next(e for e in state.characters() if state.is_alive(e) and e != state.player)
    here = state.where(living)
    ops = [Move(entity=dead, to=here), Move(entity=living, to=here)]
    found = check(Proposal(ops=ops), state, Turn("world"))
    assert [(v.rule, v.op_index) for v in found] == [("dead.act", 0)]
    assert seen == {"after": [1], "always": [0, 1]}


def test_violations_come_proposal_wide_first_then_op_by_op():
    state = WorldState.from_spec(load_world(MINI))
    dead = next(e for e in state.characters() if not state.is_alive(e))
    p = Proposal(actor=dead, ops=[Move(entity="atlantis", to="nowhere"), Kill(entity=dead)])
    found = check(p, state, Turn("npc", dead))
    assert [(v.rule, v.op_index) for v in found] == [
        ("dead.act", None), ("ref.unknown", 0), ("ref.unknown", 0), ("dead.act", 1)]


def test_every_rule_record_is_complete_and_author_rules_are_the_same_record():
    ids = [r.id for r in registry.BUILT_IN]
    assert len(ids) == len(set(ids))
    for r in registry.BUILT_IN:
        assert r.says.endswith(".") and r.applies_to and callable(r.check), r.id
    state = WorldState.from_spec(load_world(HARBOUR))
    own = [r for r in registry.records(state) if r.source == "world"]
    assert own and all(type(r) is Rule and r.id.startswith("world.") for r in own)


def test_the_knowledge_and_story_rules_are_records_that_check_and_list_like_the_others():
    state = WorldState.from_spec(load_world(HARBOUR))
    captain = "captain"  # essential to the harbour's story, and knows what Silas meant
    assert state.entity(captain).get("essential") and state.knows(captain, "silas-meant-to-sell")
    stranger = next(e for e in state.characters(alive=True)
                    if not state.knows(e, "silas-meant-to-sell") and e != captain)
    p = Proposal(actor=captain, ops=[
        Kill(entity=captain, cause="a fall"),
        Tell(entity=stranger, to=captain, fact="silas-meant-to-sell"),
    ])
    found = [(v.rule, v.op_index) for v in check(p, state, Turn("world"))]
    # Refused, and the rest is checked as if the captain had died.
    assert found == [("story.essential", 0), ("dead.act", 1)]
    gossip = Proposal(actor=stranger, ops=[Tell(entity=stranger, to=captain,
                                                fact="silas-meant-to-sell")])
    assert [v.rule for v in check(gossip, state, Turn("npc", stranger))] == ["know.unknown"]

    ids = {r.id for r in registry.BUILT_IN}
    listed = CliRunner().invoke(main, ["rules"]).output
    for rule in ("story.essential", "know.unknown", "know.absent", "know.source",
                 "know.witness"):
        assert rule in ids and rule in listed
