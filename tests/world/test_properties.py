"""Properties: what check accepts, apply keeps sound; check never mutates."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from simengine.world.state import WorldState

IDS = [
    "mara",
    "merchant",
    "silas",
    "dock",
    "market",
    "vault-road",
    "vault",
    "ship",
    "lantern",
    "rope",
    "guild",
    "nowhere",
]
ATTRS = ["gold", "health", "rank", "mood", "value", "charm"]

ref = st.sampled_from(IDS)
ops = st.one_of(
    st.builds(Move, entity=ref, to=ref),
    st.builds(Transfer, item=ref, to=ref),
    st.builds(
        Adjust,
        entity=ref,
        attribute=st.sampled_from(ATTRS),
        by=st.integers(min_value=-150, max_value=150),
    ),
    st.builds(
        SetAttr,
        entity=ref,
        attribute=st.sampled_from(ATTRS),
        value=st.one_of(st.text(max_size=5), st.integers(-5, 5), st.booleans()),
    ),
    st.builds(
        Relate, source=ref, relation=st.sampled_from(["knows", "friend_of", "hates"]), target=ref
    ),
    st.builds(Connect, source=ref, target=ref),
    st.builds(Kill, entity=ref),
    st.builds(
        Create,
        entity=st.builds(
            NewEntity,
            id=st.sampled_from(["ivo", "cove", "mara", None]),
            kind=st.sampled_from(["character", "item", "location", "faction"]),
            name=st.sampled_from(["Ivo", "Cove", "Mara", "Rope"]),
            at=st.one_of(st.none(), ref),
            attributes=st.sampled_from([{}, {"gold": 0}, {"gold": 5}, {"health": 50}]),
        ),
    ),
)
turns = st.sampled_from([Turn("npc", "merchant"), Turn("player", "mara"), Turn("world")])


def invariants(state: WorldState) -> None:
    defs = state.attribute_defs()
    for e in state.entities():
        kind = state.kind(e)
        holder = state.holder(e)
        if kind == "character":
            assert state.kind(holder) == "location", (e, holder)
        elif kind == "item":
            assert state.kind(holder) in ("location", "character", "item"), (e, holder)
            assert not state.is_within(holder, e) if holder else True
        for name, value in state.entity(e)["attributes"].items():
            d = defs[name]
            assert kind in d.kinds
            if d.min is not None:
                assert value >= d.min
            if d.max is not None:
                assert value <= d.max
    seen: dict[tuple[str, str], str] = {}
    for e in state.entities():
        if state.is_alive(e):
            key = (state.kind(e), state.name(e).lower())
            assert key not in seen, (e, seen.get(key))
            seen[key] = e


def total_gold(state: WorldState) -> int:
    return sum(state.attr(e, "gold", 0) for e in state.entities())


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(proposal=st.lists(ops, max_size=6), turn=turns)
def test_accepted_proposals_keep_the_world_sound(mini_spec, proposal, turn):
    state = WorldState.from_spec(mini_spec)
    before = state.copy()
    gold = total_gold(state)
    p = Proposal(actor=turn.actor, ops=proposal)
    violations = check(p, state, turn)
    assert state == before  # checking never mutates
    if not violations:
        state.apply(p.ops, tick=1)
        invariants(state)
        assert total_gold(state) == gold
        assert state.attr("mara", "rank") == before.attr("mara", "rank")
        assert not state.is_alive("silas")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.lists(ops, min_size=1, max_size=4), min_size=1, max_size=8))
def test_a_run_of_accepted_proposals_stays_sound(mini_spec, steps):
    state = WorldState.from_spec(mini_spec)
    gold = total_gold(state)
    for tick, step in enumerate(steps, 1):
        p = Proposal(ops=step)
        if not check(p, state, Turn("npc", "merchant")):
            state.apply(p.ops, tick=tick)
    invariants(state)
    assert total_gold(state) == gold
