"""Prompt order for a server's cache: one system message, the stable part first, capped lists."""

from __future__ import annotations

from simengine.storytellers.base import Intent, RecentEvent
from simengine.storytellers.prompts import (
    DECIDE_INSTRUCTIONS,
    NARRATE_INSTRUCTIONS,
    PLAYER_CLOSE,
    PLAYER_OPEN,
    WORLD_OPEN,
    decide_messages,
    narrate_messages,
    read_scene_block,
    repair_messages,
)
from simengine.storytellers.scene import (
    MAX_BEYOND,
    MAX_BLOCK_ITEMS,
    MAX_BLOCK_PEOPLE,
    MAX_DEAD,
    MAX_RELATIONS,
    SCENE_BUDGET,
    SCENE_OPEN,
    TokenEstimator,
    build_scene,
)
from simengine.world.ops import Kill, Move, Proposal, Relate, Transfer
from simengine.world.rules import Violation
from simengine.world.spec import WorldSpec
from simengine.world.state import WorldState

#: What the forced parts (the focus, the place, the scene block) may overshoot a budget by.
SLACK = 60


def _calls(state: WorldState, intent: Intent, tick: int) -> list[list[dict[str, str]]]:
    scene = build_scene(state, intent, tick=tick)
    said = Proposal(actor=intent.actor, summary="Time passes", ops=[])
    broke = [Violation("dead.act", 0, "'edda' is dead", "move")]
    return [decide_messages(scene, intent), repair_messages(scene, intent, broke, '{"ops": []}'),
            narrate_messages(scene, said), narrate_messages(scene, said, voice="second")]


def test_every_call_of_a_world_shares_one_system_message(harbour):
    beats = [(Intent("player", "mara", "I wave at <<SYSTEM>> Hild"), 1),
             (Intent("npc", "silas"), 2), (Intent("npc", "osk"), 2),
             (Intent("world", None, seed=3), 3)]
    systems = [messages[0] for intent, tick in beats for messages in _calls(harbour, intent, tick)]
    harbour.apply([Move(entity="mara", to="net-loft"), Transfer(item="rope", to="mara")], tick=5)
    systems += [m[0] for m in _calls(harbour, Intent("player", "mara", "I sit"), 6)]
    assert {s["role"] for s in systems} == {"system"}
    assert len({s["content"] for s in systems}) == 1, "decide, repair and narrate: same bytes"
    system = systems[0]["content"]
    assert DECIDE_INSTRUCTIONS in system and NARRATE_INSTRUCTIONS in system
    assert read_scene_block(system, WORLD_OPEN)["currency"] == "gold"
    assert "I wave" not in system and PLAYER_OPEN + "\n" not in system  # player text: user only


def test_the_user_message_runs_from_the_slowest_changing_part_to_the_beat(harbour):
    recent = [RecentEvent(1, "mara", "Mara mends a net on the quay", ("mara", "quay"))]
    intent = Intent("player", "mara", "I ask Hild about the lighthouse")
    scene = build_scene(harbour, intent, recent, tick=2)
    decide = decide_messages(scene, intent)[1]["content"]
    order = ["# Focus: mara", "# Scene at tick 2", "# Place: quay", "Mara mends a net",
             SCENE_OPEN, "BEAT: the player's turn", PLAYER_OPEN, PLAYER_CLOSE]
    places = [decide.index(marker) for marker in order]
    assert places == sorted(places), decide
    # A narration re-reads nothing its decide call left in the cache: both start with
    # the scene, block included, and differ only after it.
    narrate = narrate_messages(scene, Proposal(actor="mara", summary="Mara asks", ops=[]))
    shared = scene.context.rstrip()
    assert decide.startswith(shared) and narrate[1]["content"].startswith(shared)
    assert SCENE_OPEN in shared and "BEAT" not in shared
    repair = repair_messages(scene, intent, ["op 0: no"], '{"ops": []}')
    assert repair[:2] == decide_messages(scene, intent)


def test_two_actors_share_the_whole_system_message_and_the_user_message_differs(harbour):
    a, b = (decide_messages(build_scene(harbour, i, tick=4), i)
            for i in (Intent("npc", "silas"), Intent("npc", "ketil")))
    assert a[0] == b[0] and a[1] != b[1]
    est = TokenEstimator()
    for messages in (a, b):
        beat = messages[1]["content"].split("BEAT:")[1]
        assert est.estimate(messages[1]["content"]) <= SCENE_BUDGET + SLACK + est.estimate(beat)


def test_every_list_of_the_scene_is_capped_in_a_crowd_with_a_long_history(world_files):
    raw = world_files.raw("proc_harbour.toml")
    raw["characters"] = raw["characters"] + [
        {"id": f"sailor-{i}", "name": f"Sailor {i}", "at": "quay",
         "description": "A sailor waiting for a berth.", "traits": ["idle"]}
        for i in range(200)]
    raw["items"] = raw["items"] + [
        {"id": f"crate-{i}", "name": f"Crate {i}", "at": "quay" if i % 2 else "sailor-1"}
        for i in range(200)]
    state = WorldState.from_spec(WorldSpec.model_validate(raw))
    # A long history: mara has met everyone, and many of them have died since.
    state.apply([Relate(source="mara", relation="friend_of", target=f"sailor-{i}")
                 for i in range(200)], tick=1)
    state.apply([Kill(entity=f"sailor-{i}") for i in range(0, 200, 3)], tick=2)
    intent = Intent("player", "mara", "I look around")
    scene = build_scene(state, intent, tick=3)
    facts = scene.facts
    assert facts is not None and read_scene_block(scene.context) == facts
    assert len(facts["people"]) <= MAX_BLOCK_PEOPLE + 1  # the actor is always there
    assert len(facts["items"]) <= MAX_BLOCK_ITEMS
    assert len(facts["dead"]) <= MAX_DEAD and len(facts["beyond"]) <= MAX_BEYOND
    assert len(facts["money"]) == len(facts["people"])
    relations = scene.context.partition("Relations:")[2].split("\n#")[0]
    assert len([x for x in relations.splitlines() if x.startswith("- ")]) <= MAX_RELATIONS
    assert TokenEstimator().estimate(scene.context) <= SCENE_BUDGET + SLACK
    shown = {facts["actor"], facts["location"], *facts["exits"], *facts["dead"],
             *(p["id"] for p in facts["people"]), *(i["id"] for i in facts["items"])}
    assert shown <= set(scene.ids)  # what the block names, canon resolves first
