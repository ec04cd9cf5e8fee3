"""The words of a player's turn: steps, plans, names as they read, and lookups.

Shared by :mod:`simengine.storytellers.player` (planning) and
:mod:`simengine.storytellers.outcomes` (answers and explanations).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from simengine.storytellers.parser import Command
from simengine.world.ops import Op
from simengine.world.rules import Violation
from simengine.world.state import WorldState, normalize_name

HEALTH = ("health", "hp", "vitality", "vigour", "vigor", "stamina", "wellbeing")
MOOD = ("mood", "morale", "spirits", "temper", "happiness", "cheer")


def changeable_number(state: WorldState, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` the world defines as a changeable number on characters."""
    defs = state.attribute_defs()
    for name in names:
        d = defs.get(name)
        if d and d.numeric and not d.protected and not d.conserved and "character" in d.kinds:
            return name
    return None
HOSTILE = ("enemy_of", "rival_of", "distrusts")


@dataclass
class Step:
    """One command's part of a turn.

    ``you`` and ``they`` tell it in the second and third person, as it reads if
    its ops are committed; ``refusal`` is set when the step has no ops because
    the words name nothing the world can act on.
    """

    command: Command
    summary: str
    ops: list[Op] = field(default_factory=list)
    you: list[str] = field(default_factory=list)
    they: list[str] = field(default_factory=list)
    refusal: Violation | None = None
    meta: dict[str, object] = field(default_factory=dict)


@dataclass
class TurnPlan:
    """A player's whole line, planned."""

    steps: list[Step]
    addressee: str | None = None
    cue: str = ""
    named: tuple[str | None, str | None] = (None, None)  # the last thing, person

    @property
    def bundles(self) -> list[list[Op]]:
        return [s.ops for s in self.steps if s.ops]

    @property
    def summary(self) -> str:
        return "; ".join(s.summary for s in self.steps if s.summary)[:400]

    @property
    def refusals(self) -> list[Violation]:
        return [s.refusal for s in self.steps if s.refusal is not None]

    def step_of(self, op_index: int | None) -> Step | None:
        """The step whose ops hold the op numbered ``op_index`` in the proposal."""
        if op_index is None:
            return None
        n = 0
        for s in self.steps:
            if n <= op_index < n + len(s.ops):
                return s
            n += len(s.ops)
        return None


def typed(text: str, phrase: str) -> str:
    """``phrase`` as the player typed it (their capitals and article), found in ``text``."""
    import re

    m = re.search(r"\b(?:about|of|regarding|for)\s+(.+?)[.!?]*$", text, flags=re.I)
    if m and phrase and phrase.lower() in m.group(1).lower():
        return m.group(1)
    at = text.lower().find(phrase.lower()) if phrase else -1
    return text[at:at + len(phrase)] if at >= 0 else phrase


def refuse(rule: str, message: str) -> Violation:
    return Violation(rule, None, message)


# ----------------------------------------------------------------- names
def display(attribute: str | None) -> str:
    """An attribute as people say it: ``ration_credits`` -> ``ration credits``."""
    return (attribute or "coin").replace("_", " ").replace("-", " ")


def first_name(state: WorldState, e: str) -> str:
    name = state.name(e)
    return name.split()[0] if state.kind(e) == "character" and " " in name else name


def the(state: WorldState, e: str) -> str:
    """A name as it reads mid-sentence: a thing gets ``the``, a proper name none."""
    from simengine.storytellers.narration import ref  # one rule for articles

    return ref(state.name(e), state.kind(e))


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def listing(names: list[str], empty: str = "nothing") -> str:
    if not names:
        return empty
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def numbered_exits(state: WorldState, here: str) -> str:
    """``1 the Saltmarket, 2 the Fish Dock``: the numbers ``go N`` takes."""
    return ", ".join(f"{i} {the(state, x)}" for i, x in enumerate(state.exits(here), 1))


def _money(state: WorldState, who: str) -> int | float:
    cur = state.currency
    value = state.attr(who, cur) if cur else 0
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _currency(state: WorldState) -> str | None:
    cur = state.currency
    d = state.attribute_def(cur) if cur else None
    return cur if d is not None and d.numeric and "character" in d.kinds else None


def _matches(state: WorldState, ids: list[str], key: str, exact_only: bool = False) -> list[str]:
    """Ids named ``key`` exactly, else those whose name holds all its words."""
    exact, partial = [], []
    words = set(key.split())
    for e in ids:
        node = state.entity(e)
        names = {normalize_name(node["name"]), normalize_name(e.replace("-", " "))}
        names.update(normalize_name(a) for a in node.get("aliases", []))
        if key in names:
            exact.append(e)
        elif words and any(words <= set(n.split()) for n in names):
            partial.append(e)
    return exact if exact_only else (exact or partial)


def wide_match(state: WorldState, key: str, kind: str | None = None) -> list[str]:
    """Ids anywhere whose name or alias holds every word of ``key`` (from the name index)."""
    words = set(key.split())
    if not words:
        return []
    out: set[str] = set()
    for name, kinds in state.name_index().items():
        if words <= set(name.split()):
            out.update(e for k, ids in kinds.items() if kind in (None, k) for e in ids)
    return sorted(out)


def _typo(state: WorldState, ids: list[str], key: str) -> str | None:
    """The one id whose name or alias is a slip of the keys away from ``key``."""
    names: dict[str, str] = {}
    for e in ids:
        node = state.entity(e)
        for n in (node["name"], *node.get("aliases", [])):
            names.setdefault(normalize_name(n), e)
            for word in normalize_name(n).split():
                if len(word) > 3:
                    names.setdefault(word, e)
    hits = difflib.get_close_matches(key, list(names), n=2, cutoff=0.8)
    found = {names[h] for h in hits}
    return hits and len(found) == 1 and names[hits[0]] or None


@dataclass
class Found:
    """What a phrase names: one id, several (ambiguous), or none."""

    ids: list[str]
    elsewhere: str | None = None  # a known entity of that name, not in reach
    pronoun: bool = False  # "it" with nothing named before

    @property
    def one(self) -> str | None:
        return self.ids[0] if len(self.ids) == 1 else None
