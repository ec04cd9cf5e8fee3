"""WorldState: queries, apply, copy and the node-link round trip."""

from __future__ import annotations

import json

from simengine.world.ops import Adjust, Connect, Create, Kill, Move, NewEntity, Relate, Transfer
from simengine.world.state import WorldState


def test_queries(state: WorldState):
    assert state.where("mara") == "dock"
    assert state.holder("ship") == "merchant"
    assert state.where("ship") == "dock"  # in the merchant's hands, on the dock
    assert set(state.present_at("dock")) == {"mara", "merchant", "rope"}
    assert state.people_at("dock") == ["mara", "merchant"]
    assert state.people_at("market") == []  # silas is dead
    assert state.people_at("market", alive=None) == ["silas"]
    assert state.inventory("merchant") == ["lantern", "ship"]
    assert state.exits("dock") == ["market"]
    assert state.exits("market") == ["dock", "vault-road"]  # connects is two-way
    assert state.relations("merchant") == [
        ("mara", "knows", "merchant"),
        ("merchant", "member_of", "guild"),
    ]
    assert state.neighbourhood("mara", 1) == {"mara", "dock", "merchant"}
    assert "market" in state.neighbourhood("mara", 2)
    assert state.attr("mara", "gold") == 20
    assert state.attr("mara", "health") == 100  # the definition's default
    assert not state.is_alive("silas")
    assert state.player == "mara" and state.currency == "gold"
    assert state.price("ship") == 500 and state.price("rope") == 0


def test_apply_changes_the_world(state: WorldState):
    state.apply(
        [
            Move(entity="mara", to="market"),
            Transfer(item="lantern", to="mara"),
            Adjust(entity="mara", attribute="gold", by=-5),
            Adjust(entity="merchant", attribute="gold", by=5),
            Relate(source="mara", relation="friend_of", target="merchant"),
            Create(entity=NewEntity(id="cove", kind="location", name="Hidden Cove", at="market")),
            Connect(source="vault", target="dock"),
            Kill(entity="merchant", cause="a fall"),
        ],
        tick=3,
        event_id=7,
    )
    assert state.where("mara") == "market"
    assert state.inventory("mara") == ["lantern"]
    assert state.attr("mara", "gold") == 15 and state.attr("merchant", "gold") == 105
    assert state.has_relation("mara", "friend_of", "merchant")
    assert "cove" in state.exits("market") and state.entity("cove")["origin"] == "invented"
    assert state.entity("cove")["origin_event"] == 7
    assert "dock" in state.exits("vault")
    assert not state.is_alive("merchant") and state.entity("merchant")["died_tick"] == 3
    assert state.tick == 3


def test_what_a_place_or_pocket_holds_follows_the_ops_after_it_was_asked(state: WorldState):
    # Contents are kept once asked: every op that puts something somewhere must show.
    assert state.contents("dock") == ["mara", "merchant", "rope"]
    assert state.things_at("dock") == ["rope"] and state.inventory("mara") == []
    assert state.inventory("merchant") == ["lantern", "ship"]
    assert state.people_at("market", alive=None) == ["silas"]
    state.apply([
        Move(entity="mara", to="market"),
        Transfer(item="lantern", to="mara"),
        Create(entity=NewEntity(id="crate", kind="item", name="Crate", at="dock")),
        Create(entity=NewEntity(id="gull", kind="character", name="Gull", at="market")),
        Create(entity=NewEntity(id="cove", kind="location", name="Cove", at="dock")),
        Kill(entity="gull"),
    ])
    assert state.contents("dock") == ["crate", "merchant", "rope"]  # not the new cove
    assert state.things_at("dock") == ["crate", "rope"]
    assert state.people_at("dock") == ["merchant"]
    assert state.inventory("merchant") == ["ship"] and state.inventory("mara") == ["lantern"]
    assert state.people_at("market") == ["mara"]  # gull died after arriving
    assert state.people_at("market", alive=None) == ["gull", "mara", "silas"]
    assert state.people_at("market", alive=False) == ["gull", "silas"]


def test_an_at_edge_made_or_undone_by_relate_shows_in_what_is_held(state: WorldState):
    # The rules refuse a relate op naming ``at``; a save's replay does not ask them.
    assert state.things_at("market") == []
    state.relate("rope", "at", "market")
    assert state.things_at("market") == ["rope"]
    state.unrelate("rope", "at", "market")
    assert state.things_at("market") == []


