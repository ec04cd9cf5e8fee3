"""Loading world files, with errors a person can act on.

``load_world`` reports every problem in a file at once, each with the file,
the line (of the TOML syntax error, or of the offending key or table) and the
field path, and what was expected. Nothing here raises anything but
:class:`WorldFileError` for a bad file.
"""

from __future__ import annotations

import difflib
import re
import stat
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from simengine.world.conditions import ConditionError
from simengine.world.conditions import parse as parse_condition
from simengine.world.rules.authored import ForbidError, parse_forbid
from simengine.world.spec import (
    DEFAULT_RELATION_KINDS,
    ENTITY_SECTIONS,
    PRICE_ATTRIBUTE,
    AttributeDef,
    CharacterSpec,
    EndingSpec,
    FactionSpec,
    FactSpec,
    GoalSpec,
    ItemSpec,
    LocationSpec,
    LoreSpec,
    PlayerSpec,
    RelationSpec,
    RuleSpec,
    StorySpec,
    StorytellerSpec,
    WorldMeta,
    WorldSpec,
    fill_lore_ids,
    lower_bound,
)
from simengine.world.state import STRUCTURAL, normalize_name
from simengine.world.text import MAX_DEPTH, TooDeep, clean_data, clean_text, error_message

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class WorldProblem:
    """One thing wrong with a world file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return clean_text(text)  # file names and quoted lines may hold escapes


class WorldFileError(Exception):
    """A world file that cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: list[WorldProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


# ---------------------------------------------------------------- locations
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\")(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"))*)\s*="
)


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(
        part.strip().strip('"') for part in re.split(r"\.(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", key)
    )


class LineMap:
    """Where tables and keys sit in a TOML text, keyed like pydantic error locations."""

    def __init__(self, text: str):
        self.lines: dict[Loc, int] = {}
        self.text_lines = text.splitlines()  # to point at a column inside a value
        counters: Counter[tuple[str, ...]] = Counter()
        table: Loc = ()
        in_multiline = False
        for number, raw in enumerate(text.splitlines(), start=1):
            quotes = raw.count('"""') + raw.count("'''")
            if in_multiline:
                if quotes % 2 == 1:
                    in_multiline = False
                continue
            header = _HEADER.match(raw)
            if header and not raw.lstrip().startswith("#"):
                parts = _split_key(header.group(2))
                if header.group(1) == "[[":
                    index = counters[parts]
                    counters[parts] += 1
                    table = (*parts, index)
                else:
                    table = parts
                self.lines.setdefault(table, number)
                continue
            key = _KEY.match(raw)
            if key:
                self.lines.setdefault((*table, *_split_key(key.group(1))), number)
                if quotes % 2 == 1:
                    in_multiline = True

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest enclosing key or table."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            # An array of tables is keyed with its index: [[x]] is ("x", 0).
            inside = [n for key, n in self.lines.items() if key[: len(loc)] == loc]
            if inside:
                return min(inside)
            loc = loc[:-1]
        return None


