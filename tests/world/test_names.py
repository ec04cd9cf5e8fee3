"""The look-alike table behind name comparison, checked against Unicode's confusables.

``normalize_name`` keeps a small table of Cyrillic and Greek letters that pass for
Latin ones (``world/`` imports nothing but the standard library, pydantic and
networkx). The confusable-homoglyphs package ships Unicode's confusables.txt: the
table must agree with it, both ways.
"""

from __future__ import annotations

import json
import string
import unicodedata
from importlib import resources

import pytest

from simengine.world.state import _LOOK_ALIKES, normalize_name


def unicode_look_alikes() -> dict[str, set[str]]:
    """Cyrillic and Greek letters Unicode calls confusable with a Latin letter or digit."""
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    out: dict[str, set[str]] = {}
    for latin in string.ascii_letters + string.digits:
        for entry in data.get(latin, []):
            ch = entry["c"]
            if len(ch) != 1 or ord(ch) >= 0x10000:
                continue  # sequences, and the musical notation planes
            if unicodedata.name(ch, "").split(" ")[0] in ("CYRILLIC", "GREEK"):
                out.setdefault(ch, set()).add(latin)
    return out


UNICODE = unicode_look_alikes()


def same(a: str, b: str) -> bool:
    return normalize_name(f"x{a}x") == normalize_name(f"x{b}x")


# Look-alikes that NFKC turns into something other than a letter are not names' business.
LETTER_LIKE = sorted(ch for ch in UNICODE if unicodedata.normalize("NFKC", ch) == ch
                     or unicodedata.normalize("NFKC", ch).isalpha())


@pytest.mark.parametrize("ch", LETTER_LIKE, ids=lambda c: f"U+{ord(c):04X}")
def test_every_unicode_look_alike_folds_to_its_latin_letter(ch):
    latin = UNICODE[ch]
    # Unicode folds capital I into small L (they look alike in many fonts); names keep
    # Latin I and l apart, so a look-alike of either may stand for I.
    candidates = latin | ({"I"} if latin & {"l", "I"} else set())
    assert any(same(ch, letter) for letter in candidates), (ch, latin)


def test_the_table_invents_no_pair_of_its_own():
    for code, latin in _LOOK_ALIKES.items():
        ch = chr(code)
        said = UNICODE.get(ch, set())
        ok = said | {s.swapcase() for s in said} | ({"I", "i"} if said & {"l"} else set())
        assert latin in ok, (f"U+{code:04X}", latin, said)


@pytest.mark.parametrize(
    "look_alike",
    ["\u0421aptain Hesk", "Cap\u200dtain Hesk", "\uff23aptain \uff28esk", "CAPTAIN HESK",
     "Captain\u00a0Hesk", "Ca\u200bptain He\u2060sk", "\u0421\u0430\u0440t\u0430in Hesk"],
    ids=ascii,
)
def test_names_from_the_issue_are_one_name(look_alike):
    assert normalize_name(look_alike) == normalize_name("Captain Hesk")


def test_other_scripts_keep_their_names():
    assert normalize_name("日本語の世界") == "日本語の世界"
    assert normalize_name("Мария") != normalize_name("Марина")
    assert normalize_name("Ζωή") != normalize_name("Ζήνων")
    assert normalize_name("café") == normalize_name("CAFE\u0301")
