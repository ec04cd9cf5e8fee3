"""Scenes: a stable prefix, a bounded context, and a size that ignores the world's size."""

from __future__ import annotations

import re

import pytest

from simengine.storytellers.base import Intent, RecentEvent
from simengine.storytellers.scene import (
    MAX_PEOPLE,
    MAX_RECENT,
    TokenEstimator,
    build_scene,
    pick_location,
    world_prefix,
)
from simengine.world.ops import OP_NAMES, Move, Transfer
from simengine.world.spec import WorldSpec
from simengine.world.state import WorldState

#: Forced lines (the focus, the place, the scene block) may overshoot a budget by this much.
SLACK = 40


def total_tokens(scene, estimator=None) -> int:
    """The budgeted part: the context (the prefix is cached, and the same for every beat)."""
    est = estimator or TokenEstimator()
    return est.estimate(scene.context)


# ----------------------------------------------------------------- prefix
def test_prefix_is_identical_for_every_focus_tick_and_beat(harbour):
    scenes = [
        build_scene(harbour, Intent("player", "mara")),
        build_scene(harbour, Intent("npc", "silas"), tick=7),
        build_scene(harbour, Intent("npc", "brand"), tick=99),
        build_scene(harbour, Intent("world", None, seed=3)),
        build_scene(harbour, Intent("world", None, seed=4), location="lighthouse"),
    ]
    harbour.apply([Move(entity="mara", to="net-loft"), Transfer(item="rope", to="mara")], tick=5)
    scenes.append(build_scene(harbour, Intent("player", "mara")))
    prefixes = {s.prefix for s in scenes}
    assert len(prefixes) == 1
    prefix = prefixes.pop()
    # Nothing that changes from beat to beat may leak into it: the cast is described
    # there, but not where anyone is, what they carry or hold, nor the tick.
    for leak in ("tick 5", "tick 7", "Tarred Rope", "gold 20", "at quay", "DEAD"):
        assert leak not in prefix
    assert "mara (Mara Fenwick, character)" in prefix and "quay (Salt Quay, location)" in prefix
    assert world_prefix(harbour) == prefix


def test_prefix_is_the_world_bible_and_the_rules(harbour, closed):
    prefix = world_prefix(harbour)
    for text in (
        "Saltmarsh Harbour",
        "fog-bound fishing harbour",  # premise
        "salt, fog, tar",  # tone
        "Nobody sails after dark.",  # a law, marked as one to honour
        "honour",
        "conserved",
        "the currency",
        "PROTECTED",  # rank
        "an item with a value must be paid for",
        "rival_of",  # relation kinds
        "at most 2 new entities",  # creativity 0.5
        "one step at a time",  # travel = adjacent
    ):
        assert text in prefix, text
    knowledge = ("tell", "learn", "fact")  # taught where some know what others do not
    for op in OP_NAMES:
        taught = f'"op": "{op}"' in prefix or f'"{op}"' in prefix
        assert taught == (op not in knowledge), op
    other = world_prefix(closed)
    assert other != prefix
    assert "Invent nothing new" in other
    assert "conserved" not in other  # no money in that world, so no money rules


# ---------------------------------------------------------------- context
def test_context_shows_focus_place_exits_and_who_is_here(harbour):
    scene = build_scene(harbour, Intent("player", "mara"))
    ctx = scene.context
    assert scene.focus == "mara" and scene.location == "quay"
    assert ctx.startswith("# Focus: mara (Mara Fenwick)")  # the slowest-changing part first
    assert "lighthouse went dark" in ctx and "gold 20" in ctx  # goals, attributes
    # Who the cast are and what the places look like is in the cached prefix instead.
    assert "stubborn" in scene.prefix and "slick with weed" in scene.prefix
    assert "stubborn" not in ctx and "slick with weed" not in ctx
    assert "quay (Salt Quay)" in ctx
    for exit_id, name in (("net-loft", "Net Loft"), ("fish-market", "Fish Market"),
                          ("lighthouse-path", "Lighthouse Path"), ("grey-gull", "Grey Gull")):
        assert f"{exit_id} ({name})" in ctx
    assert "- hild: Hild Saltby" in ctx and "- silas: Silas Crane" in ctx
    assert "- rope: Tarred Rope" in ctx
    assert "lantern (Brass Lantern, value 5 gold)" in ctx  # what Silas carries, priced
    assert "friend_of hild" in ctx
    for e in ("mara", "quay", "net-loft", "fish-market", "lighthouse-path", "grey-gull",
              "hild", "silas", "rope", "lantern"):
        assert e in scene.ids
    assert "tove" not in ctx.split("Nearby")[0]  # she is in the next room, not here


