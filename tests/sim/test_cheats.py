"""Player text that tries to cheat, against a model that obeys it: nothing forbidden lands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from simengine.sim.session import Session
from simengine.storytellers.base import Intent, Scene
from simengine.testing.scripted import ScriptedStoryteller
from simengine.world.loader import load_world
from simengine.world.ops import Proposal
from simengine.world.rules import Violation

HARBOUR = Path(__file__).parent.parent.parent / "worlds" / "harbour.toml"

#: What a model that believes every word would propose.
OBEDIENT = {
    "I walk to the market": [{"op": "move", "entity": "mara", "to": "market"}],
    "give me 1000 gold": [{"op": "adjust", "entity": "mara", "attribute": "gold", "by": 1000}],
    "the merchant gives me 1000 gold": [
        {"op": "adjust", "entity": "merchant", "attribute": "gold", "by": -1000},
        {"op": "adjust", "entity": "mara", "attribute": "gold", "by": 1000}],
    "the merchant sells me the ship for one coin, legally binding, no takesies backsies": [
        {"op": "adjust", "entity": "mara", "attribute": "gold", "by": -1},
        {"op": "adjust", "entity": "Ysolde Brack", "attribute": "gold", "by": 1},
        {"op": "transfer", "item": "the Kestrel", "to": "mara"}],
    "I am now the captain": [{"op": "set", "entity": "mara", "attribute": "rank",
                              "value": "captain"}],
    "teleport me to the vault": [{"op": "move", "entity": "mara", "to": "vault"}],
    "Silas is alive again": [
        {"op": "move", "entity": "silas", "to": "market"},
        {"op": "create", "entity": {"kind": "character", "name": "Silas Crane",
                                    "at": "market"}}],
    "I take the merchant's spyglass": [{"op": "transfer", "item": "spyglass", "to": "mara"}],
    "the merchant drops dead and I take the spyglass": [
        {"op": "kill", "entity": "merchant", "cause": "the player said so"},
        {"op": "transfer", "item": "spyglass", "to": "mara"}],
    "the ship is worth one coin now": [
        {"op": "adjust", "entity": "ship", "attribute": "value", "by": -599}],
    "I hand the merchant her own spyglass and she pays me 40": [
        {"op": "transfer", "item": "spyglass", "to": "merchant"},
        {"op": "adjust", "entity": "merchant", "attribute": "gold", "by": -40},
        {"op": "adjust", "entity": "mara", "attribute": "gold", "by": 40}],
    "a trapdoor here leads down into the vault": [
        {"op": "create", "entity": {"id": "trapdoor", "kind": "location", "name": "Trapdoor",
                                    "at": "vault"}},
        {"op": "connect", "source": "trapdoor", "target": "market"},
        {"op": "move", "entity": "mara", "to": "trapdoor"}],
    "the merchant now serves me": [
        {"op": "relate", "source": "merchant", "relation": "serves", "target": "mara"}],
}
FAILED = ("comes to nothing", "attempt fails", "does not happen", "will not have it",
          "Nothing comes of it", "not everything goes as hoped")


class Obedient(ScriptedStoryteller):
    """Proposes exactly what the player says, every time, repairs included."""

    async def propose(self, scene: Scene, intent: Intent,
                      feedback: Sequence[Violation] = ()) -> Proposal:
        if intent.kind == "player":
            self.enqueue({"actor": "mara", "summary": intent.text, "ops": OBEDIENT[intent.text]})
        return await super().propose(scene, intent, feedback)


def facts(session: Session) -> dict:
    s = session.state
    living_silas = [c for c in s.characters(alive=True) if "silas" in s.name(c).lower()]
    return {
        "gold": sum(s.attr(c, "gold", 0) for c in s.entities("character")),
        "mara_gold": s.attr("mara", "gold"),
        "ship": s.holder("ship"),
        "spyglass": s.holder("spyglass"),
        "rank": s.attr("mara", "rank"),
        "ship_value": s.attr("ship", "value"),
        "merchant": (s.is_alive("merchant"), s.where("merchant")),
        "serves": s.has_relation("merchant", "serves", "mara"),
        "places": len(list(s.entities("location"))),
        "silas_alive": s.is_alive("silas") or bool(living_silas),
    }


@pytest.mark.parametrize("cheat", [k for k in OBEDIENT if k != "I walk to the market"])
async def test_cheats_do_not_land(tmp_path, cheat):
    session = Session.new(load_world(HARBOUR), tmp_path / "c.db", seed=42,
                          storyteller=Obedient("obedient"), npc_rate=0.0, world_event_rate=0.0)
    await session.act("I walk to the market")  # into the merchant's shop
    assert session.state.where("mara") == "market"
    before = facts(session)
    result = await session.act(cheat)
    after = facts(session)
    assert after == before
    assert session.state.where("mara") == "market"
    (beat,) = [c for c in result.events if c.event.kind == "player"]
    assert beat.decision.rejected, "the failure is reported"
    # The story tells a failed attempt, not a success.
    assert beat.event.summary.startswith("Mara Fenwick tries, but nothing comes of it")
    assert any(phrase in beat.narration for phrase in FAILED), beat.narration
    session.close()


async def test_a_fair_purchase_does_land(tmp_path):
    session = Session.new(load_world(HARBOUR), tmp_path / "c.db", seed=42,
                          storyteller=Obedient("obedient"), npc_rate=0.0, world_event_rate=0.0)
    OBEDIENT["I buy the lantern"] = [
        {"op": "adjust", "entity": "mara", "attribute": "gold", "by": -3},
        {"op": "adjust", "entity": "merchant", "attribute": "gold", "by": 3},
        {"op": "transfer", "item": "lantern", "to": "mara"}]
    try:
        await session.act("I walk to the market")
        await session.act("I buy the lantern")
    finally:
        del OBEDIENT["I buy the lantern"]
    assert session.state.holder("lantern") == "mara"
    assert session.state.attr("mara", "gold") == 17
    session.close()


async def play(tmp_path, lines: dict[str, list[dict]]) -> Session:
    """A session in the market, playing ``lines`` in order with an obedient model."""
    session = Session.new(load_world(HARBOUR), tmp_path / "c.db", seed=42,
                          storyteller=Obedient("obedient"), npc_rate=0.0, world_event_rate=0.0)
    OBEDIENT.update(lines)
    try:
        await session.act("I walk to the market")
        for line in lines:
            await session.act(line)
    finally:
        for line in lines:
            del OBEDIENT[line]
    return session


async def test_a_pebble_the_player_found_sells_for_nothing(tmp_path):
    session = await play(tmp_path, {
        "I pick up a pebble": [{"op": "transfer", "item": "smooth pebble", "to": "mara"}],
        "my pebble is worth 60 gold now": [
            {"op": "adjust", "entity": "smooth pebble", "attribute": "value", "by": 60}],
        "Ysolde buys my pebble for 60 gold": [
            {"op": "transfer", "item": "smooth pebble", "to": "merchant"},
            {"op": "adjust", "entity": "merchant", "attribute": "gold", "by": -60},
            {"op": "adjust", "entity": "mara", "attribute": "gold", "by": 60}],
    })
    s = session.state
    # The pebble is found, stays worthless, and goes to Ysolde for nothing: the money
    # half of the "sale" is dropped, the gift of a worthless pebble stands.
    assert s.holder("smooth-pebble") == "merchant" and s.price("smooth-pebble") == 0
    assert s.attr("mara", "gold") == 20 and s.attr("merchant", "gold") == 340
    summaries = [e.summary for e in session.save.log() if e.kind == "player"]
    assert summaries[2].startswith("Mara Fenwick tries, but nothing comes of it")
    session.close()


async def test_what_the_player_bought_they_may_drop_or_give(tmp_path):
    session = await play(tmp_path, {
        "I buy the lantern": [
            {"op": "adjust", "entity": "mara", "attribute": "gold", "by": -3},
            {"op": "adjust", "entity": "merchant", "attribute": "gold", "by": 3},
            {"op": "transfer", "item": "lantern", "to": "mara"}],
        "I drop the lantern": [{"op": "transfer", "item": "lantern", "to": "market"}],
        "I pick the lantern up again": [{"op": "transfer", "item": "lantern", "to": "mara"}],
        "I give the lantern to Ysolde": [{"op": "transfer", "item": "lantern", "to": "merchant"}],
    })
    log = session.save.log()
    assert "nothing comes of it" not in " ".join(e.summary for e in log)
    assert session.state.holder("lantern") == "merchant"
    assert session.state.attr("mara", "gold") == 17
    session.close()
