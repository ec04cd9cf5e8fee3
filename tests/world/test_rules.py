"""Every hard rule, passing and failing."""

from __future__ import annotations

import pytest

from simengine.world.ops import (
    Adjust,
    Connect,
    Create,
    Kill,
    Move,
    NewEntity,
    Proposal,
    Relate,
    SetAttr,
    Transfer,
)
from simengine.world.rules import Turn, check

NPC = Turn("npc", "merchant")
PLAYER = Turn("player", "mara")


def rules_of(state, ops, turn=NPC, actor=None):
    p = Proposal(actor=actor or turn.actor, ops=ops)
    return [v.rule for v in check(p, state, turn)]


def buy(item, price, seller="merchant", buyer="mara"):
    return [
        Adjust(entity=buyer, attribute="gold", by=-price),
        Adjust(entity=seller, attribute="gold", by=price),
        Transfer(item=item, to=buyer),
    ]


# (name, ops, turn, expected rule or None for "passes")
CASES = [
    ("move to a neighbour", [Move(entity="mara", to="market")], PLAYER, None),
    ("teleport", [Move(entity="mara", to="vault")], PLAYER, "travel.adjacent"),
    ("move an item", [Move(entity="rope", to="market")], NPC, "kind.mismatch"),
    ("move to a person", [Move(entity="mara", to="merchant")], NPC, "kind.mismatch"),
    ("unknown reference", [Move(entity="mara", to="atlantis")], NPC, "ref.unknown"),
    ("the dead walk", [Move(entity="silas", to="dock")], NPC, "dead.act"),
    ("the dead gain items", [Transfer(item="rope", to="silas")], NPC, "dead.act"),
    ("the dead die again", [Kill(entity="silas")], NPC, "dead.act"),
    (
        "the dead change",
        [SetAttr(entity="silas", attribute="mood", value="angry")],
        NPC,
        "dead.act",
    ),
    (
        "take from the dead",
        [Transfer(item="rope", to="market"), Transfer(item="rope", to="mara")],
        NPC,
        None,
    ),
    ("killed then moved", [Kill(entity="merchant"), Move(entity="merchant", to="market")], NPC,
     "dead.act"),
    ("unknown attribute", [Adjust(entity="mara", attribute="charm", by=1)], NPC, "attr.unknown"),
    (
        "attribute of another kind",
        [Adjust(entity="rope", attribute="gold", by=1)],
        NPC,
        "attr.unknown",
    ),
    ("adjust a string", [Adjust(entity="mara", attribute="mood", by=1)], NPC, "attr.type"),
    ("set a number", [SetAttr(entity="mara", attribute="health", value=5)], NPC, "attr.type"),
    ("set a wrong type", [SetAttr(entity="mara", attribute="mood", value=True)], NPC, "attr.type"),
    ("fractional int", [Adjust(entity="mara", attribute="health", by=-0.5)], NPC, "attr.type"),
    ("below min", [Adjust(entity="mara", attribute="health", by=-101)], NPC, "attr.bounds"),
    ("above max", [Adjust(entity="mara", attribute="health", by=1)], NPC, "attr.bounds"),
    ("within bounds", [Adjust(entity="mara", attribute="health", by=-30)], NPC, None),
    ("set a string", [SetAttr(entity="mara", attribute="mood", value="wary")], NPC, None),
    (
        "protected",
        [SetAttr(entity="mara", attribute="rank", value="captain")],
        NPC,
        "attr.protected",
    ),
    (
        "money from nowhere",
        [Adjust(entity="mara", attribute="gold", by=1000)],
        NPC,
        "currency.conserved",
    ),
    (
        "money changes hands",
        [
            Adjust(entity="merchant", attribute="gold", by=-10),
            Adjust(entity="mara", attribute="gold", by=10),
        ],
        NPC,
        None,
    ),
    (
        "overdraft",
        [
            Adjust(entity="mara", attribute="gold", by=-21),
            Adjust(entity="merchant", attribute="gold", by=21),
        ],
        NPC,
        "attr.bounds",
    ),
    ("a fair purchase", buy("lantern", 5), PLAYER, None),
    ("someone else spends the player's money", buy("lantern", 5), NPC, "player.own"),
    ("someone gives the player a thing", [Transfer(item="rope", to="mara")], NPC, None),
    ("someone else gives the player's things away",
     [Transfer(item="rope", to="mara"), Transfer(item="rope", to="merchant")], NPC,
     None),  # the rope was nobody's when the beat began: it never was the player's
    ("an npc moves the player", [Move(entity="mara", to="market")], NPC, "player.own"),
    ("underpaid", buy("ship", 1), PLAYER, "price.unpaid"),
    ("unpaid", [Transfer(item="lantern", to="mara")], NPC, "price.unpaid"),
    (
        "paid to the wrong person",
        [
            Adjust(entity="mara", attribute="gold", by=-5),
            Adjust(entity="silas", attribute="gold", by=5),
            Transfer(item="lantern", to="mara"),
        ],
        NPC,
        "price.unpaid",
    ),
    (
        "a new person",
        [Create(entity=NewEntity(id="ivo", kind="character", name="Ivo", at="dock"))],
        NPC,
        None,
    ),
    (
        "a new person with no place",
        [Create(entity=NewEntity(id="ivo", kind="character", name="Ivo"))],
        NPC,
        "create.invalid",
    ),
    (
        "a new person in a person",
        [Create(entity=NewEntity(id="ivo", kind="character", name="Ivo", at="mara"))],
        NPC,
        "kind.mismatch",
    ),
    (
        "a taken id",
        [Create(entity=NewEntity(id="mara", kind="character", name="Ivo", at="dock"))],
        NPC,
        "create.invalid",
    ),
    (
        "a second Mara",
        [Create(entity=NewEntity(id="mara-2", kind="character", name="mara", at="dock"))],
        NPC,
        "name.unique",
    ),
    (
        "a dead name may return",
        [Create(entity=NewEntity(id="silas-2", kind="character", name="Silas", at="dock"))],
        NPC,
        None,
    ),
    (
        "minted money",
        [
            Create(
                entity=NewEntity(
                    id="purse", kind="item", name="Purse", at="dock", attributes={"gold": 0}
                )
            )
        ],
        NPC,
        "attr.unknown",
    ),
    (
        "rich newcomer",
        [
            Create(
                entity=NewEntity(
                    id="ivo", kind="character", name="Ivo", at="dock", attributes={"gold": 500}
                )
            )
        ],
        NPC,
        "currency.conserved",
    ),
    (
        "too many inventions",
        [
            Create(entity=NewEntity(id=f"n{i}", kind="item", name=f"Nail {i}", at="dock"))
            for i in range(3)
        ],
        NPC,
        "creativity.budget",
    ),
    ("a thing inside itself", [Transfer(item="rope", to="rope")], NPC, "containment.cycle"),
    (
        "an unknown relation",
        [Relate(source="mara", relation="adores", target="merchant")],
        NPC,
        "relation.kind",
    ),
    (
        "a known relation",
        [Relate(source="mara", relation="friend_of", target="merchant")],
        NPC,
        None,
    ),
    ("a passage to itself", [Connect(source="dock", target="dock")], NPC, "kind.mismatch"),
    (
        "a new passage, then the move",
        [Connect(source="dock", target="vault"), Move(entity="merchant", to="vault")],
        NPC,
        "travel.adjacent",
    ),
    ("player reaches elsewhere", [Kill(entity="silas")], PLAYER, "scope.player"),
    ("player takes a gift", [Transfer(item="lantern", to="mara")], PLAYER, "price.unpaid"),
    (
        "player robs",
        [
            Adjust(entity="merchant", attribute="gold", by=-50),
            Adjust(entity="mara", attribute="gold", by=50),
        ],
        PLAYER,
        "scope.player",
    ),
    (
        "player sells",
        [
            Adjust(entity="merchant", attribute="gold", by=-5),
            Adjust(entity="mara", attribute="gold", by=5),
            Transfer(item="rope", to="mara"),
            Transfer(item="rope", to="merchant"),
        ],
        PLAYER,
        "scope.player",
    ),
    (
        "player invents treasure",
        [
            Create(
                entity=NewEntity(
                    id="gem", kind="item", name="Gem", at="mara", attributes={"value": 900}
                )
            )
        ],
        PLAYER,
        "scope.player",
    ),
    ("player picks up", [Transfer(item="rope", to="mara")], PLAYER, None),
    (
        "player conjures a person",
        [Create(entity=NewEntity(id="silas-2", kind="character", name="Silas", at="dock"))],
        PLAYER,
        "scope.player",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rule(state, case):
    _, ops, turn, expected = case
    found = rules_of(state, ops, turn)
    if expected is None:
        assert found == []
    else:
        assert expected in found


def test_player_turn_acts_as_the_player(state):
    assert "scope.player" in rules_of(state, [], PLAYER, actor="merchant")


def test_an_npc_beat_is_acted_by_its_actor(state):
    assert "actor.mismatch" in rules_of(state, [], NPC, actor="mara")


def test_dead_actor(state):
    assert "dead.act" in [
        v.rule for v in check(Proposal(actor="silas"), state, Turn("npc", "silas"))
    ]


def test_violation_message_names_the_op_and_the_tick(state):
    state.apply([Kill(entity="merchant")], tick=14)
    p = Proposal(
        ops=[
            Relate(source="mara", relation="knows", target="merchant"),
            Relate(source="mara", relation="knows", target="silas"),
            Move(entity="merchant", to="market"),
        ]
    )
    (v,) = check(p, state, NPC)
    assert str(v) == "op 2 (move): 'merchant' is dead since tick 14 and cannot move"
    assert v.op_index == 2 and v.rule == "dead.act"


def test_unknown_reference_suggests_close_names(state):
    (v,) = check(Proposal(ops=[Move(entity="mara", to="markt")]), state, NPC)
    assert v.rule == "ref.unknown" and "market" in v.suggestions
    assert "did you mean: market" in str(v)


def test_anywhere_travel(state):
    state.world["travel"] = "anywhere"
    assert rules_of(state, [Move(entity="mara", to="vault")], PLAYER) == []


def test_check_does_not_mutate(state):
    before = state.copy()
    check(
        Proposal(
            ops=[
                Move(entity="mara", to="market"),
                Kill(entity="mara"),
                *buy("ship", 500, buyer="merchant", seller="mara"),
            ]
        ),
        state,
        NPC,
    )
    assert state == before


# Holes a model that obeys the player could use, each closed.
HOLES = [
    ("player kills a bystander", [Kill(entity="merchant")]),
    ("player kills, then loots", [Kill(entity="merchant"), Transfer(item="ship", to="mara")]),
    ("player moves someone", [Move(entity="merchant", to="market")]),
    ("player makes someone serve", [Relate(source="merchant", relation="serves", target="mara")]),
    ("player changes someone", [SetAttr(entity="merchant", attribute="mood", value="devoted")]),
    ("player reprices", [Adjust(entity="lantern", attribute="value", by=-4)]),
    ("someone pays for their own thing", [
        Transfer(item="ship", to="merchant"),
        Adjust(entity="merchant", attribute="gold", by=-100),
        Adjust(entity="mara", attribute="gold", by=100)]),
    ("a door to the vault", [
        Create(entity=NewEntity(id="tunnel", kind="location", name="Tunnel", at="vault")),
        Connect(source="tunnel", target="dock"),
        Move(entity="mara", to="tunnel")]),
    ("across the map in one beat", [Move(entity="mara", to="market"),
                                    Move(entity="mara", to="vault-road")]),
]


@pytest.mark.parametrize("hole", HOLES, ids=[h[0] for h in HOLES])
def test_player_holes_are_closed(state, hole):
    _, ops = hole
    assert check(Proposal(actor="mara", ops=ops), state, PLAYER) != []


def test_priced_things_in_containers_are_still_paid_for(state):
    state.apply([Create(entity=NewEntity(id="chest", kind="item", name="Chest", at="merchant")),
                 Create(entity=NewEntity(id="pearl", kind="item", name="Pearl", at="chest",
                                         attributes={"value": 300}))])
    assert "price.unpaid" in rules_of(state, [Transfer(item="pearl", to="mara")], NPC)
    assert "price.unpaid" in rules_of(state, [Transfer(item="chest", to="mara")], NPC)
    # And the dead gain nothing through a container they hold.
    state.apply([Transfer(item="rope", to="silas")])
    assert "dead.act" in rules_of(state, [Transfer(item="lantern", to="rope")], NPC)


def test_the_holder_may_reprice_on_their_own_beat(state):
    assert rules_of(state, [Adjust(entity="lantern", attribute="value", by=-4)], NPC) == []
    assert "price.fixed" in rules_of(state, [Adjust(entity="lantern", attribute="value", by=-4)],
                                     Turn("npc", "mara"), actor="mara")


def test_money_stays_exact(state):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Adjust(entity="mara", attribute="gold", by=1e20)
    with pytest.raises(ValidationError):
        Adjust(entity="mara", attribute="gold", by=float("nan"))
    assert "attr.type" in rules_of(state, [Adjust(entity="mara", attribute="health", by=-5.5)], NPC)
    state.apply([Adjust(entity="mara", attribute="health", by=-5.0)])
    assert state.attr("mara", "health") == 95 and isinstance(state.attr("mara", "health"), int)
