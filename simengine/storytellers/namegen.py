"""Invented names that fit a world's tone, from a seeded generator.

A *style* (sea, frontier, starship, old-world) is picked from keywords in the
world's name, tone and premise. Every choice draws from the ``random.Random``
the caller passes in, so the same seed invents the same people, places and
things. Names already worn by a living entity of the same kind are avoided,
since the rules reject a second living "Ivo Brandt"; and a new person takes
neither a first name nor a surname anyone in the world already has, living or
dead, so no stranger is mistaken for Mara Fenwick's kin.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from simengine.world.state import WorldState, normalize_name


@dataclass(frozen=True)
class Style:
    """Word lists for one flavour of world."""

    name: str
    keywords: tuple[str, ...]
    first: tuple[str, ...]
    family: tuple[str, ...]
    person_adj: tuple[str, ...]
    person_role: tuple[str, ...]
    person_detail: tuple[str, ...]
    place_first: tuple[str, ...]
    place_last: tuple[str, ...]
    place_detail: tuple[str, ...]
    thing_adj: tuple[str, ...]
    thing_noun: tuple[str, ...]
    causes: tuple[str, ...]
    weather: tuple[str, ...]


SEA = Style(
    name="sea",
    keywords=("sea", "harbour", "harbor", "fog", "fish", "salt", "tide", "coast", "island",
              "port", "quay", "gull", "boat", "net", "shore", "storm", "lighthouse", "wharf"),
    first=("Ivo", "Hild", "Sigrun", "Tove", "Edric", "Ragna", "Wulf", "Aud", "Halvard",
           "Ketil", "Maren", "Solvi", "Thora", "Ulf", "Yrsa", "Eirik", "Bodil", "Osric",
           "Gunnel", "Brand", "Alvar", "Liv", "Torsten", "Hedda"),
    family=("Brandt", "Ness", "Holm", "Saltby", "Tarrow", "Fenwick", "Strand", "Kettle",
            "Marsh", "Skerry", "Haddock", "Greaves", "Rook", "Wick", "Lund", "Crabbe",
            "Gale", "Netley", "Harker", "Quayle", "Rudd", "Tallow", "Storr", "Pollock"),
    person_adj=("weather-beaten", "soft-spoken", "wiry", "grey-bearded", "sharp-eyed",
                "broad-shouldered", "limping", "sun-browned"),
    person_role=("net-mender", "deckhand", "peddler", "lamp-keeper", "cooper",
                 "oyster-raker", "ferryman", "rope-maker"),
    person_detail=("with salt-cracked hands", "smelling of tar", "in a patched oilskin",
                   "with a gull feather in the cap", "with a voice rough from shouting",
                   "carrying a coil of wet rope"),
    place_first=("Gull", "Cold", "Drowned", "Tarred", "Grey", "Wrack", "Brine", "Low",
                 "Kelp", "Widow's", "Lantern", "Oyster"),
    place_last=("Steps", "Cove", "Stair", "Shed", "Point", "Rocks", "Landing", "Cellar",
                "Yard", "Loft", "Slip", "Cut"),
    place_detail=("where the tide leaves pools among black stones",
                  "half-buried in drifted sand", "hung with drying nets",
                  "where the fog sits longest", "smelling of weed and old rope",
                  "reached by slick wooden steps"),
    thing_adj=("brass", "salt-crusted", "cracked", "tarred", "whalebone", "green-glass",
               "rusted", "carved"),
    thing_noun=("button", "fish-hook", "float", "compass", "comb", "bottle", "buckle",
                "spoon", "whistle", "thimble"),
    causes=("a fever off the water", "a fall from the slick steps", "the cold",
            "a wound gone bad", "drowning"),
    weather=("fog rolls in from the sea", "a squall rattles every shutter",
             "the tide runs strangely high", "gulls wheel and scream overhead",
             "a thin cold rain sets in"),
)

STARSHIP = Style(
    name="starship",
    keywords=("ship", "star", "deck", "station", "orbit", "void", "hull", "reactor",
              "colony", "android", "galaxy", "space", "airlock", "crew", "planet"),
    first=("Vex", "Kai", "Juno", "Rho", "Tam", "Ozen", "Lira", "Dax", "Nyx", "Sol", "Cade",
           "Ryn", "Ilo", "Mika", "Zed", "Ione", "Pax", "Teo", "Wren", "Asha"),
    family=("Hale", "Voss", "Ibarra", "Chen", "Adeyemi", "Kade", "Morrow", "Sato", "Quill",
            "Ortiz", "Novak", "Okoro", "Lindqvist", "Renn", "Tanaka", "Vance", "Achebe",
            "Brandvold", "Castellan", "Drummond", "Eklund", "Farrow", "Iwata", "Petrov"),
    person_adj=("tired", "wiry", "soft-spoken", "scarred", "precise", "restless",
                "pale", "steady-handed"),
    person_role=("engineer", "hydroponics tech", "cargo hand", "medic", "pilot",
                 "systems tech", "quartermaster", "courier"),
    person_detail=("in a stained jumpsuit", "with a datapad clipped to the belt",
                   "with burn scars on both hands", "humming under the breath",
                   "with a cheap ocular implant", "smelling of coolant"),
    place_first=("Coolant", "Aft", "Spinward", "Dark", "Cargo", "Service", "Lower",
                 "Sealed", "Old", "Ring", "Hydro", "Dead"),
    place_last=("Gallery", "Spur", "Bay", "Crawlway", "Annex", "Lock", "Shaft", "Bulkhead",
                "Vault", "Module", "Junction", "Hold"),
    place_detail=("where the air tastes of metal", "lit by a single failing strip-light",
                  "cold enough to fog the breath", "humming with buried machinery",
                  "stacked with unlabelled crates", "where gravity feels a little wrong"),
    thing_adj=("cracked", "spent", "scratched", "humming", "dented", "sealed",
               "half-melted", "blinking"),
    thing_noun=("datapad", "power cell", "ration tin", "keycard", "multitool", "data chip",
                "pressure gauge", "visor", "cable spool", "beacon"),
    causes=("decompression", "a reactor leak", "a faulty airlock", "a long fever",
            "an accident in the machinery"),
    weather=("the lights flicker as the reactor cycles", "a pressure alarm wails and stops",
             "the hull groans under some distant strain", "the air turns stale and warm",
             "the ship shudders through a debris field"),
)

FRONTIER = Style(
    name="frontier",
    keywords=("mine", "camp", "frontier", "dust", "canyon", "saloon", "sheriff", "mesa",
              "ranch", "rail", "desert", "prospector", "cattle", "outlaw", "claim", "wagon"),
    first=("Jebediah", "Clementine", "Hattie", "Ezra", "Cora", "Amos", "Wyatt", "Lorena",
           "Zeke", "Josiah", "Mae", "Virgil", "Opal", "Eli", "Abner", "Temperance", "Cyrus",
           "Della", "Obadiah", "Pearl"),
    family=("Cobb", "McCready", "Tate", "Pruitt", "Haskell", "Boone", "Whitlock", "Dade",
            "Calloway", "Sykes", "Barlow", "Crockett", "Pickens", "Harlan", "Quade", "Stiles",
            "Bixby", "Colter", "Dunning", "Fenner", "Garrity", "Lusk", "Mattock", "Yancey"),
    person_adj=("dusty", "sun-cracked", "wary", "bow-legged", "gap-toothed", "quiet",
                "hard-eyed", "lanky"),
    person_role=("prospector", "mule skinner", "drifter", "card sharp", "cook", "tinker",
                 "gunsmith", "freighter"),
    person_detail=("with a battered hat", "smelling of woodsmoke", "with a pick over one "
                   "shoulder", "chewing on a matchstick", "with boots worn through",
                   "with a bandanna pulled low"),
    place_first=("Dry", "Widow's", "Rattlesnake", "Broken", "Red", "Coyote", "Lonesome",
                 "Copper", "Dead Man's", "Sulphur", "Bone", "Hangman's"),
    place_last=("Gulch", "Draw", "Wash", "Spring", "Flats", "Bluff", "Hollow", "Crossing",
                "Diggings", "Ridge", "Cut", "Wells"),
    place_detail=("where the wind never quite stops", "dotted with abandoned claims",
                  "shaded by a single crooked juniper", "baked white by the sun",
                  "where the creek runs only in spring", "littered with rusted tins"),
    thing_adj=("dented", "rusted", "tarnished", "cracked", "silver", "bone-handled",
               "battered", "carved"),
    thing_noun=("tin cup", "spur", "pocket watch", "harmonica", "horseshoe", "flask",
                "button", "playing card", "nugget scale", "pocketknife"),
    causes=("a snakebite", "a fever", "a cave-in", "a stray bullet", "the heat"),
    weather=("a dust devil spins across the flats", "the wind brings grit and the smell "
             "of rain", "heat shimmers off every roof", "a dry thunderstorm rolls over the "
             "hills", "coyotes call from the ridge"),
)

OLD_WORLD = Style(
    name="old-world",
    keywords=(),
    first=("Aldric", "Mirelle", "Tobin", "Essa", "Rowan", "Bram", "Lysa", "Oswin", "Petra",
           "Corin", "Wenna", "Garrick", "Ilse", "Merrin", "Tamsin", "Odo", "Berta", "Elric",
           "Hesper", "Jory"),
    family=("Thorne", "Ashdown", "Mallory", "Fenn", "Harrow", "Blackwood", "Crane", "Dunmore",
            "Everly", "Hollis", "Pike", "Quarles", "Reeve", "Stroud", "Tull", "Wyck",
            "Alder", "Bramley", "Cotter", "Dray", "Gorse", "Lathe", "Moberly", "Sallow"),
    person_adj=("stooped", "cheerful", "nervous", "tall", "freckled", "sharp-tongued",
                "quiet", "red-cheeked"),
    person_role=("tinker", "pilgrim", "herb-seller", "mason", "wool merchant", "minstrel",
                 "charcoal burner", "scribe"),
    person_detail=("in a travel-stained cloak", "with ink-stained fingers",
                   "with a basket on one arm", "humming an old tune",
                   "leaning on a blackthorn staff", "with mud to the knees"),
    place_first=("Old", "Hollow", "Thorn", "Mill", "Ash", "Crow", "Stone", "Bramble",
                 "Candle", "Willow", "Moss", "Bell"),
    place_last=("Lane", "Clearing", "Well", "Yard", "Bridge", "Barrow", "Copse", "Ford",
                "Chapel", "Garth", "Orchard", "Steps"),
    place_detail=("overgrown with nettles", "where an old bell hangs silent",
                  "shaded by leaning yews", "where the path forks three ways",
                  "half-hidden behind a collapsed wall", "smelling of woodsmoke and damp"),
    thing_adj=("tarnished", "carved", "chipped", "painted", "pewter", "copper",
               "bone", "faded"),
    thing_noun=("ring", "key", "spoon", "brooch", "candle-stub", "locket", "die",
                "button", "token", "bead"),
    causes=("a fever", "a bad fall", "old age", "a wound gone bad", "the winter cough"),
    weather=("a cold wind rises", "rain drums on every roof", "mist gathers in the hollows",
             "the bells ring out for no clear reason", "a pale sun breaks through"),
)

STYLES: tuple[Style, ...] = (SEA, STARSHIP, FRONTIER, OLD_WORLD)
_WORD = re.compile(r"[a-z]+")


@functools.lru_cache(maxsize=32)  # asked at every invented name; a world's text stays put
def style_for(text: str) -> Style:
    """The style whose keywords occur most often in ``text`` (old-world when none do)."""
    words = _WORD.findall(text.lower())
    best, best_score = OLD_WORLD, 0
    for style in STYLES:
        score = sum(1 for w in words for k in style.keywords if w == k or w == k + "s")
        if score > best_score:
            best, best_score = style, score
    return best


def style_of(state: WorldState) -> Style:
    """The style of a world, from its name, tone and premise."""
    w = state.world
    return style_for(" ".join(str(w.get(k) or "") for k in ("name", "tone", "premise")))


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


class NameGen:
    """Invents people, places and things in one style; all choices from the given RNG."""

    def __init__(self, style: Style):
        self.style = style

    @classmethod
    def for_world(cls, state: WorldState) -> NameGen:
        return cls(style_of(state))

    def _free(self, name: str, kind: str, state: WorldState | None, avoid: set[str]) -> bool:
        if name.lower() in avoid:
            return False
        return state is None or not state.living_named(name, kind)

    def person(
        self, rng: random.Random, state: WorldState | None = None, avoid: Iterable[str] = ()
    ) -> tuple[str, str] | None:
        """A (name, description) for a new character, or None if every try clashed.

        Neither its first name nor its surname is one a character of ``state`` has.
        """
        s, avoid_ = self.style, {a.lower() for a in avoid}
        taken = state.name_words() if state is not None else set()
        firsts = [w for w in s.first if normalize_name(w) not in taken]
        families = [w for w in s.family if normalize_name(w) not in taken]
        if not firsts or not families:
            return None  # every name of the style is someone's already
        for _ in range(40):
            name = f"{rng.choice(firsts)} {rng.choice(families)}"
            if self._free(name, "character", state, avoid_):
                adj = rng.choice(s.person_adj)
                desc = (f"{_a(adj).capitalize()} {adj} {rng.choice(s.person_role)} "
                        f"{rng.choice(s.person_detail)}.")
                return name, desc
        return None

    def place(
        self, rng: random.Random, state: WorldState | None = None, avoid: Iterable[str] = ()
    ) -> tuple[str, str] | None:
        """A (name, description) for a new location, or None if every try clashed."""
        s, avoid_ = self.style, {a.lower() for a in avoid}
        for _ in range(40):
            name = f"{rng.choice(s.place_first)} {rng.choice(s.place_last)}"
            if self._free(name, "location", state, avoid_):
                noun = name.split()[-1].lower()
                # "Steps reached by slick wooden steps" says the noun twice.
                details = [d for d in s.place_detail if noun.rstrip("s") not in d] or \
                    list(s.place_detail)
                # Plural names ("Oyster Steps", "Salt Flats") take no article.
                head = noun if noun.endswith("s") and not noun.endswith("ss") \
                    else f"{_a(noun)} {noun}"
                return name, f"{head.capitalize()} {rng.choice(details)}."
        return None

    def thing(
        self, rng: random.Random, state: WorldState | None = None, avoid: Iterable[str] = ()
    ) -> tuple[str, str] | None:
        """A (name, description) for a small new item, or None if every try clashed."""
        s, avoid_ = self.style, {a.lower() for a in avoid}
        for _ in range(40):
            adj, noun = rng.choice(s.thing_adj), rng.choice(s.thing_noun)
            name = f"{adj} {noun}"
            if self._free(name, "item", state, avoid_):
                return name, f"A small {adj} {noun}, of no great worth."
        return None

    def cause_of_death(self, rng: random.Random) -> str:
        return rng.choice(self.style.causes)

    def weather(self, rng: random.Random) -> str:
        return rng.choice(self.style.weather)
