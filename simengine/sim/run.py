"""Headless runs: a script of player turns, N ticks, a summary at the end."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from simengine.sim.session import Session, TickResult


class ScriptError(ValueError):
    """A script line that cannot be understood; the message names the line."""


@dataclass(frozen=True)
class Step:
    """One script step: a player's words, or ``/wait N`` ticks with none."""

    text: str | None
    wait: int = 0

    @property
    def ticks(self) -> int:
        return self.wait if self.text is None else 1


_WAIT = re.compile(r"^/wait(?:\s+(\S+))?\s*$")


def parse_script(text: str, name: str = "script") -> list[Step]:
    """Player turns, one a line. ``#`` starts a comment line; ``/wait N`` lets N ticks pass."""
    steps: list[Step] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("/"):
            match = _WAIT.match(line)
            if not match:
                raise ScriptError(
                    f"{name}:{number}: unknown command {line.split()[0]!r} (scripts know /wait N)"
                )
            count = match.group(1) or "1"
            if not count.isdigit() or not 1 <= int(count) <= 10_000:
                raise ScriptError(
                    f"{name}:{number}: /wait takes a whole number of ticks, "
                    f"1 to 10000 (got {count!r})"
                )
            steps.append(Step(None, int(count)))
        else:
            steps.append(Step(line))
    return steps


#: A script longer than this is not a script (and /dev/zero is not read forever).
MAX_SCRIPT_BYTES = 16 * 2**20


def load_script(path: str | Path) -> list[Step]:
    """The steps of a script file; only a regular file of sane size is read."""
    p = Path(path)
    try:
        if not stat.S_ISREG(p.stat().st_mode):
            raise ScriptError(f"cannot read script {p}: not a regular file (a FIFO, device or "
                              "folder); give the path of a text file")
        with p.open("rb") as fh:
            data = fh.read(MAX_SCRIPT_BYTES + 1)
        if len(data) > MAX_SCRIPT_BYTES:
            raise ScriptError(f"cannot read script {p}: larger than "
                              f"{MAX_SCRIPT_BYTES // 2**20} MB")
        return parse_script(data.decode("utf-8"), str(p))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"cannot read script {p}: {exc}") from None


def turns(steps: list[Step], ticks: int) -> list[str | None]:
    """The player's words for each of ``ticks`` ticks (None: no action that tick)."""
    out: list[str | None] = []
    for step in steps:
        out.extend([step.text] if step.text is not None else [None] * step.wait)
    out = out[:ticks]
    return out + [None] * (ticks - len(out))


async def run_ticks(
    session: Session,
    ticks: int,
    script: list[Step] | None = None,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_tick: Callable[[TickResult], None] | None = None,
) -> int:
    """Run ``ticks`` ticks (feeding the script's turns); returns how many ran.

    ``should_stop`` is asked between ticks, so a stop never cuts a tick in half; an
    ending (``session.ending``) stops the run too.
    """
    done = 0
    for words in turns(script or [], ticks):
        if should_stop() or session.ending is not None:
            break  # a stop between ticks, or the story has ended
        result = await session.step(words)
        done += 1
        if on_tick:
            on_tick(result)
    return done
