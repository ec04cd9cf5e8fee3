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
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from simengine.storytellers.base import Intent, Scene, Storyteller
from simengine.world.calls import Call
from simengine.world.ops import Proposal


@dataclass
class Ahead:
    """One beat's first decide call, in flight; stands in for its storyteller in
    :func:`~simengine.sim.decide.decide`'s first round."""

    intent: Intent
    request: Any  # what the call sent (the storyteller's ``decide_request``)
    teller: Storyteller
    twin: Any
    task: asyncio.Task[Proposal]

    @property
    def name(self) -> str:
        return self.teller.name

    def fits(self, scene: Scene, teller: Storyteller, intent: Intent) -> bool:
        """Whether this call is the one the beat would make now."""
        return (teller is self.teller and intent == self.intent
                and teller.decide_request(scene, intent) == self.request)  # type: ignore[attr-defined]

    async def propose(self, scene: Scene, intent: Intent, feedback: Sequence[Any] = ()) -> Proposal:
        try:
            return await self.task
        finally:
            self.twin.release()  # the prompt sizes it learned, now, in beat order

    def drain_calls(self) -> list[Call]:
        return self.twin.drain_calls()



def ask_ahead(teller: Storyteller, scene: Scene, intent: Intent) -> Ahead | None:
    """Send ``intent``'s first decide call now, if ``teller`` can be asked ahead."""
    make, request = getattr(teller, "twin", None), getattr(teller, "decide_request", None)
    if make is None or request is None:
        return None
    twin = make()
    return Ahead(intent, request(scene, intent), teller, twin,
                 asyncio.ensure_future(twin.propose(scene, intent)))


async def drop_all(unused: Iterable[Ahead]) -> None:
    """Cancel calls asked ahead that no beat will use, and wait until they stop."""
    tasks = [a.task for a in unused]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)  # their errors: nobody's business
