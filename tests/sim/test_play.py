"""The player plays: every line is done or answered, on every shipped world.

Scripts are played the way a person would, through ``simengine run --script
--json`` with no model: each player line must either change the world or come
back with what stopped it (a non-empty ``rejected`` list and a line to read),
people must speak, and the player is "you".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.store import Save
from simengine.world.loader import load_world

ROOT = Path(__file__).parent.parent.parent
WORLDS = {w: ROOT / "worlds" / f"{w}.toml" for w in ("harbour", "starship", "frontier")}
SCRIPTS = ROOT / "tests" / "fixtures" / "play"

#: Where the player starts for the verb tests (next to someone who trades), and an
#: unpriced thing to carry: (entity id, where the world file has it) -> where it goes.
SETUP = {
    "harbour": {"mara": "tavern", "brass-key": "mara"},
    "starship": {"ilse": "cargo-hold"},
    "frontier": {"jo": "general-store"},
}
#: Every verb on every world: the line, and whether it is done (ops), refused (with a
#: reason) or answered in words, with a phrase the player must read.
VERBS = {
    "harbour": [
        ("look", "answered", "Ways out: 1 the Fish Dock, 2 the Saltmarket."),
        ("examine Nell", "answered", "Keeper of the Tarred Gull"),
        ("x the cutlass", "answered", "It is priced at 30 gold."),
        ("inventory", "answered", "You carry the brass key."),
        ("i", "answered", "Your purse holds 20 gold."),
        ("wait", "answered", "You wait"), ("hide", "answered", "keep still"),
        ("sleep", "answered", "You rest"),
        ("ask Nell about Silas", "answered", 'Nell Gannet'),
        ("tell Hesper about the Kestrel", "answered", "Hesper Vane"),
        ('say "Fair evening to you" to Nell', "answered", '"Fair evening to you."'),
        ("talk to Hesper", "answered", "Hesper Vane"),
        ("give 2 gold to Nell", "done", "You count 2 gold into Nell Gannet's hand."),
        ("pay Nell 1 gold", "done", "1 gold"),
        ("buy the cutlass from Hesper", "refused",
         "Vane's cutlass is Hesper Vane's, and Hesper wants 30 gold for it; you have 20."),
        ("take the cutlass", "refused", "Hesper wants 30 gold for it"),
        ("sell the key to Nell", "refused", "has no price"),
        ("trade with Hesper", "answered", "Hesper Vane has for sale: Vane's cutlass (30 gold)."),
        ("drop the key", "done", "You put the brass key down"),
        ("give the key to Nell", "done", "You give the brass key to Nell Gannet."),
        ("put the key in the key", "refused", "cannot go inside"),
        ("use the key on Nell", "refused", "nothing comes of it"),
        ("open the key", "answered", "it holds nothing"),
        ("close the key", "refused", "nothing comes of it"),
        ("follow Hesper", "answered", "Hesper is right here"),
        ("attack Hesper", "done", "You go for Hesper Vane."),
        ("go 2", "done", "You go to the Saltmarket."),
        ("enter the fish dock", "done", "You go to the Fish Dock."),
        ("could I please carefully walk to the market", "done", "You go to the Saltmarket."),
        ("go to the strongroom", "refused", "the way goes through the Saltmarket"),
        ("drop the key and go to the market", "done", "You go to the Saltmarket."),
        ("take the spoon", "refused", "There is no spoon here."),
        ("examine it", "refused", "nothing has been named yet"),
        ("dance a jig", "refused", "does not know how to 'dance'"),
    ],
    "starship": [
        ("look", "answered", "Ways out: 1 the Concourse, 2 the Shuttle Bay."),
        ("examine the photograph", "answered", "You carry it."),
        ("inventory", "answered", "Your purse holds 25 ration credits."),
        ("rest", "answered", "You rest"),
        ("drop the photograph", "done", "You put the photograph of a blue sky down"),
        ("put the photograph in the photograph", "refused", "cannot go inside"),
        ("give the photograph to Dov", "done", "You give the photograph of a blue sky to Dov"),
        ("ask Dov about the coffee", "answered", "tin of real coffee"),
        ("ask Dov about the zeppelin", "answered", "Dov Haldane"),
        ("say hello to Dov", "answered", '"Hello."'),
        ("buy the coffee from Dov", "refused", "Dov wants 40 ration credits for it; you have 25"),
        ("give 3 ration credits to Dov", "done", "3 ration credits"),
        ("pay Dov 2 credits", "done", "2 ration credits"),
        ("sell the photograph to Dov", "refused", "has no price"),
        ("trade the photograph for the coffee", "refused", "comes to nothing"),
        ("open the coffee", "answered", "it holds nothing"),
        ("use the photograph on Dov", "refused", "nothing comes of it"),
        ("attack Dov", "done", "You go for Dov Haldane."),
        ("go to the reactor", "refused", "the way goes through the Concourse"),
        ("go 2", "refused", "Nobody goes in without a pressure suit."),  # an author rule
        ("sing loudly", "refused", "does not know how to 'sing'"),
    ],
    "frontier": [
        ("look", "answered", "Here: Abner Quill."),
        ("examine the pickaxe", "answered", "Abner Quill has it."),
        ("inventory", "answered", "Your purse holds 15 dust."),
        ("ask Abner about the pickaxe", "answered", "It's mine, and it costs 8 dust."),
        ("tell Abner about Amos", "answered", "Abner Quill"),
        ('"How is business?"', "answered", "Abner Quill"),
        ("buy the gold pan from Abner", "done", "You pay Abner Quill 3 dust for the gold pan."),
        ("buy the dynamite", "refused", "Abner wants 25 dust for it; you have 15"),
        ("take the pickaxe", "refused", "Abner wants 8 dust for it"),
        ("give 1 dust to Abner", "done", "1 dust"),
        ("give 100 dust to Abner", "refused", "You have only 15 dust."),
        ("attack Abner", "done", "You go for Abner Quill."),
        ("I kill Abner with one blow", "done", "meaning to end it"),
        ("hide", "answered", "keep still"),
        ("follow Abner", "answered", "right here"),
        ("go to the mine shaft", "refused", "the way goes through the Crossing"),
        ("go 1", "done", "You go to the Crossing."),
        ("yodel", "refused", "does not know how to 'yodel'"),
    ],
}


def world_copy(tmp_path: Path, world: str) -> Path:
    """The shipped world with the player (and a thing) moved as SETUP says."""
    text = WORLDS[world].read_text(encoding="utf-8")
    for entity, place in SETUP[world].items():
        text = re.sub(rf'(id = "{entity}"\n(?:(?!\[\[).*\n)*?at = )"[^"]+"', rf'\1"{place}"',
                      text, count=1)
    path = tmp_path / f"{world}.toml"
    path.write_text(text, encoding="utf-8")
    return path


ONE_STEP_TOO_FAR = {"harbour": "go to the strongroom", "starship": "go to the bridge",
                    "frontier": "go to the shaft"}


def play(tmp_path: Path, world: str, lines: list[str], *extra: str,
         source: Path | None = None, tag: str = "") -> list[dict]:
    script = tmp_path / f"{world}{tag}.txt"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, [
        "run", str(source or WORLDS[world]), "--script", str(script), "--ticks",
        str(len(lines)), "--json", "--save", str(tmp_path / f"{world}{tag}.db"),
        "-s", "procedural", *extra])
    assert result.exit_code == 0, result.output
    return [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]


def answered(row: dict) -> bool:
    """Done (ops committed), refused with a reason, or answered in words."""
    if row["ops"]:
        return True
    if row["rejected"]:
        return bool(row["refused"]) and all(r.get("told") for r in row["rejected"])
    return row["narration"].startswith("You ")


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_every_verb_is_done_or_answered_in_the_second_person(tmp_path, world):
    """Each line on a fresh save (so nobody has wandered off yet)."""
    source = world_copy(tmp_path, world)
    player = load_world(source).player.character
    name = next(c.name for c in load_world(source).characters if c.id == player)
    for n, (line, expect, phrase) in enumerate(VERBS[world]):
        rows = play(tmp_path, world, [line], "--voice", "second", source=source, tag=str(n))
        (row,) = [r for r in rows if r["kind"] == "player"]
        told = row["narration"]
        assert answered(row), (line, row)
        assert "waits and watches" not in told and not told.startswith(name), (line, told)
        assert phrase in told, (line, told)
        if expect == "done":
            assert row["ops"] and not row["rejected"], (line, row)
        elif expect == "refused":
            assert row["rejected"] and row["refused"], (line, row)
            assert all(r["told"] for r in row["rejected"]), (line, row)
        else:
            assert not row["rejected"] and told.startswith("You "), (line, row)


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_failed_attempts_are_listed_told_and_saved(tmp_path, world):
    lines = ["take the spoon", ONE_STEP_TOO_FAR[world], "xyzzy the plugh"]
    rows = play(tmp_path, world, lines, "--voice", "second")
    player = [r for r in rows if r["kind"] == "player"]
    spoon, far, nonsense = player
    assert spoon["rejected"][0]["rule"] == "parse.absent"
    assert "There is no spoon here." in spoon["narration"]
    assert [r["rule"] for r in far["rejected"]] == ["travel.adjacent"]
    assert re.search(r"You can't reach .+ from .+; the way goes through .+\.", far["told"]
                     if "told" in far else far["refused"][0])
    assert far["refused"][0] in far["narration"]
    assert nonsense["rejected"][0]["rule"] == "parse.unknown"
    with Save.open(tmp_path / f"{world}.db", readonly=True) as save:
        kept = save.refusals()
    assert [k["attempt"] for k in kept] == lines
    assert kept[1]["rules"] == ["travel.adjacent"] and kept[1]["told"] == far["refused"]
    assert "not reachable" in kept[1]["messages"][0]  # the engine's own words, kept too


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_fifteen_natural_turns_each_answered_and_someone_speaks(tmp_path, world):
    lines = [x for x in (SCRIPTS / f"{world}.txt").read_text().splitlines()
             if x.strip() and not x.startswith("#")]
    assert len(lines) == 15
    rows = play(tmp_path, world, lines, "--voice", "second")
    player = [r for r in rows if r["kind"] == "player"]
    assert len(player) == 15
    assert all(answered(r) for r in player), [r for r in player if not answered(r)]
    quotes = [q for r in rows for q in re.findall(r'"([^"]+)"', r["narration"])
              if not r["intent"] or q not in r["intent"]]
    assert quotes, "somebody says something"
    spec = load_world(WORLDS[world])
    lore = " ".join([spec.world.name, spec.world.premise, *(
        f"{e.name} {' '.join(e.aliases)} {e.description} {' '.join(getattr(e, 'goals', []))}"
        for e in [*spec.characters, *spec.locations, *spec.items, *spec.factions])])
    known = set(re.findall(r"[A-Za-z][\w'-]*", lore))
    with Save.open(tmp_path / f"{world}.db", readonly=True) as save:  # and what the story made
        state = save.state()
        made = [state.name(e) for e in state.entities()
                if state.entity(e).get("origin") != "authored"]
        known |= set(re.findall(r"[A-Za-z][\w'-]*", " ".join(made)))
    for q in quotes:
        for word in re.findall(r"(?<![.?!:\"] )(?<!^)\b[A-Z][a-z][\w'-]*", q):
            assert word in known or word.rstrip("'s") in known, (word, q)


def test_headless_runs_keep_the_third_person(tmp_path):
    rows = play(tmp_path, "harbour", ["look", "take the spoon"])
    player = [r for r in rows if r["kind"] == "player"]
    assert player[0]["narration"].startswith("Mara Fenwick looks around the Tarred Gull.")
    assert player[1]["rejected"] and "There is no spoon here." in player[1]["narration"]


def test_a_script_in_prose_shows_refusals_with_a_mark(tmp_path):
    script = tmp_path / "s.txt"
    script.write_text("go to the strongroom\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(WORLDS["harbour"]), "--script", str(script),
                                       "--ticks", "1", "--no-narrate", "--voice", "second",
                                       "--save", str(tmp_path / "p.db")])
    assert result.exit_code == 0, result.output
    assert ("! You can't reach the Strongroom from the Tarred Gull; the way goes through the "
            "Saltmarket.") in result.output
