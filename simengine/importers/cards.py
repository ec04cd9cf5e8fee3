"""Character cards V1, V2 and V3, read into one shape.

Field names follow the specs (malfoyslastname/character-card-spec-v2,
kwaroran/character-card-spec-v3) and what SillyTavern writes: V2 and V3 keep
the card under ``data``; V1 has the fields at the top. Fields simengine does
not read are kept (``Card.kept``) for the world file's ``card`` table, so an
exported card carries them back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: Text fields every card version has.
V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
#: Fields simengine reads from a card; everything else in ``data`` is kept as is.
READ_FIELDS = {"name", "description", "personality", "scenario", "first_mes",
               "alternate_greetings", "character_book", "nickname"}


@dataclass
class Card:
    """One character card, whatever its version."""

    version: str  # "1", "2" or "3"
    name: str
    description: str = ""
    personality: str = ""
    scenario: str = ""
    first_mes: str = ""
    alternate_greetings: list[str] = field(default_factory=list)
    nickname: str = ""
    character_book: dict[str, Any] | None = None
    #: Fields kept unread, for the world file (mes_example, tags, extensions ...).
    kept: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _s(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _strings(value: Any) -> list[str]:
    return [v.strip() for v in value if isinstance(v, str) and v.strip()] \
        if isinstance(value, list) else []


def spec_version(value: Any) -> float | None:
    """A card's ``spec_version`` as a number ("3.0", 3, "3" -> 3.0), or None."""
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def read_card(data: dict[str, Any]) -> Card:
    """A :class:`Card` from a card's JSON (any version)."""
    spec = data.get("spec")
    notes: list[str] = []
    if spec in ("chara_card_v2", "chara_card_v3"):
        body = data.get("data") if isinstance(data.get("data"), dict) else {}
        version = "3" if spec == "chara_card_v3" else "2"
        number = spec_version(data.get("spec_version"))
        if number is None:
            notes.append(f"spec_version {data.get('spec_version')!r} is not a number; read "
                         f"as version {version}")
        elif int(number) != int(version):
            notes.append(f"spec_version {number:g} does not match spec {spec}; read as "
                         f"version {version}")
        top = [k for k in data if k not in ("spec", "spec_version", "data")]
        if top:
            notes.append(f"top-level fields ({', '.join(sorted(top)[:8])}"
                         f"{', ...' if len(top) > 8 else ''}): V1 copies for older tools, "
                         "ignored (data wins)")
    else:
        body, version = data, "1"
    card = Card(
        version=version,
        name=_s(body.get("name")) or "Unnamed",
        description=_s(body.get("description")),
        personality=_s(body.get("personality")),
        scenario=_s(body.get("scenario")),
        first_mes=_s(body.get("first_mes")),
        alternate_greetings=_strings(body.get("alternate_greetings")),
        nickname=_s(body.get("nickname")),
        character_book=body.get("character_book")
        if isinstance(body.get("character_book"), dict) else None,
        notes=notes,
    )
    if not _s(body.get("name")):
        card.notes.append("no name: called 'Unnamed'")
    card.kept = {k: v for k, v in body.items() if k not in READ_FIELDS}
    if version != "1":
        card.kept["spec"] = spec
        card.kept["spec_version"] = str(data.get("spec_version", ""))
    return card


_MACROS = re.compile(r"\{\{\s*(char|user)\s*\}\}|<(BOT|USER)>", re.IGNORECASE)


def fill_macros(text: str, char: str, user: str) -> str:
    """``{{char}}``/``<BOT>`` -> the character's name, ``{{user}}``/``<USER>`` -> the player's."""

    def sub(match: re.Match[str]) -> str:
        which = (match.group(1) or match.group(2)).lower()
        return char if which in ("char", "bot") else user

    return _MACROS.sub(sub, text)


def traits_of(personality: str) -> list[str]:
    """Traits from a card's personality: its comma-, semicolon- or line-separated parts."""
    if not personality:
        return []
    parts = [p.strip(" .") for p in re.split(r"[,;\n]+", personality)]
    return [" ".join(p.split())[:120] for p in parts if p.strip(" .")][:24]
