"""A small world, deterministic beats and a writer process for the store tests.

Run as a script (``python storekit.py write SAVE SEED``) it is the child of the
kill test: it opens the save, prints ``ready`` and then appends, undoes, forks
and ends ticks forever, each change its own transaction, until it is killed.
"""

from __future__ import annotations

import ctypes
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

from simengine.store import Save
from simengine.world.ops import Adjust, Move, Transfer
from simengine.world.spec import WorldSpec

WORLD = {
    "world": {"id": "hollow", "name": "Hollow Crossing", "premise": "A ford, an inn, a mill."},
    "attributes": {"gold": {"type": "int", "min": 0, "default": 0, "conserved": True}},
    "locations": [
        {"id": "ford", "name": "The Ford", "connects": ["inn"]},
        {"id": "inn", "name": "The Inn", "connects": ["ford", "mill"]},
        {"id": "mill", "name": "The Mill", "connects": ["inn"]},
    ],
    "characters": [
        {"id": "mara", "name": "Mara", "at": "inn", "attributes": {"gold": 20}},
        {"id": "silas", "name": "Silas", "at": "inn", "attributes": {"gold": 10}},
    ],
    "items": [{"id": "lantern", "name": "a brass lantern", "at": "inn"}],
    "player": {"character": "mara"},
}
ROUTE = ("inn", "mill", "inn", "ford")
CALLS_PER_BEAT = 2


def make_spec() -> WorldSpec:
    return WorldSpec.model_validate(WORLD)


def beat_ops(n: int) -> list:
    """The ops of the beat at depth ``n``: a walk, a payment, the lantern changes hands."""
    mover = "mara" if n % 2 else "silas"
    payer, payee = ("mara", "silas") if n % 3 else ("silas", "mara")
    return [
        Move(entity=mover, to=ROUTE[n % len(ROUTE)]),
        Adjust(entity=payer, attribute="gold", by=-1),
        Adjust(entity=payee, attribute="gold", by=1),
        Transfer(item="lantern", to=mover),
    ]


def beat_calls(n: int) -> list[dict]:
    return [
        {
            "storyteller": "procedural",
            "model": None,
            "phase": "decide",
            "request": {"beat": n},
            "response": {"ops": len(beat_ops(n))},
            "accepted": True,
            "violations": [],
            "prompt_tokens": 10 * n,
            "completion_tokens": n,
            "latency_ms": 1.5,
        },
        {
            "storyteller": "procedural",
            "phase": "narrate",
            "request": {"beat": n},
            "response": f"Beat {n} is told.",
            "accepted": True,
        },
    ][:CALLS_PER_BEAT]


def append_beat(save: Save, n: int, *, branch: str | None = None):
    """Append the beat for depth ``n`` (its content is a function of ``n`` alone)."""
    return save.append(
        tick=n,
        kind="player" if n % 2 == 0 else "npc",
        actor="silas" if n % 2 == 0 else "mara",
        intent=f"beat {n}",
        summary=f"Beat {n} happens.",
        ops=beat_ops(n),
        narration=f"Beat {n} is told.",
        storyteller="procedural",
        calls=beat_calls(n),
        branch=branch,
    )


def add_beats(save: Save, count: int, *, branch: str | None = None) -> list:
    """Append ``count`` beats to a branch, continuing from its head's depth."""
    events = []
    for _ in range(count):
        head = save.head(branch)
        depth = save.event(head).depth if head is not None else 0
        events.append(append_beat(save, depth + 1, branch=branch))
    return events


def _drop_file_powers() -> None:
    """In a child of root: give up the powers that ignore file permissions, so a
    read-only file is read-only to it as to anyone (PR_CAPBSET_DROP of
    CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER; the exec applies it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):
        if libc.prctl(24, cap, 0, 0, 0) != 0:
            os._exit(97)


def can_make_read_only() -> bool:
    """Whether a child process here can be kept from writing a chmod-ed file."""
    if os.geteuid() != 0:
        return True
    probe = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=_drop_file_powers)
    return probe.returncode == 0


def run_cli(args: list[str], *, cwd: Path, read_only: bool = False, max_file_kb: int = 0):
    """``simengine ARGS`` in a child process, as a user would run it.

    Args:
        read_only: the child obeys file permissions even when the tests run as root.
        max_file_kb: the child's file size limit (``ulimit -f``), 0 for none.
    """

    def limits() -> None:
        if read_only and os.geteuid() == 0:
            _drop_file_powers()
        if max_file_kb:
            limit = max_file_kb * 1024
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "simengine", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limits,
    )


def write_forever(path: str, seed: int) -> None:
    rng = random.Random(seed)
    save = Save.open(path)
    print("ready", flush=True)
    forks = 0
    while True:
        roll = rng.random()
        head = save.head()
        depth = save.event(head).depth if head is not None else 0
        if roll < 0.08 and depth > 2:
            save.undo(rng.randint(1, 2))
        elif roll < 0.12:
            forks += 1
            name = f"f{seed}-{forks}"
            save.fork(name)
            save.switch(name)
        elif roll < 0.3:
            save.set_metas({"clock": {"head": head}})  # a tick's end, as a session writes it
        else:
            append_beat(save, depth + 1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["write"]:
        write_forever(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(f"usage: {Path(__file__).name} write SAVE SEED")