def path_text(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ------------------------------------------------------------- schema errors
_SECTION_MODELS: dict[str, type[BaseModel]] = {
    "world": WorldMeta,
    "storyteller": StorytellerSpec,
    "player": PlayerSpec,
    "story": StorySpec,
    "locations": LocationSpec,
    "characters": CharacterSpec,
    "items": ItemSpec,
    "factions": FactionSpec,
    "relations": RelationSpec,
    "lore": LoreSpec,
    "facts": FactSpec,
    "rules": RuleSpec,
    "goals": GoalSpec,
    "endings": EndingSpec,
}
#: Sections written as arrays of tables that are not entities.
_TABLE_LISTS = ("relations", "lore", "facts", "rules", "goals", "endings")


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The pydantic model whose fields an (unknown) key at ``loc`` was meant for."""
    parent = loc[:-1]
    if not parent:
        return WorldSpec
    if parent[0] == "attributes":
        return AttributeDef if len(parent) == 2 else None
    model = _SECTION_MODELS.get(str(parent[0]))
    if model is None:
        return None
    depth = 2 if parent[0] in ENTITY_SECTIONS or parent[0] in _TABLE_LISTS else 1
    return model if len(parent) == depth else None


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _describe(err: dict[str, Any], attribute_names: list[str]) -> str:
    kind, loc, given = err["type"], tuple(err["loc"]), err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc)
        options = list(model.model_fields) if model else []
        if model is FactSpec:  # its text is spelled `text` in [[facts]]
            options = ["text" if o == "content" else o for o in options]
        allowed = f" (allowed: {', '.join(options)})" if options else ""
        return f"unknown key '{loc[-1]}'{_did_you_mean(str(loc[-1]), options)}{allowed}"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch":
        return (
            f"ids are slugs: lower-case letters, digits, '-' and '_', starting with a letter "
            f"or digit (got {given!r})"
        )
    if kind == "literal_error":
        return f"{err['msg'][0].lower()}{err['msg'][1:]} (got {given!r})"
    msg = err["msg"]
    return f"{msg[0].lower()}{msg[1:]} (got {given!r})"


def _schema_problems(
    exc: ValidationError, prefix: Loc, file: str, lines: LineMap
) -> list[WorldProblem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *err["loc"])
        err = {**err, "loc": loc}
        # For a union of value types pydantic reports one error per member: keep one.
        if err["type"] in ("bool_type", "int_type", "float_type", "string_type") and len(loc) > 1:
            if isinstance(loc[-1], str) and loc[-1] in ("bool", "int", "float", "str"):
                loc = loc[:-1]
                err = {**err, "loc": loc, "msg": "Input should be a bool, a number or a string"}
        out.append(WorldProblem(file, lines.line_of(loc), path_text(loc), _describe(err, [])))
    return list(dict.fromkeys(out))  # the value-type union can repeat itself


def _validate_partial(
    raw: dict[str, Any], file: str, lines: LineMap
) -> tuple[WorldSpec | None, list[WorldProblem], set[str], dict[str, list[int]]]:
    """Validate section by section so one bad entry does not hide the others' problems.

    Returns the spec built from what validated, the schema problems, the ids of
    every entry written in the file (valid or not) so references to a broken entry
    are not reported twice, and for each section the file positions of the entries kept.
    """
    problems: list[WorldProblem] = []
    written_ids = {
        str(e["id"])
        for section in (*ENTITY_SECTIONS,)
        for e in (raw.get(section) or [])
        if isinstance(e, dict) and "id" in e
    }
    top = {k: v for k, v in raw.items() if k not in (*ENTITY_SECTIONS, *_TABLE_LISTS)}
    lists: dict[str, list] = {}
    for section in (*ENTITY_SECTIONS, *_TABLE_LISTS):
        value = raw.get(section, [])
        if not isinstance(value, list):
            problems.append(
                WorldProblem(
                    file,
                    lines.line_of((section,)),
                    section,
                    f"expected a list of tables ([[{section}]])",
                )
            )
            value = []
        model = _SECTION_MODELS[section]
        good = []
        for index, entry in enumerate(value):
            try:
                good.append(model.model_validate(entry))
            except ValidationError as exc:
                problems.extend(_schema_problems(exc, (section, index), file, lines))
                good.append(None)
        lists[section] = good
    spec = None
    try:
        spec = WorldSpec.model_validate(top)
    except ValidationError as exc:
        problems.extend(_schema_problems(exc, (), file, lines))
        # Keep going with the defaults so the entity checks below still run.
        try:
            spec = WorldSpec.model_validate(
                {
                    "world": {"id": "x", "name": "x"},
                    **{
                        k: v
                        for k, v in top.items()
                        if k not in {str(e["loc"][0]) for e in exc.errors()}
                    },
                }
            )
        except ValidationError:
            spec = None
    if spec is None:
        return None, problems, written_ids, {}
    for section, entries in lists.items():
        setattr(spec, section, [e for e in entries if e is not None])
    fill_lore_ids(spec.lore)
    positions = {
        section: [i for i, e in enumerate(entries) if e is not None]
        for section, entries in lists.items()
    }
    return spec, problems, written_ids, positions


# ----------------------------------------------------------- semantic errors
class _Semantics:
    def __init__(
        self,
        spec: WorldSpec,
        file: str,
        lines: LineMap,
        written: set[str],
        positions: dict[str, list[int]],
    ):
        self.spec = spec
        self.file = file
        self.lines = lines
        self.written = written
        self.positions = positions
        self.out: list[WorldProblem] = []
        self.warned: list[WorldProblem] = []
        self.kind_of: dict[str, str] = {}

    def add(self, loc: Loc, message: str) -> None:
        self.out.append(WorldProblem(self.file, self.lines.line_of(loc), path_text(loc), message))

    def warn(self, loc: Loc, message: str) -> None:
        self.warned.append(
            WorldProblem(self.file, self.lines.line_of(loc), path_text(loc), message)
        )

    def loc(self, section: str, index: int, *rest: str | int) -> Loc:
        positions = self.positions.get(section)
        original = positions[index] if positions else index
        return (section, original, *rest)

    def run(self) -> list[WorldProblem]:
        self.ids()
        self.attribute_defs()
        self.references()
        self.cycles()
        self.attribute_values()
        self.names()
        self.spec._warnings = self.warned  # the spec carries them to `simengine validate`

        self.lore()
        self.facts()
        self.author_rules()
        self.story()
        return self.out

    def ids(self) -> None:
        first: dict[str, Loc] = {}
        for section, kind in ENTITY_SECTIONS.items():
            for i, e in enumerate(getattr(self.spec, section)):
                loc = self.loc(section, i, "id")
                if e.id in first:
                    self.add(
                        loc,
                        f"duplicate id '{e.id}' (first used at {path_text(first[e.id])}, "
                        f"line {self.lines.line_of(first[e.id])})",
                    )
                    continue
                first[e.id] = loc
                self.kind_of[e.id] = kind

    def attribute_defs(self) -> None:
        for name, d in self.spec.attributes.items():
            loc: Loc = ("attributes", name)
            if d.min is not None and d.max is not None and d.min > d.max:
                self.add((*loc, "min"), f"min {d.min} is greater than max {d.max}")
            if (d.conserved or d.min is not None or d.max is not None) and not d.numeric:
                what = "conserved" if d.conserved else "min/max"
                self.add(
                    (*loc, "type"), f"{what} needs a numeric type (int or float), not {d.type}"
                )
            elif d.conserved and d.type != "int":
                self.add((*loc, "type"), f"a conserved attribute (money) must be an int, not "
                         f"{d.type}: amounts of money have to add up exactly")
            if name == PRICE_ATTRIBUTE and d.min is not None and d.min < 0:
                self.warn((*loc, "min"), f"'{name}' is the price of things and prices are never "
                          f"negative: a min of {d.min:g} lets an item carry a negative number, "
                          "which counts as 0 when it changes hands")
            if d.default is not None:
                problem = _value_problem(d, d.default, name)
                if problem:
                    self.add((*loc, "default"), f"default {problem}")
                elif d.conserved and d.default != 0:
                    self.add((*loc, "default"), "a conserved attribute starts at 0 for "
                             "newcomers (money only changes hands): make the default 0")
        for j, kind in enumerate(self.spec.world.relation_kinds):
            if kind in STRUCTURAL:
                self.add(("world", "relation_kinds", j), f"'{kind}' is built in (placement "
                         "and passages); relation kinds are for how entities stand to each other")
        cur = self.spec.world.currency
        if cur and (cur not in self.spec.attributes or not self.spec.attributes[cur].conserved):
            self.add(
                ("world", "currency"),
                f"currency '{cur}' must name a conserved attribute in [attributes]",
            )

    def ref(self, loc: Loc, target: str, allowed: tuple[str, ...], hint: str = "") -> None:
        kind = self.kind_of.get(target)
        what = " or ".join(allowed) if len(allowed) < 4 else "entity"
        if kind is None:
            if target in self.written:
                return  # the target itself is broken and already reported
            options = sorted(e for e, k in self.kind_of.items() if k in allowed)
            self.add(loc, f"unknown {what} '{target}'{hint}{_did_you_mean(target, options)}")
        elif kind not in allowed:
            self.add(loc, f"'{target}' is a {kind}; expected a {what}{hint}")

    def references(self) -> None:
        s = self.spec
        for i, loc_ in enumerate(s.locations):
            for j, other in enumerate(loc_.connects):
                if other == loc_.id:
                    self.add(
                        self.loc("locations", i, "connects", j), "a place cannot connect to itself"
                    )
                else:
                    self.ref(self.loc("locations", i, "connects"), other, ("location",))
        for i, c in enumerate(s.characters):
            self.ref(
                self.loc("characters", i, "at"),
                c.at,
                ("location",),
                " (characters stand in locations)",
            )
        for i, it in enumerate(s.items):
            self.ref(self.loc("items", i, "at"), it.at, ("location", "character", "item"))
        for i, r in enumerate(s.relations):
            if r.relation in STRUCTURAL:
                hint = "characters' and items' `at`" if r.relation == "at" else "`connects`"
                self.add(self.loc("relations", i, "relation"),
                         f"'{r.relation}' is not a relation kind; use {hint} instead")
                continue
            for field in ("source", "target"):
                self.ref(
                    self.loc("relations", i, field),
                    getattr(r, field),
                    ("character", "location", "item", "faction"),
                )
        if s.player:
            self.ref(("player", "character"), s.player.character, ("character",))
            dead = {c.id for c in s.characters if not c.alive}
            if s.player.character in dead:
                self.add(("player", "character"), f"the player '{s.player.character}' is dead")

    def cycles(self) -> None:
        index = {it.id: i for i, it in enumerate(self.spec.items)}
        for it in self.spec.items:
            if it.at == it.id:
                self.add(self.loc("items", index[it.id], "at"),
                         f"'{it.id}' cannot be inside itself")
        holder = {it.id: it.at for it in self.spec.items if it.at != it.id}
        for ring in containment_cycles(holder):
            chain = " -> ".join([*ring, ring[0]])
            self.add(self.loc("items", index[ring[0]], "at"), f"containment cycle: {chain}")

    def attribute_values(self) -> None:
        defs = self.spec.attributes
        for section, kind in ENTITY_SECTIONS.items():
            for i, e in enumerate(getattr(self.spec, section)):
                for name, value in e.attributes.items():
                    loc = self.loc(section, i, "attributes", name)
                    d = defs.get(name)
                    if d is None:
                        self.add(
                            loc,
                            f"attribute '{name}' is not defined in [attributes]"
                            f"{_did_you_mean(name, list(defs))}",
                        )
                    elif kind not in d.kinds:
                        self.add(
                            loc,
                            f"attribute '{name}' is defined for {', '.join(d.kinds)}, "
                            f"not for a {kind} (add it to kinds)",
                        )
                    else:
                        problem = _value_problem(d, value, name)
                        if problem:
                            self.add(loc, problem)

    def names(self) -> None:
        for section in ENTITY_SECTIONS:
            seen: dict[str, tuple[str, str]] = {}
            for i, e in enumerate(getattr(self.spec, section)):
                if not getattr(e, "alive", True):
                    continue
                key = normalize_name(e.name)
                if not key:
                    self.add(self.loc(section, i, "name"),
                             f"the name {e.name!r} has no letters or digits")
                    continue
                if key in seen:
                    first_id, first_name = seen[key]
                    if first_name == e.name:
                        named = f"are named '{e.name}' ('{first_id}' and '{e.id}')"
                    else:  # look-alikes: spell them out so the hidden difference shows
                        named = (f"have names that look the same: {ascii(first_name)} "
                                 f"('{first_id}') and {ascii(e.name)} ('{e.id}')")
                    self.add(
                        self.loc(section, i, "name"),
                        f"two living {section} {named}; names must be unique",
                    )
                else:
                    seen[key] = (e.id, e.name)

    def lore(self) -> None:
        first: dict[str, int] = {}
        for i, entry in enumerate(self.spec.lore):
            if entry.id in first:
                self.add(self.loc("lore", i, "id"), f"duplicate lore id '{entry.id}' (first "
                         f"used by lore[{first[entry.id]}])")
            else:
                first[str(entry.id)] = int(self.loc("lore", i)[1])
            if entry.enabled and not entry.constant and not entry.keys:
                self.add(self.loc("lore", i, "keys"), "a lore entry needs keys (the words "
                         "that bring it into a prompt) or constant = true")

    def facts(self) -> None:
        """Fact ids unique among facts and entities; who knows them and what reveals them exist."""
        owner: dict[str, Loc] = {}
        for i, entry in enumerate(self.spec.lore):
            owner.setdefault(str(entry.id), self.loc("lore", i))
        for i, entry in enumerate(self.spec.facts):
            fid, loc = str(entry.id), self.loc("facts", i, "id")
            if fid in owner:
                self.add(loc, f"duplicate fact id '{fid}' (first used by "
                         f"{path_text(owner[fid])}, line {self.lines.line_of(owner[fid])})")
            elif fid in self.kind_of:
                self.add(loc, f"'{fid}' is already the id of a {self.kind_of[fid]}; "
                         "a fact needs an id of its own")
            owner.setdefault(fid, self.loc("facts", i))
        for section in ("lore", "facts"):
            for i, entry in enumerate(getattr(self.spec, section)):
                for j, who in enumerate(entry.known_by or ()):
                    self.ref(self.loc(section, i, "known_by", j), who, ("character",))
        facts = self.fact_ids()
        for i, item in enumerate(self.spec.items):
            for j, fid in enumerate(item.reveals):
                if fid not in facts:
                    self.add(self.loc("items", i, "reveals", j), f"unknown fact '{fid}'"
                             f"{_did_you_mean(fid, facts)}")

    def fact_ids(self) -> list[str]:
        """The ids facts have in the world's state (what conditions and items name)."""
        return [node for node, _ in self.spec.fact_nodes()]

    def author_rules(self) -> None:
        """``[[rules]]``: ids unique, ``forbid`` an op kind with real fields, conditions parse."""
        ids = self.entity_ids
        first: dict[str, int] = {}
        for i, rule in enumerate(self.spec.rules):
            if rule.id in first:
                self.add(self.loc("rules", i, "id"), f"duplicate rule id '{rule.id}' (first "
                         f"used by rules[{first[rule.id]}])")
            else:
                first[rule.id] = int(self.loc("rules", i)[1])
            try:
                parse_forbid(rule.forbid, {*ids, *self.fact_ids()})
            except ForbidError as exc:
                self.add(self.loc("rules", i, "forbid"), str(exc))
            for key in ("when", "unless"):
                self.condition(self.loc("rules", i, key), getattr(rule, key))

    def condition(self, loc: Loc, text: str | None, goals: list[str] | None = None) -> None:
        """Report a condition that does not parse, at its file column."""
        if text is None:
            return
        try:
            parse_condition(text, ids=self.entity_ids, relations=self.spec.relation_kinds,
                            attributes=self.spec.attributes, goals=goals or [],
                            facts=self.fact_ids())
        except ConditionError as exc:
            column = self.column(loc, text, exc.column)
            self.add(loc, f"column {column}: {exc.message} (in {text!r})")

    @cached_property
    def entity_ids(self) -> set[str]:
        return {e.id for section in ENTITY_SECTIONS for e in getattr(self.spec, section)}

    def story(self) -> None:
        """``[[goals]]`` and ``[[endings]]``: ids unique, conditions parse, owners exist."""
        goal_ids = [g.id for g in self.spec.goals]
        for section, entries, key in (("goals", self.spec.goals, "done"),
                                      ("endings", self.spec.endings, "when")):
            first: dict[str, int] = {}
            for i, entry in enumerate(entries):
                if entry.id in first:
                    self.add(self.loc(section, i, "id"), f"duplicate {section[:-1]} id "
                             f"'{entry.id}' (first used by {section}[{first[entry.id]}])")
                else:
                    first[entry.id] = int(self.loc(section, i)[1])
                self.condition(self.loc(section, i, key), getattr(entry, key), goal_ids)
        for i, goal in enumerate(self.spec.goals):
            if goal.who is not None:
                self.ref(self.loc("goals", i, "who"), goal.who, ("character",))

    def column(self, loc: Loc, text: str, inner: int) -> int:
        """The file column of position ``inner`` (from 1) of a one-line string value."""
        number = self.lines.line_of(loc)
        if number is None or number > len(self.lines.text_lines):
            return inner
        line = self.lines.text_lines[number - 1]
        start = line.find(text, line.find("=") + 1)
        return start + inner if start >= 0 else inner


def containment_cycles(holder: Mapping[str, str]) -> list[list[str]]:
    """Every loop in ``holder`` (thing -> what holds it), each from its least id.

    Each thing has one holder, so following holders from every thing, never
    twice over the same thing, finds every loop in linear time: a chain of
    thousands of items inside each other costs thousands of steps, not millions.
    """
    rings: list[list[str]] = []
    done: set[str] = set()
    for first in holder:
        path: dict[str, int] = {}
        current = first
        while current in holder and current not in done and current not in path:
            path[current] = len(path)
            current = holder[current]
        if current in path:  # this walk closed a loop of its own
            ring = list(path)[path[current]:]
            start = ring.index(min(ring))
            rings.append(ring[start:] + ring[:start])
        done.update(path)
    return rings


def _value_problem(d: AttributeDef, value: Any, name: str = "") -> str | None:
    types = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}[d.type]
    if isinstance(value, bool) and d.type != "bool" or not isinstance(value, types):
        article = "an" if d.type == "int" else "a"
        return f"expected {article} {d.type}, got {value!r}"
    if d.numeric:
        low = lower_bound(name, d)
        if low is not None and value < low:
            implied = " (a price is never negative unless min says so)" if d.min is None else ""
            return f"{value} is below the minimum {low:g}{implied}"
        if d.max is not None and value > d.max:
            return f"{value} is above the maximum {d.max:g}"
    return None


