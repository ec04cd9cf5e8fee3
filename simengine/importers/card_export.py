"""A character of a story, back out as a Character Card V2 for other tools.

The card carries the character as the story left it (description, traits as
the personality, the world's premise as the scenario), the fields its own card
had when it was imported (example dialogue, notes, tags, extensions), and a
``character_book`` made of the world's lore and of what the character knows
from the story: the people, places and things it stands in relation to, where
it is, what it carries and what it lately did.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from simengine.importers.lorebooks import ST_LOGIC
from simengine.world.lore import lore_entries
from simengine.world.spec import LoreSpec, WorldSpec
from simengine.world.state import WorldState

_LOGIC_NUMBER = {name: number for number, name in ST_LOGIC.items()}
#: Card fields (besides the ones built here) that an imported card brings back.
CARD_TEXT = ("mes_example", "creator_notes", "system_prompt", "post_history_instructions",
             "creator", "character_version")
MAX_MEMORIES = 12


class NoSuchCharacter(ValueError):
    """The character asked for is not in the save; the message lists who is."""


def _user(text: str, player: str | None) -> str:
    """The player's name back to ``{{user}}``, as cards write it."""
    if not player:
        return text
    return re.sub(rf"(?<!\w){re.escape(player)}(?!\w)", "{{user}}", text)


def _book_entry(entry: LoreSpec, uid: int) -> dict[str, Any]:
    ext = dict(entry.extensions)
    own = ext.pop("book_entry", {}) if isinstance(ext.get("book_entry"), dict) else {}
    ext.setdefault("selectiveLogic", _LOGIC_NUMBER[entry.logic])
    ext.setdefault("match_whole_words", entry.whole_words)
    out: dict[str, Any] = {
        "keys": list(entry.keys),
        "content": entry.content,
        "extensions": ext,
        "enabled": entry.enabled,
        "insertion_order": entry.order,
        "case_sensitive": entry.case_sensitive,
        "name": entry.name or (entry.keys[0] if entry.keys else str(entry.id)),
        "comment": entry.name,
        "selective": bool(entry.secondary_keys),
        "secondary_keys": list(entry.secondary_keys),
        "constant": entry.constant,
    }
    for key, value in own.items():
        out.setdefault(key, value)
    out.setdefault("id", uid)
    return out


def _known(state: WorldState, who: str, memories: Sequence[str]) -> list[dict[str, Any]]:
    """Book entries of what ``who`` knows from the story."""
    name = state.name(who)
    out: list[dict[str, Any]] = []
    said: dict[str, list[str]] = {}  # one entry per other entity, however many relations
    for src, relation, dst in state.relations(who):
        other = dst if src == who else src
        if other not in state or other == who:
            continue
        words = relation.replace("_", " ")
        said.setdefault(other, []).append(
            f"{name} {words} {state.name(other)}." if src == who
            else f"{state.name(other)} {words} {name}.")
    for other, lines in said.items():
        about = state.entity(other).get("description") or ""
        out.append({"keys": [state.name(other)], "name": f"{name} and {state.name(other)}",
                    "content": " ".join([*dict.fromkeys(lines), about]).strip()})
    where = state.where(who)
    if where:
        out.append({"keys": [state.name(where)], "name": f"Where {name} is",
                    "content": f"{name} is at {state.name(where)}. "
                               f"{state.entity(where).get('description') or ''}".strip()})
    for item in state.inventory(who):
        out.append({"keys": [state.name(item)], "name": f"{name}'s {state.name(item)}",
                    "content": f"{name} carries {state.name(item)}. "
                               f"{state.entity(item).get('description') or ''}".strip()})
    for fact in state.facts_known(who):
        if not state.is_public(fact):
            out.append({"keys": list(state.entity(fact).get("keys") or [name]),
                        "name": f"What {name} knows: {state.name(fact)}",
                        "content": state.fact_text(fact)})
    if memories:
        out.append({"keys": [name], "name": f"What {name} lately did",
                    "content": "\n".join(f"- {m}" for m in memories[-MAX_MEMORIES:])})
    return out


def character_card(
    spec: WorldSpec,
    state: WorldState,
    character: str,
    story: Sequence[tuple[str | None, set[str], str]] = (),
) -> dict[str, Any]:
    """A Character Card V2 (as a JSON-ready dict) for ``character`` of the state.

    Args:
        spec: the world file the save was made from (its lore and imported card fields).
        state: the world as the story left it.
        character: the character's id (or name).
        story: the branch's events, oldest first, as (actor, ids involved, summary):
            those the character acted in or was part of become what it remembers.

    Raises:
        NoSuchCharacter: no such character; the message names who there is.
    """
    ids = state.sorted_ids("character")
    who = character if character in ids else next(
        (c for c in ids if state.name(c).lower() == character.lower()), None)
    if who is None:
        listed = ", ".join(f"{c} ({state.name(c)})" for c in ids[:20])
        raise NoSuchCharacter(f"no character '{character}' in this save; there are: {listed}")
    node = state.entity(who)
    memories = [summary for actor, involved, summary in story
                if actor == who or who in involved]
    player = state.name(state.player) if state.player in state and state.player != who else None
    authored = next((c for c in spec.characters if c.id == who), None)
    kept: dict[str, Any] = dict(authored.card) if authored else {}
    from_card = bool(kept)
    # The lore as the story left it (an event may have amended an entry), and below,
    # the facts only some know, among them what the character learned.
    entries = [_book_entry(e, i) for i, e in enumerate(lore_entries(state))]
    for extra in _known(state, who, memories):
        entries.append({"keys": extra["keys"], "content": extra["content"], "extensions": {},
                        "enabled": True, "insertion_order": 100, "constant": False,
                        "name": extra["name"], "comment": extra["name"], "selective": False,
                        "secondary_keys": [], "id": len(entries)})
    book_meta = kept.pop("character_book", {}) if isinstance(kept.get("character_book"),
                                                              dict) else {}
    extensions = dict(kept.get("extensions") or {})
    extensions["simengine"] = {
        "world": spec.world.id, "character": who, "alive": bool(node.get("alive", True)),
        "attributes": dict(node.get("attributes") or {}),
    }
    world = spec.world
    data: dict[str, Any] = {
        "name": node["name"],
        "description": _user(node.get("description") or "", player),
        "personality": _user(", ".join(node.get("traits") or []), player),
        "scenario": _user(world.premise, player),
        "first_mes": _user(world.opening, player) if from_card else "",
        "mes_example": "",
        "creator_notes": f"Exported by simengine from the world '{world.name}'.",
        "system_prompt": "",
        "post_history_instructions": "",
        "alternate_greetings": [_user(g, player) for g in world.alternate_openings]
        if from_card else [],
        "character_book": {**book_meta, "name": book_meta.get("name") or f"{world.name} lore",
                           "extensions": book_meta.get("extensions") or {},
                           "entries": entries},
        "tags": list(kept.get("tags") or []),
        "creator": "",
        "character_version": "",
        "extensions": extensions,
    }
    for key in CARD_TEXT:
        if isinstance(kept.get(key), str) and kept[key]:
            data[key] = kept[key]
    for key, value in kept.items():  # anything else the card had (V3 extras ...)
        if key not in data and key not in ("spec", "spec_version"):
            data[key] = value
    if node.get("aliases"):
        data.setdefault("nickname", node["aliases"][0])
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": data}
