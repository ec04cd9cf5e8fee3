"""The one text cleaner: what a model, a player or a world file writes, made safe."""

from __future__ import annotations

import pytest

from simengine.world.text import TooDeep, clean_data, clean_text


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
