"""``[[lore]]``: the schema, activation by keys, the lore budget, and where lore sits in prompts."""

from __future__ import annotations

import asyncio
import copy
import json

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.sim.session import Committed, Session
from simengine.storytellers.base import Intent, RecentEvent
from simengine.storytellers.prompts import decide_messages, narrate_messages
from simengine.storytellers.scene import LORE_HEADER, build_scene
from simengine.testing.fixtures import TINY_WORLD
from simengine.world.loader import WorldFileError, parse_world
from simengine.world.lore import activate, lore_about, matches
from simengine.world.ops import Proposal
from simengine.world.spec import LoreSpec, WorldSpec
from simengine.world.state import WorldState


def entry(**fields) -> LoreSpec:
    return LoreSpec.model_validate({"content": "x", **fields})


def world_with(lore: list[dict], **meta) -> WorldSpec:
    raw = copy.deepcopy(TINY_WORLD)
    raw["world"].update(meta)
    raw["lore"] = lore
    return WorldSpec.model_validate(raw)


LORE = [
    {"id": "tide", "keys": ["tide"], "content": "The tide here rises faster than a horse runs."},
    {"id": "lantern", "name": "Silas's lantern", "keys": ["lantern"],
     "content": "The lantern was made by Mara's brother before he vanished.", "order": 150},
    {"id": "keep", "keys": ["keep"], "content": "The Keep has stood empty for forty years."},
    {"id": "storm", "keys": ["storm"], "secondary_keys": ["night"], "logic": "and_all",
     "content": "Storms at night drown boats."},
    {"id": "law", "constant": True, "content": "Salt is taxed by the Crown.", "order": 10},
    {"id": "old", "keys": ["Mara"], "enabled": False, "content": "Never shown."},
]


# ---------------------------------------------------------------- matching
@pytest.mark.parametrize("logic, text, expected", [
    ("and_any", "the storm comes at night", True),
    ("and_any", "the storm comes", False),
    ("and_all", "the storm comes at night in the rain", True),
    ("and_all", "the storm comes at night", False),
    ("not_any", "the storm comes", True),
    ("not_any", "the storm comes in the rain", False),
    ("not_all", "the storm comes at night", True),
    ("not_all", "the storm comes at night in the rain", False),
])
def test_secondary_keys_follow_their_logic(logic, text, expected):
    e = entry(keys=["storm"], secondary_keys=["night", "rain"], logic=logic)
    assert matches(e, text) is expected


def test_keys_match_whole_words_without_case_unless_told():
    e = entry(keys=["Ash"])
    assert matches(e, "ash falls") and not matches(e, "Ashford")
    assert matches(entry(keys=["Ash"], whole_words=False), "Ashford")
    assert not matches(entry(keys=["Ash"], case_sensitive=True), "ash falls")


def test_constant_entries_always_and_disabled_never():
    found = activate([entry(id="a", constant=True), entry(id="b", keys=["x"], enabled=False)],
                     "x x x", budget=100)
    assert [e.id for e in found.active] == ["a"] and found.dropped == []


def test_the_budget_keeps_the_higher_order_and_says_what_it_dropped():
    big = entry(id="big", keys=["k"], content="w " * 200, order=5)
    small = entry(id="small", keys=["k"], content="a short one", order=1)
    top = entry(id="top", keys=["k"], content="the most important", order=50)
    found = activate([big, small, top], "k", budget=40)
    assert {e.id for e in found.active} == {"small", "top"}
    assert [e.id for e in found.dropped] == ["big"]
    # The kept ones are written lowest order first: the most important nearest the beat.
    assert [e.id for e in found.active] == ["small", "top"]
    assert found.used <= 40
    declared = activate([entry(id="d", keys=["k"], tokens=999)], "k", budget=500)
    assert [e.id for e in declared.dropped] == ["d"]  # an author's own cost counts


# ------------------------------------------------------------------- schema
def test_the_loader_checks_lore_entries():
    text = """
[world]
id = "w"
name = "W"

[[lore]]
id = "a"
content = "no keys and not constant"

[[lore]]
id = "a"
keys = ["x"]
content = "a second a"

[[lore]]
keys = ["y"]
content = "ok"
logic = "sometimes"
"""
    with pytest.raises(WorldFileError) as err:
        parse_world(text, "w.toml")
    message = str(err.value)
    assert "w.toml:6: lore[0].keys: a lore entry needs keys" in message
    assert "duplicate lore id 'a'" in message
    assert "lore[2].logic" in message and "and_any" in message


def test_lore_ids_are_given_when_left_out():
    spec = world_with([{"keys": ["a"], "content": "one"}, {"id": "lore-1", "keys": ["b"],
                                                            "content": "two"}])
    assert [e.id for e in spec.lore] == ["lore-1-2", "lore-1"]


# --------------------------------------------------------------- in scenes
def test_lore_comes_up_from_the_scene_the_players_words_and_recent_events():
    state = WorldState.from_spec(world_with(LORE))
    quiet = build_scene(state, Intent("npc", "ned"))
    # Ned's scene names the Keep nearby, and the constant entry is always there.
    assert {e.id for e in quiet.lore.active} == {"law", "keep"}
    # Mara's scene shows Silas and his lantern; the player asks about the tide.
    asked = build_scene(state, Intent("player", "mara", "I ask Silas about the tide"))
    assert {e.id for e in asked.lore.active} == {"law", "lantern", "tide"}
    story = [RecentEvent(1, "ned", "Ned hears of a storm coming at night", ("ned",))]
    stormy = build_scene(state, Intent("npc", "ned"), story)
    assert "storm" in {e.id for e in stormy.lore.active}
    assert "old" not in {e.id for e in asked.lore.active}  # disabled


