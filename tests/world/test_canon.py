"""Canon: names to ids, welcome inventions to create ops, the rest to suggestions."""

from __future__ import annotations

from simengine.world.canon import Resolver, resolve
from simengine.world.ops import Create, Move, Proposal, Relate, Transfer
from simengine.world.rules import Turn, check

NPC = Turn("npc", "merchant")


def test_names_aliases_case_articles_and_typos(state):
    r = Resolver(state, scene=["dock", "mara", "merchant"])
    assert r.lookup("mara")[0] == "mara"
    assert r.lookup("Oswin")[0] == "merchant"
    assert r.lookup("THE DOCK")[0] == "dock"
    assert r.lookup("the Gull", ("item",))[0] == "ship"
    assert r.lookup("a lantern", ("item",))[0] == "lantern"
    assert r.lookup("Oswinn")[0] == "merchant"  # a small typo
    assert r.lookup("Osiwn")[0] == "merchant"  # letters swapped
    assert r.lookup("Owl")[0] is None  # short names are not guessed at
    assert r.lookup("vault road")[0] == "vault-road"
    assert r.lookup("Zanzibar")[0] is None


def test_the_scene_and_the_living_come_first(state):
    from simengine.world.ops import NewEntity

    state.entity("ship")["aliases"].append("boat")
    state.apply([Create(entity=NewEntity(id="dinghy", kind="item", name="Dinghy", at="vault"))])
    state.entity("dinghy")["aliases"].append("the boat")
    state._names = None  # aliases were edited by hand above
    assert Resolver(state, scene=["vault", "dinghy"]).lookup("boat", ("item",))[0] == "dinghy"
    assert Resolver(state, scene=["dock", "ship"]).lookup("boat", ("item",))[0] == "ship"
    found, candidates = Resolver(state, scene=["market"]).lookup("boat", ("item",))
    assert found is None and set(candidates) == {"dinghy", "ship"}  # ambiguous: ask
    state.apply([Create(entity=NewEntity(id="silas-2", kind="character", name="Silas", at="dock"))])
    assert Resolver(state).lookup("Silas", ("character",))[0] == "silas-2"


def test_resolved_proposal_uses_ids(state):
    p = Proposal(actor="Oswin", ops=[Move(entity="Oswin", to="the market")])
    res = resolve(p, state, NPC)
    assert res.proposal.actor == "merchant"
    assert res.proposal.ops == [Move(entity="merchant", to="market")]
    assert res.violations == [] and res.names["Oswin"] == "merchant"


def test_someone_arrives(state):
    p = Proposal(ops=[Move(entity="Ivo the Tinker", to="dock")])
    res = resolve(p, state, NPC)
    (op,) = res.proposal.ops
    assert isinstance(op, Create) and op.entity.kind == "character" and op.entity.at == "dock"
    assert res.invented == ["ivo-the-tinker"]
    assert check(res.proposal, state, NPC) == []


def test_a_place_is_discovered_and_reached(state):
    res = resolve(Proposal(ops=[Move(entity="merchant", to="Smugglers' Cove")]), state, NPC)
    create, move = res.proposal.ops
    assert create.entity.kind == "location" and create.entity.at == "dock"
    assert move == Move(entity="merchant", to=create.entity.id)
    assert check(res.proposal, state, NPC) == []
    state.apply(res.proposal.ops)
    assert state.where("merchant") == create.entity.id


def test_something_is_found(state):
    res = resolve(Proposal(ops=[Transfer(item="a brass key", to="merchant")]), state, NPC)
    (op,) = res.proposal.ops
    assert (
        op.entity.kind == "item" and op.entity.at == "merchant" and op.entity.name == "a brass key"
    )


def test_a_person_or_place_is_never_found_as_a_thing(state):
    person = state.name("merchant")
    place = state.name(state.where("merchant"))
    for name in (person, place):
        res = resolve(Proposal(ops=[Transfer(item=name, to="merchant")]), state, NPC)
        assert res.proposal.ops == []  # no new item called after someone or somewhere
        (v,) = res.violations
        assert "not an item" in v.message


def test_later_ops_refer_to_the_new_name(state):
    p = Proposal(
        ops=[
            Move(entity="Ivo", to="dock"),
            Relate(source="merchant", relation="knows", target="Ivo"),
        ]
    )
    res = resolve(p, state, NPC)
    assert res.proposal.ops[1] == Relate(source="merchant", relation="knows", target="ivo")
    assert len(res.invented) == 1


def test_beyond_the_budget_names_are_suggested(state):
    state.world["creativity"] = 0.0
    res = resolve(Proposal(ops=[Move(entity="mara", to="Markett Square")]), state, NPC)
    assert res.proposal.ops == []
    (v,) = res.violations
    assert v.rule == "ref.unknown" and v.op_index == 0
    assert "creativity budget" in v.message and "market" in v.suggestions


def test_unknown_names_in_non_inventive_roles_are_violations(state):
    from simengine.world.ops import Kill

    res = resolve(Proposal(ops=[Kill(entity="Silsa")]), state, NPC)
    assert res.proposal.ops == [Kill(entity="silas")]  # a typo, forgiven
    res = resolve(Proposal(ops=[Kill(entity="The Kraken")]), state, NPC)
    assert res.proposal.ops == [] and res.violations[0].rule == "ref.unknown"


def test_explicit_creates_get_fresh_ids(state):
    from simengine.world.ops import NewEntity

    p = Proposal(
        ops=[
            Create(entity=NewEntity(kind="character", name="Mara", at="dock")),
            Create(entity=NewEntity(id="market", kind="item", name="Crate", at="Dock")),
        ]
    )
    res = resolve(p, state, NPC)
    ids = [op.entity.id for op in res.proposal.ops]
    assert ids[0] not in state and ids[1] not in state and ids[0] != ids[1]
    assert res.proposal.ops[1].entity.at == "dock"
    # A second living Mara is still the rules' business.
    assert "name.unique" in [v.rule for v in check(res.proposal, state, NPC)]
