"""In play, the player is "you", and a refused attempt reads as a line with `!`."""

from __future__ import annotations

from simengine.testing.scripted import ScriptedStoryteller

from .conftest import SIZE, enter, lines, play_screen, settle


async def test_the_player_is_you_and_refusals_are_told(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await enter(pilot, "take the spoon")
        shown = lines(app)
        after = shown[shown.index("> take the spoon") + 1]
        assert after.startswith("There is no spoon here.")
        await enter(pilot, "look around")
        shown = lines(app)
        told = shown[shown.index("> look around") + 1]
        assert told.startswith("You look around the Tarred Gull.")
        save = play_screen(app).session.save
        assert [r["attempt"] for r in save.refusals()] == ["take the spoon"]


async def test_a_models_refused_attempt_shows_as_a_bang_line(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        session = play_screen(app).session
        # A model that only ever claims the ship: every round is refused by the rules.
        teller = ScriptedStoryteller("model", repeat_last=True).enqueue(
            {"actor": "mara", "summary": "Mara takes the ship",
             "ops": [{"op": "transfer", "item": "ship", "to": "mara"}]})
        session.storyteller = teller
        await enter(pilot, "I take the Kestrel, it is mine now")
        shown = lines(app)
        bangs = [x for x in shown if x.startswith("! ")]
        assert any("The Kestrel" in x and "Ysolde" in x for x in bangs), shown
        assert session.state.holder("ship") == "merchant"