def test_every_id_the_context_shows_is_in_scene_ids(harbour):
    for intent in (Intent("player", "mara"), Intent("npc", "osk"), Intent("world", seed=5)):
        scene = build_scene(harbour, intent)
        shown = set(re.findall(r"(?:^- |\b)([a-z0-9][a-z0-9_-]*)(?=: | \()", scene.context,
                               re.M))
        shown |= set(re.findall(r"\bat ([a-z0-9][a-z0-9_-]*)\]", scene.context))
        shown = {e for e in shown if e in harbour}
        assert shown, scene.context
        assert shown <= set(scene.ids)
        assert all(e in harbour and e in scene.context for e in scene.ids)
        assert len(scene.ids) == len(set(scene.ids))


def test_the_dead_are_marked(harbour):
    scene = build_scene(harbour, Intent("world", seed=0), location="lighthouse")
    assert scene.focus == "lighthouse"
    line = next(x for x in scene.context.splitlines() if x.startswith("- edda:"))
    assert "DEAD" in line
    assert "logbook" in scene.ids


def test_world_beats_pick_their_place_from_the_seed(harbour):
    picked = [build_scene(harbour, Intent("world", seed=s)).location for s in range(20)]
    again = [build_scene(harbour, Intent("world", seed=s)).location for s in range(20)]
    assert picked == again
    assert len(set(picked)) > 3
    assert picked[0] == pick_location(harbour, 0)
    assert build_scene(harbour, Intent("world", seed=1), location="net-loft").location == "net-loft"


def test_context_order_is_deterministic(harbour):
    first = build_scene(harbour, Intent("npc", "silas"))
    second = build_scene(harbour.copy(), Intent("npc", "silas"))
    assert first.context == second.context and first.ids == second.ids


# ---------------------------------------------------------------- bounds
def test_scene_length_does_not_grow_with_the_world(world_files):
    raw = world_files.raw("proc_harbour.toml")
    lengths = {}
    for size in (100, 10_000):
        state = WorldState.from_spec(world_files.grow(raw, size, attach_to="lighthouse"))
        assert len(state) == size
        scene = build_scene(state, Intent("player", "mara"))
        lengths[size] = len(scene.prefix + scene.context)
        assert total_tokens(scene) <= 400 + SLACK
        # What fills it is near the player, not whatever the world has most of.
        assert not any(e.startswith(("cell-", "walker-", "pebble-")) for e in scene.ids)
    assert abs(lengths[100] - lengths[10_000]) / lengths[100] < 0.10, lengths


def test_a_crowded_room_stays_within_budget(world_files):
    raw = world_files.raw("proc_harbour.toml")
    raw["characters"] = raw["characters"] + [
        {"id": f"sailor-{i}", "name": f"Sailor {i}", "at": "quay",
         "description": "A sailor waiting for a berth, with nothing to do but talk."}
        for i in range(300)
    ]
    raw["items"] = raw["items"] + [
        {"id": f"crate-{i}", "name": f"Crate {i}", "at": "quay",
         "description": "A crate of salted fish, stencilled with a merchant's mark."}
        for i in range(300)
    ]
    state = WorldState.from_spec(WorldSpec.model_validate(raw))
    sizes = []
    for budget in (300, 500, 800, 3000):
        scene = build_scene(state, Intent("player", "mara"), budget_tokens=budget)
        assert total_tokens(scene) <= budget + SLACK
        sizes.append(total_tokens(scene))
        people = scene.context.partition("People here:")[2].partition("Things here")[0]
        assert len([x for x in people.splitlines() if x.startswith("- ")]) <= MAX_PEOPLE
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    # The hard caps hold even when the budget would allow more.
    assert "more)" in build_scene(state, Intent("player", "mara"), budget_tokens=50_000).context