def test_lore_goes_after_the_stable_prefix_and_leaves_it_alone():
    state = WorldState.from_spec(world_with(LORE))
    plain = build_scene(state, Intent("player", "mara", "I wait"))
    asked = build_scene(state, Intent("player", "mara", "I ask about the tide and the keep"))
    a, b = decide_messages(plain, Intent("player", "mara", "I wait")), decide_messages(
        asked, Intent("player", "mara", "I ask about the tide and the keep"))
    # Consecutive prompts: the system message (the cached prefix) is byte-identical.
    assert a[0] == b[0]
    assert "tide here rises" not in a[0]["content"] and "tide here rises" not in b[0]["content"]
    # Lore is the last part of the scene text, after every scene line.
    user = b[1]["content"]
    assert user.index(LORE_HEADER) > user.index("# Place:")
    assert user.index("tide here rises") < user.index("BEAT:")
    assert b[1]["content"].startswith(asked.context.split(LORE_HEADER)[0].rstrip())
    assert plain.context.split(LORE_HEADER)[0] == asked.context.split(LORE_HEADER)[0]
    told = narrate_messages(asked, Proposal(actor="mara", ops=[]))
    assert told[0] == narrate_messages(plain, Proposal(actor="mara", ops=[]))[0]
    assert "tide here rises" in told[1]["content"]


def test_a_world_without_lore_has_the_prompts_it_had():
    raw = copy.deepcopy(TINY_WORLD)
    state = WorldState.from_spec(WorldSpec.model_validate(raw))
    scene = build_scene(state, Intent("player", "mara", "I ask about the tide"))
    assert LORE_HEADER not in scene.context and scene.lore.active == []
    assert "lore" not in state.graph.graph


def test_the_lore_budget_is_the_worlds():
    state = WorldState.from_spec(world_with(LORE, lore_budget=20))
    scene = build_scene(state, Intent("player", "mara", "the tide, the keep and the lantern"))
    assert scene.lore.budget == 20 and scene.lore.used <= 20
    assert scene.lore.dropped, "a 20-token budget cannot hold four entries"
    assert not {e.id for e in scene.lore.active} & {e.id for e in scene.lore.dropped}


# ---------------------------------------------------------------- asking
def test_lore_about_answers_what_a_player_asks_about():
    spec = world_with(LORE)
    state = WorldState.from_spec(spec)
    assert [e.id for e in lore_about(state, "the tide")] == ["tide"]
    assert [e.id for e in lore_about(spec, "Silas's lantern")] == ["lantern"]
    assert [e.id for e in lore_about(state, "lantern")] == ["lantern"]
    assert lore_about(state, "Mara") == []  # only a disabled entry knows her
    assert lore_about(state, "the weather") == []
    assert lore_about(spec.lore, "keep")[0].id == "keep"


# -------------------------------------------------------------- surfaces
def test_run_shows_active_and_dropped_lore(tmp_path):
    spec = world_with(LORE, lore_budget=20)
    toml = tmp_path / "w.toml"
    toml.write_text(_toml(spec))
    script = tmp_path / "turns.txt"
    script.write_text("I ask Silas about the tide, the keep and the lantern\n")
    result = CliRunner().invoke(main, ["run", str(toml), "--ticks", "1", "--script", str(script),
                                       "--show-lore", "--json", "--save", str(tmp_path / "s.db")])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    player = next(r for r in rows if r["kind"] == "player")
    assert "law" in player["lore"]["active"]
    assert player["lore"]["dropped"], player["lore"]
    text = CliRunner().invoke(main, ["run", str(toml), "--ticks", "1", "--script", str(script),
                                     "--show-lore", "--save", str(tmp_path / "t.db")])
    assert "dropped by the budget:" in text.output


def _toml(spec: WorldSpec) -> str:
    from simengine.importers.toml_out import table

    data = spec.model_dump(mode="json", exclude_defaults=True)
    parts = [table("[world]", data["world"])]
    for name, attr in data.get("attributes", {}).items():
        parts.append(table(f"[attributes.{name}]", attr))
    for section in ("locations", "characters", "items", "lore"):
        parts += [table(f"[[{section}]]", e) for e in data.get(section, [])]
    parts.append(table("[player]", data["player"]))
    return "\n".join(parts)


def test_sessions_publish_each_beats_lore(tmp_path):
    spec = world_with(LORE)
    heard: list[Committed] = []
    with Session.new(spec, tmp_path / "s.db", seed=3, narrate=False) as session:
        session.subscribe(lambda m: heard.append(m) if isinstance(m, Committed) else None)
        asyncio.run(session.act("I look at the tide"))
    player = next(c for c in heard if c.event.kind == "player")
    assert player.lore is not None and "tide" in player.lore.ids()["active"]


def test_asked_about_a_keyword_people_tell_the_lore():
    import random

    from simengine.storytellers import dialogue

    state = WorldState.from_spec(world_with(LORE))
    speaker = next(c for c in state.characters(alive=True) if c != state.player)
    said = dialogue.answer(state, speaker, state.player, "the keep", random.Random(1))
    assert "The Keep has stood empty for forty years." in said
    never = dialogue.answer(state, speaker, state.player, "Mara's secret", random.Random(1))
    assert "Never shown" not in never  # a disabled entry is never told
