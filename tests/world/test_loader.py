"""Broken world files: every problem reported at once, with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from simengine.world.loader import WorldFileError, load_world, parse_world

MINI = Path(__file__).parent.parent / "fixtures" / "mini.toml"

GOOD = MINI.read_text()


def problems_of(text: str) -> list:
    with pytest.raises(WorldFileError) as info:
        parse_world(text, "broken.toml")
    return info.value.problems


def line_of(text: str, needle: str, occurrence: int = 0) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence]


def test_the_fixture_world_is_valid():
    spec = parse_world(GOOD, "mini.toml")
    assert spec.world.id == "test"
    assert spec.player.character == "mara"


# Each case: (description, the edit, the field path expected, a phrase in the message,
# the line text the problem must point at).
CASES = [
    (
        "bad toml",
        lambda t: t.replace("[[locations]]", "[[locations]", 1),
        "",
        "TOML syntax",
        "[[locations]",
    ),
    (
        "wrong type",
        lambda t: t.replace("creativity = 0.5", 'creativity = "lots"'),
        "world.creativity",
        "valid number",
        "creativity =",
    ),
    (
        "out of range knob",
        lambda t: t.replace("creativity = 0.5", "creativity = 3"),
        "world.creativity",
        "less than or equal to 1",
        "creativity =",
    ),
    (
        "unknown key",
        lambda t: t.replace("creativity = 0.5", "creativty = 0.5"),
        "world.creativty",
        "did you mean 'creativity'",
        "creativty",
    ),
    (
        "unknown table",
        lambda t: t + '\n[[charaters]]\nid = "x"\n',
        "charaters",
        "did you mean 'characters'",
        "[[charaters]]",
    ),
    (
        "unknown entity key",
        lambda t: t.replace('name = "Oswin"', 'name = "Oswin"\nmood = "sly"'),
        "characters[1].mood",
        "unknown key 'mood'",
        'mood = "sly"',
    ),
    (
        "bad travel",
        lambda t: t.replace("creativity = 0.5", 'creativity = 0.5\ntravel = "teleport"'),
        "world.travel",
        "adjacent",
        'travel = "teleport"',
    ),
    (
        "duplicate id",
        lambda t: t.replace('id = "vault-road"', 'id = "market"'),
        "locations[2].id",
        "duplicate id 'market'",
        'id = "market"',
    ),
    (
        "unknown at",
        lambda t: t.replace('at = "dock"', 'at = "dokc"', 1),
        "characters[0].at",
        "did you mean 'dock'",
        'at = "dokc"',
    ),
    (
        "unknown connects",
        lambda t: t.replace('connects = ["market"]', 'connects = ["markt"]'),
        "locations[0].connects",
        "unknown location 'markt'",
        "connects =",
    ),
    (
        "unknown relation target",
        lambda t: t.replace('target = "guild"', 'target = "gild"'),
        "relations[0].target",
        "unknown entity 'gild'",
        'target = "gild"',
    ),
    (
        "unknown player",
        lambda t: t.replace('character = "mara"', 'character = "marra"'),
        "player.character",
        "did you mean 'mara'",
        'character = "marra"',
    ),
    (
        "character in a character",
        lambda t: t.replace('at = "dock"', 'at = "merchant"', 1),
        "characters[0].at",
        "expected a location",
        'at = "merchant"',
    ),
    (
        "containment cycle",
        lambda t: t.replace(
            'at = "merchant"\nattributes = { value = 500 }',
            'at = "lantern"\nattributes = { value = 500 }',
        ).replace(
            'at = "merchant"\nattributes = { value = 5 }', 'at = "ship"\nattributes = { value = 5 }'
        ),
        "items[1].at",
        "containment cycle: lantern -> ship -> lantern",
        'at = "ship"',
    ),
    (
        "value below min",
        lambda t: t.replace("value = 500", "value = -3"),
        "items[0].attributes.value",
        "below the minimum 0",
        "value = -3",
    ),
    (
        "value above max",
        lambda t: t.replace(
            "attributes = { gold = 100 }", "attributes = { gold = 100, health = 150 }"
        ),
        "characters[1].attributes.health",
        "above the maximum 100",
        "health = 150",
    ),
    (
        "value of wrong type",
        lambda t: t.replace("gold = 100", 'gold = "lots"'),
        "characters[1].attributes.gold",
        "expected an int",
        'gold = "lots"',
    ),
    (
        "undefined attribute",
        lambda t: t.replace("gold = 100", "gold = 100, charm = 3"),
        "characters[1].attributes.charm",
        "not defined",
        "charm = 3",
    ),
    (
        "attribute for the wrong kind",
        lambda t: t.replace("attributes = { value = 5 }", "attributes = { value = 5, gold = 1 }"),
        "items[1].attributes.gold",
        "not for a item",
        "gold = 1",
    ),
    (
        "same name twice",
        lambda t: t.replace('name = "Oswin"', 'name = "Mara"'),
        "characters[1].name",
        "two living characters are named 'Mara'",
        'name = "Mara"',
    ),
    (
        "not a slug",
        lambda t: t.replace('id = "rope"', 'id = "Old Rope"'),
        "items[2].id",
        "ids are slugs",
        'id = "Old Rope"',
    ),
    (
        "missing name",
        lambda t: t.replace('name = "Oswin"\n', ""),
        "characters[1].name",
        "required field is missing",
        "[[characters]]",
    ),
    (
        "min above max",
        lambda t: t.replace("min = 0\nmax = 100", "min = 100\nmax = 0"),
        "attributes.health.min",
        "greater than max",
        "min = 100",
    ),
    (
        "currency not conserved",
        lambda t: t.replace("creativity = 0.5", 'creativity = 0.5\ncurrency = "rank"'),
        "world.currency",
        "conserved attribute",
        'currency = "rank"',
    ),
    (
        "dead player",
        lambda t: t.replace(
            'attributes = { gold = 20, rank = "deckhand" }',
            'alive = false\nattributes = { gold = 20, rank = "deckhand" }',
        ),
        "player.character",
        "is dead",
        'character = "mara"',
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_broken_world_names_line_and_field(case):
    _, edit, path, phrase, line_text = case
    text = edit(GOOD)
    assert text != GOOD, "the edit must change the file"
    found = problems_of(text)
    matching = [p for p in found if p.path.startswith(path) and phrase in p.message]
    assert matching, f"no problem at {path!r} mentioning {phrase!r} in {[str(p) for p in found]}"
    problem = matching[0]
    assert problem.file == "broken.toml"
    lines = text.splitlines()
    assert problem.line is not None
    assert line_text in lines[problem.line - 1], (problem, lines[problem.line - 1])
    assert str(problem).startswith(f"broken.toml:{problem.line}: ")


def test_every_problem_is_reported_in_one_go():
    text = (
        GOOD.replace("creativity = 0.5", "creativty = 0.5")
        .replace('at = "dock"', 'at = "dokc"', 1)
        .replace("value = 500", "value = -3")
        .replace('id = "rope"', 'id = "Old Rope"')
    )
    paths = {p.path for p in problems_of(text)}
    assert {
        "world.creativty",
        "characters[0].at",
        "items[0].attributes.value",
        "items[2].id",
    } <= paths


def test_a_broken_entry_does_not_cause_phantom_reference_errors():
    # The ship's id is broken; the lantern's holder is fine; nothing should claim
    # 'ship' is unknown just because its own entry failed.
    text = GOOD.replace('id = "ship"', 'id = "The Ship"')
    messages = [str(p) for p in problems_of(text)]
    assert len(messages) == 1 and "ids are slugs" in messages[0]


def test_missing_file_and_directory_and_binary(tmp_path):
    for path, phrase in [
        (tmp_path / "nope.toml", "no such file"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(WorldFileError, match=phrase):
            load_world(path)
    binary = tmp_path / "x.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(WorldFileError, match="not UTF-8"):
        load_world(binary)


def test_laws_may_be_prose_or_a_list():
    prose = GOOD.replace(
        "creativity = 0.5", 'creativity = 0.5\nlaws = """\nNo one lies.\nThe tide rules.\n"""'
    )
    assert parse_world(prose).world.laws == ["No one lies.", "The tide rules."]


MORE_CASES = [
    ("nan attribute", lambda t: t.replace("gold = 100", "gold = 100, health = nan"),
     "characters[1].attributes.health", "", "health = nan"),
    ("infinite bound", lambda t: t.replace("min = 0\nmax = 100", "min = 0\nmax = inf"),
     "attributes.health.max", "", "max = inf"),
    ("conserved default", lambda t: t.replace("min = 0\nconserved = true",
                                              "min = 0\ndefault = 50\nconserved = true"),
     "attributes.gold.default", "starts at 0", "default = 50"),
    ("at as a relation", lambda t: t.replace('relation = "knows"', 'relation = "at"'),
     "relations[1].relation", "not a relation kind", 'relation = "at"'),
    ("names equal once normalized", lambda t: t.replace('name = "Oswin"', 'name = "the MARA!"'),
     "characters[1].name", "two living characters", 'name = "the MARA!"'),
]


@pytest.mark.parametrize("case", MORE_CASES, ids=[c[0] for c in MORE_CASES])
def test_more_broken_worlds(case):
    test_broken_world_names_line_and_field(case)
