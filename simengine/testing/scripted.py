"""A scripted storyteller for tests: ``enqueue`` proposals, read ``history``."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

from simengine.storytellers.base import Intent, Scene, StorytellerError
from simengine.world.calls import Call
from simengine.world.ops import Proposal
from simengine.world.rules import Violation


class ScriptedStoryteller:
    """Answers ``propose`` from a queue; narrates a plain account of what was accepted.

    Queue items are Proposals, dicts in wire format, or a StorytellerError to raise.
    An empty queue proposes nothing, unless ``repeat_last`` is set.
    """

    def __init__(self, name: str = "scripted", *, repeat_last: bool = False):
        self.name = name
        self.queue: deque[Any] = deque()
        self.history: list[dict[str, Any]] = []
        self.repeat_last = repeat_last
        self._last: Any = None
        self._calls: list[Call] = []

    def enqueue(self, *items: Proposal | dict | StorytellerError) -> ScriptedStoryteller:
        self.queue.extend(items)
        return self

    async def propose(
        self, scene: Scene, intent: Intent, feedback: Sequence[Violation] = ()
    ) -> Proposal:
        self.history.append({"phase": "repair" if feedback else "decide", "intent": intent,
                             "feedback": [str(v) for v in feedback], "scene": scene})
        if self.queue:
            item = self._last = self.queue.popleft()
        elif self.repeat_last and self._last is not None:
            item = self._last
        else:
            item = Proposal(actor=intent.actor, summary="nothing happens")
        phase = "repair" if feedback else "decide"
        if isinstance(item, StorytellerError):
            self._calls.append(Call(storyteller=self.name, phase=phase, error=item.reason))
            raise item
        proposal = item if isinstance(item, Proposal) else Proposal.model_validate(item)
        self._calls.append(Call(storyteller=self.name, phase=phase,
                                request={"intent": intent.text},
                                response=proposal.model_dump(mode="json")))
        return proposal

    async def narrate(
        self, scene: Scene, accepted: Proposal, rejected: Sequence[Violation] = ()
    ) -> AsyncIterator[str]:
        self.history.append({"phase": "narrate", "accepted": accepted, "rejected": rejected})
        yield accepted.summary or "Time passes."
        if rejected:
            yield " But not everything goes as hoped."

    def drain_calls(self) -> list[Call]:
        calls, self._calls = self._calls, []
        return calls
