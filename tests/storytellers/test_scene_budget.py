"""What a scene does not show, it does not look up; what it shows stays as it was.

A section whose first entry cannot fit is skipped before its entries are found,
its entries are described only as far as the budget reaches (the rest counted),
and the world's prefix is written again only when what it tells has changed.
"""

from __future__ import annotations

import pytest

from simengine.storytellers import scene as scene_module
from simengine.storytellers.base import Intent
from simengine.storytellers.scene import (
    NEARBY_HEADER,
    TokenEstimator,
    _Context,
    _Here,
    build_scene,
    world_prefix,
)
from simengine.world.state import WorldState

INTENTS = [Intent("player", "mara"), Intent("npc", "silas"), Intent("npc", "edda"),
           Intent("world", seed=3)]


def _scene_parts(state: WorldState, intent: Intent, budget: int) -> tuple[object, ...]:
    s = build_scene(state, intent, budget_tokens=budget)
    return s.context, s.ids, s.facts, s.lore.ids()


def test_skipping_sections_without_room_changes_no_scene(harbour, monkeypatch) -> None:
    budgets = range(0, 900, 9)
    quick = {(i, b): _scene_parts(harbour, intent, b)
             for i, intent in enumerate(INTENTS) for b in budgets}
    # The same scenes when every section looks for its entries, room or not.
    monkeypatch.setattr(_Context, "room_for", lambda self, header: True)
    for i, intent in enumerate(INTENTS):
        for b in budgets:
            assert _scene_parts(harbour, intent, b) == quick[i, b], (intent, b)
    # Both the skipped and the shown case occurred.
    shown = {NEARBY_HEADER in quick[i, b][0] for i in range(len(INTENTS)) for b in budgets}
    assert shown == {True, False}


def test_a_full_scene_does_not_walk_the_neighbourhood(harbour, monkeypatch) -> None:
    walks: list[list[str]] = []
    walk = scene_module._bfs

    def counted(state, starts, k):  # counts the walks begun, not the ones merely set up
        walks.append(list(starts))
        yield from walk(state, starts, k)

    monkeypatch.setattr(scene_module, "_bfs", counted)
    tight = build_scene(harbour, Intent("player", "mara"), budget_tokens=60)
    assert NEARBY_HEADER not in tight.context and walks == []
    roomy = build_scene(harbour, Intent("player", "mara"), budget_tokens=3000)
    assert NEARBY_HEADER in roomy.context and walks == [["mara", "quay"]]


@pytest.mark.parametrize("lazy", [False, True])
def test_a_section_describes_what_it_shows_and_counts_the_rest(harbour, lazy) -> None:
    ctx = _Context(harbour, TokenEstimator(), 0, _Here(harbour, None, None))
    ctx.budget = ctx.cost(["Things:", "- item-0: a thing", "- item-1: a thing",
                           "  (and 8 more)"])
    described: list[int] = []

    def describe(i: int) -> tuple[str, list[str]]:
        described.append(i)
        return f"- item-{i}: a thing", []

    items = range(10)
    ctx.section("Things:", iter(items) if lazy else list(items), describe, limit=5)
    assert ctx.lines == ["Things:", "- item-0: a thing", "- item-1: a thing",
                         "  (and 8 more)"]
    assert described == [0, 1, 2]  # the third was tried, did not fit, and is counted


def test_a_section_without_room_asks_for_nothing(harbour) -> None:
    ctx = _Context(harbour, TokenEstimator(), 1, _Here(harbour, None, None))

    def items():
        raise AssertionError("looked for entries no one will see")
        yield  # pragma: no cover

    ctx.section("Things:", items(), lambda i: ("- x: y", []), limit=5)
    assert ctx.lines == [] and ctx.used == 0


def test_the_prefix_tells_a_changed_cast_and_world(harbour) -> None:
    before = world_prefix(harbour)
    mara = harbour.entity("mara")
    mara["description"] = "A harbour pilot who has never once been wrong about the tide."
    mara["traits"].append("unbending")
    harbour.world["premise"] = "The harbour is closing for the winter."
    after = world_prefix(harbour)
    assert after != before
    for text in ("never once been wrong", "unbending", "closing for the winter"):
        assert text in after, text
    harbour._prefix_cache = None  # type: ignore[attr-defined]
    assert world_prefix(harbour) == after  # what a fresh build says
