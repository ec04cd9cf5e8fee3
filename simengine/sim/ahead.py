"""Beats asked ahead: a tick's later decide calls sent while its earlier beats are told.

A tick's beats commit one after another, each on the world the one before left.
Against a model server that answers several requests at once (a batch, a server
with several slots), waiting for each beat's call before sending the next leaves
it idle. So as a tick starts, each later beat's scene is built on the world as it
stands and its first decide call is sent at once, on a twin of its storyteller
(``twin()``: same settings, its own call log). When the beat's turn comes its
scene is built again; if the request it makes is the one already sent (the usual
case for people elsewhere), the answer on its way is used, else it is dropped and
the call made again. The request is compared, not the scene: a scene also carries
what no model reads (the session's memory of every event, this tick's events
beside the ones its text shows), and those change with every beat. Either way the
beat gets the answer to the very request it would have sent in turn, so the story
is the one told without asking ahead, for a model that answers one request one
way (Ollama with a seed, the fake server, a replay): same seed, same story.

Only storytellers with a ``twin`` and a ``decide_request`` (what a first decide
call sends) are asked ahead (a model's; the procedural one costs nothing to wait
for), and only when the session says so: a player's own server with one slot
would only queue calls that may be dropped.

Runs told on one event loop (a model-backed batch) share the server's
:class:`Slots`: every call waits in one line for an idle slot (a beat's own
calls through :class:`Metered`), the runs furthest behind first and, at one
tick, a call a beat waits for before one asked ahead; so a call asked ahead
never queues at the server before one some beat is waiting for, and one
dropped before it went cost nothing. Every run then asks ahead each later beat
whose scene nobody told before it acts in (the session's ``_ask_ahead``): the
slots the others leave idle (a run between calls, runs that finished) go to
whoever has a call to make, which keeps the last runs of a batch from being
told one call after another on an idle server.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from simengine.storytellers.base import Intent, Scene, Storyteller
from simengine.world.calls import Call
from simengine.world.ops import Proposal


class Slots:
    """A model server's slots as the runs told on one event loop use them.

    Every call waits in one line for an idle slot and holds it while in flight;
    the line puts the calls of the runs furthest behind (the lowest tick) first,
    and at one tick a beat's own call before one asked ahead: the batch ends
    when its last run does, so the runs ahead leave the slots to it. A call
    asked ahead whose beat's turn has come goes at once (:meth:`now`).
    """

    def __init__(self, slots: int):
        self.slots = max(1, slots)
        self.busy = 0
        self._line: list[tuple[int, int, int, asyncio.Future[None]]] = []
        self._asked = itertools.count()

    def wait(self, tick: int, ahead: bool = False) -> asyncio.Future[None]:
        """A place in line for a call of a beat of ``tick``; done when the call may
        go (it then holds a slot, given back with :meth:`free`)."""
        turn = asyncio.get_running_loop().create_future()
        heapq.heappush(self._line, (tick, int(ahead), next(self._asked), turn))
        self._wake()
        return turn

    @contextlib.asynccontextmanager
    async def held(self, tick: int) -> AsyncIterator[None]:
        """A beat's own call holds a slot while in flight."""
        turn = self.wait(tick)
        try:
            await turn
            yield
        finally:
            if turn.done() and not turn.cancelled():
                self.free()

    def now(self, turn: asyncio.Future[None]) -> None:
        """The beat is waiting for this call: it goes now, idle slot or not."""
        if not turn.done():
            turn.set_result(None)
            self.busy += 1

    def free(self) -> None:
        self.busy -= 1
        self._wake()

    def _wake(self) -> None:
        while self._line and self.busy < self.slots:
            turn = heapq.heappop(self._line)[-1]
            if not turn.done():  # (a cancelled one: its call was dropped before it went)
                turn.set_result(None)
                self.busy += 1


class Metered:
    """A model storyteller whose calls each wait for and hold one of ``slots``.

    Its twins are not metered: a call asked ahead takes its place in line in
    :func:`ask_ahead`.
    """

    def __init__(self, inner: Any, slots: Slots):
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "slots", slots)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.inner, name, value)  # e.g. Session hooks on_prompt_tokens

    async def propose(self, scene: Scene, intent: Intent, feedback: Sequence[Any] = ()) -> Any:
        async with self.slots.held(scene.tick):
            return await self.inner.propose(scene, intent, feedback)

    async def narrate(self, scene: Scene, *args: Any, **kwargs: Any) -> AsyncIterator[str]:
        async with self.slots.held(scene.tick):
            async for chunk in self.inner.narrate(scene, *args, **kwargs):
                yield chunk


@dataclass
class Ahead:
    """One beat's first decide call, in flight; stands in for its storyteller in
    :func:`~simengine.sim.decide.decide`'s first round."""

    intent: Intent
    request: Any  # what the call sent (the storyteller's ``decide_request``)
    teller: Storyteller
    twin: Any
    task: asyncio.Task[Proposal]
    slots: Slots | None = None
    turn: asyncio.Future[None] | None = None  # its place in the slots' line

    @property
    def name(self) -> str:
        return self.teller.name

    def fits(self, scene: Scene, teller: Storyteller, intent: Intent) -> bool:
        """Whether this call is the one the beat would make now."""
        return (teller is self.teller and intent == self.intent
                and teller.decide_request(scene, intent) == self.request)  # type: ignore[attr-defined]

    async def propose(self, scene: Scene, intent: Intent, feedback: Sequence[Any] = ()) -> Proposal:
        if self.slots is not None and self.turn is not None:
            self.slots.now(self.turn)  # the beat waits for it: no longer spare work
        try:
            return await self.task
        finally:
            self.twin.release()  # the prompt sizes it learned, now, in beat order

    def drain_calls(self) -> list[Call]:
        return self.twin.drain_calls()



def ask_ahead(teller: Storyteller, scene: Scene, intent: Intent,
              slots: Slots | None = None) -> Ahead | None:
    """Send ``intent``'s first decide call now (with ``slots``: when its turn in
    their line comes), if ``teller`` can be asked ahead."""
    make, request = getattr(teller, "twin", None), getattr(teller, "decide_request", None)
    if make is None or request is None:
        return None
    twin = make()
    turn = slots.wait(scene.tick, ahead=True) if slots is not None else None
    return Ahead(intent, request(scene, intent), teller, twin,
                 asyncio.ensure_future(_asked(twin, scene, intent, slots, turn)), slots, turn)


async def _asked(twin: Any, scene: Scene, intent: Intent, slots: Slots | None,
                 turn: asyncio.Future[None] | None) -> Proposal:
    try:
        if turn is not None:
            await turn
        return await twin.propose(scene, intent)
    finally:
        if slots is not None and turn is not None and turn.done() and not turn.cancelled():
            slots.free()  # it held a slot (even if dropped the moment it got one)


async def drop_all(unused: Iterable[Ahead]) -> None:
    """Cancel calls asked ahead that no beat will use, and wait until they stop."""
    tasks = [a.task for a in unused]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)  # their errors: nobody's business
