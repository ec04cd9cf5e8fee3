"""Goals and endings: written in the condition language, checked at load, read on a state."""

from __future__ import annotations

import pytest

from simengine.world.conditions import ConditionError, parse
from simengine.world.loader import WorldFileError, parse_world
from simengine.world.ops import Kill, Move, Transfer
from simengine.world.state import WorldState
from simengine.world.story import Story, epilogue, thread

WORLD = """
[world]
id = "vigil"
name = "The Vigil"
tick = "hour"

[[locations]]
id = "gate"
name = "Gate"
connects = ["keep"]

[[locations]]
id = "keep"
name = "Keep"

[[characters]]
id = "ada"
name = "Ada"
at = "gate"

[[characters]]
id = "warden"
name = "Warden Hobb"
at = "keep"
essential = true

[[items]]
id = "seal"
name = "iron seal"
at = "keep"

[player]
character = "ada"

[[goals]]
id = "get-seal"
text = "Take the iron seal."
done = "ada holds seal"

[[goals]]
id = "hobb-waits"
text = "Hobb keeps watch at the gate."
done = "warden at gate"
who = "warden"

[[endings]]
id = "sealed"
when = "goal:get-seal and ada at gate"
kind = "win"
text = "The gate is sealed behind you."

[[endings]]
id = "dawn"
when = "tick >= 10"
kind = "lose"
text = "Dawn comes, and the gate stands open."
"""


def test_goals_endings_and_essential_load():
    spec = parse_world(WORLD, "vigil.toml")
    assert [g.id for g in spec.goals] == ["get-seal", "hobb-waits"]
    assert [(e.id, e.kind) for e in spec.endings] == [("sealed", "win"), ("dawn", "lose")]
    assert spec.story.director == "steady"
    state = WorldState.from_spec(spec)
    assert state.entity("warden").get("essential") is True
    assert not state.entity("ada").get("essential")


@pytest.mark.parametrize("edit, line_text, phrase", [
    (lambda t: t.replace('done = "ada holds seal"', 'done = "ada holds seel"'), "done =",
     "unknown id 'seel'"),
    (lambda t: t.replace('when = "goal:get-seal and', 'when = "goal:get-sael and'),
     'when = "goal', "unknown goal 'get-sael' (did you mean: get-seal?)"),
    (lambda t: t.replace('kind = "lose"', 'kind = "loss"'), 'kind = "loss"',
     "'win', 'lose' or 'other'"),
    (lambda t: t.replace('who = "warden"', 'who = "seal"'), "who =",
     "'seal' is a item; expected a character"),
    (lambda t: t.replace('id = "hobb-waits"', 'id = "get-seal"'), 'id = "get-seal"',
     "duplicate goal id"),
    (lambda t: t + '\n[story]\ndirector = "wild"\n', 'director = "wild"',
     "'steady', 'dramatic' or 'calm'"),
])
def test_a_bad_goal_or_ending_names_its_line(edit, line_text, phrase):
    text = edit(WORLD)
    with pytest.raises(WorldFileError) as info:
        parse_world(text, "vigil.toml")
    (problem,) = [p for p in info.value.problems if phrase in p.message]
    hits = [i for i, line in enumerate(text.splitlines(), 1) if line_text in line]
    assert problem.line in hits, (problem, hits)
    assert str(problem).startswith("vigil.toml:")


def test_goal_condition_parses_with_its_column():
    assert parse("goal:a and tick > 2", goals=["a"]).goals() == {"a"}
    with pytest.raises(ConditionError) as info:
        parse("tick > 2 and goal:b", goals=["a"])
    assert info.value.column == 19
    with pytest.raises(ConditionError):
        parse("goal:", goals=["a"])
    # 'goal' stays usable as an entity id where no ':' follows
    assert parse("goal at gate").ids() == {"goal", "gate"}


