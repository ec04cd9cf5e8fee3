"""The knowledge rules: tell, learn and fact, each passing and failing, and a property."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simengine.world.loader import parse_world
from simengine.world.ops import Proposal
from simengine.world.rules import Turn, check
from simengine.world.state import WorldState

FIXTURES = Path(__file__).parent.parent / "fixtures"
WORLD = (FIXTURES / "mini.toml").read_text().replace(
    "[player]", (FIXTURES / "mini_facts.toml").read_text() + "\n[player]")


@pytest.fixture
def world() -> WorldState:
    return WorldState.from_spec(parse_world(WORLD))


def rules(state: WorldState, ops: list[dict], actor: str | None = "merchant",
          kind: str = "npc") -> list[str]:
    turn = Turn(kind, actor)  # type: ignore[arg-type]
    return [v.rule for v in check(Proposal(actor=actor, ops=ops), state, turn)]


def commit(state: WorldState, ops: list[dict], actor: str | None = "merchant") -> None:
    proposal = Proposal(actor=actor, ops=ops)
    assert not check(proposal, state, Turn("npc" if actor else "world", actor))
    state.apply(proposal.ops)


def tell(who: str, to: str, fact: str) -> dict:
    return {"op": "tell", "entity": who, "to": to, "fact": fact}


def learn(who: str, fact: str, item: str | None = None) -> dict:
    return {"op": "learn", "entity": who, "fact": fact, **({"item": item} if item else {})}


# --------------------------------------------------------------------- tell
def test_a_knower_tells_someone_beside_them(world):
    commit(world, [tell("merchant", "mara", "oswin-cheats")])
    assert world.knows("mara", "oswin-cheats")


def test_nobody_tells_what_they_do_not_know(world):
    assert rules(world, [tell("merchant", "mara", "storm-coming")]) == ["know.unknown"]


def test_nobody_tells_someone_who_is_not_there(world):
    world.apply(Proposal(ops=[{"op": "move", "entity": "mara", "to": "market"}]).ops)
    assert rules(world, [tell("merchant", "mara", "oswin-cheats")]) == ["know.absent"]


def test_the_dead_tell_nothing(world):
    world.apply(Proposal(ops=[{"op": "move", "entity": "mara", "to": "market"}]).ops)
    assert world.knows("silas", "oswin-cheats")
    assert rules(world, [tell("silas", "mara", "oswin-cheats")], actor=None,
                 kind="world") == ["dead.act"]


def test_a_fact_learned_this_beat_may_be_told_on(world):
    assert rules(world, [tell("merchant", "mara", "oswin-cheats"),
                         tell("mara", "tam", "oswin-cheats")], actor=None, kind="world") == []


# -------------------------------------------------------------------- learn
def test_a_thing_at_hand_teaches_what_it_reveals(world):
    assert rules(world, [learn("mara", "oswin-cheats", "ledger")], "mara") == ["know.source"]
    world.apply(Proposal(ops=[{"op": "transfer", "item": "ledger", "to": "dock"}]).ops)
    commit(world, [learn("mara", "oswin-cheats", "ledger")], "mara")
    assert world.knows("mara", "oswin-cheats")


def test_a_thing_teaches_only_what_it_reveals(world):
    assert rules(world, [learn("mara", "storm-coming", "rope")], "mara") == ["know.source"]


def test_bystanders_overhear_what_is_told_where_they_stand(world):
    said = [tell("mara", "merchant", "storm-coming"), learn("tam", "storm-coming")]
    assert rules(world, said, actor="mara") == []
    assert rules(world, [learn("tam", "storm-coming")], actor="mara") == ["know.witness"]
    world.apply(Proposal(ops=[{"op": "move", "entity": "tam", "to": "market"}]).ops)
    assert rules(world, said, actor="mara") == ["know.witness"]


# --------------------------------------------------------------------- fact
def test_an_invented_fact_is_known_by_its_inventor_within_the_budget(world):
    rumour = {"op": "fact", "id": "gull-omen", "text": "Gulls circle the vault.",
              "entity": "merchant"}
    commit(world, [rumour])
    assert world.known_by("gull-omen") == ["merchant"]
    three = [{**rumour, "id": f"omen-{n}"} for n in range(3)]  # creativity 0.5: two a beat
    assert rules(world, three) == ["creativity.budget"]


def test_lore_changes_only_by_someone_who_knows_it_and_never_on_the_players_word(world):
    amend = {"op": "fact", "id": "tide-law", "text": "Since the storm, the tide turns at dusk."}
    commit(world, [amend])
    assert world.fact_text("tide-law").startswith("Since the storm")
    secret = {"op": "fact", "id": "oswin-cheats", "text": "Oswin is honest."}
    assert rules(world, [secret], actor="mara", kind="npc") == ["know.unknown"]
    assert rules(world, [amend], actor="mara", kind="player") == ["scope.player"]


def test_a_player_tells_what_they_know_but_speaks_for_nobody_else(world):
    assert rules(world, [tell("mara", "merchant", "storm-coming")], "mara", "player") == []
    assert "scope.player" in rules(world, [tell("merchant", "mara", "oswin-cheats")], "mara",
                                   "player")


def test_a_fact_is_no_relation(world):
    relate = {"op": "relate", "source": "mara", "relation": "knows", "target": "storm-coming"}
    assert rules(world, [relate], actor="mara") == ["kind.mismatch"]


# ----------------------------------------------------------------- property
PEOPLE = ("mara", "merchant", "tam", "silas")
FACTS = ("oswin-cheats", "storm-coming", "tide-law")
PLACES = ("dock", "market", "vault-road", "vault")

op_strategy = st.one_of(
    st.builds(tell, st.sampled_from(PEOPLE), st.sampled_from(PEOPLE), st.sampled_from(FACTS)),
    st.builds(learn, st.sampled_from(PEOPLE), st.sampled_from(FACTS),
              st.sampled_from([None, "ledger", "rope"])),
    st.builds(lambda who, to: {"op": "move", "entity": who, "to": to},
              st.sampled_from(PEOPLE[:3]), st.sampled_from(PLACES)),
    st.builds(lambda item, to: {"op": "transfer", "item": item, "to": to},
              st.just("ledger"), st.sampled_from(PLACES)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(op_strategy, min_size=1, max_size=4), min_size=1, max_size=8))
def test_knowledge_grows_only_along_tells_learns_and_witnessing(beats):
    state = WorldState.from_spec(parse_world(WORLD))
    pairs = lambda s: {(c, f) for c in PEOPLE for f in FACTS if s.knows(c, f)}  # noqa: E731
    for ops in beats:
        proposal = Proposal(actor=None, ops=ops)
        if check(proposal, state, Turn("world", None)):
            continue  # refused: nothing of it happens
        before = pairs(state)
        knew = set(before)
        for op in proposal.ops:  # every committed tell had a knowing teller
            if op.op == "tell":
                assert (op.entity, op.fact) in knew and state.is_alive(op.entity)
                knew.add((op.to, op.fact))
            elif op.op == "learn":
                knew.add((op.entity, op.fact))
        state.apply(proposal.ops)
        after = pairs(state)
        assert before <= after, "nobody forgets"
        assert after - before <= knew - before, "nothing is known but what was told or learned"


def test_an_author_rule_may_forbid_telling_a_fact(world):
    spec = parse_world(WORLD.replace("[player]", '''[[rules]]
id = "hush"
forbid = "tell fact oswin-cheats"
unless = "actor at vault"
says = "Not here, where the guild can hear."

[player]'''))
    state = WorldState.from_spec(spec)
    assert rules(state, [tell("merchant", "mara", "oswin-cheats")]) == ["world.hush"]
    assert rules(state, [tell("mara", "merchant", "storm-coming")], "mara") == []


def test_canon_keeps_a_new_facts_id_apart_from_old_ones(world):
    from simengine.world.canon import resolve

    said = Proposal(actor="merchant", ops=[
        {"op": "fact", "id": "Storm Comin", "text": "A second storm follows the first.",
         "entity": "Oswin"}])
    fixed = resolve(said, world, Turn("npc", "merchant")).proposal
    assert fixed.ops[0].id == "storm-comin" and fixed.ops[0].entity == "merchant"
    assert check(fixed, world, Turn("npc", "merchant")) == []


# ------------------------------------------------------------------- create
def newcomer(knows: list[str], kind: str = "character") -> dict:
    return {"op": "create", "entity": {"id": "odo", "kind": kind, "name": "Odo Pike",
                                       "at": "dock", "knows": knows}}


def test_a_newcomer_arrives_knowing_a_rumour_that_nobody_overhears(world):
    assert rules(world, [newcomer(["storm-coming"]), learn("tam", "storm-coming")],
                 actor=None, kind="world") == ["know.witness"]
    commit(world, [newcomer(["storm-coming"])], actor=None)
    assert world.knows("odo", "storm-coming") and not world.knows("tam", "storm-coming")
    # ... and may tell it in the same beat, as any knower may.
    assert rules(world, [{**newcomer(["storm-coming"]), "entity": {
        **newcomer(["storm-coming"])["entity"], "id": "ida", "name": "Ida"}},
        tell("ida", "tam", "storm-coming")], actor=None, kind="world") == []


def test_a_newcomer_knows_only_facts_the_world_has_and_no_secret_nobody_gave_them(world):
    assert rules(world, [newcomer(["sea-serpent"])], actor=None, kind="world") == [
        "know.newcomer"]
    assert rules(world, [newcomer(["oswin-cheats"])], actor=None, kind="world") == [
        "know.newcomer"]
    assert rules(world, [newcomer(["oswin-cheats"])], actor="merchant") == []  # his to share
    assert rules(world, [newcomer(["storm-coming"], kind="item")], actor=None,
                 kind="world") == ["create.invalid"]


def test_a_create_without_knows_reads_as_before():
    old = Proposal(ops=[{"op": "create", "entity": {"id": "odo", "kind": "character",
                                                    "name": "Odo", "at": "dock"}}])
    assert old.ops[0].entity.knows == []
