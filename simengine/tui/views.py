"""Plain, comparable pictures of the game for the panels to draw.

The play screen builds these from ``Session`` after every change and sets them
on the panels; a panel redraws only when its picture differs. No game rules
here: only queries of :class:`~simengine.world.state.WorldState`.
"""

from __future__ import annotations

from dataclasses import dataclass

from simengine.sim.session import Session
from simengine.world.state import WorldState
from simengine.world.text import number

PROCEDURAL_PREFIX = "procedural storyteller: "


@dataclass(frozen=True)
class SceneView:
    """Where the player stands and what is around."""

    place: str
    description: str = ""
    exits: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    dead: tuple[str, ...] = ()
    things: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlayerView:
    """The player's own sheet: name, numbers and labels, what they carry."""

    name: str
    alive: bool = True
    attributes: tuple[tuple[str, str], ...] = ()
    carrying: tuple[str, ...] = ()


@dataclass(frozen=True)
class CastMember:
    name: str
    place: str
    alive: bool = True
    here: bool = False
    invented: bool = False


@dataclass(frozen=True)
class BranchRow:
    name: str
    tick: int
    events: int
    current: bool = False
    unit: str = "tick"  # what the world calls a tick


@dataclass(frozen=True)
class StatusView:
    """The status line: the game on the left, the storyteller on the right."""

    world: str
    tick_label: str
    tick: int
    branch: str
    teller: str
    teller_detail: str = ""


def scene_view(state: WorldState) -> SceneView:
    player = state.player
    if player is None or player not in state:
        return SceneView("nowhere", "There is no player character in this world.")
    here = state.where(player)
    if here is None:
        return SceneView("nowhere")
    people = [c for c in state.people_at(here, alive=None) if c != player]
    return SceneView(
        place=state.name(here),
        description=str(state.entity(here).get("description") or ""),
        # Numbered as `go N` takes them.
        exits=tuple(f"{n} {state.name(x)}" for n, x in enumerate(state.exits(here), 1)),
        people=tuple(state.name(c) for c in people if state.is_alive(c)),
        dead=tuple(state.name(c) for c in people if not state.is_alive(c)),
        things=tuple(state.name(i) for i in state.things_at(here)),
    )


def player_view(state: WorldState) -> PlayerView:
    player = state.player
    if player is None or player not in state:
        return PlayerView("no player: you watch (ctrl+t lets time pass)")
    attributes = state.entity(player).get("attributes") or {}
    return PlayerView(
        name=state.name(player),
        alive=state.is_alive(player),
        attributes=tuple((k, _value(v)) for k, v in sorted(attributes.items())),
        carrying=tuple(state.name(i) for i in state.inventory(player)),
    )


def cast_view(state: WorldState) -> tuple[CastMember, ...]:
    """Everyone but the player: the people here first, then the living, then the dead."""
    player = state.player
    here = state.where(player) if player in state else None
    rows = []
    for c in state.characters():
        if c == player:
            continue
        place = state.where(c)
        node = state.entity(c)
        rows.append(CastMember(
            name=state.name(c),
            place=state.name(place) if place else "?",
            alive=state.is_alive(c),
            here=place is not None and place == here,
            invented=node.get("origin") == "invented",
        ))
    rows.sort(key=lambda r: (not r.alive, not r.here, r.name.lower()))
    return tuple(rows)


def relations_view(state: WorldState) -> tuple[str, ...]:
    """The player's relations as short phrases: "friend of Silas", "Ysolde suspects you"."""
    player = state.player
    if player is None or player not in state:
        return ()
    lines = []
    for source, relation, target in state.relations(player):
        words = relation.replace("_", " ")
        if source == player:
            lines.append(f"{words} {state.name(target)}")
        else:
            lines.append(f"{state.name(source)} {words} you")
    return tuple(lines)


@dataclass(frozen=True)
class GoalRow:
    """One goal of the story, and whether it is done (``whose``: empty for the player's)."""

    text: str
    done: bool
    whose: str = ""


@dataclass(frozen=True)
class GoalsView:
    """The story's goals, and the ending reached on this branch (if any)."""

    goals: tuple[GoalRow, ...]
    ending: str = ""  # "win: wreckers-named"


def goals_view(session: Session, everyone: bool = False) -> GoalsView | None:
    """The goals panel's picture: the player's goals (with ``everyone``, the other
    characters' too); None for a world without goals or endings."""
    story = session.story
    if not story:
        return None
    state = session.state
    rows = tuple(
        GoalRow(g.text, g.id in session.goals_done,
                state.name(g.who) if g.who and g.who in state else "")
        for g in story.goals if everyone or g.who is None)
    ending = session.ending
    return GoalsView(rows, f"{ending.kind}: {ending.id}" if ending else "")


def timeline_view(session: Session) -> tuple[BranchRow, ...]:
    """Every branch of the save with the tick and depth of its head."""
    rows = []
    current = session.branch
    unit = session.save.settings.world.tick
    for name, head in session.branches().items():
        event = session.save.event(head) if head is not None else None
        rows.append(BranchRow(name, event.tick if event else 0, event.depth if event else 0,
                              name == current, unit))
    return tuple(rows)


def status_view(session: Session, why: str, speed: float | None,
                fallen: str | None = None) -> StatusView:
    teller, detail = teller_status(session.storyteller.name, why, speed, fallen)
    spec = session.save.settings.world
    return StatusView(spec.name, spec.tick, session.tick, session.branch, teller, detail)


def teller_status(name: str, why: str, speed: float | None,
                  fallen: str | None = None) -> tuple[str, str]:
    """A short storyteller label for the status line, and the whole reason behind it.

    Args:
        name: the storyteller's name (``procedural``, ``ollama:MODEL``, ``replay``).
        why: the reason the storyteller was chosen (from ``choose``).
        speed: the last measured completion tokens per second, if any.
        fallen: why the model is out (the procedural storyteller tells every beat
            until it answers again), if it is.
    """
    if fallen:
        return f"procedural ({outage(fallen)})", f"{name} is out: {fallen}"
    if name.startswith("ollama:"):
        model = name.split(":", 1)[1]
        rate = f"{speed:.0f} tok/s" if speed else "– tok/s"
        return f"{model} · {rate}", why
    if name == "procedural":
        reason = why[len(PROCEDURAL_PREFIX):] if why.startswith(PROCEDURAL_PREFIX) else ""
        short = short_reason(reason)
        return (f"procedural · {short}" if short else "procedural"), why
    return name, why


def short_reason(reason: str) -> str:
    """The cause in a few words, for the status line (the log and /storyteller say it all)."""
    reason = reason.split(" — ")[0].strip()  # the advice after the dash is for the log
    if not reason or reason.startswith("procedural"):
        return ""
    if "not reachable" in reason:
        return "Ollama not reachable"
    if "did not answer" in reason:
        return "Ollama did not answer"
    if "is not pulled" in reason:
        model = reason.split("'")[1] if reason.count("'") >= 2 else "the model"
        return f"{model} not pulled"
    return reason if len(reason) <= 40 else reason[:39] + "…"


#: Fallback reasons that are not an outage: the model answered, but broke every rule.
NOT_AN_OUTAGE = ("every proposed change broke a rule",)


def is_outage(reason: str) -> bool:
    """Did the model fail to answer at all (not merely propose something refused)?"""
    return not reason.startswith(NOT_AN_OUTAGE)


def outage(reason: str) -> str:
    """An outage in two or three words: ``Ollama unreachable``, ``qwen2.5:3b not pulled``."""
    short = short_reason(reason)
    return "Ollama unreachable" if short == "Ollama not reachable" else short or "model out"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return number(value)
