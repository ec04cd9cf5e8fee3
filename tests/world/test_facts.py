"""Facts and who knows them: the world file, the state graph, conditions and lore."""

from __future__ import annotations

from pathlib import Path

import pytest

from simengine.world.conditions import ConditionError, compiled
from simengine.world.conditions import parse as parse_condition
from simengine.world.loader import WorldFileError, parse_world
from simengine.world.lore import lore_about, lore_entries
from simengine.world.state import WorldState

FIXTURES = Path(__file__).parent.parent / "fixtures"
MINI = (FIXTURES / "mini.toml").read_text()
FACTS = (FIXTURES / "mini_facts.toml").read_text()


def facts_world(extra: str = "") -> str:
    """The mini world with facts (``tests/fixtures/mini_facts.toml``) and ``extra`` tables."""
    return MINI.replace("[player]", FACTS + extra + "\n[player]")


def problems(text: str) -> list[str]:
    with pytest.raises(WorldFileError) as err:
        parse_world(text, "w.toml")
    return [str(p) for p in err.value.problems]


@pytest.fixture
def world() -> WorldState:
    return WorldState.from_spec(parse_world(facts_world()))


# ------------------------------------------------------------- world file
def test_facts_load_with_who_knows_them(world):
    assert world.facts_known("mara") == ["rope-lore", "storm-coming", "tide-law"]
    assert world.knows("merchant", "oswin-cheats") and not world.knows("mara", "oswin-cheats")
    assert world.known_by("oswin-cheats") == ["merchant", "silas"]
    assert world.is_secret("oswin-cheats") and not world.is_secret("storm-coming")
    # No known_by: everyone knows it (that is lore), newcomers and the dead too.
    assert world.known_by("tide-law") == world.characters()
    assert world.reveals("ledger") == ["oswin-cheats"] and world.reveals("rope") == []


def test_what_someone_knows_follows_what_they_learn_in_the_worlds_order(world):
    assert world.facts_known("mara") == ["rope-lore", "storm-coming", "tide-law"]
    world.put_fact("harbour-debt", "The harbourmaster owes the guild.", knower="mara")
    world.learn("mara", "oswin-cheats")  # older than what she knew: it goes before
    assert world.facts_known("mara") == [
        "rope-lore", "oswin-cheats", "storm-coming", "tide-law", "harbour-debt"]
    assert world.facts_known("merchant") == ["rope-lore", "oswin-cheats", "tide-law"]
    assert world.facts_known("ledger") == []  # a thing knows nothing


def test_a_lore_entry_named_like_an_entity_keeps_its_id_as_lore(world):
    # The rope item keeps its node; the lore entry about it is the fact "rope-lore".
    assert world.kind("rope") == "item" and world.kind("rope-lore") == "fact"
    assert [e.id for e in lore_about(world, "rope")] == ["rope"]


def test_unknown_references_get_a_line_and_a_did_you_mean():
    text = facts_world().replace('known_by = ["mara"]', 'known_by = ["marra"]').replace(
        'reveals = ["oswin-cheats"]', 'reveals = ["oswin-cheat"]')
    found = problems(text)
    assert any("facts[1].known_by[0]: unknown character 'marra'; did you mean 'mara'?" in p
               for p in found), found
    assert any("reveals[0]: unknown fact 'oswin-cheat'; did you mean 'oswin-cheats'?" in p
               for p in found), found
    assert all(":" in p.split(" ")[0][len("w.toml"):] for p in found), "each names its line"


def test_fact_ids_are_their_own():
    dup = facts_world('[[facts]]\nid = "storm-coming"\ntext = "Again."\n')
    assert any("duplicate fact id 'storm-coming'" in p for p in problems(dup))
    clash = facts_world('[[facts]]\nid = "dock"\ntext = "The dock floods."\n')
    assert any("'dock' is already the id of a location" in p for p in problems(clash))


def test_a_fact_needs_text_and_no_unknown_keys():
    found = problems(facts_world('[[facts]]\nid = "x"\nsecrte = true\n'))
    assert any("facts[3].text: required field is missing" in p for p in found), found
    assert any("unknown key 'secrte'; did you mean 'secret'?" in p and "text" in p
               for p in found), found


# -------------------------------------------------------------- the graph
def test_knowledge_is_edges_that_travel_with_the_state(world):
    world.learn("mara", "oswin-cheats")
    again = WorldState.from_node_link(world.to_node_link())
    assert again.knows("mara", "oswin-cheats") and again == world
    # Facts are not people nor places: no relation, no neighbour.
    assert all("fact" not in (world.kind(s), world.kind(t)) for s, _, t in world.relations())
    assert "oswin-cheats" not in world.neighbourhood("merchant", 2)


def test_a_new_fact_is_known_by_its_inventor_and_lore_changes_with_the_story(world):
    world.put_fact("gull-sighting", "A white gull circles the vault.", knower="mara")
    assert world.known_by("gull-sighting") == ["mara"]
    assert world.entity("gull-sighting")["origin"] == "invented"
    before = {e.id: e.content for e in lore_entries(world)}
    world.put_fact("tide-law", "Since the storm, the tide turns at dusk.")
    after = {e.id: e.content for e in lore_entries(world)}
    assert before["tide-law"] != after["tide-law"] == "Since the storm, the tide turns at dusk."


# ------------------------------------------------------------- conditions
def test_knows_in_conditions(world):
    assert compiled("merchant knows oswin-cheats")(world)
    assert not compiled("mara knows oswin-cheats")(world)
    assert compiled("mara knows tide-law and mara knows merchant")(world)  # lore; acquaintance
    world.learn("mara", "oswin-cheats")
    assert compiled("mara knows oswin-cheats")(world)


def test_a_condition_names_facts_only_after_knows():
    spec = parse_world(facts_world())
    facts = [f.id for f in spec.facts]
    ids = [c.id for c in spec.characters]
    parse_condition("mara knows storm-coming", ids=ids, facts=facts)
    with pytest.raises(ConditionError, match="is a fact: say 'X knows storm-coming'"):
        parse_condition("mara at storm-coming", ids=ids, facts=facts)
    with pytest.raises(ConditionError, match="did you mean: storm-coming"):
        parse_condition("mara knows storm-comin", ids=ids, facts=facts)


def test_author_rules_may_ask_what_someone_knows():
    text = facts_world('[[rules]]\nid = "hush"\nforbid = "move"\nwhen = "actor knows storm-cmoing"'
                       '\nsays = "Not in a storm."\n')
    assert any("did you mean: storm-coming" in p for p in problems(text))


def test_a_save_from_before_lore_was_facts_keeps_its_lore():
    # Older snapshots kept lore as a list in the graph's data, and no fact nodes.
    state = WorldState.from_spec(parse_world(MINI))
    state.graph.graph["lore"] = [{"id": "tide", "keys": ["tide"], "content": "It turns."}]
    again = WorldState.from_node_link(state.to_node_link())
    assert [(e.id, e.content) for e in lore_entries(again)] == [("tide", "It turns.")]
    assert again.facts_known("mara") == []
