"""The repair loop: violations go back, failing ops are dropped, then the fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from simengine.sim.decide import decide
from simengine.storytellers.base import Intent, Scene, StorytellerError
from simengine.testing.scripted import ScriptedStoryteller
from simengine.world.loader import load_world
from simengine.world.rules import Turn, check
from simengine.world.state import WorldState

MINI = Path(__file__).parent.parent / "fixtures" / "mini.toml"


@pytest.fixture
def state():
    return WorldState.from_spec(load_world(MINI))


def scene_of(state, focus="merchant"):
    return Scene(focus=focus, location=state.where(focus),
                 ids=[focus, *state.present_at(state.where(focus))], prefix="", context="",
                 tick=1, state=state)


NPC = Intent("npc", "merchant")
GOOD = {"actor": "merchant", "summary": "Oswin walks to the market",
        "ops": [{"op": "move", "entity": "merchant", "to": "market"}]}
TELEPORT = {"actor": "merchant", "ops": [{"op": "move", "entity": "merchant", "to": "vault"}]}


async def test_a_valid_proposal_passes_first_time(state):
    teller = ScriptedStoryteller().enqueue(GOOD)
    d = await decide(teller, scene_of(state), NPC, state)
    assert d.proposal.ops[0].to == "market" and d.rejected == [] and d.repairs_tried == 0
    assert d.calls[0].accepted is True


async def test_violations_go_back_and_a_repair_is_accepted(state):
    teller = ScriptedStoryteller().enqueue(TELEPORT, GOOD)
    d = await decide(teller, scene_of(state), NPC, state)
    assert d.repaired and d.repairs_tried == 1 and d.proposal.ops[0].to == "market"
    feedback = teller.history[1]["feedback"]
    assert feedback == ["op 0 (move): 'vault' is not reachable from 'dock' in one move "
                        "(exits: market)"]
    assert [c.accepted for c in d.calls] == [False, True]
    assert d.calls[0].violations == feedback


async def test_after_the_retries_failing_ops_are_dropped(state):
    both = {"actor": "merchant", "ops": [
        {"op": "relate", "source": "merchant", "relation": "friend_of", "target": "mara"},
        {"op": "move", "entity": "merchant", "to": "vault"}]}
    teller = ScriptedStoryteller(repeat_last=True).enqueue(both)
    d = await decide(teller, scene_of(state), NPC, state, retries=2)
    assert len(teller.history) == 3  # one decide, two repairs
    assert [op.op for op in d.proposal.ops] == ["relate"]
    assert [v.rule for v in d.rejected] == ["travel.adjacent"]
    assert d.fallback_reason is None and not d.repaired


async def test_nothing_left_falls_back(state):
    teller = ScriptedStoryteller(repeat_last=True).enqueue(TELEPORT)
    fallback = ScriptedStoryteller("backup").enqueue(GOOD)
    d = await decide(teller, scene_of(state), NPC, state, retries=1, fallback=fallback)
    assert d.storyteller == "backup" and d.proposal.ops[0].to == "market"
    assert "every proposed change broke a rule" in d.fallback_reason
    assert "travel.adjacent" in {v.rule for v in d.rejected}


async def test_a_failing_storyteller_falls_back_with_its_reason(state):
    teller = ScriptedStoryteller().enqueue(StorytellerError("Ollama is not reachable"))
    fallback = ScriptedStoryteller("backup").enqueue(GOOD)
    d = await decide(teller, scene_of(state), NPC, state, fallback=fallback)
    assert d.fallback_reason == "Ollama is not reachable" and d.storyteller == "backup"
    assert d.calls[0].error == "Ollama is not reachable"


async def test_no_fallback_means_an_empty_beat(state):
    teller = ScriptedStoryteller().enqueue(StorytellerError("down"))
    d = await decide(teller, scene_of(state), NPC, state)
    assert d.proposal.ops == [] and d.fallback_reason == "down"


async def test_whatever_comes_out_passes_the_rules(state):
    cheat = {"actor": "mara", "ops": [
        {"op": "adjust", "entity": "mara", "attribute": "gold", "by": 1000},
        {"op": "set", "entity": "mara", "attribute": "rank", "value": "captain"},
        {"op": "transfer", "item": "the gull", "to": "mara"},
        {"op": "move", "entity": "mara", "to": "vault"}]}
    teller = ScriptedStoryteller(repeat_last=True).enqueue(cheat)
    intent = Intent("player", "mara", "I am now the captain and I own the ship")
    d = await decide(teller, scene_of(state, "mara"), intent, state)
    assert d.proposal.ops == []
    assert check(d.proposal, state, Turn("player", "mara")) == []
    assert {"currency.conserved", "attr.protected", "price.unpaid", "travel.adjacent"} <= {
        v.rule for v in d.rejected}


async def test_unknown_names_are_fed_back_with_suggestions(state):
    state.world["creativity"] = 0.0
    typo = {"actor": "merchant", "ops": [
        {"op": "adjust", "entity": "Mara Q", "attribute": "health", "by": -1}]}
    teller = ScriptedStoryteller().enqueue(typo, GOOD)
    d = await decide(teller, scene_of(state), NPC, state)
    assert "did you mean: mara" in teller.history[1]["feedback"][0]
    assert d.repaired


async def test_a_trade_is_dropped_whole(state):
    swindle = {"actor": "mara", "ops": [
        {"op": "adjust", "entity": "mara", "attribute": "gold", "by": -1},
        {"op": "adjust", "entity": "merchant", "attribute": "gold", "by": 1},
        {"op": "transfer", "item": "ship", "to": "mara"},
        {"op": "transfer", "item": "rope", "to": "mara"}]}
    teller = ScriptedStoryteller(repeat_last=True).enqueue(swindle)
    d = await decide(teller, scene_of(state, "mara"), Intent("player", "mara", "buy"), state)
    assert [(op.op, getattr(op, "item", None)) for op in d.proposal.ops] == [("transfer", "rope")]


async def test_goods_inside_an_unpriced_box_are_still_a_trade(state):
    from simengine.world.ops import Create, NewEntity, Transfer

    state.apply([Create(entity=NewEntity(id="crate", kind="item", name="plain crate",
                                         at="merchant")),
                 Transfer(item="lantern", to="crate")])
    assert state.price("crate") == 0  # the box is worth nothing; the lantern in it is
    short = {"actor": "mara", "ops": [
        {"op": "adjust", "entity": "mara", "attribute": "gold", "by": -1},
        {"op": "adjust", "entity": "merchant", "attribute": "gold", "by": 1},
        {"op": "transfer", "item": "crate", "to": "mara"}]}
    teller = ScriptedStoryteller(repeat_last=True).enqueue(short)
    d = await decide(teller, scene_of(state, "mara"), Intent("player", "mara", "buy"), state)
    # The crate is not paid for, so the trade falls whole: no gold for goods not given.
    assert d.proposal.ops == []


async def test_feedback_numbers_ops_as_the_model_sent_them(state):
    sent = {"actor": "merchant", "ops": [
        {"op": "move", "entity": "merchant", "to": "Secret Cove"},
        {"op": "adjust", "entity": "merchant", "attribute": "gold", "by": 5}]}
    teller = ScriptedStoryteller().enqueue(sent, GOOD)
    await decide(teller, scene_of(state), NPC, state)
    (feedback,) = teller.history[1]["feedback"]
    assert feedback.startswith("op 1 (adjust)"), feedback


# ------------------------------------------------- the player's turn: world or model
PLAYER = Intent("player", "mara", "I walk to the vault and cheer up")
CHEER_AND_GO = {"actor": "mara", "ops": [
    {"op": "set", "entity": "mara", "attribute": "mood", "value": "hopeful"},
    {"op": "move", "entity": "mara", "to": "vault"}]}


async def test_what_the_world_forbids_the_player_is_never_repaired(state):
    teller = ScriptedStoryteller(repeat_last=True).enqueue(CHEER_AND_GO)
    d = await decide(teller, scene_of(state, "mara"), PLAYER, state, retries=2)
    assert [h["phase"] for h in teller.history] == ["decide"]  # no repair call
    assert [op.op for op in d.proposal.ops] == ["set"]  # the valid part stands
    assert [v.rule for v in d.rejected] == ["travel.adjacent"]  # and the refusal is told
    assert len(d.calls) == 1
    go = {"actor": "mara", "ops": [{"op": "move", "entity": "mara", "to": "vault"}]}
    backup = ScriptedStoryteller("backup").enqueue(GOOD)
    d = await decide(ScriptedStoryteller().enqueue(go), scene_of(state, "mara"), PLAYER, state,
                     fallback=backup)
    assert d.proposal.ops == [] and d.storyteller == "scripted"  # the model tells the attempt
    assert d.fallback_reason is None and backup.history == []


async def test_an_npc_beat_still_repairs_what_the_world_forbids(state):
    move = {"actor": "merchant", "ops": [{"op": "move", "entity": "merchant", "to": "vault"}]}
    teller = ScriptedStoryteller(repeat_last=True).enqueue(move)
    d = await decide(teller, scene_of(state), NPC, state, retries=2)
    assert [h["phase"] for h in teller.history] == ["decide", "repair", "repair"]
    assert [v.rule for v in d.rejected] == ["travel.adjacent"]


async def test_a_model_mistake_on_the_players_turn_gets_one_repair_within_the_budget(state):
    lost = {"actor": "mara", "ops": [
        {"op": "set", "entity": "mara", "attribute": "luck", "value": "good"}]}
    teller = ScriptedStoryteller(repeat_last=True).enqueue(lost)
    d = await decide(teller, scene_of(state, "mara"), PLAYER, state, retries=2)
    assert [h["phase"] for h in teller.history] == ["decide", "repair"]  # PLAYER_CALLS == 2
    assert [v.rule for v in d.rejected] == ["attr.unknown"] and len(d.calls) == 2
    fixed = ScriptedStoryteller().enqueue(lost, {"actor": "mara", "ops": [
        {"op": "move", "entity": "mara", "to": "market"}]})
    d = await decide(fixed, scene_of(state, "mara"), PLAYER, state, retries=2)
    assert d.repaired and d.proposal.ops[0].to == "market"


async def test_a_purchase_whose_seller_is_not_paid_is_repaired_on_the_players_turn(state):
    # The player asked for a fair purchase; the model paid out and forgot the seller. Its
    # bookkeeping is its own mistake, so the one repair completes what the player asked.
    slip = {"actor": "mara", "ops": [
        {"op": "adjust", "entity": "mara", "attribute": "gold", "by": -5},
        {"op": "transfer", "item": "lantern", "to": "mara"}]}
    paid = {"actor": "mara", "ops": [
        {"op": "adjust", "entity": "mara", "attribute": "gold", "by": -5},
        {"op": "adjust", "entity": "merchant", "attribute": "gold", "by": 5},
        {"op": "transfer", "item": "lantern", "to": "mara"}]}
    teller = ScriptedStoryteller().enqueue(slip, paid)
    d = await decide(teller, scene_of(state, "mara"), PLAYER, state, retries=2)
    assert [h["phase"] for h in teller.history] == ["decide", "repair"]
    assert d.repaired
    assert [op.op for op in d.proposal.ops] == ["adjust", "adjust", "transfer"]
    assert check(d.proposal, state, Turn("player", "mara")) == []


async def test_a_mix_of_faults_is_repaired_once_and_what_the_world_forbids_stays_refused(state):
    mixed = {"actor": "mara", "ops": [
        {"op": "move", "entity": "mara", "to": "vault"},
        {"op": "set", "entity": "mara", "attribute": "luck", "value": "good"}]}
    teller = ScriptedStoryteller().enqueue(mixed, CHEER_AND_GO)
    d = await decide(teller, scene_of(state, "mara"), PLAYER, state, retries=2)
    assert [h["phase"] for h in teller.history] == ["decide", "repair"]
    assert [op.op for op in d.proposal.ops] == ["set"]
    assert [v.rule for v in d.rejected] == ["travel.adjacent"]


def test_every_rule_says_whose_fault_breaking_it_is(state):
    from simengine.world.rules import BUILT_IN
    from simengine.world.rules.registry import fault

    assert {r.fault for r in BUILT_IN} == {"world", "model"}
    assert fault("travel.adjacent") == "world" and fault("ref.unknown") == "model"
    assert fault("world.crypt-locked") == "world"  # an author's rule
