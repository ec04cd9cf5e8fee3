"""Ollama hosts as capacity: ``--hosts URL=SLOTS,...``, a pool that hands them out,
and a guard that tells a host that stopped answering from a model that failed.

A run keeps one host for its whole life, so its prompt prefix stays in that
server's cache; the pool gives each new run the host with the most free slots
(a server's slots are its ``OLLAMA_NUM_PARALLEL``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from simengine.sim.executors.base import HostLost
from simengine.storytellers.base import StorytellerError
from simengine.storytellers.ollama import normalise_host


class HostsError(ValueError):
    """A ``--hosts`` value that cannot be read."""


@dataclass(frozen=True)
class Host:
    url: str
    slots: int


def parse_hosts(text: str) -> list[Host]:
    """``http://a:11434=2,http://b:11434=4`` -> hosts (a host without ``=N`` has 1 slot).

    Raises:
        HostsError: an empty entry, a bad slot count, or a host named twice.
    """
    hosts: list[Host] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            raise HostsError(f"--hosts has an empty entry in {text!r}; "
                             "write URL=SLOTS,URL=SLOTS (e.g. http://a:11434=2)")
        url, sep, slots = entry.rpartition("=")
        if not sep:
            url, slots = entry, "1"
        try:
            n = int(slots)
        except ValueError:
            raise HostsError(f"--hosts: {entry!r}: slots must be a whole number "
                             f"(the server's OLLAMA_NUM_PARALLEL), not {slots!r}") from None
        if n < 1:
            raise HostsError(f"--hosts: {entry!r}: a host needs at least 1 slot")
        url = normalise_host(url.strip())
        if any(h.url == url for h in hosts):
            raise HostsError(f"--hosts names {url} twice; give it once with all its slots")
        hosts.append(Host(url, n))
    return hosts


class HostPool:
    """Free slots per host; hosts that died are out of the pool for good."""

    def __init__(self, hosts: Sequence[Host]):
        self.hosts = list(hosts)
        self._free = {h.url: h.slots for h in self.hosts}
        self.lost: list[str] = []

    @property
    def slots(self) -> int:
        """Slots of the hosts still alive."""
        return sum(h.slots for h in self.hosts if h.url not in self.lost)

    @property
    def alive(self) -> bool:
        return self.slots > 0

    def acquire(self) -> str | None:
        """The live host with the most free slots (the first listed on a tie), or None."""
        best = None
        for h in self.hosts:
            free = self._free[h.url]
            if h.url not in self.lost and free > 0 and (best is None or free > self._free[best]):
                best = h.url
        if best is not None:
            self._free[best] -= 1
        return best

    def release(self, url: str | None) -> None:
        if url in self._free:
            self._free[url] += 1

    def lose(self, url: str) -> None:
        if url in self._free and url not in self.lost:
            self.lost.append(url)


def host_answers(host: str, timeout: float = 3.0, tries: int = 2) -> bool:
    """Does the Ollama server at ``host`` answer ``/api/version``?"""
    for _ in range(tries):
        try:
            if httpx.get(f"{host}/api/version", timeout=timeout).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
    return False


class HostWatch:
    """Wraps a model storyteller: a failure while its host is down is :class:`HostLost`.

    A model that fails while its server answers is the story's business (the
    beat falls back to the procedural storyteller, as in any run); a server that
    is gone is not, so the beat is not committed and the run moves to another
    host, which tells that beat as this one would have.
    """

    def __init__(self, inner: Any, host: str):
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "host", host)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.inner, name, value)  # e.g. Session hooks on_prompt_tokens

    async def _check(self) -> None:
        # Asked off the event loop: other runs told on it go on meanwhile.
        if not await asyncio.to_thread(host_answers, self.host):
            raise HostLost(self.host)

    def twin(self) -> HostWatch:
        """The inner storyteller's twin (see :mod:`simengine.sim.ahead`), watched alike."""
        return HostWatch(self.inner.twin(), self.host)

    async def propose(self, scene: Any, intent: Any, feedback: Any = ()) -> Any:
        try:
            return await self.inner.propose(scene, intent, feedback)
        except StorytellerError:
            await self._check()
            raise

    async def narrate(self, scene: Any, accepted: Any, rejected: Any) -> AsyncIterator[str]:
        try:
            async for chunk in self.inner.narrate(scene, accepted, rejected):
                yield chunk
        except StorytellerError:
            await self._check()
            raise
