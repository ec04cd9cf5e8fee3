"""Issue 10, points 7-13: rule holes that committed what the rules forbid, each closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from simengine.world.canon import resolve
from simengine.world.loader import WorldFileError, parse_world
from simengine.world.ops import (
    Adjust,
    Connect,
    Create,
    Kill,
    Move,
    NewEntity,
    Proposal,
    Relate,
    Transfer,
)
from simengine.world.rules import Turn, check, touches
from simengine.world.state import WorldState, normalize_name

MINI = Path(__file__).parent.parent / "fixtures" / "mini.toml"
NPC = Turn("npc", "merchant")
PLAYER = Turn("player", "mara")


def rules_of(state, ops, turn=NPC):
    return [v.rule for v in check(Proposal(actor=turn.actor, ops=ops), state, turn)]


def redefine(state: WorldState, name: str, **changes) -> None:
    """Change an attribute definition in place (as a save from an older world might hold)."""
    attrs = dict(state.graph.graph["attributes"])
    attrs[name] = {**attrs[name], **changes}
    state.graph.graph["attributes"] = attrs


def item(id_, at, name=None, **attributes):
    return Create(entity=NewEntity(id=id_, kind="item", name=name or id_.title(), at=at,
                                   attributes=attributes))


# ------------------------------------------------------- 7. prices are the world's
def test_a_player_cannot_price_the_pebble_they_made(state):
    pebble = [item("pebble", "mara")]
    assert rules_of(state, pebble, PLAYER) == []
    state.apply(pebble, tick=1)
    assert "price.fixed" in rules_of(state, [Adjust(entity="pebble", attribute="value", by=60)],
                                     PLAYER)


def test_a_player_cannot_reprice_what_they_bought(state):
    state.apply([Transfer(item="lantern", to="mara")])
    assert "price.fixed" in rules_of(state, [Adjust(entity="lantern", attribute="value", by=55)],
                                     PLAYER)


def test_repricing_and_selling_in_one_turn_pays_nothing_extra(state):
    state.apply([Transfer(item="lantern", to="mara")])  # worth 5 before the turn
    sale = [
        Adjust(entity="lantern", attribute="value", by=55),
        Transfer(item="lantern", to="merchant"),
        Adjust(entity="merchant", attribute="gold", by=-60),
        Adjust(entity="mara", attribute="gold", by=60),
    ]
    found = rules_of(state, sale, PLAYER)
    assert "price.fixed" in found and "scope.player" in found
    # At the worth it had before the turn, the sale is fine.
    fair = [sale[1], Adjust(entity="merchant", attribute="gold", by=-5),
            Adjust(entity="mara", attribute="gold", by=5)]
    assert rules_of(state, fair, PLAYER) == []


def test_what_a_player_brings_into_being_carries_no_price(state):
    redefine(state, "value", default=40)
    found = rules_of(state, [item("pebble", "mara")], PLAYER)
    assert "price.fixed" in found
    # Canon makes a player's find worth nothing, so the find itself still lands.
    res = resolve(Proposal(actor="mara", ops=[Transfer(item="shiny pebble", to="mara")]),
                  state, PLAYER)
    (create,) = res.proposal.ops
    assert create.entity.attributes == {"value": 0}
    assert check(res.proposal, state, PLAYER) == []
    state.apply(res.proposal.ops, tick=1)
    assert state.price(create.entity.id) == 0
    # The world's own finds keep the world's price.
    res = resolve(Proposal(ops=[Transfer(item="odd shell", to="dock")]), state, Turn("world"))
    assert res.proposal.ops[0].entity.attributes == {}


# ------------------------------------------------ 8. a bundle cannot be netted down
def test_prices_are_never_negative_by_default(state):
    redefine(state, "value", min=None)
    assert "attr.bounds" in rules_of(state, [item("curse", "merchant", value=-199)])
    assert "attr.bounds" in rules_of(state, [Adjust(entity="lantern", attribute="value", by=-6)])


def test_a_chest_is_worth_the_priced_things_inside_it(state):
    redefine(state, "value", min=-1000)  # this world allows negative numbers in `value`
    state.apply([item("chest", "merchant"), item("pearl", "chest", value=200),
                 item("curse", "chest", value=-199)])
    sale = [Adjust(entity="mara", attribute="gold", by=-1),
            Adjust(entity="merchant", attribute="gold", by=1),
            Transfer(item="chest", to="mara")]
    violations = check(Proposal(actor="mara", ops=sale), state, PLAYER)
    assert [v.rule for v in violations] == ["price.unpaid"]
    assert "200" in str(violations[0])
    assert state.price("curse") == 0  # what it costs, whatever number it carries


def test_the_validator_warns_about_a_negative_price_minimum():
    text = MINI.read_text().replace('[attributes.value]\ntype = "int"\nmin = 0',
                                    '[attributes.value]\ntype = "int"\nmin = -50')
    spec = parse_world(text, "w.toml")
    (warning,) = spec.warnings
    line = text.splitlines().index("min = -50") + 1
    assert warning.line == line and "never negative" in warning.message


def test_an_authored_negative_price_is_an_error():
    text = MINI.read_text().replace('[attributes.value]\ntype = "int"\nmin = 0',
                                    '[attributes.value]\ntype = "int"')
    text = text.replace("attributes = { value = 5 }", "attributes = { value = -5 }")
    with pytest.raises(WorldFileError) as info:
        parse_world(text, "w.toml")
    assert "below the minimum 0" in str(info.value)


# ------------------------------------------------------------------ 9. exact money
def test_a_float_currency_is_refused_with_its_line():
    text = MINI.read_text().replace('[attributes.gold]\ntype = "int"',
                                    '[attributes.gold]\ntype = "float"')
    with pytest.raises(WorldFileError) as info:
        parse_world(text, "w.toml")
    (problem,) = info.value.problems
    assert problem.line == text.splitlines().index('type = "float"') + 1
    assert "int" in problem.message and "conserved" in problem.message


def test_float_money_that_drifts_is_refused(state):
    redefine(state, "gold", type="float")
    state.graph.nodes["mara"]["attributes"]["gold"] = 0.1
    drift = [Adjust(entity="mara", attribute="gold", by=1e15),
             Adjust(entity="mara", attribute="gold", by=-1e15)]
    assert "currency.conserved" in rules_of(state, drift)
    # Amounts that add up exactly in binary pass; 0.1 + 0.5 would not (it rounds).
    state.graph.nodes["mara"]["attributes"]["gold"] = 0.25
    honest = [Adjust(entity="mara", attribute="gold", by=0.5),
              Adjust(entity="merchant", attribute="gold", by=-0.5)]
    assert rules_of(state, honest) == []


def test_int_money_sums_exactly(state):
    # Ten times 1e15 as floats, one coin more, ten times 1e15 back: the float sum
    # loses the coin (1e16 + 1 == 1e16), the purse does not.
    ops = [Adjust(entity="merchant", attribute="gold", by=1e15) for _ in range(10)]
    ops.append(Adjust(entity="merchant", attribute="gold", by=1))
    ops += [Adjust(entity="merchant", attribute="gold", by=-1e15) for _ in range(10)]
    assert "currency.conserved" in rules_of(state, ops)


# ------------------------------------------------- 10. the dead gain nothing, nested
def test_nothing_is_created_inside_what_the_dead_carry(state):
    state.apply([Transfer(item="rope", to="silas")])
    assert "dead.act" in rules_of(state, [item("ring", "rope", name="gold ring")])
    state.apply([item("pouch", "rope")])  # committed by older rules: the chain is deeper
    assert "dead.act" in rules_of(state, [item("ring", "pouch", name="gold ring")])
    assert "dead.act" in rules_of(state, [Transfer(item="lantern", to="pouch")])


# --------------------------------------------------- 11. look-alike names are one
LOOK_ALIKES = ["\u041eswin",  # Cyrillic О
               "Os\u200dwin",  # a zero-width joiner inside
               "\uff2f\uff53win",  # fullwidth
               "\u039fswin",  # Greek Omicron
               "O\u00adswin",  # a soft hyphen
               "OSWIN"]


@pytest.mark.parametrize("name", LOOK_ALIKES, ids=[ascii(n) for n in LOOK_ALIKES])
def test_a_look_alike_name_is_the_same_name(state, name):
    new = Create(entity=NewEntity(id="oswin-2", kind="character", name=name, at="dock"))
    assert "name.unique" in rules_of(state, [new])
    assert normalize_name(name) == normalize_name("Oswin")
    assert resolve(Proposal(ops=[Kill(entity=name)]), state).proposal.ops == [
        Kill(entity="merchant")]


def test_different_names_stay_different():
    assert normalize_name("Ivo") != normalize_name("Iva")
    assert normalize_name("Борис") != normalize_name("Бoрис Годунов")
    assert normalize_name("日本語の世界") == "日本語の世界"


def test_a_world_file_with_look_alike_names_is_refused():
    text = MINI.read_text().replace('name = "Mara"', 'name = "Osw\u0456n"')  # Cyrillic і
    with pytest.raises(WorldFileError) as info:
        parse_world(text, "w.toml")
    assert "two living characters" in str(info.value)


# ------------------------------------------------------- 12. travel stays travel
def test_a_passage_is_not_crossed_in_the_beat_that_made_it(state):
    ops = [Connect(source="dock", target="vault"), Move(entity="merchant", to="vault")]
    assert "travel.adjacent" in rules_of(state, ops)
    assert rules_of(state, ops[:1]) == []
    state.apply(ops[:1], tick=1)
    assert rules_of(state, ops[1:]) == []  # the next beat may use it


def test_a_new_passage_counts_as_an_invention(state):
    state.world["creativity"] = 0.0
    assert "creativity.budget" in rules_of(state, [Connect(source="dock", target="vault")])
    state.world["creativity"] = 0.5  # two inventions a beat
    two = [item("nail", "dock"), item("tack", "dock")]
    assert rules_of(state, two) == []
    assert "creativity.budget" in rules_of(state, [*two, Connect(source="dock", target="vault")])
    # A passage that is already there invents nothing.
    assert rules_of(state, [*two, Connect(source="dock", target="market")]) == []


def test_canon_counts_passages_when_it_invents(state):
    state.world["creativity"] = 0.25  # one invention a beat
    res = resolve(Proposal(ops=[Connect(source="dock", target="vault"),
                                Transfer(item="odd shell", to="dock")]), state, NPC)
    assert [v.rule for v in res.violations] == ["ref.unknown"]  # the budget is spent


def test_npc_beats_never_move_the_player(state):
    assert "player.own" in rules_of(state, [Move(entity="mara", to="market")])
    assert "player.own" in rules_of(state, [Move(entity="mara", to="market")], Turn("world"))
    assert rules_of(state, [Move(entity="mara", to="market")], PLAYER) == []


def test_by_default_npcs_may_wound_the_player_but_not_kill_or_rob(state):
    assert rules_of(state, [Adjust(entity="mara", attribute="health", by=-30)]) == []
    assert "attr.bounds" in rules_of(state, [Adjust(entity="mara", attribute="health", by=-101)])
    assert "player.own" in rules_of(state, [Kill(entity="mara")])
    state.apply([Transfer(item="rope", to="mara")])
    assert "player.own" in rules_of(state, [Transfer(item="rope", to="merchant")])
    assert "player.own" in rules_of(state, [Adjust(entity="mara", attribute="gold", by=-5),
                                            Adjust(entity="merchant", attribute="gold", by=5)])


def test_the_world_file_says_what_npcs_may_do_to_the_player():
    text = MINI.read_text().replace("creativity = 0.5",
                                    'creativity = 0.5\nnpcs_may = ["rob", "kill"]')
    state = WorldState.from_spec(parse_world(text, "w.toml"))
    state.apply([Transfer(item="rope", to="mara")])
    assert rules_of(state, [Kill(entity="mara")]) == []
    assert rules_of(state, [Transfer(item="rope", to="merchant")]) == []
    assert "player.own" in rules_of(state, [Adjust(entity="mara", attribute="health", by=-1)])
    assert "player.own" in rules_of(state, [Move(entity="mara", to="market")])
    assert rules_of(state, [Adjust(entity="mara", attribute="health", by=0)]) == []


def test_an_unknown_npcs_may_is_an_error_with_its_line():
    text = MINI.read_text().replace("creativity = 0.5", 'creativity = 0.5\nnpcs_may = ["steal"]')
    with pytest.raises(WorldFileError) as info:
        parse_world(text, "w.toml")
    (problem,) = info.value.problems
    assert problem.path.startswith("world.npcs_may") and "'rob'" in problem.message
    assert problem.line == text.splitlines().index('npcs_may = ["steal"]') + 1


def test_touches_says_which_beats_concern_someone(state):
    state.apply([Transfer(item="rope", to="mara")])
    assert touches([Relate(source="merchant", relation="knows", target="mara")], "mara", state)
    assert touches([Transfer(item="rope", to="dock")], "mara", state)
    assert not touches([Transfer(item="lantern", to="dock")], "mara", state)


# ------------------------------------------------------------ 13. the owner may give
@pytest.fixture
def bought(state):
    state.apply([Adjust(entity="mara", attribute="gold", by=-5),
                 Adjust(entity="merchant", attribute="gold", by=5),
                 Transfer(item="lantern", to="mara")])
    return state


def test_the_player_may_drop_or_give_what_they_bought(bought):
    assert rules_of(bought, [Transfer(item="lantern", to="dock")], PLAYER) == []
    assert rules_of(bought, [Transfer(item="lantern", to="merchant")], PLAYER) == []


def test_an_npc_may_drop_its_own_things(state):
    assert rules_of(state, [Transfer(item="lantern", to="dock")]) == []
    bag = [item("bag", "merchant"), Transfer(item="lantern", to="bag"),
           Transfer(item="bag", to="dock")]
    assert rules_of(state, bag) == []


def test_a_priced_thing_leaves_an_npc_only_for_payment(state):
    assert "price.unpaid" in rules_of(state, [Transfer(item="lantern", to="mara")])
    # Dropping it first, or hiding it in a bag, changes nothing.
    assert "price.unpaid" in rules_of(state, [Transfer(item="lantern", to="dock"),
                                              Transfer(item="lantern", to="mara")])
    bag = [item("bag", "merchant"), Transfer(item="lantern", to="bag"),
           Transfer(item="bag", to="mara")]
    assert "price.unpaid" in rules_of(state, bag)
    # Someone else's beat may not drop it for them either.
    assert "price.unpaid" in rules_of(state, [Transfer(item="lantern", to="dock")],
                                      Turn("world"))


def test_validate_prints_warnings_and_still_passes(tmp_path):
    from click.testing import CliRunner

    from simengine.cli import main

    world = tmp_path / "w.toml"
    world.write_text(MINI.read_text().replace('[attributes.value]\ntype = "int"\nmin = 0',
                                              '[attributes.value]\ntype = "int"\nmin = -50'))
    result = CliRunner().invoke(main, ["validate", str(world)])
    assert result.exit_code == 0, result.output
    assert "attributes.value.min" in result.output and "warning: " in result.output
    assert f"{world}: ok" in result.output


def test_a_passage_to_somewhere_new_is_one_invention(state):
    state.world["creativity"] = 0.25  # one invention a beat
    res = resolve(Proposal(ops=[Connect(source="dock", target="Smugglers' Cave")]), state, NPC)
    assert res.violations == []
    (create,) = res.proposal.ops
    assert create.entity.kind == "location" and create.entity.at == "dock"
    assert check(res.proposal, state, NPC) == []


def test_the_issue_repro_a_gold_ring_in_a_dead_mans_key():
    from simengine.world.loader import load_world

    harbour = WorldState.from_spec(load_world(MINI.parent.parent.parent / "worlds" /
                                              "harbour.toml"))
    ring = Create(entity=NewEntity(kind="item", name="gold ring", at="brass-key"))
    res = resolve(Proposal(actor="merchant", ops=[ring]), harbour, NPC)
    assert [v.rule for v in check(res.proposal, harbour, NPC)] == ["dead.act"]
    assert "'silas' is dead" in str(check(res.proposal, harbour, NPC)[0])