# ---------------------------------------------------------------- entry points
_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
#: A world file larger than this is refused before it is read (the biggest shipped
#: world is a few KB; a grown 100,000-entity world is about 20 MB).
MAX_WORLD_BYTES = 64 * 1024 * 1024


def _quote(line: str, column: int) -> str:
    """``line`` and a caret under ``column`` (1-based), indented under the message."""
    shown, caret = "", 0
    for i, ch in enumerate(line.expandtabs(4) if "\t" in line else line):
        printable = ch.isprintable()
        shown += ch if printable else "?"
        if i < column - 1:
            caret += 2 if printable and unicodedata.east_asian_width(ch) in "WF" else 1
    return f"\n    {clean_text(shown, one_line=True)}\n    {' ' * caret}^"


def _key_at(text: str, line_no: int) -> str | None:
    """The key a line belongs to (``characters[1].description``), when there is one."""
    lines = text.splitlines()
    if not 1 <= line_no <= len(lines):
        return None
    table: Loc = ()
    counters: Counter[tuple[str, ...]] = Counter()
    for raw in lines[: line_no - 1]:
        header = _HEADER.match(raw)
        if header and not raw.lstrip().startswith("#"):
            parts = _split_key(header.group(2))
            if header.group(1) == "[[":
                table = (*parts, counters[parts])
                counters[parts] += 1
            else:
                table = parts
    key = _KEY.match(lines[line_no - 1])
    loc = (*table, *_split_key(key.group(1))) if key else table
    return path_text(loc) or None


