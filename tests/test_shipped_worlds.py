"""The shipped worlds and the starter template are valid, playable examples."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from simengine.world.ops import Adjust, Move, Proposal, SetAttr, Transfer
from simengine.world.rules import Turn, check
from simengine.world.spec import ENTITY_SECTIONS, PRICE_ATTRIBUTE, WorldSpec
from simengine.world.state import WorldState, normalize_name

ROOT = Path(__file__).resolve().parents[1]
WORLD_FILES = sorted((ROOT / "worlds").glob("*.toml"))
STARTER = ROOT / "simengine" / "world" / "starter.toml"
TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def load(path: Path) -> WorldSpec:
    return WorldSpec.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))


def entities(spec: WorldSpec) -> list:
    return [e for section in ENTITY_SECTIONS for e in getattr(spec, section)]


def starter_spec() -> WorldSpec:
    text = STARTER.read_text(encoding="utf-8")
    return WorldSpec.model_validate(
        tomllib.loads(text.replace("{id}", "my-world").replace("{name}", "My World"))
    )


@pytest.fixture(params=WORLD_FILES, ids=lambda p: p.stem)
def world(request) -> tuple[WorldSpec, WorldState]:
    spec = load(request.param)
    return spec, WorldState.from_spec(spec)


def test_the_three_worlds_ship():
    assert {p.stem for p in WORLD_FILES} >= {"harbour", "starship", "frontier"}


@pytest.mark.parametrize("path", WORLD_FILES, ids=lambda p: p.stem)
def test_world_id_matches_file_name(path):
    assert load(path).world.id == path.stem


@pytest.mark.parametrize("path", WORLD_FILES, ids=lambda p: p.stem)
def test_the_world_loader_accepts_it(path):
    from simengine.world.loader import load_world

    assert load_world(path).world.id == path.stem


def test_size_player_and_world_meta(world):
    spec, _ = world
    assert 10 <= len(entities(spec)) <= 30
    assert spec.player is not None
    assert spec.world.premise and spec.world.tone and spec.world.laws
    assert spec.world.travel == "adjacent"
    assert 0.3 <= spec.world.creativity <= 0.7
    assert spec.storyteller.kind == "procedural"


def test_references_and_ids(world):
    spec, state = world
    ids = [e.id for e in entities(spec)]
    assert len(ids) == len(set(ids)), Counter(ids).most_common(3)
    kinds = {
        e.id: kind for section, kind in ENTITY_SECTIONS.items() for e in getattr(spec, section)
    }
    for loc in spec.locations:
        assert all(kinds.get(other) == "location" for other in loc.connects), loc.id
    for c in spec.characters:
        assert kinds.get(c.at) == "location", c.id
        assert state.kind(state.holder(c.id)) == "location", c.id
    for item in spec.items:
        assert kinds.get(item.at) in ("location", "character", "item"), item.id
        assert state.where(item.id) is not None, f"{item.id} is not anywhere"
    for r in spec.relations:
        assert r.source in kinds and r.target in kinds, r
        assert r.relation in spec.relation_kinds, r
    assert kinds.get(spec.player.character) == "character"
    assert state.is_alive(spec.player.character)


def test_attributes_respect_their_definitions(world):
    spec, state = world
    for e in entities(spec):
        kind = state.kind(e.id)
        for name, value in e.attributes.items():
            d = spec.attributes.get(name)
            assert d is not None, f"{e.id}: unknown attribute {name}"
            assert kind in d.kinds, f"{e.id}: {name} is not for a {kind}"
            assert isinstance(value, TYPES[d.type]), f"{e.id}.{name}"
            if d.type != "bool":
                assert not isinstance(value, bool), f"{e.id}.{name}"
            if d.min is not None:
                assert value >= d.min, f"{e.id}.{name}"
            if d.max is not None:
                assert value <= d.max, f"{e.id}.{name}"


def test_living_names_are_unique_per_kind(world):
    _, state = world
    for kind in ("location", "character", "item", "faction"):
        names = [normalize_name(state.name(e)) for e in state.entities(kind) if state.is_alive(e)]
        assert len(names) == len(set(names)), (kind, Counter(names).most_common(2))


def test_names_and_aliases_point_to_one_entity(world):
    """No word a player might type is ambiguous between two authored entities."""
    _, state = world
    owners: dict[str, set[str]] = {}
    for e in state.entities():
        data = state.entity(e)
        for word in {data["name"], e.replace("-", " "), *data["aliases"]}:
            owners.setdefault(normalize_name(word), set()).add(e)
    assert {w: ids for w, ids in owners.items() if len(ids) > 1} == {}


def test_economy_and_protection(world):
    spec, state = world
    currency = spec.currency
    assert currency and spec.attributes[currency].conserved
    assert PRICE_ATTRIBUTE in spec.attributes
    assert spec.attributes[PRICE_ATTRIBUTE].kinds == ["item"]
    assert any(d.protected for d in spec.attributes.values())
    for c in spec.characters:
        assert currency in c.attributes, f"{c.id} has no explicit {currency}"
    priced_and_held = [
        i
        for i in spec.items
        if state.price(i.id) > 0
        and state.kind(state.holder(i.id)) == "character"
        and state.is_alive(state.holder(i.id))
    ]
    assert priced_and_held


def test_the_player_can_go_somewhere(world):
    _, state = world
    assert state.exits(state.where(state.player))


def test_the_map_is_connected(world):
    _, state = world
    locations = list(state.entities("location"))
    seen, stack = {locations[0]}, [locations[0]]
    while stack:
        for nxt in state.exits(stack.pop()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    assert seen == set(locations)


def test_a_fair_sale_passes_and_theft_does_not(world):
    """Every world's cheapest held item can be bought, not taken, under the real rules."""
    spec, state = world
    cur, player = spec.currency, state.player
    item = min(
        (
            i.id
            for i in spec.items
            if state.price(i.id) > 0
            and state.kind(state.holder(i.id)) == "character"
            and state.is_alive(state.holder(i.id))
            and state.holder(i.id) != player
        ),
        key=state.price,
    )
    seller, price = state.holder(item), int(state.price(item))
    assert state.attr(player, cur) >= price, "the player cannot afford even the cheapest thing"
    state.apply([Move(entity=player, to=state.where(seller))])  # walk into the shop
    turn = Turn("player", player)
    sale = Proposal(
        actor=player,
        ops=[
            Adjust(entity=player, attribute=cur, by=-price),
            Adjust(entity=seller, attribute=cur, by=price),
            Transfer(item=item, to=player),
        ],
    )
    assert check(sale, state, turn) == []
    theft = Proposal(actor=player, ops=[Transfer(item=item, to=player)])
    assert [v.rule for v in check(theft, state, turn)] == ["price.unpaid"]


