"""Crafted replies of a hostile model or server, for the fake Ollama's ``hostile`` mode.

A hostile server tries what issue 10 found: terminal escapes, NUL and lone
surrogates in the names and summaries a model writes; JSON nested thousands
deep (in a chat reply, a stream chunk, ``/api/version``); ``/api/tags`` of the
wrong shape; streams that trickle or never end. :mod:`simengine.eval.adversary`
serves these (its ``hostile`` mode, :class:`~simengine.eval.adversary.Fault`'s
``raw``, ``trickle`` and ``flood``, and :meth:`FakeOllama.override`); this
module only says what they contain, so tests can look for it afterwards.
"""

from __future__ import annotations

import json
import random
from typing import Any

#: An OSC sequence that retitles a terminal, and one that clears the screen.
RETITLE = "\x1b]0;PWNED\x07"
CLEAR = "\x1b[2J\x1b[H"
#: What must never reach a terminal, a save, or an export.
POISON = (RETITLE, CLEAR, "\x00", "\ud800", "\x9b", "\x07")
#: A word every poisoned text carries, so tests can find where it went.
MARK = "Hesk"


def poisoned(text: str) -> str:
    """``text`` with escapes, a NUL, a C1 control and a lone surrogate woven in."""
    return f"{RETITLE}{text}{CLEAR}\x00 \ud800{MARK}\x9b31m\x07"


def hostile_proposal(proposal: dict[str, Any], facts: dict[str, Any],
                     rng: random.Random) -> str:
    """A plausible ``proposal`` whose summary and new thing's name are poisoned.

    Serialized with the control characters raw (``ensure_ascii=False``), as a
    model's text would carry them; the HTTP layer escapes them into the JSON body
    and the client hands them back raw.
    """
    p = json.loads(json.dumps(proposal))
    p["summary"] = poisoned(p.get("summary") or "Something happens")
    here = facts.get("location")
    if here:
        p["ops"] = [*p.get("ops", []), {
            "op": "create", "kind": "item", "at": here,
            "name": f"{RETITLE}Lamp\x00 of {MARK}\ud800 {rng.randint(1, 999)}",
            "description": poisoned("a lamp that was not there before"),
        }]
    return json.dumps(p, ensure_ascii=False)


def hostile_prose(prose: str) -> str:
    """Narration with escapes, NUL and a lone surrogate in it."""
    return poisoned(prose) + " The end."


def deep_json(depth: int = 100_000) -> str:
    """A JSON text nested ``depth`` deep: an object holding lists holding lists..."""
    return '{"message": ' + "[" * depth + "]" * depth + "}"


def deep_chunk(depth: int = 100_000) -> str:
    """A stream chunk line nested ``depth`` deep (it parses as JSON, too deep to read)."""
    return '{"model": "m", "message": {"role": "assistant", "content": ' + "[" * depth \
        + "]" * depth + '}, "done": false}'
