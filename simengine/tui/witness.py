"""What the player witnessed: which beats the story log tells in full.

A beat is the player's own, touches the player (their character, their things),
or happens where the player stands (someone there acts, someone comes or
goes, something appears there): those are told in full. The rest happened
elsewhere; the log folds them into one line a tick unless the player asks to
see everything. Pure queries of :class:`~simengine.world.state.WorldState`; no
game rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simengine.store.events import Event
from simengine.world.ops import Op
from simengine.world.state import WorldState, location_along, up_holders


@dataclass(frozen=True)
class Vantage:
    """Where the player stood, and what was theirs, on one side of a beat."""

    player: str | None
    place: str | None = None
    actor_place: str | None = None
    things: frozenset[str] = frozenset()


def vantage(state: WorldState, actor: str | None) -> Vantage:
    """The player's vantage in ``state`` now (their things: everything they hold, nested)."""
    player = state.player if state.player in state else None
    if player is None:
        return Vantage(None)
    things: set[str] = set()
    todo = [player]
    while todo:  # a player carries a few things, some of them in others
        for item in state.contents(todo.pop()):
            if item not in things and state.kind(item) == "item":
                things.add(item)
                todo.append(item)
    actor_place = state.where(actor) if actor and actor in state else None
    return Vantage(player, state.where(player), actor_place, frozenset(things))


def ids_of(ops: Iterable[Op]) -> set[str]:
    """Every entity an op refers to or creates."""
    return {e for op in ops for e in op.touches()}


def witnessed(kind: str, ops: list[Op], summary: str, before: Vantage, after: Vantage,
              place_name: str = "") -> bool:
    """Did the player see (or feel) this beat? See the module docstring.

    Args:
        kind: the beat's kind (``player``, ``npc``, ``world``).
        ops: what the beat committed.
        summary: its one-line summary (a world beat without ops, such as the
            weather, is seen where it names the player's place).
        before, after: the player's vantage either side of the beat.
        place_name: the name of the player's place (for that summary check).
    """
    if kind == "player" or before.player is None:
        return True  # one's own turn; and with no player, one watches everything
    near = {before.player, before.place, after.place} | before.things | after.things
    near.discard(None)
    if ids_of(ops) & near:
        return True
    here = {before.place, after.place} - {None}
    if before.actor_place in here or after.actor_place in here:
        return True
    if kind == "world" and not ops:
        return bool(place_name) and place_name.lower() in summary.lower()
    return False


class Replay:
    """Vantages through a run of saved events, from the state before the first.

    The state is not replayed: only where people and things are, as the
    events' moves, transfers and creations change it.
    """

    def __init__(self, start: WorldState):
        self.state = start
        self.holders: dict[str, str | None] = {}
        self.kinds: dict[str, str] = {}  # of what the events create

    def holder(self, entity: str) -> str | None:
        if entity in self.holders:
            return self.holders[entity]
        return self.state.holder(entity) if entity in self.state else None

    def kind(self, entity: str) -> str | None:
        if entity in self.kinds:
            return self.kinds[entity]
        return self.state.kind(entity) if entity in self.state else None

    def where(self, entity: str | None) -> str | None:
        if entity is None:
            return None
        return location_along(entity, self.kind, self.holder)

    def holds(self, owner: str, item: str) -> bool:
        return up_holders(self.holder(item), owner, self.holder)

    def vantage(self, actor: str | None, ops: list[Op]) -> Vantage:
        player = self.state.player if self.state.player in self.state else None
        if player is None:
            return Vantage(None)
        things = frozenset(i for i in ids_of(ops) if self.holds(player, i))
        return Vantage(player, self.where(player), self.where(actor), things)

    def seen(self, event: Event) -> bool:
        """Was ``event`` witnessed? Then move past it."""
        before = self.vantage(event.actor, event.ops)
        for op in event.ops:
            new = op.brings()
            if new is not None and new.id:
                self.kinds[new.id] = new.kind
            placed = op.placed()
            if placed is not None:
                self.holders[placed[0]] = placed[1]
        after = self.vantage(event.actor, event.ops)
        name = self.state.name(before.place) if before.place else ""
        return witnessed(event.kind, event.ops, event.summary, before, after, name)