def test_protected_attributes_cannot_be_changed(world):
    spec, state = world
    name, d = next((n, d) for n, d in spec.attributes.items() if d.protected)
    who = state.player
    op = (
        SetAttr(entity=who, attribute=name, value="x")
        if d.type == "str"
        else Adjust(entity=who, attribute=name, by=1)
    )
    assert [v.rule for v in check(Proposal(ops=[op]), state)] == ["attr.protected"]


# --------------------------------------------------------------------- harbour
@pytest.fixture
def harbour() -> tuple[WorldSpec, WorldState]:
    spec = load(ROOT / "worlds" / "harbour.toml")
    return spec, WorldState.from_spec(spec)


def test_harbour_specifics(harbour):
    spec, state = harbour
    assert spec.world.id == "harbour"
    assert spec.currency == "gold"
    gold = spec.attributes["gold"]
    assert gold.type == "int" and gold.min == 0 and gold.conserved
    rank = spec.attributes["rank"]
    assert rank.type == "str" and rank.protected and rank.kinds == ["character"]
    assert state.kind("silas") == "character" and not state.is_alive("silas")
    here = state.where(state.player)
    assert "vault" not in state.exits(here) and here != "vault"
    assert state.price("ship") >= 500
    owner = state.holder("ship")
    assert state.kind(owner) == "character" and state.is_alive(owner)
    assert 0 < state.price("lantern") <= state.attr(state.player, "gold")
    assert state.holder("lantern") == "merchant"
    ranks = {state.attr(c, "rank") for c in state.characters()}
    assert {"captain", state.attr(state.player, "rank")} <= ranks
    assert state.attr(state.player, "rank") != "captain"
    assert state.attr(state.player, "gold") < state.price("ship")
    assert {"market", "tavern", "lighthouse", "vault"} <= set(state.entities("location"))


# --------------------------------------------------------------------- starship
def test_starship_has_factions_with_members():
    spec = load(ROOT / "worlds" / "starship.toml")
    assert 2 <= len(spec.factions) <= 3
    members = {r.target for r in spec.relations if r.relation == "member_of"}
    assert {f.id for f in spec.factions} <= members


# --------------------------------------------------------------------- frontier
def test_frontier_is_hub_and_spoke_with_health():
    spec = load(ROOT / "worlds" / "frontier.toml")
    state = WorldState.from_spec(spec)
    degrees = sorted((len(state.exits(loc)), loc) for loc in state.entities("location"))
    hub_degree, _ = degrees[-1]
    assert hub_degree >= len(degrees) - 2
    health = spec.attributes["health"]
    assert health.numeric and not health.conserved and (health.min, health.max) == (0, 100)


# ---------------------------------------------------------------------- starter
def test_starter_has_only_the_two_placeholders():
    text = STARTER.read_text(encoding="utf-8")
    assert "{id}" in text and "{name}" in text
    rest = text.replace("{id}", "").replace("{name}", "")
    assert "{" not in rest and "}" not in rest


def test_starter_is_a_small_valid_world():
    spec = starter_spec()
    assert spec.world.id == "my-world" and spec.world.name == "My World"
    assert 6 <= len(entities(spec)) <= 10
    state = WorldState.from_spec(spec)
    assert state.player and state.exits(state.where(state.player))
    assert spec.currency and any(d.protected for d in spec.attributes.values())
    for c in spec.characters:
        assert state.kind(state.holder(c.id)) == "location"
        assert spec.currency in c.attributes