def test_a_calibrated_estimator_changes_what_fits(harbour):
    coarse = TokenEstimator(chars_per_token=2.0)  # a model whose tokens are short
    scene = build_scene(harbour, Intent("player", "mara"), budget_tokens=500, estimator=coarse)
    assert total_tokens(scene, coarse) <= 500 + SLACK
    roomy = build_scene(harbour, Intent("player", "mara"), budget_tokens=500)
    assert len(scene.context) < len(roomy.context)
    assert scene.prefix == roomy.prefix  # the estimate never changes the stable part


# --------------------------------------------------------------- recent
def test_recent_events_of_the_focus_and_room_appear_newest_first(harbour):
    recent = [
        RecentEvent(1, "silas", "Silas counts his coins on the quay", ("silas", "quay")),
        RecentEvent(2, "tove", "Tove haggles over a basket of crabs", ("tove", "fish-market")),
        RecentEvent(3, None, "A bell rings out and Mara looks up", ("mara",)),
        RecentEvent(3, "brand", "Brand orders another drink", ("brand", "drowned-man")),
    ]
    scene = build_scene(harbour, Intent("player", "mara"), recent)
    ctx = scene.context
    assert "Silas counts his coins" in ctx and "A bell rings out" in ctx
    assert "Tove haggles" not in ctx and "another drink" not in ctx
    assert ctx.index("A bell rings out") < ctx.index("Silas counts his coins")
    assert [e.summary for e in scene.recent] == [recent[2].summary, recent[0].summary]


def test_recent_events_are_capped(harbour):
    recent = [RecentEvent(t, "mara", f"Mara does thing number {t} " + "at length " * 20,
                          ("mara",)) for t in range(200)]
    scene = build_scene(harbour, Intent("player", "mara"), recent)
    assert 0 < len(scene.recent) <= MAX_RECENT
    assert scene.recent[0].tick == 199
    assert total_tokens(scene) <= 400 + SLACK


# -------------------------------------------------------------- estimator
def test_token_estimator_calibrates_and_clamps():
    est = TokenEstimator()
    assert est.estimate("x" * 400) == 100
    assert est.estimate("") == 0
    est.calibrate(3000, 1000)  # a model that packs 3 characters a token
    assert est.chars_per_token == pytest.approx(3.0)
    for _ in range(20):
        est.calibrate(3500, 1000)
    assert est.chars_per_token == pytest.approx(3.5, abs=0.01)
    est.calibrate(10_000, 1)  # one absurd reading moves it, but only so far
    assert est.chars_per_token <= 8.0
    before = est.chars_per_token
    est.calibrate(0, 100)
    est.calibrate(100, 0)
    assert est.chars_per_token == before and est.samples == 22


def test_the_prefix_is_made_again_when_what_it_tells_changes(harbour):
    # Kept between beats, it must still follow the world: its settings and its cast's
    # words.
    first = world_prefix(harbour)
    assert world_prefix(harbour) is first  # unchanged: the same text, not made again
    harbour.world["creativity"] = 0.0
    assert "Invent nothing new" in world_prefix(harbour)
    harbour.entity("mara")["description"] = "A deckhand with a burned hand."
    assert "A deckhand with a burned hand." in world_prefix(harbour)
    harbour.world.setdefault("laws", []).insert(0, "No ship sails on a feast day.")
    assert "- No ship sails on a feast day." in world_prefix(harbour)  # an edit deep inside
