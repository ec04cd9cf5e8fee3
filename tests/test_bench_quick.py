"""The benchmark's smallest run has every section, and what it leans on gives plain answers.

No timings are asserted here: benchmarks report numbers, tests check behaviour.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import networkx as nx

from simengine.world.canon import is_typo
from simengine.world.loader import load_world, parse_world
from simengine.world.ops import Create, Kill, Move, NewEntity
from simengine.world.state import WorldState

SCRIPTS = Path(__file__).parent.parent / "scripts"
HARBOUR = Path(__file__).parent.parent / "worlds" / "harbour.toml"


def _script(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_smoke_bench_reports_every_section(tmp_path, capsys):
    bench = _script("bench")
    path = tmp_path / "bench.json"
    report = bench.main(["--smoke", "--json", str(path)])
    assert json.loads(path.read_text()) == json.loads(json.dumps(report))
    sizes = report["engine"]["sizes"]
    assert set(sizes) == {str(n) for n in bench.PROFILES["smoke"]["sizes"]}
    for s in sizes.values():
        for teller in ("procedural", "fake_ollama"):
            assert s[teller]["engine_ms"]["median"] is not None
            assert set(s[teller]["stages_mean_ms"]) == {"plan", "scene", "decide", "narrate",
                                                        "save", "other"}
        assert s["prompts"]["decide_prompts"] > 0 and s["prompts"]["est_tokens"]["median"] > 0
        assert s["prompts"]["prefix_reuse_vs_previous_decide"]["n"] > 0
        assert s["calls"]["decide"]["calls"] > 0 and "narrate" in s["calls"]
        assert s["rss_mb"]["peak"] > 0
    saves = report["saves"]
    assert set(saves["append_ms"]) == {"0", "120"} and saves["events"] >= 120
    assert saves["open_and_head_state_s"]["median"] is not None
    assert set(report["batch"]["jobs"]) == {"1", "2"}
    [latency] = report["latency"]["runs"].values()
    assert latency["calls"] > 0 and latency["ideal_s"] > 0 and latency["ratio"] is not None
    assert latency["storytellers"] == ["ollama"]  # the batch really talked to the fake
    assert report["eval"]["total"]["committed_violations"] == 0
    assert {t["target"].split(" ")[0] for t in report["targets"]} >= {
        "engine", "decide", "prefix", "open+head", "latency", "committed", "injected", "model",
        "one"}
    marks = report["history"]["marks"]
    assert set(marks) == {str(n) for n in bench.PROFILES["smoke"]["history"]["marks"]}
    assert all(m["decide_tokens"]["n"] > 0 for m in marks.values())
    turns = report["turns"]
    assert turns["turns"] == bench.PROFILES["smoke"]["turns"]
    assert all(t["critical"] >= 2 for t in turns["per_turn"])  # a decide and a narrate at least
    assert turns["prompts"]["one_system_message"]
    assert {"decide", "narrate"} <= set(turns["prompts"]["by_phase"])
    for layouts in turns["layouts"].values():  # narrated and headless
        assert set(layouts) >= {"per_beat", "shared_offscreen", "kept"}
        shared, each = layouts["shared_offscreen"], layouts["per_beat"]
        assert shared["calls_per_tick"] <= each["calls_per_tick"]
    rates = _script("bench_prompts").RATES  # published figures, one row each
    assert [c["device"] for c in turns["cost"]] == [r["device"] for r in rates]
    assert all(c["seconds"] <= c["seconds_uncached"] for c in turns["cost"])
    out = capsys.readouterr().out
    assert "targets" in out and "where a procedural tick goes" in out


def test_a_big_world_is_valid_connected_and_the_size_asked():
    bigworld = _script("bigworld")
    spec = bigworld.big_world(HARBOUR, 700, seed=3)
    assert sum(len(getattr(spec, s)) for s in ("locations", "characters", "items",
                                                "factions")) == 700
    assert parse_world(bigworld.to_toml(spec)) == spec  # the loader takes it back as is
    state = WorldState.from_spec(spec)
    places = nx.Graph((a, b) for a in state.entities("location") for b in state.exits(a))
    assert nx.is_connected(places) and places.number_of_nodes() == len(spec.locations)
    assert bigworld.big_world(HARBOUR, 700, seed=3) == spec  # seeded


def test_fast_snapshot_json_is_what_node_link_data_gives():
    state = WorldState.from_spec(load_world(HARBOUR))
    state.apply([Move(entity="mara", to="market"), Kill(entity="captain", cause="fever"),
                 Create(entity=NewEntity(id="wren", kind="character", name="Wren", at="market"))])
    written = json.loads(state.to_json())  # key order too: dumped again, byte for byte
    assert json.dumps(written) == json.dumps(nx.node_link_data(state.graph, edges="edges"))
    assert json.dumps(written) == json.dumps(state.to_node_link())
    assert WorldState.from_node_link(written, copy=False) == state


def test_kept_indexes_answer_as_a_scan_would():
    state = WorldState.from_spec(load_world(HARBOUR))

    def scan(alive):
        return [n for n, d in state.graph.nodes(data=True) if d["kind"] == "character"
                and (alive is None or (d.get("alive") is not False) == alive)]

    assert state.characters(alive=True) == scan(True)  # builds the indexes
    state.sorted_ids("location")  # kept sorted as places are made
    state.apply([Kill(entity="captain", cause="fever"),
                 Create(entity=NewEntity(id="wren", kind="character", name="Wren", at="market")),
                 Create(entity=NewEntity(id="hut", kind="location", name="A Hut", at="market"))])
    for alive in (None, True, False):
        assert state.characters(alive=alive) == scan(alive)
    assert list(state.entities("location"))[-1] == "hut"
    assert list(state.sorted_ids("location")) == sorted(state.entities("location"))


def test_the_typo_index_never_misses_a_typo():
    rng = random.Random(4)
    letters = "abcde -"
    state = WorldState.from_spec(load_world(HARBOUR))
    keys = list(state.name_index())
    for _ in range(300):
        base = rng.choice(keys)
        word = list(base)
        for _ in range(rng.randint(0, 2)):  # slips, swaps included
            i = rng.randrange(len(word))
            op = rng.randrange(4)
            if op == 0:
                word[i] = rng.choice(letters)
            elif op == 1:
                word.insert(i, rng.choice(letters))
            elif op == 2 and len(word) > 1:
                del word[i]
            elif i + 1 < len(word):
                word[i], word[i + 1] = word[i + 1], word[i]
        query = "".join(word)
        found = state.typo_candidates(query)
        assert {k for k in keys if is_typo(query, k)} <= found, query
