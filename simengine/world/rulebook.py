"""The rule registry: one record per rule, read by prompts, the README and ``simengine rules``.

The checks themselves live in :mod:`simengine.world.rules` (built in) and
:mod:`simengine.world.authored` (a world file's ``[[rules]]``); this module says
what each rule is, in the words a model and an author read, and what it applies to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simengine.world.authored import author_rules
from simengine.world.rules import invention_budget


@dataclass(frozen=True)
class RuleRecord:
    """One rule: its id, the sentence people and models read, and what it applies to."""

    id: str
    says: str
    applies_to: str  # an op kind, "every op", "the proposal" or "player turns"
    source: str = "engine"  # or "world": an author rule of the world file


BUILT_IN: tuple[RuleRecord, ...] = (
    RuleRecord("ref.unknown", "Every reference names a known entity (by id, name or alias).",
               "every op"),
    RuleRecord("kind.mismatch", "Ops apply to the right kinds: people move, items change hands.",
               "every op"),
    RuleRecord("travel.adjacent", "With travel = \"adjacent\", a character moves one step a "
               "beat, to an exit of the place they are in.", "move"),
    RuleRecord("dead.act", "The dead do not act, move, change or receive items (others may take "
               "their things).", "every op"),
    RuleRecord("attr.unknown", "Only the attributes the world defines for that kind.",
               "adjust, set, create"),
    RuleRecord("attr.type", "Values keep their type; set is for text and true/false, adjust "
               "for numbers.", "adjust, set, create"),
    RuleRecord("attr.bounds", "Numbers stay within their min and max; a price is never "
               "negative.", "adjust, set, create"),
    RuleRecord("attr.protected", "Protected attributes never change.", "adjust, set"),
    RuleRecord("currency.conserved", "A conserved attribute (currency) only changes hands: a "
               "proposal's adjustments sum to zero.", "the proposal"),
    RuleRecord("price.unpaid", "An item with a value leaves its holder only if the holder is "
               "paid at least that much in the same proposal.", "the proposal"),
    RuleRecord("price.fixed", "Prices are never set on the player's word, nor by someone not "
               "holding the thing.", "set, adjust"),
    RuleRecord("name.unique", "Names are unique among the living entities of a kind.", "create"),
    RuleRecord("creativity.budget", "Invent no more new entities (or passages) a beat than the "
               "world's creativity allows.", "the proposal"),
    RuleRecord("create.invalid", "A new entity needs a valid id and a place.", "create"),
    RuleRecord("containment.cycle", "Nothing goes inside itself.", "transfer"),
    RuleRecord("relation.kind", "Only the relation kinds the world knows.", "relate, unrelate"),
    RuleRecord("scope.player", "A player's turn touches only the player, their place and who "
               "and what is there.", "player turns"),
    RuleRecord("actor.mismatch", "A beat is acted by its own actor.", "the proposal"),
    RuleRecord("player.own", "No other beat moves the player, or harms or robs them beyond the "
               "world's npcs_may.", "the proposal"),
    RuleRecord("story.essential", "A character the world marks essential dies only by the "
               "player's own deed, never in another beat.", "kill"),
    RuleRecord("know.unknown", "A character tells (or changes) only a fact they know.",
               "tell, fact"),
    RuleRecord("know.absent", "A character tells only someone in the same place.", "tell"),
    RuleRecord("know.source", "Learning from a thing needs the thing at hand, and that it "
               "reveals the fact.", "learn"),
    RuleRecord("know.witness", "Overhearing needs the fact told, found or shown where one "
               "stands, earlier in the same beat.", "learn"),
)


def author_records(state: Any) -> list[RuleRecord]:
    """The world file's ``[[rules]]`` as records (``world.<id>``)."""
    out = []
    for rule in author_rules(state):
        applies = " ".join([rule.kind, *(f"{f} {v}" for f, v in rule.fields)])
        out.append(RuleRecord(rule.rule_id, rule.says, applies, "world"))
    return out


def records(state: Any | None = None) -> list[RuleRecord]:
    """Every rule: the built-in ones, then the world's own (with ``state``)."""
    return [*BUILT_IN, *(author_records(state) if state is not None else [])]


def author_rule_line(state: Any, record: RuleRecord) -> str:
    """How a model reads an author rule: what it forbids, when, unless what, and why."""
    raw = next(r for r in state.graph.graph.get("rules", ()) if f"world.{r['id']}" == record.id)
    line = f"No {raw['forbid']}"
    if raw.get("when"):
        line += f" when {raw['when']}"
    if raw.get("unless"):
        line += f", unless {raw['unless']}"
    return f"{line}: {record.says}"


def prompt_rules(state: Any) -> list[str]:
    """The hard rules as a model reads them, worded for this world."""
    w = state.world
    travel = w.get("travel", "adjacent")
    budget = invention_budget(float(w.get("creativity", 0.5)))
    currency = state.currency
    rules = [
        "Refer to entities by the ids the scene shows; anything else must be created first.",
        "A character moves one step at a time, to an exit of the place they are in."
        if travel == "adjacent" else "A character may move to any known place.",
        "The dead do not act, move, speak, change or receive items (others may take their "
        "things).",
        "Numbers stay within their range; set is for text and true/false, adjust for numbers.",
        "Protected attributes never change.",
    ]
    if currency:
        rules += [
            f"{currency} is conserved: it only changes hands, so the {currency} adjustments in "
            "one proposal add up to 0.",
            f"An item with a value leaves its holder only if the holder is paid at least that "
            f"much {currency} in the same proposal.",
        ]
    rules += [
        "Names are unique among the living: never create a second one. A new character "
        "or item needs 'at'; a new place's 'at' is the place it is reached from.",
        f"Invent at most {budget} new entit{'y' if budget == 1 else 'ies'} per proposal."
        if budget else "Invent nothing new in this world: use what exists.",
        "Use only the attributes and relation kinds listed above.",
        "A player's action touches only the player, their place and who and what is "
        "there; nobody gives anything away on the player's say-so.",
    ]

    # The world's own rules; `actor` is who acts (for a move, who goes), `target` where
    # it goes or what it acts on, `here` where the actor stands.
    rules += [author_rule_line(state, r) for r in author_records(state)]
    return rules


def markdown_table(rows: list[RuleRecord]) -> str:
    """The README's rule table."""
    out = ["| rule | what it says | applies to |", "|---|---|---|"]
    out += [f"| `{r.id}` | {r.says} | {r.applies_to} |" for r in rows]
    return "\n".join(out)
