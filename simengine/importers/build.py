"""Several cards and lorebooks -> one world file, and a report of what became of each field.

Cards become characters (description, traits from the personality, the scenario
as the premise, the first message as the opening the player reads, alternate
greetings kept); lore entries become ``[[lore]]``; an entry clearly about a
place (an AI Dungeon location card, or one titled or keyed with a place word:
forest, tavern, city ...) also becomes a location with that description. Every
world needs somewhere to stand and someone to play, so the importer adds a
starting place (unless a place the cards mention is one) and the player.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simengine.importers.cards import Card, fill_macros, read_card, traits_of
from simengine.importers.lorebooks import CONVERTERS, Book, character_book
from simengine.importers.sources import ImportFailed, Source, read_source
from simengine.importers.toml_out import drop_nulls, string, table
from simengine.world.loader import WorldFileError, parse_world
from simengine.world.spec import WorldSpec
from simengine.world.state import normalize_name
from simengine.world.text import fresh_id, slugify

#: Words that make an entry's title or first key a place.
PLACE_WORDS = frozenset("""
forest forests wood woods woodland glade grove jungle swamp marsh bog fen desert
city town village hamlet capital kingdom realm empire province district quarter
castle keep fortress fort citadel tower palace manor estate hall mansion
tavern inn pub bar shop market bazaar square street road bridge gate harbour
harbor port dock docks pier temple shrine church cathedral monastery abbey chapel
library academy school university guild cave caves cavern mine dungeon crypt tomb
catacombs ruins ruin mountain mountains peak hill hills valley canyon river lake
sea ocean coast beach island isle bay cove camp outpost garden gardens park farm
station base colony planet moon ship arena prison asylum lab laboratory spire
lighthouse mill windmill well bridge wharf quay plaza alley sewer sewers barracks
""".split())
#: Scene descriptions are cut at 300 characters: past that a card's description
#: also becomes a lore entry, so the whole of it can reach the model.
LONG_DESCRIPTION = 300
DEFAULT_PLAYER = "Traveller"


@dataclass
class Imported:
    """The result: the world file's text, the spec it validates to, and the report."""

    text: str
    spec: WorldSpec
    report: list[str] = field(default_factory=list)


class _Ids:
    def __init__(self) -> None:
        self.taken: set[str] = set()

    def new(self, name: str, fallback: str) -> str:
        candidate = fresh_id(name, self.taken.__contains__, fallback)
        self.taken.add(candidate)
        return candidate


def _is_place(entry: dict[str, Any], kind: str | None) -> bool:
    if kind:
        return kind == "location"
    title = entry["name"] or (entry["keys"][0] if entry["keys"] else "")
    words = set(re.findall(r"[a-z]+", title.lower()))
    return bool(words & PLACE_WORDS) and len(title) <= 60


def _title(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] if text else text


