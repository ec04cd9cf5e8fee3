"""A story, not a feed: what the player does not witness is one line a tick, f3 shows it."""

from __future__ import annotations

from simengine.store.events import Event
from simengine.tui.widgets import StoryLog
from simengine.tui.witness import Replay, vantage, witnessed
from simengine.world.loader import load_world
from simengine.world.ops import (
    Adjust,
    Create,
    Move,
    NewEntity,
    Relate,
    Transfer,
    references,
)
from simengine.world.state import WorldState

from .conftest import HARBOUR, SIZE, enter, play_screen

# The harbour: Mara (the player) is in the Tarred Gull (tavern) with the captain and the
# innkeeper; the merchant keeps the market; Silas is out on the south pier.


def harbour() -> WorldState:
    return WorldState.from_spec(load_world(HARBOUR))


def seen(state, kind, actor, ops, summary="", place_name=""):
    before = vantage(state, actor)
    after_state = state.copy()
    after_state.apply(ops)
    return witnessed(kind, ops, summary, before, vantage(after_state, actor), place_name)


def test_what_happens_where_the_player_stands_is_seen_and_far_off_is_not():
    state = harbour()
    assert seen(state, "npc", "captain", [Relate(source="captain", relation="knows",
                                                 target="innkeeper")])
    assert not seen(state, "npc", "merchant", [Relate(source="merchant", relation="knows",
                                                      target="fisher")])
    assert seen(state, "npc", "merchant", [Move(entity="merchant", to="tavern")])  # comes in
    assert seen(state, "npc", "captain", [Move(entity="captain", to="market")])  # goes out
    assert seen(state, "player", "mara", [])  # the player's own turn, always


def test_anything_that_touches_the_player_is_seen_wherever_it_starts():
    state = harbour()
    state.apply([Transfer(item="spyglass", to="mara")])
    assert seen(state, "npc", "merchant", [Adjust(entity="mara", attribute="health", by=-5)])
    assert seen(state, "npc", "silas", [Transfer(item="spyglass", to="silas")])  # their things
    assert not seen(state, "npc", "silas", [Transfer(item="brass-key", to="south-pier")])


def test_the_weather_is_seen_where_it_names_the_players_place():
    state = harbour()
    assert seen(state, "world", None, [], "Fog rolls in over The Tarred Gull", "The Tarred Gull")
    assert not seen(state, "world", None, [], "Fog rolls in over The Saltmarket",
                    "The Tarred Gull")
    newcomer = NewEntity(id="odo", kind="character", name="Odo Pike", at="tavern")
    assert seen(state, "world", None, [Create(entity=newcomer)])


def test_a_replay_follows_the_player_and_the_people_through_the_events():
    watcher = Replay(harbour())

    def event(actor, ops, kind="npc"):
        return Event(id=1, tick=1, actor=actor, kind=kind, ops=ops, summary="", depth=1,
                     storyteller="procedural", created_at="2026-01-01T00:00:00")

    talk = [Relate(source="merchant", relation="knows", target="fisher")]
    assert not watcher.seen(event("merchant", talk))
    assert watcher.seen(event("mara", [Move(entity="mara", to="market")], "player"))
    assert watcher.seen(event("merchant", talk))  # now Mara stands in the market too


def shown(app) -> list[str]:
    """The story lines a person can see (hidden ones are not displayed)."""
    story = play_screen(app).query_one(StoryLog)
    return [str(w.render()) for w in story.query(".line") if w.display]


async def test_beats_elsewhere_fold_into_one_line_a_tick_and_f3_shows_them(app):
    async with app.run_test(size=SIZE) as pilot:
        await enter(pilot, "/wait 6")
        screen = play_screen(app)
        save = screen.session.save
        far = []  # beats whose actor stood away from Mara before and after, touching nothing
        for e in save.log():
            before, after = save.state_at(e.parent_id), save.state_at(e.id)
            places = {before.where("mara"), after.where("mara")}
            refs = {v for op in e.ops for _, v in references(op)}
            if (e.kind == "npc" and before.where(e.actor) not in places
                    and after.where(e.actor) not in places and not refs & {"mara", *places}):
                far.append(e)
        assert far, "the seed should make someone act far from the tavern"
        visible = "\n".join(shown(app))
        assert "· elsewhere: " in visible and "(f3 shows all)" in visible
        for event in far:
            assert (event.narration or event.summary) not in visible
        await pilot.press("f3")
        await pilot.pause()
        everything = "\n".join(shown(app))
        assert all((e.narration or e.summary) in everything for e in far)
        assert "· elsewhere: " not in everything
        await enter(pilot, "/all")  # and back
        assert "· elsewhere: " in "\n".join(shown(app))
        # reopening the screen tells the saved story the same way
        screen.replay_story()
        await pilot.pause()
        again = "\n".join(shown(app))
        assert "· elsewhere: " in again
        assert not any((e.narration or e.summary) in again for e in far)
