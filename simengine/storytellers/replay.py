"""Cassettes: record a run's model exchanges, and answer from them later.

A cassette is a JSONL file. The first line is a header
(``{"cassette": 1, "storyteller": "ollama:qwen2.5:3b", ...}``); every other
line is one storyteller-level exchange, in the order it finished:

``{"n": 3, "phase": "decide", "digest": "...", "by": "...", "messages": [...],
"reply": {"content": "..."}}``

``reply`` is ``{"content": raw text}`` for a decide/repair that produced a
proposal, ``{"error": reason}`` for one that failed (so a replay fails at the
same beat and the engine falls back the same way), and ``{"chunks": [...],
"error": reason or null}`` for a narration. ``digest`` hashes the phase, the
messages and the schema, so a replay notices when it is asked something the
recording never was.

:class:`ReplayStoryteller` answers ``propose`` and ``narrate`` from a cassette
with no server. It builds the same messages as the Ollama storyteller, takes
the first unused exchange with the same digest (normally the next one; a later
one when beats in flight finished in another order) and raises
:class:`~simengine.storytellers.base.StorytellerError` on a mismatch or when
the cassette runs out.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from simengine.storytellers.base import Intent, Scene, StorytellerError
from simengine.storytellers.drift import Retell, narrate_request
from simengine.storytellers.prompts import (
    ReplyInvalid,
    parse_proposal,
    propose_request,
)
from simengine.world.calls import Call
from simengine.world.ops import Proposal
from simengine.world.rules import Violation
from simengine.world.text import error_message

CASSETTE_VERSION = 1


def request_digest(phase: str, messages: list[dict[str, str]], schema: Any = None) -> str:
    """A short, stable hash of what a storyteller asked."""
    blob = json.dumps({"phase": phase, "messages": messages, "format": schema},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class CassetteRecorder:
    """Appends each exchange to a JSONL cassette as it finishes.

    Args:
        path: the cassette file: created (with its parent folder) exclusively, or,
            if it exists, replaced only when it is a cassette (or empty); any other
            file (a save, a world file) is refused, never truncated.
        storyteller: the recorded storyteller's name, for the header (else the
            ``by`` of the first exchange).
        model: the model, for the header.
        append: add to an existing cassette instead of starting a new one.

    Raises:
        StorytellerError: the path holds something that is not a cassette, or
            cannot be written.
    """

    def __init__(self, path: str | Path, storyteller: str | None = None, *,
                 model: str | None = None, append: bool = False):
        self.path = Path(path)
        self.storyteller = storyteller
        self.model = model
        self.count = 0
        self._lock = threading.Lock()
        self._header_written = _claim_cassette(self.path, keep=append)
        if self._header_written:
            self.count = sum(1 for _ in _exchanges(self.path))

    def record(self, phase: str, messages: list[dict[str, str]], schema: Any,
               reply: dict[str, Any], *, by: str | None = None) -> None:
        """Write one exchange (thread-safe; flushed at once so a crash keeps it)."""
        with self._lock:
            lines = []
            if not self._header_written:
                self.storyteller = self.storyteller or by
                lines.append({"cassette": CASSETTE_VERSION, "storyteller": self.storyteller,
                              "model": self.model})
                self._header_written = True
            lines.append({"n": self.count, "phase": phase,
                          "digest": request_digest(phase, messages, schema), "by": by,
                          "messages": messages, "reply": reply})
            self.count += 1
            with self.path.open("a", encoding="utf-8") as f:
                for line in lines:
                    f.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")


def _claim_cassette(path: Path, *, keep: bool) -> bool:
    """Make ``path`` an empty cassette (or keep its exchanges); True when it has a header.

    A new file is created with ``O_EXCL``, so nothing that appeared meanwhile is
    replaced; an existing one is checked through the descriptor that truncates
    it, so what is checked is what is truncated.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StorytellerError(f"cannot record to {path}: {error_message(exc)}") from None
    else:
        os.close(fd)
        return False
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError as exc:
        raise StorytellerError(f"cannot record to {path}: {error_message(exc)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StorytellerError(f"cannot record to {path}: it is not a regular file")
        first = os.pread(fd, 4096, 0).split(b"\n", 1)[0]
        if first.strip() and not _is_header(first):
            raise StorytellerError(
                f"refusing to record to {path}: it exists and is not a cassette (its first "
                "line is no cassette header); name a new file, e.g. run.jsonl"
            )
        if keep and first.strip():
            return True
        os.ftruncate(fd, 0)
        return False
    finally:
        os.close(fd)


def _is_header(line: bytes) -> bool:
    try:
        head = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(head, dict) and "cassette" in head


def _exchanges(path: Path) -> list[dict[str, Any]]:
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise StorytellerError(f"cassette {path} line {i} is not JSON: {exc.msg}") from None
        if isinstance(entry, dict) and "phase" in entry:
            out.append(entry)
    return out


def read_cassette(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(header, exchanges) of a cassette file."""
    p = Path(path)
    if not p.exists():
        raise StorytellerError(f"no cassette at {p} — record one with `--record {p}`")
    header: dict[str, Any] = {}
    first = p.read_text(encoding="utf-8").split("\n", 1)[0]
    if first.strip():
        try:
            head = json.loads(first)
        except json.JSONDecodeError:
            head = {}
        if isinstance(head, dict) and "cassette" in head:
            if head["cassette"] != CASSETTE_VERSION:
                raise StorytellerError(
                    f"cassette {p} is version {head['cassette']}; this simengine reads "
                    f"version {CASSETTE_VERSION}"
                )
            header = head
    return header, _exchanges(p)


def _first_difference(recorded: list[dict[str, str]], asked: list[dict[str, str]]) -> str:
    old = "\n".join(f"{m.get('role')}: {m.get('content')}" for m in recorded).splitlines()
    new = "\n".join(f"{m.get('role')}: {m.get('content')}" for m in asked).splitlines()
    for line in difflib.unified_diff(old, new, lineterm="", n=0):
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++")):
            return line[:160]
    return "(same text, different schema)"


class ReplayStoryteller:
    """Answers from a recorded cassette, with no server.

    Args:
        path: the cassette.
        name: the name events are told under (default: the recorded
            storyteller's, so a replayed event log matches the original).
        strict: a request whose digest matches no unused exchange is an error;
            with ``strict=False`` the next exchange of that phase answers anyway.
    """

    #: The player's decide call proposes how the people there react, too (the prompt
    #: asks for it), so a player's turn needs no separate reaction beat.
    reactions_in_turn = True

    def __init__(self, path: str | Path, *, name: str | None = None, strict: bool = True):
        self.path = Path(path)
        self.header, self.exchanges = read_cassette(self.path)
        self.name = name or self.header.get("storyteller") or "replay"
        self.strict = strict
        self.voice = "third"  # as the recorded teller was told (the session sets it)
        #: Fed the recorded prompt token counts, as the live teller fed its server's.
        self.on_prompt_tokens: Any = None
        self._used = [False] * len(self.exchanges)
        self._calls: list[Call] = []
        self._replies: OrderedDict[Intent, str] = OrderedDict()

    @property
    def remaining(self) -> int:
        return self._used.count(False)

    def drain_calls(self) -> list[Call]:
        calls, self._calls = self._calls, []
        return calls

    def _take(self, phase: str, messages: list[dict[str, str]], schema: Any) -> dict[str, Any]:
        digest = request_digest(phase, messages, schema)
        unused = [i for i, used in enumerate(self._used) if not used]
        if not unused:
            raise StorytellerError(
                f"cassette {self.path} is exhausted: all {len(self.exchanges)} exchanges were "
                f"replayed and a {phase} call asked for one more — the run went further than "
                "the recording"
            )
        match = next((i for i in unused if self.exchanges[i].get("digest") == digest), None)
        if match is None and not self.strict:
            match = next((i for i in unused if self.exchanges[i].get("phase") == phase), None)
        if match is None:
            head = self.exchanges[unused[0]]
            diff = _first_difference(head.get("messages") or [], messages)
            raise StorytellerError(
                f"cassette {self.path} does not match this run at exchange {head.get('n')}: "
                f"recorded a {head.get('phase')} call, asked a {phase} call with a different "
                f"request (first difference: {diff}) — the world, seed or prompts changed"
            )
        self._used[match] = True
        entry = self.exchanges[match]
        counted = (entry.get("reply") or {}).get("prompt_tokens")
        if self.on_prompt_tokens and isinstance(counted, int) and counted > 0:
            self.on_prompt_tokens(sum(len(m.get("content") or "") for m in messages), counted)
        self._calls.append(Call(storyteller="replay", model=self.header.get("model"),
                                      phase=phase, request={"digest": digest, "n": entry.get("n")},
                                      response=entry.get("reply"), latency_ms=0.0,
                                      error=(entry.get("reply") or {}).get("error")))
        return entry.get("reply") or {}

    async def propose(
        self, scene: Scene, intent: Intent, feedback: Sequence[Violation] = ()
    ) -> Proposal:
        phase, messages, schema = propose_request(scene, intent, feedback,
                                                  self._replies.get(intent))
        reply = self._take(phase, messages, schema)
        if reply.get("error"):
            raise StorytellerError(reply["error"])
        content = reply.get("content")
        if not isinstance(content, str):
            raise StorytellerError(f"cassette {self.path}: a {phase} exchange without content")
        try:
            proposal = parse_proposal(content)
        except ReplyInvalid as exc:  # only a hand-edited cassette gets here
            raise StorytellerError(
                f"cassette {self.path}: recorded reply invalid: {exc.reason}"
            ) from None
        self._replies[intent] = content
        while len(self._replies) > 64:
            self._replies.popitem(last=False)
        return proposal

    retells = True

    async def narrate(
        self, scene: Scene, accepted: Proposal, rejected: Sequence[Violation] = (),
        retell: Retell | None = None,
    ) -> AsyncIterator[str]:
        messages = narrate_request(scene, accepted, rejected, self.voice, retell)
        reply = self._take("narrate", messages, None)
        for chunk in reply.get("chunks") or []:
            yield chunk