class WorldBuilder:
    """Collects cards and books, then writes the world."""

    def __init__(self, player: str = DEFAULT_PLAYER):
        self.player = " ".join(player.split())[:60]
        if not normalize_name(self.player):
            self.player = DEFAULT_PLAYER
        self.ids = _Ids()
        self.lore_ids = _Ids()
        self.cards: list[tuple[Source, Card]] = []
        self.books: list[tuple[Source, Book, str]] = []  # (source, book, whose {{char}})
        self.report: list[str] = []

    # ---------------------------------------------------------------- input
    def add(self, source: Source) -> None:
        if source.kind == "card":
            card = read_card(source.data)
            self.cards.append((source, card))
            if card.character_book:
                book = character_book(card.character_book)
                self.books.append((source, book, card.name))
        else:
            self.books.append((source, CONVERTERS[source.kind](source.data), ""))

    # --------------------------------------------------------------- output
    def build(self, name: str | None = None) -> tuple[dict[str, Any], list[str]]:
        """The world as TOML-ready sections, and the report lines."""
        first_card = self.cards[0][1] if self.cards else None
        world_name = name or (first_card.name if first_card else "") or next(
            (b.name for _, b, _ in self.books if b.name), ""
        ) or _title(self.sources()[0].path.stem.replace("_", " ").replace("-", " "))
        player_id = self.ids.new(self.player, "player")
        characters: list[dict[str, Any]] = []
        lore: list[dict[str, Any]] = []
        places: list[dict[str, Any]] = []
        premise: list[str] = []
        openings: list[str] = []
        opening = ""
        names_taken = {normalize_name(self.player)}
        out = self.report
        for source, card in self.cards:
            cid = self.ids.new(card.name, "character")
            out.append(f"{source.path.name} ({source.format}):")
            out.extend(f"  note: {n}" for n in [*source.notes, *card.notes])
            name = card.name
            if not normalize_name(name) or normalize_name(name) in names_taken:
                name = f"{card.name} ({cid})"
                out.append(f"  name: '{card.name}' is taken or has no letters; called '{name}'")
            names_taken.add(normalize_name(name))

            def fill(text: str, who: str = card.name) -> str:
                return fill_macros(text, who, self.player)

            entry: dict[str, Any] = {"id": cid, "name": name, "at": "start"}
            out.append(f"  name -> character '{cid}' ({name})")
            entry["description"] = fill(card.description)
            if card.description:
                out.append("  description -> its description")
            if card.nickname:
                entry["aliases"] = [card.nickname]
                out.append(f"  nickname -> an alias, '{card.nickname}'")
            traits = traits_of(fill(card.personality))
            if traits:
                entry["traits"] = traits
                out.append(f"  personality -> {len(traits)} traits")
            about = "\n\n".join(x for x in (fill(card.description), fill(card.personality)) if x)
            if len(about) > LONG_DESCRIPTION:
                lid = self.lore_ids.new(f"about-{cid}", "about")
                lore.append({"id": lid, "name": f"About {card.name}",
                             "keys": [k[:200] for k in (card.name, card.nickname) if k],
                             "content": about, "order": 200})
                out.append(f"  description and personality are long: also lore '{lid}', keyed "
                           f"on the name, so all of it reaches the model when {card.name} "
                           "is in the scene")
            if card.scenario:
                premise.append(fill(card.scenario))
                out.append("  scenario -> the world's premise")
            greetings = [fill(g) for g in card.alternate_greetings]
            if card.first_mes and not opening:
                opening = fill(card.first_mes)
                out.append("  first_mes -> the world's opening (what the player reads first)")
            elif card.first_mes:
                openings.append(fill(card.first_mes))
                out.append("  first_mes -> an alternate opening (another card's is the opening)")
            if greetings:
                openings.extend(greetings)
                out.append(f"  alternate_greetings -> {len(greetings)} alternate openings")
            if card.character_book:
                n = len(card.character_book.get("entries") or [])
                out.append(f"  character_book -> {n} lore entries (below)")
                meta = {k: v for k, v in card.character_book.items() if k != "entries"}
                if meta:
                    card.kept["character_book"] = meta
            kept, nulls = drop_nulls(card.kept)
            if kept:
                entry["card"] = kept
                out.append(f"  kept in characters.card, not used in prompts: "
                           f"{', '.join(sorted(kept))}")
            if "system_prompt" in kept or "post_history_instructions" in kept:
                out.append("  system_prompt and post_history_instructions are not followed: "
                           "the engine's rules stay in charge of the prompt")
            if nulls:
                out.append(f"  {nulls} empty (null) values left out: TOML has no null")
            characters.append(entry)
        for source, book, who in self.books:
            label = "its character_book" if who else f"{source.path.name} ({source.format})"
            out.append(f"{label}: {len(book.entries)} entries")
            if book.fields:
                out.append(f"  fields: {book.fields}")
            out.extend(f"  note: {n}" for n in [*([] if who else source.notes), *book.notes])
            who = who or (first_card.name if first_card else "the character")
            for index, draft in enumerate(book.entries):
                draft = dict(draft)
                draft["content"] = fill_macros(draft["content"], who, self.player)
                title = draft["name"] or (draft["keys"][0] if draft["keys"] else "")
                lid = self.lore_ids.new(title or "lore", "lore")
                draft, nulls = drop_nulls({"id": lid, **draft})
                lore.append(_lean(draft))
                kind = book.kinds.get(index)
                made = f"  '{title}' -> lore '{lid}'"
                if not draft["enabled"]:
                    made += " (disabled, as it was)"
                if draft["constant"]:
                    made += " (constant: always in the prompt)"
                key = normalize_name(title)
                if _is_place(draft, kind) and draft["enabled"] and key and key not in names_taken:
                    pid = self.ids.new(title, "place")
                    places.append({"id": pid, "name": _title(title),
                                   "description": " ".join(draft["content"].split()),
                                   "aliases": [k for k in draft["keys"]
                                               if k.lower() != title.lower()][:8]})
                    names_taken.add(key)
                    made += f", and location '{pid}'"
                elif kind == "character" and key and key not in names_taken:
                    pid = self.ids.new(title, "someone")
                    characters.append({"id": pid, "name": _title(title), "at": "start",
                                       "description": " ".join(draft["content"].split())})
                    names_taken.add(key)
                    made += f", and character '{pid}'"
                out.append(made)
        start = self._start(places, first_card, premise, opening, out)
        for c in characters:
            c["at"] = start
        for p in places:
            if p["id"] != start:
                p.setdefault("connects", [start])
        budgets = [b.token_budget for _, b, _ in self.books if b.token_budget]
        meta: dict[str, Any] = {
            "id": slugify(world_name, "imported"), "name": world_name,
            "premise": "\n\n".join(premise) or next(
                (b.description for _, b, _ in self.books if b.description), ""),
            "opening": opening, "alternate_openings": openings,
        }
        if budgets:
            meta["lore_budget"] = max(budgets)
            out.append(f"lorebook token_budget {max(budgets)} -> the world's lore_budget")
        player = {"id": player_id, "name": self.player, "at": start,
                  "description": f"{self.player}, whom the player plays."}
        sections = {"world": meta, "locations": places, "characters": [player, *characters],
                    "lore": lore, "player": {"character": player_id}}
        out.append(f"the player plays '{player_id}' ({self.player}); all start at '{start}'")
        return sections, out

    def _start(self, places: list[dict[str, Any]], card: Card | None, premise: list[str],
               opening: str, out: list[str]) -> str:
        said = " ".join([*premise, opening]).lower()
        for p in places:
            if p["name"].lower() in said:
                out.append(f"the story starts at '{p['id']}': the scenario or opening names it")
                return p["id"]
        sid = self.ids.new("start", "start")
        name = "The Meeting Place"
        if any(normalize_name(p["name"]) == normalize_name(name) for p in places):
            name = "Where It Begins"
        where = f"where {card.name} and {self.player} meet" if card else "where the story begins"
        description = premise[0] if premise else f"The place {where}."
        places.insert(0, {"id": sid, "name": name,
                          "description": " ".join(description.split())[:600],
                          "connects": [p["id"] for p in places]})
        out.append(f"added location '{sid}' ({name}), {where}; every imported "
                   "place is one step from it")
        return sid

    def sources(self) -> list[Source]:
        return [s for s, _ in self.cards] + [s for s, _, _ in self.books]


