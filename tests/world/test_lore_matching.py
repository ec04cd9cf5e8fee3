"""Lore keys: the substring test before a key's pattern never loses a match.

``key_in`` skips a key's regular expression when a plain substring that every match
contains is missing from the text. These tests hold that shortcut to the pattern's
own answer: on every code point that case-blind matching relates to ASCII, on a
table of awkward keys and texts, and on random ones.
"""

from __future__ import annotations

import itertools
import re
import string
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simengine.world.lore import _ASCII_FOLD, _folded, _key, activate, key_in, matches
from simengine.world.spec import LoreSpec

SETTINGS = list(itertools.product([False, True], repeat=2))  # case_sensitive, whole_words


def _entry(keys: list[str], case_sensitive: bool = False, whole_words: bool = True,
           **more: object) -> LoreSpec:
    return LoreSpec.model_validate({"id": "e", "keys": keys, "content": "c",
                                    "case_sensitive": case_sensitive,
                                    "whole_words": whole_words, **more})


def _by_pattern(key: str, text: str, entry: LoreSpec) -> bool:
    """The answer without the shortcut: the key's pattern searched in the text."""
    word = _key(key, entry.case_sensitive, entry.whole_words)
    return bool(key.strip()) and word.pattern.search(text) is not None


def test_the_fold_covers_every_character_case_blind_matching_relates_to_ascii() -> None:
    # Every code point outside ASCII (surrogates cannot be in a str of text) that a
    # case-blind ASCII letter matches: the fold must turn it into that letter.
    others = "".join(chr(c) for c in range(0x80, sys.maxunicode + 1)
                     if not 0xD800 <= c <= 0xDFFF)
    related: dict[str, set[str]] = {}
    for letter in string.ascii_letters:
        for m in re.finditer(re.escape(letter), others, re.IGNORECASE):
            related.setdefault(m.group(), set()).add(letter.lower())
    assert set(_ASCII_FOLD) == set(related)
    for char, letters in related.items():
        assert letters == {_ASCII_FOLD[char]}
        assert _folded(f"X{char}Y…") == f"x{_ASCII_FOLD[char]}y…"
    # ASCII's other characters are not cased: no character outside ASCII matches them.
    uncased = re.escape("".join(c for c in map(chr, range(0x80)) if not c.isalpha()))
    assert re.search(f"[{uncased}]", others, re.IGNORECASE) is None
    # Within ASCII, case-blind matching is exactly lowercase equality.
    for a, b in itertools.product(map(chr, range(0x80)), repeat=2):
        same = re.fullmatch(re.escape(a), b, re.IGNORECASE) is not None
        assert same == (a.lower() == b.lower()), (a, b)


TEXTS = [
    "The sea chest lies open by the SEA.",
    "seashore and seaside",
    "a ſea of troubles",  # long s: case-blind 's'
    "KELVİN and kelvin and \u212aelvin",  # dotted capital I, the Kelvin sign
    "Dotless ıstanbul, İstanbul, istanbul",
    "Straße STRASSE strasse",
    "ΣΟΦΙΑ σοφια σοφίας ΟΔΟΣ",  # final sigma: lowercase depends on the next letter
    "c++ and C++! and #tag, #TAG.",
    "tide-bell, tide bell, tidebell",
    "",
    "naïve NAÏVE naive",
]
KEYS = ["sea", "sea chest", "SEA", "kelvin", "Kelvin", "istanbul", "İstanbul", "ıstanbul",
        "straße", "strasse", "σοφια", "οδος", "c++", "#tag", " tide bell ", "bell",
        "naïve", "NAÏVE", "", "   ", "e"]


@pytest.mark.parametrize(("case_sensitive", "whole_words"), SETTINGS)
def test_key_in_agrees_with_the_pattern_on_awkward_keys(case_sensitive: bool,
                                                        whole_words: bool) -> None:
    for key, text in itertools.product(KEYS, TEXTS):
        entry = _entry([key or "x"], case_sensitive, whole_words)
        assert key_in(key, text, entry) == _by_pattern(key, text, entry), (key, text)


def test_case_blind_keys_find_their_special_letters() -> None:
    # The characters the shortcut must not miss (the pattern matches each).
    entry = _entry(["x"])
    assert key_in("sea", "a ſea voyage", entry)
    assert key_in("kelvin", "\u212aELVIN", entry)
    assert key_in("kite", "\u212aİTE", entry)
    assert key_in("kite", "KıTE", entry)
    assert not key_in("sea", "a ſea voyage", _entry(["x"], case_sensitive=True))


_ALPHABET = "sSſiIİıkK\u212aeEaA éÉßσΣς-+."


@settings(max_examples=400, deadline=None)
@given(key=st.text(_ALPHABET, max_size=4), text=st.text(_ALPHABET, max_size=30),
       case_sensitive=st.booleans(), whole_words=st.booleans())
def test_key_in_agrees_with_the_pattern_on_random_text(key: str, text: str,
                                                       case_sensitive: bool,
                                                       whole_words: bool) -> None:
    entry = _entry([key or "x"], case_sensitive, whole_words)
    assert key_in(key, text, entry) == _by_pattern(key, text, entry)


def test_overlapping_keys_and_secondary_logic_still_decide() -> None:
    chest = _entry(["sea chest"], secondary_keys=["ſalt", "rope"], logic="and_all")
    sea = _entry(["sea"], secondary_keys=["chest"], logic="not_any")
    text = "The SEA CHEST smells of \u017falt and rope."
    assert matches(chest, text)
    assert not matches(sea, text)  # "chest" is there
    assert matches(sea, "the sea, calm")
    assert not matches(chest, "the seachest, salt and rope")  # whole words only
    found = activate([chest, sea], text, budget=100)
    assert found.active == [chest]
