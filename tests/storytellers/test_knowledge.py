"""What people know, in scenes and in what they say."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from simengine.storytellers import dialogue
from simengine.storytellers.base import Intent
from simengine.storytellers.scene import MAX_KNOWN, build_scene, known_facts
from simengine.world.loader import load_world
from simengine.world.state import WorldState

HARBOUR = Path(__file__).parent.parent.parent / "worlds" / "harbour.toml"


@pytest.fixture
def harbour() -> WorldState:
    return WorldState.from_spec(load_world(HARBOUR))


def test_the_scene_lists_what_its_focus_knows_and_nothing_else(harbour):
    keeper = build_scene(harbour, Intent("npc", "keeper", ""), budget_tokens=4000).context
    assert "silas-killer [secret]: Bram Tulloch drowned Silas Crane" in keeper
    fisher = build_scene(harbour, Intent("npc", "fisher", ""), budget_tokens=4000).context
    assert "red-lamp-seen: Tamsin Reed saw a red lamp" in fisher
    assert "silas-killer" not in fisher and "Bram Tulloch drowned" not in fisher


def test_the_list_is_bounded_and_what_is_in_view_comes_first(harbour):
    for n in range(12):
        harbour.put_fact(f"rumour-{n}", f"Rumour number {n} about the weather.", knower="mara")
    ranked = known_facts(harbour, "mara", ["captain"])
    # Nothing here names Hesper Vane... until a fact does: then it leads.
    harbour.put_fact("vane-drinks", "Hesper Vane drinks alone since the Kestrel was sold.",
                     knower="mara")
    assert known_facts(harbour, "mara", ["captain"])[0] == "vane-drinks"
    assert ranked[0] == "rumour-11", "among equals, the newest first"
    scene = build_scene(harbour, Intent("npc", "mara", ""), budget_tokens=6000).context
    shown = [line for line in scene.splitlines() if line.startswith("- rumour-")]
    assert len(shown) <= MAX_KNOWN and "more)" in scene


def ask(state: WorldState, who: str, topic: str, asker: str = "mara") -> str:
    return dialogue.answer(state, who, asker, topic, random.Random(3))


def test_a_knower_tells_what_they_know(harbour):
    line = ask(harbour, "fisher", "the red lamp")
    assert "I saw a red lamp burning on the Breakwater" in line  # her own words


def test_a_secret_goes_only_to_a_friend(harbour):
    refused = ask(harbour, "keeper", "the red lamp")
    assert "Bram Tulloch put out the lighthouse" not in refused
    assert dialogue.may_share(harbour, "keeper", "mara", "keeper-hung-false-light") == "secret"
    harbour.graph.add_edge("keeper", "mara", key="friend_of", relation="friend_of")
    told = ask(harbour, "keeper", "the red lamp")
    assert "Keep this between us" in told and "hung the shuttered red lamp" in told


def test_someone_who_does_not_know_says_so(harbour):
    line = ask(harbour, "fisher", "the pearls")
    assert "know nothing" in line or "can't tell you" in line or "Never heard" in line
    assert "Marigold" not in line  # the pearls' secret is Brack's and Bram's, not hers


def test_what_the_asker_knows_already_is_not_news(harbour):
    # Nell knows two things about Silas; Mara knows one of them: Nell tells the other.
    assert dialogue.fact_on(harbour, "innkeeper", "Silas", "mara") == "silas-meant-to-sell"


# ------------------------------------------------------------ in a session
async def test_asking_someone_who_knows_makes_the_player_know_it(tmp_path):
    from simengine.sim.session import Session

    session = Session.new(load_world(HARBOUR), tmp_path / "ask.db", seed=1, npc_rate=0.0,
                          world_event_rate=0.0)
    await session.step("go to the fish dock")
    assert not session.state.knows("mara", "red-lamp-seen")
    await session.step("ask Tamsin about the red lamp")
    assert session.state.knows("mara", "red-lamp-seen")
    tells = [op for e in session.save.log() for op in e.ops if op.op == "tell"]
    assert [(t.entity, t.to, t.fact) for t in tells] == [("fisher", "mara", "red-lamp-seen")]
    session.close()


async def test_a_secret_is_refused_and_examining_a_thing_reveals_it(tmp_path):
    from simengine.sim.session import Session

    spec = load_world(HARBOUR)
    keeper = next(c for c in spec.characters if c.id == "keeper")
    keeper.at = "tavern"  # Bram comes down to the Gull with his lamp
    session = Session.new(spec, tmp_path / "secret.db", seed=1, npc_rate=0.0,
                          world_event_rate=0.0)
    await session.step("ask Bram about the red lamp")
    assert not session.state.knows("mara", "keeper-hung-false-light")
    told = " ".join(e.narration or "" for e in session.save.log())
    assert "Bram" in told and "hung the shuttered red lamp" not in told
    await session.step("examine the red lamp")
    assert session.state.knows("mara", "keeper-hung-false-light")
    session.close()


def test_acquaintances_gossip_at_the_worlds_pace(harbour):
    from simengine.storytellers.gossip import plan_gossip

    # Nell and Hesper are friends in the Gull; Nell knows what Silas boasted of.
    told = [plan_gossip(harbour, "innkeeper", random.Random(n)) for n in range(200)]
    done = [t for t in told if t is not None]
    assert 0.1 < len(done) / len(told) < 0.3  # [story] gossip = 0.2 by default
    tell = done[0][1][0][0]
    assert (tell.entity, tell.to) == ("innkeeper", "captain") and not harbour.is_secret(tell.fact)
    # Mara stands by: she overhears it, unless she knew already.
    overheard = {op.entity for bundle in done[0][1][1:] for op in bundle}
    assert overheard <= {"mara"}
    harbour.graph.graph["gossip"] = 0.0
    assert all(plan_gossip(harbour, "innkeeper", random.Random(n)) is None for n in range(50))


async def test_lore_changes_with_the_story_and_the_save_keeps_it(tmp_path):
    from simengine.sim.session import Session
    from simengine.testing.scripted import ScriptedStoryteller
    from simengine.world.lore import lore_entries

    amend = {"summary": "The bell is mended", "ops": [
        {"op": "fact", "id": "tide-bell-stopped",
         "text": "The tide bell rings again: the Watch mended its clapper."},
        {"op": "fact", "id": "watch-rumour", "entity": "sergeant",
         "text": "Odo Marsh was seen on the Breakwater the night the bell stopped."}]}
    teller = ScriptedStoryteller("model").enqueue(amend)
    session = Session.new(load_world(HARBOUR), tmp_path / "lore.db", seed=2, storyteller=teller,
                          npc_rate=0.0, world_event_rate=1.0)
    await session.wait(1)
    assert session.state.known_by("watch-rumour") == ["sergeant"]
    session.close()
    again = Session.load(tmp_path / "lore.db", npc_rate=0.0, world_event_rate=0.0)
    lore = {e.id: e.content for e in lore_entries(again.state)}
    assert lore["tide-bell-stopped"].startswith("The tide bell rings again")
    scene = build_scene(again.state, Intent("player", "mara", "I listen for the tide bell"))
    assert "the Watch mended its clapper" in scene.context
    assert again.state.knows("sergeant", "watch-rumour")
    again.close()


async def test_the_player_tells_what_they_know(tmp_path):
    from simengine.sim.session import Session

    session = Session.new(load_world(HARBOUR), tmp_path / "tell.db", seed=1, npc_rate=0.0,
                          world_event_rate=0.0)
    assert not session.state.knows("captain", "silas-owed-nell")
    await session.step("tell Hesper about what Silas owed Nell")
    assert session.state.knows("captain", "silas-owed-nell")
    await session.step("tell Hesper about the red lamp")  # Mara knows nothing of it
    assert not session.state.knows("captain", "red-lamp-seen")
    session.close()


# ------------------------------------------------------------ newcomers
def arrive(state: WorldState, seed: int) -> str:
    """A procedural newcomer walks into the Tarred Gull (checked and applied); their id."""
    from simengine.storytellers.procedural import world_plan
    from simengine.world.ops import Proposal
    from simengine.world.rules import Turn, check

    summary, bundles = world_plan("arrive", state, "tavern", random.Random(seed))
    proposal = Proposal(summary=summary, ops=bundles[0])
    assert check(proposal, state, Turn("world")) == []
    state.apply(proposal.ops, event_id=1)
    return str(proposal.ops[0].entity.id)


def test_a_procedural_newcomer_brings_a_rumour_and_tells_it_when_asked(harbour):
    from simengine.storytellers import gossip
    from simengine.storytellers.base import propose_sync
    from simengine.storytellers.procedural import ProceduralStoryteller
    from simengine.world.ops import Proposal
    from simengine.world.rules import Turn, check

    harbour.put("mara", "tavern")
    for c in [c for c in harbour.people_at("tavern") if c != "mara"]:
        harbour.put(c, "fish-dock")  # only the newcomer can answer
    new = arrive(harbour, seed=2)
    brought = [f for f in harbour.facts_known(new) if not harbour.is_public(f)]
    assert brought == ["silas-meant-to-sell"], "a rumour, never a secret"
    assert not harbour.knows("mara", "silas-meant-to-sell")
    # Gossip and "ask X about Y" work with them as with anyone.
    assert dialogue.fact_on(harbour, new, "Silas", "mara") == "silas-meant-to-sell"
    assert "boasted in the Tarred Gull" in ask(harbour, new, "Silas")
    # The player asks; the newcomer's answer commits the telling, as anyone's does.
    intent = Intent("player", "mara", f"ask {harbour.name(new)} about Silas", seed=5)
    proposal = propose_sync(ProceduralStoryteller(seed=5), build_scene(harbour, intent), intent)
    assert check(proposal, harbour, Turn("player", "mara")) == []
    harbour.apply(proposal.ops, event_id=2)
    answer = Proposal(actor=new, ops=[op for b in gossip.answer_ops(harbour, new, "mara", "Silas")
                                      for op in b])
    assert [(o.entity, o.to, o.fact) for o in answer.ops if o.op == "tell"] == [
        (new, "mara", "silas-meant-to-sell")]
    assert check(answer, harbour, Turn("npc", new)) == []
    harbour.apply(answer.ops, event_id=3)
    assert harbour.knows("mara", "silas-meant-to-sell")


def test_the_scene_shows_a_newcomers_ways_and_goal_next_time(harbour):
    harbour.put("mara", "tavern")
    new = arrive(harbour, seed=0)
    node = harbour.entity(new)
    text = build_scene(harbour, Intent("player", "mara", "look")).context
    line = next(x for x in text.splitlines() if x.startswith(f"- {new}:"))
    assert ", ".join(node["traits"]) in line and f"wants: {node['goals'][0]}" in line
    # Authored people keep the prefix's cast line: no goal of theirs is told here.
    nell = next(x for x in text.splitlines() if x.startswith("- innkeeper:"))
    assert "wants:" not in nell
    focus = build_scene(harbour, Intent("npc", new, "")).context
    assert f"Goals: {node['goals'][0]}" in focus and "silas-owed-nell" in focus


def test_a_model_brings_in_a_person_who_knows_a_fact_from_the_scene(harbour):
    from simengine.storytellers.prompts import DECIDE_INSTRUCTIONS, parse_proposal, proposal_schema
    from simengine.world.canon import resolve
    from simengine.world.rules import Turn, check

    assert '"knows"' in DECIDE_INSTRUCTIONS
    scene = build_scene(harbour, Intent("npc", "innkeeper", ""), budget_tokens=4000)
    knows = proposal_schema(scene)["properties"]["ops"]["items"]["properties"]["knows"]
    assert "silas-meant-to-sell" in knows["items"]["enum"]
    reply = ('{"actor": "innkeeper", "summary": "a drover comes in", "ops": [{"op": "create", '
             '"kind": "character", "name": "Odo Quill", "description": "a drover", '
             '"at": "tavern", "traits": ["dour"], "goals": ["sell his cattle"], '
             '"knows": ["silas-meant-to-sell"]}]}')
    turn = Turn("npc", "innkeeper")
    fixed = resolve(parse_proposal(reply), harbour, turn).proposal
    assert check(fixed, harbour, turn) == []
    harbour.apply(fixed.ops, event_id=1)
    odo = fixed.ops[0].entity.id
    assert harbour.knows(odo, "silas-meant-to-sell")
    secret = reply.replace("silas-meant-to-sell", "silas-killer").replace("Odo", "Ida")
    refused = check(resolve(parse_proposal(secret), harbour, turn).proposal, harbour, turn)
    assert [v.rule for v in refused] == ["know.newcomer"]
    assert "not [secret]" in str(refused[0])
