"""Stories that go somewhere: goals done, endings reached, play after an ending, a director."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

import pytest

from simengine.sim.director import Director, intensity
from simengine.sim.run import load_script, run_ticks
from simengine.sim.session import GoalDone, Session, StoryEnded
from simengine.world.loader import load_world
from simengine.world.ops import Adjust, Kill, Proposal, Relate
from simengine.world.rules import Turn, check

ROOT = Path(__file__).resolve().parents[2]
WORLDS = {p.stem: p for p in sorted((ROOT / "worlds").glob("*.toml"))}


def play(session: Session, script: Path | None = None, ticks: int = 0) -> list:
    heard: list = []
    session.subscribe(lambda m: heard.append(m) if isinstance(m, GoalDone | StoryEnded) else None)
    steps = load_script(script) if script else None
    length = sum(s.ticks for s in steps) if steps else ticks
    asyncio.run(run_ticks(session, length, steps))
    return heard


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_each_shipped_world_is_won_by_its_script(tmp_path, world):
    spec = load_world(WORLDS[world])
    assert len(spec.goals) >= 2 and {"win"} <= {e.kind for e in spec.endings}
    assert {e.kind for e in spec.endings} - {"win"}, "a world can also be lost"
    with Session.new(spec, tmp_path / "s.db", narrate=False) as session:
        heard = play(session, ROOT / "worlds" / "scripts" / f"{world}-win.txt")
        ended = [m for m in heard if isinstance(m, StoryEnded)]
        assert [m.ending.kind for m in ended] == ["win"], [m.ending.id for m in ended]
        player_goals = {g.id for g in spec.goals if g.who is None}
        assert player_goals <= set(session.goals_done)
        assert ended[0].epilogue[-1].endswith(f"{len(session.goals_done)} of "
                                              f"{len(spec.goals)} goals done.")


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_each_shipped_world_is_lost_by_waiting(tmp_path, world):
    spec = load_world(WORLDS[world])
    with Session.new(spec, tmp_path / "s.db", narrate=False) as session:
        heard = play(session, ticks=200)
        (ended,) = [m for m in heard if isinstance(m, StoryEnded)]
        assert ended.ending.kind == "lose"
        assert session.tick <= 72  # the run stopped at the ending
        assert session.ending is ended.ending


def test_an_ending_stops_play_is_kept_in_the_save_and_play_goes_on_in_a_branch(tmp_path):
    spec = load_world(WORLDS["starship"])
    path = tmp_path / "s.db"
    with Session.new(spec, path, narrate=False) as session:
        play(session, ROOT / "worlds" / "scripts" / "starship-win.txt")
        assert session.ending.id == "log-on-the-bridge"
        tick = session.tick
        asyncio.run(session.step("go to the council deck"))
        assert session.tick == tick  # nothing happens after the end
    with Session.load(path, narrate=False) as session:  # the save remembers
        assert session.ending.id == "log-on-the-bridge"
        assert set(session.goals_done) >= {"read-the-log", "reach-the-bridge"}
        name = session.continue_story()
        assert session.branch == name and session.ending is None
        asyncio.run(session.step("go to the council deck"))
        assert session.tick == tick + 1 and session.ending is None  # not the same ending again
        asyncio.run(session.step("go to the bridge"))
        assert session.ending is None
        session.switch("main")
        assert session.ending.id == "log-on-the-bridge"


def test_undo_takes_a_goal_back(tmp_path):
    spec = load_world(WORLDS["frontier"])
    with Session.new(spec, tmp_path / "s.db", narrate=False) as session:
        asyncio.run(session.step("go to the creek"))
        asyncio.run(session.step("take the map from amos"))
        assert "find-the-map" in session.goals_done
        session.undo(1)
        assert "find-the-map" not in session.goals_done
        session.redo()
        assert "find-the-map" in session.goals_done


def test_same_seed_same_story_with_the_director(tmp_path):
    spec = load_world(WORLDS["harbour"])
    stories = []
    for n in range(2):
        with Session.new(spec, tmp_path / f"{n}.db", seed=5, narrate=False) as session:
            play(session, ticks=40)
            stories.append([(e.tick, e.summary) for e in session.save.log()])
    assert stories[0] == stories[1]


def swings(series: list[float], low: float, high: float) -> int:
    """How many times the series climbs above ``high`` after being below ``low``."""
    count, up = 0, False
    for x in series:
        if x >= high and not up:
            count, up = count + 1, True
        elif x <= low:
            up = False
    return count


def test_the_tension_curve_rises_and_falls_over_200_ticks(tmp_path):
    spec = load_world(WORLDS["harbour"])
    spec.endings = []  # watch the whole 200 ticks
    measured, wanted = [], []
    with Session.new(spec, tmp_path / "s.db", narrate=False) as session:
        for _ in range(200):
            asyncio.run(session.step())
            measured.append(session.tension())
            wanted.append(session.director.target(session.tick))
    assert swings(measured, 0.15, 0.45) >= 3  # build-ups and reliefs, not a flat line
    assert statistics.correlation(measured, wanted) > 0.4  # and they follow the curve


def test_styles_differ_and_deaths_wait_for_a_crisis():
    steady, dramatic, calm = (Director(s, seed=3) for s in ("steady", "dramatic", "calm"))
    peaks = [max(d.target(t) for t in range(200)) for d in (steady, dramatic, calm)]
    assert peaks[1] > peaks[0] > peaks[2]
    for d in (steady, dramatic, calm):
        phases = {d.phase(t) for t in range(200)}
        assert phases == {"build-up", "crisis", "relief"}
        crisis = next(t for t in range(200) if d.phase(t) == "crisis")
        assert d.deaths_allowed(crisis, None) and not d.deaths_allowed(crisis, crisis - 1)
        assert not d.deaths_allowed(next(t for t in range(200) if d.phase(t) == "relief"), None)
    steer = dramatic.steer(next(t for t in range(200) if dramatic.phase(t) == "crisis"), 0.0,
                           deaths=False)
    assert steer.factor("quarrel") > 1 > steer.factor("talk") and steer.factor("die") == 0
    assert intensity([Kill(entity="a", cause="x")]) > intensity(
        [Relate(source="a", relation="enemy_of", target="b")]) > 0
    # money changing hands stirs nothing
    assert intensity([Adjust(entity="a", attribute="gold", by=-5),
                      Adjust(entity="b", attribute="gold", by=5)]) == 0


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_essential_characters_never_die_by_chance(tmp_path, world):
    spec = load_world(WORLDS[world])
    spec.endings = []
    essential = [c.id for c in spec.characters if c.essential]
    assert essential
    with Session.new(spec, tmp_path / "s.db", narrate=False, npc_rate=1.0, seed=2) as session:
        play(session, ticks=150)
        died = [c for c in session.state.entities("character")
                if not session.state.is_alive(c) and session.state.entity(c).get("died_tick")]
        assert died  # people do die by chance here ...
        assert not set(died) & set(essential)  # ... but never the essential ones
        # and no beat but the player's may kill them
        who = essential[0]
        kill = Proposal(ops=[Kill(entity=who, cause="a fall")])
        assert [v.rule for v in check(kill, session.state, Turn("npc", who))] == [
            "story.essential"]
        assert "story.essential" not in [
            v.rule for v in check(kill, session.state, Turn("player", session.player))]
