"""What a rule is (:class:`Rule`), what breaking one gives (:class:`Violation`), whose beat it is.

A rule is one record: its id, the sentence a model and an author read (``says``),
what it applies to (op kinds, every op, the whole proposal) and its check. The
built-in rules (``op_rules``, ``proposal_rules``) and a world file's ``[[rules]]``
(``authored``) are all :class:`Rule` records; ``registry`` lists them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from simengine.world.ops import op_label
from simengine.world.spec import AttributeDef

if TYPE_CHECKING:
    from simengine.world.ops import OpBase
    from simengine.world.rules.checking import Checking
    from simengine.world.state import WorldState

#: ``applies_to`` for a rule every op meets, whatever its kind.
EVERY_OP = "every op"
#: ``applies_to`` for a rule checked once on the whole proposal, after its ops.
PROPOSAL = "the proposal"
TURNS: tuple[str, ...] = ("player", "npc", "world")
#: Whose fault breaking a rule is. ``world``: the world forbids what was asked (it cannot
#: be afforded, reached or known; an author's ``[[rules]]``): a repair can never make it
#: possible, only put another deed in its place. ``model``: the model's own mistake (a name
#: that names nothing, an op of the wrong shape, a deed beyond the beat's actor or the
#: player's scope): a repair may fix it.
Fault = Literal["world", "model"]
FAULTS: tuple[str, ...] = ("world", "model")

#: A rule's check: called with each op it applies to, and with None for the whole
#: proposal; it reports what it finds with ``checking.fail`` (or ``fail_at``).
Check = Callable[["Checking", "OpBase | None"], None]
#: The lines that teach a model the rule, worded for one world (none: not taught).
Teach = Callable[["WorldState"], list[str]]


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``str(v)`` is the message a model gets back for repair."""

    rule: str
    op_index: int | None
    message: str
    op_name: str | None = None
    suggestions: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = "proposal" if self.op_index is None else op_label(self.op_index, self)
        hint = f" (did you mean: {', '.join(self.suggestions)}?)" if self.suggestions else ""
        return f"{where}: {self.message}{hint}"

    @property
    def op(self) -> str | None:  # lets op_label read the op name
        return self.op_name

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "op_index": self.op_index,
            "message": str(self),
            "suggestions": list(self.suggestions),
        }


@dataclass(frozen=True)
class Turn:
    """Whose beat a proposal belongs to: the player's, an NPC's or the world's."""

    kind: Literal["player", "npc", "world"] = "world"
    actor: str | None = None


@dataclass(frozen=True)
class Rule:
    """One rule of the world, built in or written by an author.

    Attributes:
        id: what violations carry (``travel.adjacent``; an author rule's is ``world.<id>``).
        says: the sentence people read, in the README, ``simengine rules`` and refusals.
        applies_to: op kinds (``"move"``), :data:`EVERY_OP` and/or :data:`PROPOSAL`.
        check: ``check(checking, op)``; ``op`` is None for the whole proposal.
        turns: the beats it holds on (the player's scope only binds the player's turns).
        refuses: breaking it refuses the op, so the rules after it pass the op by (their
            checks may count on what earlier ones ensured). False: it only reports.
        always: it looks at every op, refused or not (the player's scope, the world's own
            rules: what they say holds whatever else is wrong with the op).
        teach: the lines a model reads for it, worded for the world; None: ``says``.
        source: ``engine`` or ``world`` (a world file's ``[[rules]]``).
        detail: words after ``applies_to`` for people (``move`` ``to crypt``).
        fault: whose fault breaking it is (:data:`Fault`): on a player's turn, only a
            ``model`` fault is worth a repair call (``sim/decide.py``).
    """

    id: str
    says: str
    applies_to: tuple[str, ...]
    check: Check
    turns: tuple[str, ...] = TURNS
    refuses: bool = True
    always: bool = False
    teach: Teach | None = None
    source: Literal["engine", "world"] = "engine"
    detail: str = ""
    fault: Fault = "model"

    def covers(self, op_kind: str) -> bool:
        """Whether the rule checks ops of this kind."""
        return EVERY_OP in self.applies_to or op_kind in self.applies_to

    @property
    def whole(self) -> bool:
        """Whether the rule checks the whole proposal too."""
        return PROPOSAL in self.applies_to

    @property
    def applies(self) -> str:
        """What it applies to, as the README and ``simengine rules`` say it."""
        text = ", ".join(self.applies_to) + (f" {self.detail}" if self.detail else "")
        if self.turns != TURNS:
            text += f" ({' and '.join(self.turns)} turns)"
        return text

    def lines(self, state: WorldState) -> list[str]:
        """How a model reads the rule in ``state``'s world."""
        return [self.says] if self.teach is None else self.teach(state)


def untaught(state: WorldState) -> list[str]:
    """``teach`` for a rule the prompt leaves to the engine (another line covers it, or
    models never try it)."""
    return []


def invention_budget(creativity: float) -> int:
    """How many new entities one proposal may invent: 0 at creativity 0, 4 at 1."""
    return math.floor(creativity * 4 + 1e-9)


def type_ok(d: AttributeDef, value: Any) -> bool:
    """Whether ``value`` is of the attribute's type."""
    if d.type == "bool":
        return isinstance(value, bool)
    if d.type == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if d.type == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


def fmt(n: Any) -> str:
    """A number as messages show it: ``5`` for 5.0."""
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)


def exactly(n: float) -> int | Fraction:
    """``n`` as an exact number: an int when whole (the usual case, and fast)."""
    if type(n) is int:
        return n
    if isinstance(n, float) and n.is_integer():
        return int(n)
    return Fraction(n)


def exact(n: int | Fraction) -> str:
    """An exact sum as messages show it."""
    if isinstance(n, int) or n.denominator == 1:
        return str(int(n))
    return fmt(float(n))