def test_goals_stay_done_and_the_first_ending_that_holds_ends():
    spec = parse_world(WORLD, "vigil.toml")
    state, story = WorldState.from_spec(spec), Story.from_spec(spec)
    assert story.check(state, 1, set()).goals == ()
    state.apply([Move(entity="ada", to="keep"), Transfer(item="seal", to="ada")], event_id=1)
    progress = story.check(state, 2, set())
    assert [g.id for g in progress.goals] == ["get-seal"] and progress.ending is None
    # done stays done, even when the seal is dropped again
    state.apply([Transfer(item="seal", to="keep")], event_id=2)
    assert story.check(state, 3, {"get-seal"}).goals == ()
    state.apply([Move(entity="ada", to="gate")], event_id=3)
    assert story.check(state, 4, {"get-seal"}).ending.id == "sealed"
    assert story.check(state, 4, set()).ending is None  # the ending asks for the goal
    # the clock ending, unless it was reached before on this branch
    assert story.check(state, 10, set()).ending.id == "dawn"
    assert story.check(state, 10, set(), reached=["dawn"]).ending is None


def test_threads_name_what_a_goal_wants():
    spec = parse_world(WORLD, "vigil.toml")
    story = Story.from_spec(spec)
    assert thread(story.by_id["get-seal"].done).things == (("ada", "seal"),)
    assert thread(story.by_id["hobb-waits"].done).places == (("warden", "gate"),)
    assert thread(parse("not ada at keep")).places == ()
    assert story.owner(story.by_id["get-seal"]) == "ada"
    assert [g.id for g in story.open_goals({"get-seal"}, "warden")] == ["hobb-waits"]


def test_epilogue_tells_the_cast_the_goals_and_the_time():
    spec = parse_world(WORLD, "vigil.toml")
    state, story = WorldState.from_spec(spec), Story.from_spec(spec)
    state.tick = 7
    state.apply([Move(entity="ada", to="keep"), Transfer(item="seal", to="ada"),
                 Kill(entity="warden", cause="a fall")], event_id=1)
    lines = epilogue(state, story, {"get-seal"}, 7, "hour")
    assert "Ada is at Keep, holding the iron seal." in lines
    assert "Warden Hobb died (hour 7)." in lines
    assert "[x] Take the iron seal." in lines and "[ ] Hobb keeps watch at the gate." in lines
    assert lines[-1] == "7 hours played; 1 of 2 goals done."


def test_a_big_cast_ends_in_a_page_the_player_in_it():
    from simengine.world.story import EPILOGUE_CAST

    guards = "".join(f'[[characters]]\nid = "a-guard-{i:02}"\nname = "Guard {i}"\nat = "gate"\n\n'
                     for i in range(EPILOGUE_CAST + 6))
    spec = parse_world(WORLD.replace("[[items]]", guards + "[[items]]", 1), "vigil.toml")
    state, story = WorldState.from_spec(spec), Story.from_spec(spec)
    lines = epilogue(state, story, set(), 3, "hour")
    people = lines[: lines.index("[ ] Take the iron seal.")]
    # The first of the cast by name, Ada (the player, last by id) too, the rest counted.
    assert people[:2] == ["Guard 0 is at Gate.", "Guard 1 is at Gate."]
    assert "Ada is at Gate." in people and len(people) == EPILOGUE_CAST + 2
    assert people[-1] == "And 7 more of the people the story began with."


def test_the_readme_story_example_loads_and_plays_out():
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if "[[endings]]" in b]
    world = """
[world]
id = "abbey"
name = "The Abbey"

[[locations]]
id = "chapter-house"
name = "Chapter House"
connects = ["cells"]

[[locations]]
id = "cells"
name = "The Cells"

[[characters]]
id = "ysolde"
name = "Ysolde"
at = "chapter-house"

[[items]]
id = "poisoned-cup"
name = "pewter cup"
at = "chapter-house"

[player]
character = "ysolde"
"""
    spec = parse_world(world + block, "abbey.toml")
    assert spec.story.director == "steady"
    state, story = WorldState.from_spec(spec), Story.from_spec(spec)
    assert state.entity("prior-anselm")["essential"]
    state.apply([Transfer(item="poisoned-cup", to="ysolde"),
                 Move(entity="prior-anselm", to="cells")], event_id=1)
    progress = story.check(state, 3, set())
    assert {g.id for g in progress.goals} == {"find-the-cup", "prior-confesses"}
    assert progress.ending.id == "justice"
