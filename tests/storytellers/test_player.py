"""The parser, the player's plans, people's words and the player's voice."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from simengine.sim.session import Session
from simengine.storytellers import dialogue
from simengine.storytellers.base import Intent, RecentEvent, narrate_sync, propose_sync
from simengine.storytellers.narration import ref
from simengine.storytellers.parser import VERBS, parse
from simengine.storytellers.player import explain, plan_turn, react, route
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.storytellers.scene import build_scene
from simengine.world.loader import WorldFileError, load_world
from simengine.world.ops import Create, Move, Proposal, Transfer
from simengine.world.rules import Turn, check
from simengine.world.state import WorldState

ROOT = Path(__file__).parent.parent.parent
HARBOUR = ROOT / "worlds" / "harbour.toml"
FRONTIER = ROOT / "worlds" / "frontier.toml"


@pytest.fixture
def harbour() -> WorldState:
    return WorldState.from_spec(load_world(HARBOUR))


def plan(state: WorldState, text: str, last: str | None = None):
    return plan_turn(state, state.player, text, random.Random(1), last)


# ------------------------------------------------------------------ parser
@pytest.mark.parametrize(("text", "verb", "obj", "target"), [
    ("I carefully walk to the market", "go", "market", ""),
    ("could I please take the lantern", "take", "lantern", ""),
    ("pick the lantern up", "take", "lantern", ""),
    ("give 5 gold to Tamsin", "give", "gold", "tamsin"),
    ("give Tamsin 5 gold", "give", "gold", "tamsin"),
    ("ask Nell about the murder", "ask", "murder", "nell"),
    ("tell Hesper about the ship", "tell", "ship", "hesper"),
    ("put the key in the chest", "put", "key", "chest"),
    ("pay Brack for the lantern", "buy", "lantern", "brack"),
    ("I kill him with one blow", "attack", "him", "one blow"),
    ("who is Nell?", "examine", "nell", ""),
    ("go 2", "go", "2", ""), ("z", "wait", "", ""), ("i", "inventory", "", ""),
    ("sleep", "rest", "", ""), ("follow Nell", "follow", "nell", ""),
    ("shut the chest", "close", "chest", ""), ("juggle the fish", "unknown", "juggle the fish", ""),
])
def test_the_parser_reads_what_players_type(text, verb, obj, target):
    (c,) = parse(text)
    assert (c.verb, c.obj, c.target) == (verb, obj, target)


def test_speech_keeps_its_words_and_lines_split_into_commands():
    (said,) = parse('say "Where were you on Tuesday?" to Nell')
    assert (said.verb, said.words, said.target) == ("say", "Where were you on Tuesday?", "nell")
    first, second = parse("take the key and go to the crypt")
    assert (first.verb, first.obj, second.verb, second.obj) == ("take", "key", "go", "crypt")
    # "and" inside a phrase is not a new command; nothing ever raises.
    assert [c.verb for c in parse("give the bread and cheese to Nell")] == ["give"]
    assert parse("")[0].verb == "look" and parse("\x00" * 900)[0].verb == "unknown"
    assert set(VERBS) >= {"look", "examine", "go", "take", "drop", "put", "give", "pay", "buy",
                          "sell", "trade", "ask", "tell", "say", "attack", "hide", "rest",
                          "wait", "inventory", "follow", "use", "open", "close"}


# ------------------------------------------------------------------- plans
def test_words_that_name_nothing_here_are_refused_in_the_worlds_words(harbour):
    cases = {
        "take the spoon": "There is no spoon here.",
        "take the lantern": "The storm lantern is not here.",  # Brack has it, in the market
        "go to the moon": "You know of no place called 'moon'.",
        "take it": "nothing has been named yet",
        "go 9": "There is no way 9 out of the Tarred Gull",
        "give 5 gold to me": "Nobody hands you anything",
        "take the Saltmarket": "The Saltmarket is a place, not a thing you can take.",
        "frobnicate the lamp": "this story does not know how to 'frobnicate'",
    }
    for text, phrase in cases.items():
        turn = plan(harbour, text)
        assert not turn.bundles, text
        (refusal,) = turn.refusals
        assert refusal.rule.startswith("parse.") and phrase in refusal.message, (text, refusal)


def test_ambiguity_asks_which(harbour):
    harbour.apply([Transfer(item="red-lamp", to="tavern"),
                   Create(entity={"id": "red-ledger", "kind": "item", "name": "red ledger",
                                  "at": "tavern"})])
    (refusal,) = plan(harbour, "take the red").refusals
    assert refusal.rule == "parse.ambiguous"
    assert refusal.message == "Which do you mean, the red ledger or the shuttered red lamp?" or \
        refusal.message == "Which do you mean, the shuttered red lamp or the red ledger?"


def test_pronouns_name_the_last_thing_named(harbour):
    looked = plan(harbour, "look at the cutlass")
    assert looked.named == ("cutlass", None)
    turn = plan(harbour, "take it", last=looked.named)
    assert [op.model_dump() for op in turn.bundles[0]] == [
        {"op": "transfer", "item": "cutlass", "to": "mara"}]


def test_the_rules_judge_and_the_player_reads_why(harbour):
    turn = plan(harbour, "buy the cutlass from Hesper")
    proposal = Proposal(actor="mara", ops=turn.bundles[0])
    violations = check(proposal, harbour, Turn("player", "mara"))
    assert violations, "20 gold does not buy a 30-gold cutlass"
    told = explain(violations[0], harbour, "mara", turn.step_of(violations[0].op_index))
    assert told == "Vane's cutlass is Hesper Vane's, and Hesper wants 30 gold for it; you have 20."
    far = plan(harbour, "go to the strongroom")
    violations = check(Proposal(actor="mara", ops=far.bundles[0]), harbour, Turn("player", "mara"))
    assert explain(violations[0], harbour, "mara", far.steps[0]) == (
        "You can't reach the Strongroom from the Tarred Gull; the way goes through the "
        "Saltmarket.")
    assert route(harbour, "tavern", "vault") == ["tavern", "market", "counting-house", "vault"]


def test_take_all_takes_what_lies_here_and_nothing_else(harbour):
    assert plan(harbour, "take everything").refusals[0].message == "There is nothing here to take."
    harbour.apply([Move(entity="mara", to="vault")])
    (bundle,) = plan(harbour, "take all").bundles
    assert [op.item for op in bundle] == harbour.things_at("vault") != []


def test_a_move_ends_the_line_and_the_rest_waits(harbour):
    turn = plan(harbour, "go to the market and take the lantern")
    assert [op.op for b in turn.bundles for op in b] == ["move"]
    (later,) = turn.refusals
    assert later.rule == "parse.later" and "take the lantern" in later.message


# ---------------------------------------------------------------- dialogue
def test_people_answer_about_what_they_know_and_only_that(harbour):
    rng = random.Random(3)
    said = dialogue.answer(harbour, "innkeeper", "mara", "Silas", rng)
    assert said.startswith("Nell Gannet") and '"' in said and "Silas" in said
    for topic in ("the moon landing", "the shuttered red lamp"):  # unknown; too far off
        words = dialogue.answer(harbour, "innkeeper", "mara", topic, random.Random(3))
        assert any(p in words for p in ("know nothing", "can't tell you", "Not that I've",
                                        "Never heard")), words
    remark = dialogue.remark(harbour, "captain", "mara", random.Random(0))
    assert remark.startswith("Hesper Vane") and remark.count('"') == 2


def test_an_attack_is_settled_by_a_seeded_roll_within_bounds():
    outcomes = set()
    for seed in range(12):
        state = WorldState.from_spec(load_world(FRONTIER))
        before = {c: state.attr(c, "health") for c in ("jo", "cole")}
        state.apply([Move(entity="jo", to="saloon")])
        answer = react(state, "cole", "jo", "attack:", random.Random(seed))
        assert answer is not None
        proposal = Proposal(actor="cole", ops=[op for b in answer.bundles for op in b])
        assert check(proposal, state, Turn("npc", "cole")) == []
        state.apply(proposal.ops)
        assert state.is_alive("cole") and state.is_alive("jo")  # one blow never kills
        assert 0 < state.attr("cole", "health") <= before["cole"]
        assert 0 < state.attr("jo", "health") <= before["jo"]
        assert state.has_relation("cole", "enemy_of", "jo")
        outcomes.add("fled" if state.where("cole") != "saloon" else "stood")
        same = react(WorldState.from_spec(load_world(FRONTIER)), "cole", "jo", "attack:",
                     random.Random(seed))
        assert same is None  # not in the same place: nothing to answer
    assert outcomes == {"fled", "stood"}


# ------------------------------------------------------------------- voice
def test_second_person_for_the_player_third_for_others(harbour):
    teller = ProceduralStoryteller(seed=1, voice="second")
    intent = Intent("player", "mara", text="ask Nell about Silas", seed=3)
    scene = build_scene(harbour, intent)
    proposal = propose_sync(teller, scene, intent)
    told = narrate_sync(teller, scene, proposal)
    assert told.startswith("You ask Nell Gannet about Silas.") and "Nell Gannet" in told
    teller.voice = "third"
    assert narrate_sync(teller, scene, proposal).startswith("Mara Fenwick asks Nell Gannet")
    # Other people's beats that touch the player say "you", with the verb agreeing.
    npc = Intent("npc", "innkeeper", seed=1)
    met = Proposal(actor="innkeeper", ops=[{"op": "transfer", "item": "cutlass", "to": "mara"}])
    words = narrate_sync(ProceduralStoryteller(voice="second"), build_scene(harbour, npc), met)
    assert "Mara" not in words and "you" in words.lower()


def test_names_read_without_stray_articles():
    assert ref("Vane's cutlass", "item") == "Vane's cutlass"
    assert ref("Boot Hill", "location") == "Boot Hill"
    assert ref("Council Deck", "location") == "the Council Deck"
    assert ref("The Kestrel", "item") == "the Kestrel"
    assert ref("storm lantern", "item") == "the storm lantern"


def test_a_world_file_chooses_its_voice(tmp_path):
    text = HARBOUR.read_text(encoding="utf-8")
    good = tmp_path / "third.toml"
    # harbour.toml has a [story] table of its own: the key goes into it, not a second one.
    assert text.count("\n[story]\n") == 1
    good.write_text(text.replace("\n[story]\n", '\n[story]\nvoice = "third"\n'), encoding="utf-8")
    assert load_world(good).story.voice == "third"
    assert load_world(HARBOUR).story.voice is None
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("\n[story]\n", '\n[story]\nvoice = "first"\n'), encoding="utf-8")
    with pytest.raises(WorldFileError, match="story.voice"):
        load_world(bad)


# -------------------------------------------------------------------- save
async def test_a_refused_turn_is_saved_published_and_told(tmp_path):
    session = Session.new(load_world(HARBOUR), tmp_path / "r.db", seed=5, npc_rate=0.0,
                          world_event_rate=0.0, voice="second")
    heard = []
    session.subscribe(heard.append)
    result = await session.act("buy the cutlass from Hesper")
    (beat,) = [c for c in result.events if c.event.kind == "player"]
    assert beat.refused == ("Vane's cutlass is Hesper Vane's, and Hesper wants 30 gold for it; "
                            "you have 20.",)
    assert beat.refused[0] in beat.narration and beat in heard
    (kept,) = session.save.refusals(beat.event.id)
    assert kept["attempt"] == "buy the cutlass from Hesper"
    assert kept["rules"] and kept["messages"] and kept["told"] == list(beat.refused)
    assert session.state.holder("cutlass") == "captain"
    session.close()


def test_recent_events_feed_what_people_say(harbour):
    recent = [RecentEvent(1, "captain", "Hesper Vane sells the spyglass", ("captain", "tavern"))]
    said = dialogue.answer(harbour, "innkeeper", "mara", "the spyglass sale", random.Random(0),
                           recent)
    assert "Hesper Vane sells the spyglass" in said or "spyglass" in said.lower()


def test_a_save_from_before_refusals_gains_the_table_on_open(tmp_path):
    import sqlite3

    from simengine.store import Save

    path = tmp_path / "old.db"
    Save.create(path, load_world(HARBOUR)).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE refusals")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm002_refusals'")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with Save.open(path) as save:  # opened for writing, it is upgraded
        assert save.refusals() == [] and "refusals" in save.db.table_names()


async def test_with_a_model_the_last_rejections_are_what_the_player_sees(tmp_path):
    from simengine.testing.scripted import ScriptedStoryteller

    model = ScriptedStoryteller("model").enqueue(
        {"actor": "mara", "summary": "Mara takes the cutlass",
         "ops": [{"op": "transfer", "item": "cutlass", "to": "mara"}]},
        {"actor": "mara", "summary": "Mara eyes the cutlass", "ops": []})
    session = Session.new(load_world(HARBOUR), tmp_path / "m.db", seed=5, storyteller=model,
                          npc_rate=0.0, world_event_rate=0.0, voice="second")
    result = await session.act("I grab Vane's cutlass")
    (beat,) = [c for c in result.events if c.event.kind == "player"]
    assert beat.decision.storyteller == "model" and beat.decision.rejected, "repaired, not hidden"
    assert beat.refused == ("Vane's cutlass is Hesper Vane's, and Hesper wants 30 gold for it; "
                            "you have 20.",)
    assert session.save.refusals(beat.event.id)[0]["rules"] == ["price.unpaid"]
    assert session.state.holder("cutlass") == "captain"
    session.close()


def test_you_and_another_read_as_you_not_they():
    from simengine.storytellers.narration import _agree

    assert _agree("In the Saltmarket, Ysolde Brack and you discover they like one another.") == (
        "In the Saltmarket, Ysolde Brack and you discover you like one another.")
    assert _agree("By the time they part, you and Tam are friends.") == (
        "By the time you part, you and Tam are friends.")
    assert _agree("They say the tide is late.") == "They say the tide is late."


def test_talk_of_someone_here_names_them_not_the_speaker(harbour):
    # Someone spoken of with no feeling either way is named, so the line never reads
    # as the speaker's own portrait ("A wiry deckhand of nineteen...").
    mara = harbour.entity("mara").get("description") or ""
    first = dialogue._clause(mara)
    line = dialogue._about(harbour, "captain", "innkeeper", "mara")
    assert line.startswith("Mara?") and first[:20].lower() in line.lower()
