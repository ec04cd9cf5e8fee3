"""Grow a shipped world to N entities, for benchmarks: same premise, a much bigger town.

The base world's entities stay as they are. New locations form a grid (each
joined to its right and lower neighbour) whose corner joins the base world's
first location, so the whole map stays connected. New characters and items are
spread evenly over every location (some items are carried), so the number of
people in one place stays about the same at every size: a scene in a world of
100,000 entities should look like one in a world of 100. Everything is drawn
from a seeded RNG: same base, size and seed, same world.

Usage:
    python scripts/bigworld.py worlds/harbour.toml --entities 10000 --out /tmp/big.toml
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

from simengine.world.loader import load_world, parse_world
from simengine.world.spec import WorldSpec

#: Shares of the new entities by kind (the rest of 1.0 goes to items).
SHARES = {"location": 0.15, "character": 0.35, "faction": 0.005}
CARRIED = 0.3  # share of new items that someone carries
PRICED = 0.2  # share of new items with a price

_ADJ = ("Tanners'", "Ropewalk", "Herring", "Lantern", "Cooper's", "Salt", "Chandlers'", "Gull",
        "Netmenders'", "Tidewater", "Pilchard", "Oakum", "Brine", "Mussel", "Anchor", "Widows'",
        "Smokehouse", "Caulkers'", "Lamplighters'", "Driftwood")
_PLACE = ("Row", "Court", "Yard", "Steps", "Alley", "Wharf", "Lane", "Close", "Stair", "Loft",
          "Cellar", "Landing", "Passage", "Square", "Slip", "Gate")
_FIRST = ("Agnes", "Bram", "Corin", "Dilys", "Edric", "Fen", "Greta", "Hob", "Isolde", "Jory",
          "Kit", "Linnet", "Morwen", "Nell", "Osric", "Pell", "Quenby", "Rook", "Sabine", "Tamsin",
          "Ulric", "Vesna", "Wat", "Yanna", "Zeb")
_LAST = ("Ashby", "Blackwood", "Carrow", "Dunmore", "Eastlake", "Fallow", "Gorse", "Hale",
         "Ivey", "Jessup", "Kettle", "Lowry", "Marsh", "Nettle", "Orme", "Penhallow", "Quarry",
         "Rudd", "Sallow", "Tregarth")
_TRADE = ("net-mender", "cooper", "fishwife", "lamplighter", "pilot", "chandler", "ropemaker",
          "tide-watcher", "gutting-girl", "smuggler", "sailmaker", "priest of the drowned")
_FEEL = ("narrow", "damp", "crowded", "quiet", "steep")
_SMELL = ("tar", "fish", "smoke", "wet stone")
_TRAITS = ("wary", "talkative", "greedy", "kind", "superstitious", "proud", "nosy", "tired",
           "cheerful", "bitter")
_GOALS = ("pay off a debt to the Guild", "find out what happened to Silas Crane",
          "get a berth on a deep-water ship", "keep the family boat",
          "learn who darkened the light")
_THINGS = ("coil of tarred rope", "gutting knife", "oilskin coat", "tin lantern",
           "cask of herring", "net float", "brass hook", "bundle of letters", "jar of lamp oil",
           "whalebone comb", "salt-stained ledger", "pewter cup")


def _name(parts: tuple[tuple[str, ...], ...], i: int) -> str:
    """The i-th unique name made of one word from each list (numbered once they run out)."""
    words, rest = [], i
    for options in parts:
        words.append(options[rest % len(options)])
        rest //= len(options)
    return " ".join(words) + (f" {rest + 1}" if rest else "")


class _Names:
    """Unique names per kind, never one the base world already uses."""

    def __init__(self, raw: dict[str, Any]):
        self.taken = {s: {e["name"].strip().lower() for e in raw.get(s) or []}
                      for s in ("locations", "characters", "items", "factions")}
        self.next = dict.fromkeys(self.taken, 0)

    def new(self, section: str, parts: tuple[tuple[str, ...], ...], fmt: str = "{}") -> str:
        while True:
            name = fmt.format(_name(parts, self.next[section]))
            self.next[section] += 1
            name = name[:1].upper() + name[1:]
            if name.lower() not in self.taken[section]:
                self.taken[section].add(name.lower())
                return name


def _new_ids(taken: set[str], prefix: str, n: int) -> list[str]:
    out, i = [], 0
    while len(out) < n:
        candidate = f"{prefix}{i}"
        if candidate not in taken:
            out.append(candidate)
        i += 1
    return out


def big_world(base: WorldSpec | str | Path, entities: int, seed: int = 0) -> WorldSpec:
    """``base`` grown to ``entities`` entities in all (at least the base's own).

    The result is a validated :class:`WorldSpec` whose id is ``<base id>-<entities>``.
    """
    spec = base if isinstance(base, WorldSpec) else load_world(base)
    raw: dict[str, Any] = spec.model_dump(mode="json", exclude_defaults=True)
    raw["world"]["id"] = f"{spec.world.id}-{entities}"[:64]
    have = sum(len(raw.get(s) or []) for s in ("locations", "characters", "items", "factions"))
    extra = max(entities - have, 0)
    counts = {kind: int(extra * share) for kind, share in SHARES.items()}
    counts["item"] = extra - sum(counts.values())
    rng = random.Random(seed * 1_000_003 + entities)
    taken = {e["id"] for s in ("locations", "characters", "items", "factions")
             for e in raw.get(s) or []}
    currency = spec.currency
    value = spec.attributes.get("value")
    price = "value" if value is not None and "item" in value.kinds else None

    for key in ("locations", "characters", "items", "factions", "relations"):
        raw.setdefault(key, [])
    names = _Names(raw)
    # Locations: a grid, its corner joined to the base world's first place.
    loc_ids = _new_ids(taken, "ward-", counts["location"])
    width = max(1, math.ceil(math.sqrt(len(loc_ids))))
    for i, lid in enumerate(loc_ids):
        connects = []
        if (i + 1) % width and i + 1 < len(loc_ids):
            connects.append(loc_ids[i + 1])
        if i + width < len(loc_ids):
            connects.append(loc_ids[i + width])
        if i == 0 and raw["locations"]:
            connects.append(raw["locations"][0]["id"])
        raw["locations"].append({
            "id": lid, "name": names.new("locations", (_ADJ, _PLACE)), "connects": connects,
            "description": f"A {rng.choice(_FEEL)} corner of the outer wards, smelling of "
                          f"{rng.choice(_SMELL)}."})
    places = [loc["id"] for loc in raw["locations"]]
    # Characters, spread evenly over every place.
    char_ids = _new_ids(taken, "townsfolk-", counts["character"])
    for cid in char_ids:
        entry: dict[str, Any] = {
            "id": cid, "name": names.new("characters", (_FIRST, _LAST)), "at": rng.choice(places),
            "description": f"A {rng.choice(_TRADE)} of the outer wards.",
            "traits": rng.sample(_TRAITS, 2), "goals": [rng.choice(_GOALS)],
        }
        if currency:
            entry["attributes"] = {currency: rng.randint(0, 30)}
        raw["characters"].append(entry)
    people = [c["id"] for c in raw["characters"] if c.get("alive", True)]
    # Items: most lie about, some are carried; a few have a price.
    for iid in _new_ids(taken, "goods-", counts["item"]):
        holder = rng.choice(char_ids or people) if rng.random() < CARRIED else rng.choice(places)
        entry = {"id": iid, "name": names.new("items", (_THINGS,)), "at": holder,
                 "description": "Ordinary harbour goods."}
        if price and rng.random() < PRICED:
            entry["attributes"] = {price: rng.randint(1, 40)}
        raw["items"].append(entry)
    faction_ids = _new_ids(taken, "guild-", counts["faction"])
    for fid in faction_ids:
        raw["factions"].append({"id": fid, "name": names.new("factions", (_ADJ,), "The {} Guild"),
                                "description": "A small guild of the outer wards."})
    # Relations: each newcomer knows someone; some belong to a guild.
    kinds = set(spec.relation_kinds)
    for cid in char_ids:
        if "knows" in kinds and len(people) > 1:
            other = rng.choice(people)
            if other != cid:
                raw["relations"].append({"source": cid, "relation": "knows", "target": other})
        if faction_ids and "member_of" in kinds and rng.random() < 0.2:
            raw["relations"].append({"source": cid, "relation": "member_of",
                                     "target": rng.choice(faction_ids)})
    return WorldSpec.model_validate(raw)


# ------------------------------------------------------------------ TOML out
def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _key(k: str) -> str:
    return k if k.replace("-", "").replace("_", "").isalnum() else json.dumps(k)


def to_toml(spec: WorldSpec) -> str:
    """A world file for ``spec`` (what ``load_world`` reads back as the same spec)."""
    raw = spec.model_dump(mode="json", exclude_defaults=True)
    out: list[str] = [f"# generated by scripts/bigworld.py from {spec.world.name}", ""]
    tables = {k: v for k, v in raw.items() if isinstance(v, dict) and k != "attributes"}
    for table, values in tables.items():
        if values:
            out.append(f"[{table}]")
            out += [f"{_key(k)} = {_value(v)}" for k, v in values.items()]
            out.append("")
    for name, d in (raw.get("attributes") or {}).items():
        out.append(f"[attributes.{_key(name)}]")
        out += [f"{_key(k)} = {_value(v)}" for k, v in d.items()]
        out.append("")
    # every array of tables the spec has (people, places, ..., goals, endings), in its order
    for section in (k for k, v in raw.items() if isinstance(v, list)):
        for entry in raw[section]:
            out.append(f"[[{section}]]")
            out += [f"{_key(k)} = {_value(v)}" for k, v in entry.items()]
            out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", help="a shipped world file, e.g. worlds/harbour.toml")
    ap.add_argument("--entities", "-n", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", "-o", type=Path, help="write the world file here (default: stdout)")
    ap.add_argument("--check", action="store_true", help="read the file back through the loader")
    args = ap.parse_args(argv)
    spec = big_world(args.base, args.entities, args.seed)
    text = to_toml(spec)
    if args.check:
        parse_world(text, str(args.out or "<generated>"))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"{args.out}: {args.entities} entities", file=sys.stderr)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
