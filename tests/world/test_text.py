"""The one text cleaner: what a model, a player or a world file writes, made safe."""

from __future__ import annotations

import errno
import random

import pytest

from simengine.world.seeds import mix_seed
from simengine.world.text import (
    TooDeep,
    clean_data,
    clean_text,
    either,
    error_message,
    fresh_id,
    fresh_name,
    number,
    slugify,
)


@pytest.mark.parametrize("dirty, clean", [
    ("x\ud800", "x\ufffd"),                               # a lone surrogate
    ("\ud83d\ude00 ok", "\U0001f600 ok"),                  # a split pair is joined back
    ("\x1b]0;PWNED\x07Captain", "Captain"),                # OSC: retitles a terminal
    ("red\x1b[31mX\x1b[0m", "redX"),                       # CSI: colours
    ("\x1b[2J\x1b[Hwiped", "wiped"),                       # clears the screen
    ("a\x9b31mb", "ab"),                                   # the 8-bit CSI
    ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),  # hyperlinks, ST-terminated
    ("nul\x00here\x7f\x85", "nulhere"),                    # NUL, DEL, a C1 control
    ("line\r\nnext\rthird", "line\nnext\nthird"),
    ("tab\tand\nnewline", "tab\tand\nnewline"),            # kept
    ("a\ufffeb", "ab"),                                    # not a character (XML refuses it)
])
def test_clean_text_replaces_or_drops_what_is_not_plain_text(dirty, clean):
    assert clean_text(dirty) == clean
    assert clean_text(clean) == clean  # cleaning twice changes nothing


def test_ordinary_text_in_any_script_is_untouched():
    for text in ["Captain Hesk", "Ünïcödé Wörld", "日本語の世界", "Ελληνικά", "עברית", "🐟 fish"]:
        assert clean_text(text) is text or clean_text(text) == text


def test_one_line_folds_newlines_and_tabs():
    assert clean_text("Evil\nName\t\tHere", one_line=True) == "Evil Name Here"


def test_an_unclosed_escape_eats_no_more_than_its_line():
    assert clean_text("\x1b]0;title\nthe story goes on") == "\nthe story goes on"


def test_clean_data_cleans_keys_and_values_and_refuses_absurd_nesting():
    data = {"na\x00me": ["\x1b[1mbold\x1b[0m", {"x": "y\ud800"}], "n": 3}
    assert clean_data(data) == {"name": ["bold", {"x": "y\ufffd"}], "n": 3}
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(TooDeep):
        clean_data(deep)


@pytest.mark.parametrize("name, slug", [
    ("Ivo Brandt", "ivo-brandt"),
    ("Åsa Ness-Brandt!", "asa-ness-brandt"),       # accents fold, punctuation goes
    ("Seraphina\u2019s Glade", "seraphinas-glade"),  # apostrophes, straight or curly, go
    ("Widow's Reach", "widows-reach"),
    ("  --The   Salt Marsh--  ", "the-salt-marsh"),
    ("x" * 60, "x" * 48),
])
def test_slugify_makes_the_id_a_name_would_have(name, slug):
    assert slugify(name) == slug


def test_slugify_falls_back_when_nothing_is_left():
    assert slugify("🐟", "item") == "item" and slugify("日本語の世界", "") == ""
    assert slugify("a" * 47 + "-b") == "a" * 47  # cut at 48, no dangling dash


def test_either_lists_choices_as_a_sentence_does():
    assert either(["auto", "ollama", "procedural"]) == "auto, ollama or procedural"
    assert either(["a", "b"]) == "a or b" and either(["json"]) == "json"


def test_fresh_id_counts_up_past_the_ids_taken():
    taken = {"silas", "silas-2"}
    assert fresh_id("Silas", taken.__contains__) == "silas-3"
    assert fresh_id("Mara", taken.__contains__) == "mara"
    assert fresh_id("🐟", {"item"}.__contains__, "item") == "item-2"
    assert fresh_name("Harbour--3", {"Harbour--3"}.__contains__) == "Harbour--3-2"  # as given


@pytest.mark.parametrize("value, shown", [
    (5.0, "5"), (5, "5"), (-3.0, "-3"), (2.5, "2.5"), (0.1 + 0.2, "0.3"),
    (1234567.5, "1234567.5"), (True, "True"), ("ten", "ten"),
])
def test_number_is_written_as_a_person_writes_it(value, shown):
    assert number(value) == shown


def test_mix_seed_is_stable_and_tells_its_parts_apart():
    # Fixed across runs and machines (no hash() salt): a save's story depends on it.
    assert mix_seed("schedule", 42, 1, 0) == mix_seed("schedule", 42, 1, 0)
    assert mix_seed(42, "schedule") == 0x3AE9CAB61D163F12
    assert len({mix_seed("propose", 1, t) for t in range(100)}) == 100
    assert mix_seed("1", 2) != mix_seed(1, "2") != mix_seed("12")
    rolls = [random.Random(mix_seed("narrate", s)).random() for s in range(5)]
    assert rolls == [random.Random(mix_seed("narrate", s)).random() for s in range(5)]


def test_error_message_says_what_a_person_needs():
    denied = PermissionError(errno.EACCES, "Permission denied", "story.md")
    assert error_message(denied) == "Permission denied"
    assert error_message(denied, with_file=True) == "story.md: Permission denied"
    assert error_message(OSError("disk on fire")) == "disk on fire"
    assert error_message(OSError()) == "OSError"
    assert error_message(ValueError("bad seed")) == "bad seed"
    assert error_message(KeyError()) == "KeyError"