def test_an_answer_changed_by_its_caller_is_not_the_next_answer(state: WorldState):
    for ask in (state.contents, state.people_at, state.things_at):
        ask("dock").append("kraken")
        assert "kraken" not in ask("dock")
    state.inventory("merchant").clear()
    assert state.inventory("merchant") == ["lantern", "ship"]


def test_copy_is_independent(state: WorldState):
    twin = state.copy()
    twin.apply([Adjust(entity="mara", attribute="gold", by=-5)])
    assert state.attr("mara", "gold") == 20
    assert twin != state


def test_node_link_round_trip_gives_an_equal_state(state: WorldState):
    state.apply([Move(entity="mara", to="market"), Kill(entity="merchant")], tick=2)
    data = json.loads(json.dumps(state.to_node_link()))
    again = WorldState.from_node_link(data)
    assert again == state
    assert again.where("mara") == "market" and not again.is_alive("merchant")
    assert again.exits("market") == state.exits("market")
    node = next(n for n in data["nodes"] if n["id"] == "mara")
    assert {"id", "kind", "name", "alive", "origin", "attributes"} <= set(node)
    relations = {e["relation"] for e in data["edges"]}
    assert {"at", "connects", "knows"} <= relations


def test_names_are_found_by_name_and_alias(state: WorldState):
    assert state.living_named("the gull", "item") == ["ship"]
    assert state.closest("Osvin", kind="character")[0] == "merchant"


def test_suggestions_in_a_big_world_come_from_near_typos(state, monkeypatch):
    import simengine.world.state as state_module

    monkeypatch.setattr(state_module, "CLOSEST_SCAN_LIMIT", 3)  # as if the world were huge
    state._names = None
    assert state.closest("Oswn", kind="character") == ["merchant"]
    assert state.closest("Zzyzx Qwerty", kind="character") == []


def test_a_state_read_back_holds_each_id_and_relation_once(state: WorldState):
    """A big world is mostly edges: read back from its JSON, an edge names its ends
    with its nodes' own id strings and shares its relation's data, so a
    100,000-entity save opens into tens of megabytes less. The shared data stays
    per state: changing one edge or one copy leaves the others as they were."""
    again = WorldState.from_node_link(json.loads(state.to_json()), copy=False)
    g = again.graph
    for u, targets in g._succ.items():
        for v in targets:
            assert u is g._node[u]["id"] and v is g._node[v]["id"]
            assert next(x for x in g._pred[v] if x == u) is u
    ats = [keys["at"] for targets in g._succ.values() for keys in targets.values() if "at" in keys]
    assert len(ats) > 2 and all(d is ats[0] for d in ats) and ats[0] == {"relation": "at"}
    twin = again.copy()
    again.apply([Relate(source="mara", relation="friend_of", target="merchant"),
                 Move(entity="mara", to="market"), Transfer(item="rope", to="mara")])
    assert again.has_relation("mara", "friend_of", "merchant") and again.holder("rope") == "mara"
    assert twin.where("mara") == "dock" and twin.holder("rope") == "dock" == state.holder("rope")
    assert not twin.has_relation("mara", "friend_of", "merchant")
    assert g._succ["rope"]["mara"] == {"at": {"relation": "at"}}
    assert again == WorldState.from_node_link(json.loads(again.to_json()))


def test_any_text_a_state_holds_is_written_and_read_back_as_it_was(state: WorldState):
    """Names and values beyond ASCII, a lone surrogate (which is not UTF-8 and so
    goes through Python's own writer), floats of every size and huge integers all
    come back from a state's JSON as they were."""
    state.apply([Create(entity=NewEntity(id="odd", kind="character", name="Zoë \u00e9 \u4e16",
                                         at="dock"))])
    state.set_attribute("odd", "gold", 2**70)
    state.set_attribute("odd", "motto", "half a pair: \ud800")
    state.set_attribute("mara", "luck", 1e-7)
    state.set_attribute("merchant", "luck", float("inf"))
    state.set_attribute("silas", "luck", 1.0)
    for text in (state.to_json(), json.dumps(state.to_node_link())):
        again = WorldState.from_node_link(json.loads(text))
        assert again == state and again.name("odd") == "Zoë \u00e9 \u4e16"
        assert again.attr("odd", "motto") == "half a pair: \ud800"
        assert again.attr("silas", "luck") == 1.0 and isinstance(again.attr("silas", "luck"), float)
        assert again.attr("odd", "gold") == 2**70
