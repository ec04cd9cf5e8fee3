"""``/known``: what the player knows that not everyone does, as the story teaches it."""

from __future__ import annotations

from .conftest import SIZE, enter, settle, text


async def test_known_lists_what_the_player_was_told(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await enter(pilot, "/known")
        assert "Silas Crane owed Nell Gannet" in text(app)  # Mara knew it from the start
        assert "red lamp" not in text(app)
        await enter(pilot, "go to the fish dock")
        await enter(pilot, "ask Tamsin about the red lamp")
        await enter(pilot, "/known")
        assert "I saw a red lamp" in text(app)  # her answer
        assert "- Tamsin Reed saw a red lamp" in text(app)  # what /known lists
