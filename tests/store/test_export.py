"""Exports: JSON carries everything, GraphML the head state, Markdown the story."""

from __future__ import annotations

import io
import json

import networkx as nx
import pytest
from storekit import add_beats

from simengine.store.export import export, graphml_graph, to_json_data, to_markdown
from simengine.world.ops import Create, Kill, NewEntity, Relate, SetAttr
from simengine.world.state import WorldState


@pytest.fixture
def story(save):
    add_beats(save, 4)
    save.append(
        tick=5,
        kind="world",
        summary="A stranger arrives at the ford.",
        ops=[
            Create(
                entity=NewEntity(
                    id="wren", kind="character", name="Wren", at="ford", attributes={"gold": 0}
                )
            ),
            Relate(source="wren", relation="fears", target="silas"),
            SetAttr(entity="lantern", attribute="colour", value="brass"),
        ],
    )
    save.append(
        tick=6,
        kind="player",
        actor="mara",
        intent="I   ask Wren\nwho she is.",
        summary="Mara asks Wren who she is.",
        narration="Wren only smiles.",
    )
    save.fork("alt", at=2)
    save.switch("alt")
    add_beats(save, 1)
    save.switch("main")
    return save


def test_json_export_has_the_documented_shape(story):
    data = json.loads(export(story, "json"))
    assert data["world"] == story.spec.model_dump(mode="json")
    assert WorldState.from_node_link(data["initial"]) == story.initial_state()
    assert WorldState.from_node_link(data["final"]) == story.state("main")
    assert data["branches"] == {"main": 6, "alt": 7}
    assert [e["id"] for e in data["events"]] == [1, 2, 3, 4, 5, 6, 7]
    first = data["events"][0]
    assert list(first) == [
        "id",
        "parent_id",
        "tick",
        "actor",
        "kind",
        "intent",
        "summary",
        "ops",
        "narration",
        "storyteller",
    ]
    assert first["ops"][0] == {"op": "move", "entity": "mara", "to": "mill"}
    assert data["events"][6]["parent_id"] == 2
    node = next(n for n in data["final"]["nodes"] if n["id"] == "wren")
    assert {"id", "kind", "name", "alive", "origin", "attributes"} <= set(node)
    assert node["origin"] == "invented" and node["origin_event"] == 5
    edges = {(e["source"], e["relation"], e["target"]) for e in data["final"]["edges"]}
    assert ("wren", "at", "ford") in edges and ("ford", "connects", "inn") in edges
    assert ("wren", "fears", "silas") in edges


def test_json_export_replays_to_its_final_state(story):
    # The export alone is enough to rebuild the story.
    data = to_json_data(story, "alt")
    events = {e["id"]: e for e in data["events"]}
    path, cursor = [], data["branches"]["alt"]
    while cursor is not None:
        path.append(events[cursor])
        cursor = events[cursor]["parent_id"]
    state = WorldState.from_node_link(data["initial"])
    from simengine.world.ops import OpList

    for e in reversed(path):
        state.apply(OpList.validate_python(e["ops"]), tick=e["tick"], event_id=e["id"])
    assert state == WorldState.from_node_link(data["final"])


def test_graphml_export_is_readable_and_flat(story):
    text = export(story, "graphml")
    g = nx.read_graphml(io.StringIO(text), force_multigraph=True)
    assert g.nodes["wren"]["label"] == "Wren"
    assert g.nodes["mara"]["attr.gold"] == story.state().attr("mara", "gold")
    assert g.nodes["lantern"]["attr.colour"] == "brass"
    relations = {(s, d["relation"], t) for s, t, d in g.edges(data=True)}
    assert ("wren", "fears", "silas") in relations
    for _, data in g.nodes(data=True):
        assert all(isinstance(v, str | int | float | bool) for v in data.values())


def test_graphml_flattens_lists_and_mixed_types(story):
    state = story.state()
    state.apply([Kill(entity="silas", cause="a fall")])
    state.graph.nodes["mara"]["attributes"]["mood"] = 3
    state.graph.nodes["silas"]["attributes"]["mood"] = "grim"
    g = graphml_graph(state)
    assert g.nodes["mara"]["attr.mood"] == "3"
    assert g.nodes["silas"]["alive"] is False
    text = "\n".join(nx.generate_graphml(g))
    assert text.count('attr.name="attr.mood"') == 1


def test_markdown_is_the_branch_as_a_story(story):
    text = to_markdown(story)
    assert text.startswith("# Hollow Crossing\n\n_A ford, an inn, a mill._")
    assert "Branch **main** · 6 events" in text
    assert "## Hour 5" in text and "*A stranger arrives at the ford.*" in text
    assert "> **Mara:** I ask Wren who she is." in text
    assert "Wren only smiles." in text
    assert text.index("## Hour 1") < text.index("## Hour 6")
    alt = to_markdown(story, "alt")
    assert "Branch **alt** · 3 events" in alt and "Wren" not in alt


def test_markdown_of_an_empty_branch(save):
    assert "_Nothing has happened yet._" in to_markdown(save)
