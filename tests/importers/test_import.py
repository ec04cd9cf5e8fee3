"""``simengine import``: every format in, a valid world out that plays 20 clean ticks."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from importkit import FIXTURES, charx, fixture, png

from simengine.cli import main
from simengine.importers import ImportFailed, import_files
from simengine.store import Save
from simengine.world.loader import load_world
from simengine.world.ops import Proposal
from simengine.world.rules import Turn, check

JSON_FIXTURES = sorted(p.name for p in FIXTURES.iterdir())


def built(tmp_path: Path, name: str) -> Path:
    """A fixture as a file: JSON ones as they are, PNG and CHARX ones made here."""
    if name in JSON_FIXTURES:
        return FIXTURES / name
    target = tmp_path / name
    v2, v3 = fixture("seraphina_v2.json"), fixture("card_v3.json")
    blobs = {
        "chara.png": lambda: png({"chara": v2}),
        "both.png": lambda: png({"chara": v2, "ccv3": v3}),
        "ilse.charx": lambda: charx(v3),
        "naidata.png": lambda: png({"naidata": fixture("lorebook.lorebook")}),
    }
    target.write_bytes(blobs[name]())
    return target


ALL = [*JSON_FIXTURES, "chara.png", "both.png", "ilse.charx", "naidata.png"]


@pytest.mark.parametrize("name", ALL)
def test_each_format_imports_validates_and_plays_twenty_clean_ticks(tmp_path, name):
    source = built(tmp_path, name)
    world = tmp_path / "w.toml"
    runner = CliRunner()
    made = runner.invoke(main, ["import", str(source), "-o", str(world)])
    assert made.exit_code == 0, made.output
    assert f"Wrote {world}" in made.output
    checked = runner.invoke(main, ["validate", str(world)])
    assert checked.exit_code == 0, checked.output
    save = tmp_path / "s.db"
    ran = runner.invoke(main, ["run", str(world), "--ticks", "20", "--seed", "4",
                               "--storyteller", "procedural", "--save", str(save)])
    assert ran.exit_code == 0, ran.output
    with Save.open(save, readonly=True) as s:
        state = s.initial_state()
        events = s.log()
        for e in events:
            actor = e.actor if e.kind != "world" else None
            assert check(Proposal(actor=actor, ops=e.ops), state, Turn(e.kind, actor)) == [], e
            state.apply(e.ops, tick=e.tick, event_id=e.id)
        assert state == s.state()
    assert events, "twenty ticks and nothing happened"


def test_a_v2_card_becomes_a_character_an_opening_and_lore(tmp_path):
    result = import_files([FIXTURES / "seraphina_v2.json"])
    spec = result.spec
    sera = next(c for c in spec.characters if c.id == "seraphina")
    assert sera.traits == ["caring", "protective", "gentle", "wise", "slow to anger"]
    assert "guardian of Eldoria Forest" in sera.description
    assert "kind to Traveller" in sera.description  # {{user}} filled in
    assert spec.world.premise.startswith("Traveller wakes in Seraphina's glade")
    assert spec.world.opening.startswith("*You wake to birdsong.")
    assert len(spec.world.alternate_openings) == 2
    # Unknown extensions travel on, nested ones too; only TOML-less nulls are left out.
    ext = sera.card["extensions"]
    assert ext["depth_prompt"] == {"prompt": "", "depth": 4, "role": "system"}
    assert ext["custom_tool"] == {"flag": True}
    assert sera.card["mes_example"].startswith("<START>")
    assert sera.card["tags"] == ["fantasy", "healer"]
    lore = {e.id: e for e in spec.lore}
    assert lore["shadowbeasts"].secondary_keys == ["night", "dark"]
    assert lore["shadowbeasts"].logic == "and_any"
    assert lore["disabled-curse"].enabled is False
    assert lore["fading-magic"].constant is True
    assert lore["eldoria-forest"].extensions["position"] == 0
    assert lore["eldoria-forest"].extensions["book_entry"]["position"] == "before_char"
    # The entry keyed on a place became that place, and the story starts there.
    forest = next(p for p in spec.locations if p.id == "eldoria-forest")
    assert "silver oaks" in forest.description
    assert sera.at == "eldoria-forest"
    assert spec.world.lore_budget == 600
    text = "\n".join(result.report)
    assert "mes_example" in text and "system_prompt and post_history_instructions are not " \
        "followed" in text
    assert "1 empty (null) values left out" in text


def test_a_v3_card_reads_its_extras_and_spec_version_as_a_number():
    spec = import_files([FIXTURES / "card_v3.json"]).spec
    ilse = next(c for c in spec.characters if c.name == "Captain Ilse Varr")
    assert ilse.aliases == ["Ilse"]
    assert ilse.card["group_only_greetings"] == ['"All hands, we have guests."']
    assert ilse.card["assets"][0]["type"] == "icon"
    assert ilse.card["spec"] == "chara_card_v3"
    assert ilse.at == "skyport-harbor"  # the scenario names the harbour


def test_a_v1_card_fills_the_old_macros():
    spec = import_files([FIXTURES / "card_v1.json"], player="Wren").spec
    assert spec.world.opening == '"Two coppers to cross, Wren. No haggling."'
    bram = next(c for c in spec.characters if c.name == "Old Bram")
    assert bram.traits == ["gruff", "honest", "stubborn"]
    assert bram.card["mes_example"] == "<START>\n<USER>: Hello\n<BOT>: Hmph."
    assert spec.player and spec.player.character == "wren"


def test_sillytavern_world_info_keeps_logic_disabled_and_constant():
    spec = import_files([FIXTURES / "st_world.json"]).spec
    lore = {e.name: e for e in spec.lore}
    assert lore["Dragon's hoard"].logic == "and_all"
    assert lore["Dragon's hoard"].secondary_keys == ["gold", "hoard"]
    assert lore["Dragon's hoard"].extensions["probability"] == 50
    assert lore["Witch (not good)"].logic == "not_any"
    assert lore["Old king (disabled)"].enabled is False
    assert lore["Season"].constant is True and lore["Season"].order == 200
    assert "Ashford Village" in [p.name for p in spec.locations]


def test_kobold_keys_split_on_commas_and_secondary_keys_need_selective():
    lite = {e.name: e for e in import_files([FIXTURES / "kobold_lite.json"]).spec.lore}
    assert lite["Saltmere town"].keys == ["Saltmere", "salt town"]
    assert lite["Smugglers"].secondary_keys == ["night", "boat"]
    assert lite["Tax"].constant is True
    story = import_files([FIXTURES / "kobold_story.json"]).spec
    keeper = next(e for e in story.lore if e.keys == ["keeper"])
    assert keeper.secondary_keys == ["lighthouse"]
    assert "Greywater Lighthouse" in [p.name for p in story.locations]


def test_novelai_lorebook_and_story():
    result = import_files([FIXTURES / "lorebook.lorebook"])
    lore = {e.name: e for e in result.spec.lore}
    assert lore["Order of the Ember"].keys == ["ember", "knight-priest"]
    assert lore["Endless winter"].constant is True
    assert lore["Forgotten"].enabled is False
    assert lore["Thornwall Castle"].order == 400
    assert "regular expression key" in "\n".join(result.report)
    story = import_files([FIXTURES / "story.story"]).spec
    assert [e.name for e in story.lore] == ["Blackmire Swamp", "Wisps"]


def test_ai_dungeon_world_info_and_story_cards():
    legacy = import_files([FIXTURES / "aidungeon.json"]).spec
    assert legacy.lore[0].keys == ["Ironhold", "iron city"]
    assert legacy.lore[1].extensions["hidden"] is True
    cards = import_files([FIXTURES / "aid_cards.json"]).spec
    assert "Mossy Inn" in [p.name for p in cards.locations]
    assert "Pip" in [c.name for c in cards.characters]  # a character card is a character
    assert "Thieves' Guild" in [e.name for e in cards.lore]


def test_agnai_memory_book():
    spec = import_files([FIXTURES / "agnai.json"]).spec
    lore = {e.name: e for e in spec.lore}
    assert lore["Sector 7 Market"].keys == ["Sector 7", "market"]
    assert lore["Sector 7 Market"].order == 5
    assert lore["Old virus"].enabled is False
    assert spec.world.name == "Neon Sprawl"


def test_png_cards_ccv3_wins_over_chara(tmp_path):
    both = import_files([built(tmp_path, "both.png")]).spec
    assert "Captain Ilse Varr" in [c.name for c in both.characters]
    assert "Seraphina" not in [c.name for c in both.characters]
    chara = import_files([built(tmp_path, "chara.png")]).spec
    assert "Seraphina" in [c.name for c in chara.characters]


def test_several_files_make_one_world(tmp_path):
    out = tmp_path / "one.toml"
    result = CliRunner().invoke(main, ["import", str(FIXTURES / "seraphina_v2.json"),
                                       str(FIXTURES / "card_v1.json"),
                                       str(FIXTURES / "st_world.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    spec = load_world(out)
    names = [c.name for c in spec.characters]
    assert names[:3] == ["Traveller", "Seraphina", "Old Bram"]
    assert {"Eldoria Forest", "Ashford Village"} <= {p.name for p in spec.locations}
    assert {"shadowbeasts", "dragons-hoard"} <= {e.id for e in spec.lore}
    # The second card's greeting is kept as an alternate opening, not lost.
    assert any("Two coppers" in o for o in spec.world.alternate_openings)
    assert "Old Bram" in spec.world.premise or "river" in spec.world.premise
    raw = tomllib.loads(out.read_text())
    assert raw["world"]["opening"].startswith("*You wake")
    assert out.read_text().startswith("# An imported world")


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, "no character card"),
    (json.dumps({"hello": "world"}).encode(), "not a character card or lorebook"),
    (b"not json at all", "not valid JSON"),
    (json.dumps([]).encode(), "nothing to import"),
    (b"\xff\xfe\x00garbage", "not a PNG"),
])
def test_files_that_are_none_of_these_fail_clearly(tmp_path, content, message):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(content)
    result = CliRunner().invoke(main, ["import", str(bad), "-o", str(tmp_path / "w.toml")])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "w.toml").exists()


def test_a_png_with_other_text_chunks_but_no_card(tmp_path):
    pic = tmp_path / "photo.png"
    pic.write_bytes(png({"Software": "GIMP"}))
    with pytest.raises(ImportFailed, match="no character card.*software"):
        import_files([pic])


def test_an_existing_world_is_not_overwritten_without_force(tmp_path):
    out = tmp_path / "w.toml"
    out.write_text("# mine\n")
    args = ["import", str(FIXTURES / "card_v1.json"), "-o", str(out)]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1 and "exists" in refused.output
    assert out.read_text() == "# mine\n"
    forced = CliRunner().invoke(main, [*args, "--force"])
    assert forced.exit_code == 0 and "Old Bram" in out.read_text()


def test_default_output_goes_to_worlds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["import", str(FIXTURES / "card_v1.json")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "worlds" / "old-bram.toml").exists()


def test_risu_kobold_united_and_v3_lorebooks():
    risu = {e.name: e for e in import_files([FIXTURES / "risu_lorebook.json"]).spec.lore}
    assert risu["Spire mages"].secondary_keys == ["spire", "tower"]
    assert risu["Spire mages"].extensions["activationPercent"] == 80
    united = import_files([FIXTURES / "kobold_united.json"]).spec
    assert "Fogbound Docks" in [p.name for p in united.locations]
    assert next(e for e in united.lore if e.keys == ["harbourmaster"]).secondary_keys == [
        "ledger"]
    v3 = import_files([FIXTURES / "lorebook_v3.json"]).spec
    shard = next(e for e in v3.lore if e.keys == ["shard"])
    assert shard.logic == "and_all" and shard.secondary_keys == ["glow", "warm"]
    assert v3.world.name == "Moonfall" and v3.world.lore_budget == 300


def test_a_folder_imports_what_it_can_and_says_what_it_skipped(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    for name in ("seraphina_v2.json", "agnai.json"):
        (folder / name).write_text((FIXTURES / name).read_text())
    (folder / "notes.txt").write_text("remember to buy milk")
    (folder / "avatar.png").write_bytes(png({"Software": "GIMP"}))
    out = tmp_path / "w.toml"
    result = CliRunner().invoke(main, ["import", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "notes.txt" in result.output
    assert "avatar.png: a PNG with no character card" in result.output
    spec = load_world(out)
    assert "Seraphina" in [c.name for c in spec.characters]
    assert "sector-7-market" in {e.id for e in spec.lore}
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = CliRunner().invoke(main, ["import", str(empty), "-o", str(tmp_path / "e.toml")])
    assert nothing.exit_code == 1 and "nothing to import" in nothing.output


def test_odd_names_and_numbers_still_make_a_valid_world(tmp_path):
    card = {"name": "???", "description": "A mystery.", "first_mes": "Hm."}
    book = {"entries": {
        "0": {"key": ["forest"], "comment": "The Forest", "content": "Dark trees.",
              "order": 10**30},
        "1": {"key": ["old forest"], "comment": "Forest", "content": "Older trees.",
              "extensions": None, "big": 2**70},
        "2": {"key": ["meet"], "comment": "The Meeting Place", "content": "A crossroads inn."},
    }}
    (tmp_path / "card.json").write_text(json.dumps(card))
    (tmp_path / "book.json").write_text(json.dumps(book))
    result = import_files([tmp_path / "card.json", tmp_path / "book.json"], player="!!!")
    spec = result.spec  # it validated: names unique after normalising, numbers in range
    assert spec.player and spec.player.character == "traveller"
    assert [p.name for p in spec.locations].count("The Forest") == 1
    assert "Forest" not in [p.name for p in spec.locations]  # same name once "the" goes
    assert spec.lore[0].order == 10**9
    assert spec.lore[1].extensions["big"] == str(2**70)
    assert any("has no letters" in line for line in result.report)


def test_a_broken_ccv3_chunk_falls_back_to_chara_and_says_so(tmp_path):
    pic = tmp_path / "card.png"
    pic.write_bytes(png({"ccv3": "!!! not base64 json !!!", "chara": fixture("card_v1.json")}))
    result = import_files([pic])
    assert "Old Bram" in [c.name for c in result.spec.characters]
    assert any("not used:" in line and "'ccv3' chunk" in line for line in result.report)


def test_the_report_says_how_each_formats_fields_map():
    report = "\n".join(import_files([FIXTURES / "st_world.json"]).report)
    assert "fields: key -> keys, keysecondary -> secondary_keys, selectiveLogic -> logic" \
        in report
    story = "\n".join(import_files([FIXTURES / "kobold_story.json"]).report)
    assert "the story's own text (prompt) is not imported" in story
