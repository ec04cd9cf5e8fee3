"""The condition language: each construct true and false, and errors that point."""

from __future__ import annotations

import pytest

from simengine.world.conditions import MAX_DEPTH, ConditionError, Context, parse
from simengine.world.loader import parse_world
from simengine.world.state import WorldState

WORLD = """
[world]
id = "keep"
name = "The Keep"
relation_kinds = ["guards"]

[attributes.health]
type = "int"
min = 0
max = 10
default = 10

[attributes.sharp]
type = "bool"
kinds = ["item"]

[[locations]]
id = "hall"
name = "Hall"
connects = ["crypt"]

[[locations]]
id = "crypt"
name = "Crypt"

[[characters]]
id = "ada"
name = "Ada"
at = "hall"
attributes = { health = 4 }

[[characters]]
id = "bram"
name = "Bram"
at = "crypt"
alive = false

[[items]]
id = "satchel"
name = "Satchel"
at = "ada"

[[items]]
id = "iron-key"
name = "Iron Key"
at = "satchel"

[[items]]
id = "knife"
name = "Knife"
at = "hall"
attributes = { sharp = true }

[[relations]]
source = "ada"
relation = "guards"
target = "bram"
"""


@pytest.fixture(scope="module")
def state() -> WorldState:
    return WorldState.from_spec(parse_world(WORLD))


def strict(text: str, state: WorldState):
    return parse(text, ids=list(state.entities()), relations=state.relation_kinds,
                 attributes=state.attribute_defs())


CASES = [
    ("ada at hall", True), ("ada at crypt", False),
    ("iron-key at hall", True), ("iron-key at ada", True),  # in the satchel Ada carries
    ("ada holds iron-key", True), ("ada holds satchel", True), ("ada holds knife", False),
    ("bram holds iron-key", False),
    ("ada is alive", True), ("ada is dead", False), ("bram is dead", True),
    ("bram is alive", False), ("knife is alive", False),
    ("ada guards bram", True), ("bram guards ada", False), ("ada knows bram", False),
    ("ada.health == 4", True), ("ada.health != 4", False), ("ada.health < 5", True),
    ("ada.health <= 3", False), ("ada.health > 3", True), ("ada.health >= 5", False),
    ("bram.health >= 10", True), ("knife.health > 0", False),  # items have no health
    ("knife.sharp == true", True), ("knife.sharp == false", False),
    ("tick >= 0", True), ("tick > 0", False),
    ("ada at hall and bram is dead", True), ("ada at hall and bram is alive", False),
    ("ada at crypt or bram is dead", True), ("ada at crypt or bram is alive", False),
    ("not ada at crypt", True), ("not ada at hall", False),
    ("not (ada at crypt or bram is alive) and tick >= 0", True),
    ("ada at crypt or bram is dead and ada is dead", False),  # and binds tighter
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_each_construct(state: WorldState, text: str, expected: bool) -> None:
    assert strict(text, state)(state) is expected


def test_names_of_the_op(state: WorldState) -> None:
    ctx = Context(actor="ada", target="crypt", here="hall", item="knife")
    assert strict("target == crypt", state)(state, ctx)
    assert not strict("target != crypt", state)(state, ctx)
    assert strict("actor holds iron-key and here == hall", state)(state, ctx)
    assert strict("item.sharp == true and actor at here", state)(state, ctx)
    assert not strict("target == hall", state)(state, ctx)
    # a name the op does not give: tests on it are false, != is true
    assert not strict("item at hall", state)(state, Context(actor="ada"))
    assert strict("target != crypt", state)(state, Context(actor="ada"))


def test_the_state_changes_the_answer(state: WorldState) -> None:
    from simengine.world.ops import Transfer

    later = state.copy()
    later.apply([Transfer(item="iron-key", to="hall")])
    cond = strict("ada holds iron-key", state)
    assert cond(state) and not cond(later)


@pytest.mark.parametrize(("text", "column", "words"), [
    ("ada at", 7, "expected an entity id"),
    ("ada hodls iron-key", 5, "unknown relation kind 'hodls'"),
    ("ada at crpyt", 8, "did you mean: crypt"),
    ("ada.helth > 3", 5, "did you mean: health"),
    ("(ada at hall", 13, "expected ')'"),
    ("ada is sleeping", 8, "'alive' or 'dead'"),
    ("tick >= soon", 9, "expected a number"),
    ("ada at hall bram", 13, "expected 'and', 'or'"),
    ("ada at hall & bram is dead", 13, "unexpected character '&'"),
    ("", 1, "empty"),
])
def test_parse_errors_point_at_the_problem(state, text, column, words) -> None:
    with pytest.raises(ConditionError) as err:
        strict(text, state)
    assert err.value.column == column
    assert words in str(err.value)


def test_depth_is_bounded(state: WorldState) -> None:
    deep = "(" * (MAX_DEPTH + 1) + "ada at hall" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(ConditionError, match="nested more than"):
        strict(deep, state)
    assert strict("not " * 10 + "ada at hall", state)(state) is True
    ok = "(" * MAX_DEPTH + "ada at hall" + ")" * MAX_DEPTH
    assert strict(ok, state)(state)