def _syntax_problem(exc: tomllib.TOMLDecodeError, text: str, file: str) -> WorldProblem:
    message = str(exc)
    match = _TOML_POS.search(message)
    message = _TOML_POS.sub("", message).strip()
    if not match:
        return WorldProblem(file, getattr(exc, "lineno", None), "", f"TOML syntax: {message}")
    line, column = int(match.group(1)), int(match.group(2))
    lines = text.splitlines()
    key = _key_at(text, line)
    where = f" in {key}" if key else ""
    quoted = _quote(lines[line - 1], column) if line <= len(lines) else ""
    return WorldProblem(
        file, line, "", f"TOML syntax: {message} (column {column}){where}{quoted}"
    )


def _deep_line(text: str, limit: int) -> int | None:
    """The first line where brackets and braces nest deeper than ``limit``."""
    depth, line, quote = 0, 1, ""
    for ch in text:
        if ch == "\n":
            line += 1
            quote = "" if quote in ('"', "'") else quote
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return line
        elif ch in "]}":
            depth = max(0, depth - 1)
    return None


def parse_world(text: str, file: str = "<world>") -> WorldSpec:
    """Parse and check a world file's text. Raises WorldFileError listing every problem."""
    try:
        raw = clean_data(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise WorldFileError([_syntax_problem(exc, text, file)]) from None
    except (RecursionError, TooDeep):
        raise WorldFileError([WorldProblem(
            file, _deep_line(text, MAX_DEPTH), "",
            f"tables or arrays nested more than {MAX_DEPTH} deep; a world file needs a few levels",
        )]) from None
    lines = LineMap(text)
    spec, problems, written, positions = _validate_partial(raw, file, lines)
    if spec is not None:
        problems.extend(_Semantics(spec, file, lines, written, positions).run())
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise WorldFileError(problems)
    assert spec is not None
    return spec


def read_world_text(path: str | Path) -> str:
    """The text of a world file, refusing what is not a regular file of sane size.

    A FIFO or a device (``/dev/zero``) would be read forever, so only regular
    files are opened, and at most :data:`MAX_WORLD_BYTES` of them is read.
    """
    p = Path(path)

    def fail(message: str) -> WorldFileError:
        return WorldFileError([WorldProblem(str(p), None, "", message)])

    try:
        st = p.stat()
        if stat.S_ISDIR(st.st_mode):
            raise fail("is a directory, not a world file")
        if not stat.S_ISREG(st.st_mode):
            what = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else
                    "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                    "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise fail(f"is {what}, not a world file (give the path of a .toml file)")
        if st.st_size > MAX_WORLD_BYTES:
            raise fail(f"is {st.st_size:,} bytes; a world file may be at most "
                       f"{MAX_WORLD_BYTES // 2**20} MB")
        with p.open("rb") as fh:
            data = fh.read(MAX_WORLD_BYTES + 1)
        if len(data) > MAX_WORLD_BYTES:  # it grew, or st_size did not tell (/proc)
            raise fail(f"is larger than {MAX_WORLD_BYTES // 2**20} MB; too big for a world file")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise fail("no such file") from None
    except IsADirectoryError:
        raise fail("is a directory, not a world file") from None
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise fail(f"cannot read: {error_message(exc)}") from None
def world_warnings(spec: WorldSpec, file: str = "<world>", text: str = "") -> list[
        tuple[str, WorldProblem]]:
    """What a loadable world may still lack, as ``(level, problem)``; level is ``error``
    (nothing can happen in it) or ``warning`` (it runs headless, but not as meant).

    Not part of :func:`parse_world`: such a world still loads, for tests and tools.
    """
    lines = LineMap(text)
    out: list[tuple[str, WorldProblem]] = []
    if not spec.locations:
        out.append(("error", WorldProblem(file, None, "locations", "the world has no "
                                          "[[locations]]: nobody can stand anywhere and "
                                          "nothing can happen")))
    if spec.player is None:
        out.append(("warning", WorldProblem(file, None, "player", "no [player] character: "
                                            "`simengine play` can only watch; `run` and "
                                            "`batch` tell the story headless")))
    declared = {*DEFAULT_RELATION_KINDS, *spec.world.relation_kinds}
    for i, r in enumerate(spec.relations):
        if r.relation not in declared and r.relation not in STRUCTURAL:
            loc: Loc = ("relations", i, "relation")
            out.append(("warning", WorldProblem(
                file, lines.line_of(loc), path_text(loc),
                f"relation kind '{r.relation}' is not declared in world.relation_kinds "
                f"(nor built in: {', '.join(DEFAULT_RELATION_KINDS)}); add it there")))
    return out


def load_world(path: str | Path) -> WorldSpec:
    """Load a world file. Raises WorldFileError (never anything else) for a bad file."""
    return parse_world(read_world_text(path), str(Path(path)))
