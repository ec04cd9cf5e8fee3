"""Fine-tuning data (chat-jsonl, sharegpt) and character cards out of saves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from importkit import FIXTURES

from simengine.cli import main
from simengine.importers import import_files
from simengine.sim.session import Session
from simengine.store import Save
from simengine.storytellers.ollama import OllamaStoryteller
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.storytellers.prompts import PLAYER_OPEN
from simengine.testing.fake_ollama import FakeOllama
from simengine.world.loader import load_world
from simengine.world.ops import Proposal
from simengine.world.rules import Turn, check

WORLDS = Path(__file__).parent.parent.parent / "worlds"


def model_save(path: Path, *, seed: int, faults: dict[str, float], ticks: int = 12) -> Path:
    """A save told by the fake Ollama (noisy: some beats need repair, some fall back)."""
    spec = load_world(WORLDS / "harbour.toml")
    with FakeOllama(mode="noisy", seed=seed) as fake:
        fake.set_faults(faults)
        teller = OllamaStoryteller(host=fake.url, timeout=5, backoff=0.001, seed=seed)
        session = Session.new(spec, path, seed=seed, storyteller=teller,
                              fallback=ProceduralStoryteller(seed=seed), narrate=True)

        async def play() -> None:
            await session.act("I look around the harbour")
            await session.act("I ask about ships")
            await session.wait(ticks)

        asyncio.run(play())
        session.close()
    return path


@pytest.fixture(scope="module")
def saves(tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("ft")
    return [
        model_save(base / "a.db", seed=11, faults={"teleport": 0.3, "unknown_name": 0.2,
                                                  "invalid_json": 0.4}),
        model_save(base / "b.db", seed=6, faults={"unbalanced_currency": 0.2}),
    ]


def export(args: list[str]):
    result = CliRunner().invoke(main, ["saves", "export", *args])
    assert result.exit_code == 0, result.output
    return result


def examples_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_chat_jsonl_examples_are_accepted_proposals_the_rules_pass(saves, tmp_path):
    out = tmp_path / "train.jsonl"
    result = export([str(saves[0]), str(saves[1]), "--format", "chat-jsonl", "-o", str(out)])
    rows = examples_of(out)
    assert rows, "no examples from two model-told saves"
    with Save.open(saves[0], readonly=True) as s:
        committed = {json.dumps(e.wire()["ops"], sort_keys=True): e for e in s.events()}
        state = s.initial_state()
    for row in rows:
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["system", "user", "assistant"]
        # The assistant turn parses back as a wire-format proposal.
        proposal = Proposal.model_validate_json(row["messages"][-1]["content"])
        assert proposal.ops or proposal.summary
        assert f"{PLAYER_OPEN}\n" not in row["messages"][1]["content"]  # no player text
    # Those from the first save are exactly what it committed, and pass the rules at the start.
    first = [Proposal.model_validate_json(r["messages"][-1]["content"]) for r in rows]
    ours = [p for p in first if json.dumps([op.model_dump(mode="json") for op in p.ops],
                                            sort_keys=True) in committed]
    assert ours
    assert any(check(p, state, Turn("npc" if p.actor else "world", p.actor)) == []
               for p in ours)
    assert "examples (" in result.stderr and "from 2 of 2 saves" in result.stderr
    assert "left out" in result.stderr and "player turns" in result.stderr


def test_rejected_and_fallback_beats_are_left_out(saves, tmp_path):
    out = tmp_path / "t.jsonl"
    result = export([str(saves[0]), "--format", "chat-jsonl", "-o", str(out)])
    rows = examples_of(out)
    with Save.open(saves[0], readonly=True) as s:
        good = 0
        for e in s.events():
            calls = [c for c in s.calls(e.id) if c["phase"] in ("decide", "repair")]
            if calls and calls[-1]["accepted"] and e.kind != "player":
                good += 1
        fell_back = sum(1 for e in s.events() if e.storyteller == "procedural"
                        and s.calls(e.id))
    assert len(rows) == good
    assert fell_back >= 1, "the noisy fixture save should have a fallback beat"
    assert f"left out {fell_back}: the model failed and the procedural storyteller told " \
        "the beat" in result.stderr
    from simengine.sim.finetune import proposal_json

    # Each example is (the beat's first decide request, what the beat committed): a
    # fallback beat's pair is never among them. (Its ops alone may well match a beat
    # the model told elsewhere: the same move, the same greeting.)
    told = {(r["messages"][1]["content"], r["messages"][-1]["content"]) for r in rows}
    checked = 0
    with Save.open(saves[0], readonly=True) as s:
        for e in s.events():
            first = [c for c in s.calls(e.id) if c["phase"] == "decide"]
            if e.storyteller == "procedural" and first and first[0].get("request"):
                users = [m["content"] for m in first[0]["request"].get("messages", [])
                         if m.get("role") == "user"]
                assert users and all((u, proposal_json(e)) not in told for u in users)
                checked += 1
    assert checked >= 1


def test_each_kind_of_beat_is_kept_or_left_out_as_it_should(tmp_path):
    from simengine.sim.finetune import Summary, examples
    from simengine.testing.fixtures import tiny_world_spec

    model = "ollama:m"

    def call(phase: str, accepted: bool | None, note: str = "") -> dict:
        user = f"scene {note}"
        return {"storyteller": model, "phase": phase, "accepted": accepted,
                "request": {"messages": [{"role": "system", "content": "rules"},
                                         {"role": "user", "content": user}]},
                "response": "prose" if phase == "narrate" else "{}"}

    move = {"op": "move", "entity": "silas", "to": "market"}
    with Save.create(tmp_path / "k.db", tiny_world_spec()) as s:
        s.append(tick=1, kind="npc", actor="silas", ops=[move], summary="Silas goes",
                 storyteller=model, calls=[call("decide", True, "first"), call("narrate", None)])
        s.append(tick=2, kind="npc", actor="silas", ops=[], summary="Silas tries",
                 storyteller=model, calls=[call("decide", False), call("repair", False),
                                           call("repair", False)])
        s.append(tick=3, kind="npc", actor="silas", ops=[], storyteller="procedural",
                 summary="told plainly", calls=[call("decide", False)])
        s.append(tick=4, kind="npc", actor="silas", ops=[], storyteller=model,
                 summary="mended", calls=[call("decide", False, "second"),
                                          call("repair", True)])
        s.append(tick=5, kind="player", actor="mara", ops=[], storyteller=model,
                 summary="Mara waits", calls=[call("decide", True, "player")])
        s.append(tick=6, kind="npc", actor="silas", ops=[], storyteller="procedural",
                 summary="no model at all")
        summary = Summary()
        got = list(examples(s, summary, narrate=True))
        assert [ex[1]["content"] for ex in got] == ["scene first", "scene ", "scene second"]
        assert json.loads(got[0][-1]["content"]) == {"actor": "silas", "summary": "Silas goes",
                                                     "ops": [move]}
        assert got[1][-1]["content"] == "prose"  # the narrate exchange of the first beat
        assert summary.left_out == {"rejected": 1, "fallback": 1, "player": 1}
        first = Summary()
        assert len(list(examples(s, first, only_first_try=True))) == 1
        assert first.left_out["repaired"] == 1
        assert len(list(examples(s, Summary(), include_player_text=True))) == 3


def test_only_first_try_drops_repaired_exchanges(saves, tmp_path):
    every, first = tmp_path / "all.jsonl", tmp_path / "first.jsonl"
    export([str(saves[0]), "-f", "chat-jsonl", "-o", str(every)])
    result = export([str(saves[0]), "-f", "chat-jsonl", "--only-first-try", "-o", str(first)])
    assert len(examples_of(first)) < len(examples_of(every))
    assert "needed a repair" in result.stderr


def test_player_text_only_when_asked(saves, tmp_path):
    out = tmp_path / "p.jsonl"
    # The quieter save: in the noisy one whether a player beat survives its faults turns
    # on the prompt's exact text (the fake draws them from a digest of the messages).
    export([str(saves[1]), "-f", "chat-jsonl", "--include-player-text", "-o", str(out)])
    users = [r["messages"][1]["content"] for r in examples_of(out)]
    assert any("I look around the harbour" in u for u in users)


def test_sharegpt_and_narrate_exchanges(saves, tmp_path):
    out = tmp_path / "s.jsonl"
    result = export([str(saves[1]), "-f", "sharegpt", "--narrate", "-o", str(out)])
    rows = examples_of(out)
    froms = {tuple(t["from"] for t in r["conversations"]) for r in rows}
    assert froms == {("system", "human", "gpt")}
    proposals = narrations = 0
    for r in rows:
        last = r["conversations"][-1]["value"]
        try:
            Proposal.model_validate_json(last)
            proposals += 1
        except ValueError:
            narrations += 1
            assert "WHAT HAPPENED" in r["conversations"][1]["value"]
    assert proposals and narrations
    assert " narrate)" in result.stderr


def test_a_save_without_model_calls_gives_no_examples(tmp_path):
    world = tmp_path / "w.toml"
    world.write_text((WORLDS / "harbour.toml").read_text())
    CliRunner().invoke(main, ["run", str(world), "--ticks", "3", "--save",
                              str(tmp_path / "p.db")])
    result = export([str(tmp_path / "p.db"), "-f", "chat-jsonl"])
    assert result.stdout == ""
    assert "0 examples" in result.stderr and "from 0 of 1 saves" in result.stderr


def test_several_saves_need_a_training_format(saves):
    result = CliRunner().invoke(main, ["saves", "export", str(saves[0]), str(saves[1]),
                                       "-f", "markdown"])
    assert result.exit_code == 1 and "one save at a time" in result.output


# ---------------------------------------------------------------- cards
def test_a_character_goes_back_out_as_a_v2_card_and_imports_again(tmp_path):
    world = tmp_path / "sera.toml"
    runner = CliRunner()
    assert runner.invoke(main, ["import", str(FIXTURES / "seraphina_v2.json"),
                                str(FIXTURES / "st_world.json"), "-o", str(world)]).exit_code == 0
    save = tmp_path / "s.db"
    assert runner.invoke(main, ["run", str(world), "--ticks", "10", "--save",
                                str(save)]).exit_code == 0
    card_path = tmp_path / "sera.card.json"
    result = export([str(save), "-f", "card", "--character", "seraphina", "-o", str(card_path)])
    assert "Seraphina" in result.stderr
    card = json.loads(card_path.read_text())
    assert card["spec"] == "chara_card_v2" and card["spec_version"] == "2.0"
    data = card["data"]
    assert data["name"] == "Seraphina"
    assert "kind to {{user}}" in data["description"]  # the player's name back to the macro
    assert data["personality"].startswith("caring, protective")
    assert data["first_mes"].startswith("*You wake to birdsong.")
    assert len(data["alternate_greetings"]) == 2
    assert data["mes_example"].startswith("<START>")
    assert data["extensions"]["depth_prompt"] == {"prompt": "", "depth": 4, "role": "system"}
    assert data["extensions"]["simengine"]["character"] == "seraphina"
    book = data["character_book"]
    names = [e["name"] for e in book["entries"]]
    assert {"Shadowbeasts", "Dragon's hoard", "Season"} <= set(names)
    beasts = next(e for e in book["entries"] if e["name"] == "Shadowbeasts")
    assert beasts["secondary_keys"] == ["night", "dark"] and beasts["selective"] is True
    curse = next(e for e in book["entries"] if e["name"] == "Disabled curse")
    assert curse["enabled"] is False
    forest = next(e for e in book["entries"] if e["name"] == "Eldoria Forest")
    assert forest["position"] == "before_char"  # the entry's own field, round-tripped
    assert any(n.startswith("Where Seraphina is") for n in names)  # what the story knows
    assert len(names) == len(set(names))  # one entry per person or thing it knows
    # And the card is a card again.
    again = import_files([card_path]).spec
    assert "Seraphina" in [c.name for c in again.characters]
    assert {"shadowbeasts", "season"} <= {e.id for e in again.lore}


def test_card_export_names_who_there_is(tmp_path):
    world = tmp_path / "w.toml"
    CliRunner().invoke(main, ["import", str(FIXTURES / "card_v1.json"), "-o", str(world)])
    CliRunner().invoke(main, ["run", str(world), "--ticks", "1", "--save", str(tmp_path / "s.db")])
    missing = CliRunner().invoke(main, ["saves", "export", str(tmp_path / "s.db"), "-f", "card",
                                        "--character", "nobody"])
    assert missing.exit_code == 1 and "old-bram (Old Bram)" in missing.output
    unasked = CliRunner().invoke(main, ["saves", "export", str(tmp_path / "s.db"), "-f", "card"])
    assert unasked.exit_code == 1 and "--character" in unasked.output
    by_name = export([str(tmp_path / "s.db"), "-f", "card", "--character", "Old Bram"])
    assert json.loads(by_name.stdout)["data"]["name"] == "Old Bram"