def _lean(draft: dict[str, Any]) -> dict[str, Any]:
    """A lore entry without the keys that only repeat the defaults."""
    defaults = {"name": "", "secondary_keys": [], "logic": "and_any", "constant": False,
                "enabled": True, "order": 100, "case_sensitive": False, "whole_words": True,
                "extensions": {}}
    return {k: v for k, v in draft.items() if k not in defaults or defaults[k] != v}


# ----------------------------------------------------------------- writing
_COMMENTS = {
    "world": {
        "premise": "From the cards' scenarios: every prompt starts from it.",
        "opening": "What the player reads before the first turn (the card's first message).",
        "alternate_openings": "The card's other greetings, kept.",
        "lore_budget": "Tokens of activated lore a prompt may carry.",
    },
}


def render(sections: dict[str, Any], files: list[str]) -> str:
    """The world file's text, with comments that say where things came from."""
    parts = [
        "# An imported world, written by `simengine import` from:\n"
        + "".join(f"#   {f}\n" for f in files)
        + "# Check it with `simengine validate`, play it with `simengine play`.\n"
        "# The import report listed what became of every field of those files.\n",
        table("[world]", sections["world"], _COMMENTS["world"]),
        "# Places: the ones lore entries were clearly about, one step from the start.\n",
    ]
    parts += [table("[[locations]]", p) for p in sections["locations"]]
    parts.append("# People: the player first, then one per card (and per character entry).\n")
    parts += [table("[[characters]]", c, {"card": "Card fields the engine does not read, "
                                          "kept for `saves export --format card`."})
              for c in sections["characters"]]
    parts.append(table("[player]", sections["player"]))
    if sections["lore"]:
        parts.append(
            "# Lore: each entry enters a prompt (after the scene) when one of its keys comes up\n"
            "# in the scene or the latest events, within the world's lore_budget.\n"
        )
        parts += [table("[[lore]]", e, {"extensions": "Fields other tools use; kept, not read."})
                  for e in sections["lore"]]
    return "\n".join(parts)


def import_files(
    paths: list[str | Path], *, name: str | None = None, player: str = DEFAULT_PLAYER
) -> Imported:
    """Read cards and lorebooks and make one world of them.

    Raises:
        ImportFailed: a file that is not a card or lorebook, or a PNG with no card.
    """
    if not paths:
        raise ImportFailed("no files to import")
    builder = WorldBuilder(player)
    skipped: list[str] = []
    read: list[str] = []
    for path in paths:
        p = Path(path)
        if not p.is_dir():
            builder.add(read_source(p))
            read.append(str(p))
            continue
        # A folder of downloads: take what can be imported, say what could not.
        for member in sorted(f for f in p.iterdir() if f.is_file()
                             and not f.name.startswith(".")):
            try:
                builder.add(read_source(member))
                read.append(str(member))
            except ImportFailed as exc:
                skipped.append(f"skipped {exc}")
    if not read:
        raise ImportFailed(f"nothing to import in {', '.join(str(p) for p in paths)}"
                           + (": " + "; ".join(skipped) if skipped else ""))
    sections, report = builder.build(name)
    report = [*skipped, *report]
    text = render(sections, read)
    try:
        spec = parse_world(text, "<imported world>")
    except WorldFileError as exc:  # pragma: no cover - a bug here, not in the user's files
        raise ImportFailed(f"the imported world does not validate (a simengine bug):\n{exc}") \
            from None
    return Imported(text, spec, report)


__all__ = ["Imported", "ImportFailed", "import_files", "render", "string"]
