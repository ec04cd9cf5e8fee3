"""How long does it take to open a save and get back to its head? Short save vs long save.

Builds one save with 100 events and one with 10,000 (snapshots every 50, the
default) in a temporary directory, then times, for each, the median of several
runs of:

* open          ``Save.open`` (header check, validation, write lock, WAL pragmas)
* open + state  open, then the state at the current head (nearest snapshot + replay):
                what resuming a game costs
* full log      the whole root-to-head event list (linear by nature; for reference)

Usage: python scripts/bench_store.py [--sizes 100 10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from simengine.store import Save
from simengine.world.ops import Adjust, Move, Transfer
from simengine.world.spec import WorldSpec

WORLD = {
    "world": {"id": "bench", "name": "Bench Crossing"},
    "attributes": {"gold": {"type": "int", "default": 0, "conserved": True}},
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
}
ROUTE = ("inn", "mill", "inn", "ford")


def build(path: Path, events: int) -> float:
    """Write a save with ``events`` events, each a real append with two logged calls."""
    start = time.perf_counter()
    with Save.create(path, WorldSpec.model_validate(WORLD)) as save:
        for n in range(1, events + 1):
            mover = "mara" if n % 2 else "silas"
            save.append(
                tick=n,
                kind="npc",
                actor=mover,
                intent=f"beat {n}",
                summary=f"Beat {n}.",
                ops=[
                    Move(entity=mover, to=ROUTE[n % 4]),
                    Adjust(entity="mara", attribute="gold", by=-1 if n % 2 else 1),
                    Adjust(entity="silas", attribute="gold", by=1 if n % 2 else -1),
                    Transfer(item="lantern", to=mover),
                ],
                narration=f"Beat {n} is told, at some length, as narration tends to be. " * 3,
                storyteller="procedural",
                calls=[
                    {"phase": "decide", "request": {"n": n}, "response": {"ok": True}},
                    {"phase": "narrate", "request": {"n": n}, "response": "..."},
                ],
            )
    return time.perf_counter() - start


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def measure(path: Path, repeat: int) -> dict[str, float]:
    def just_open() -> None:
        Save.open(path).close()

    def open_and_state() -> None:
        with Save.open(path) as save:
            save.state()

    def full_log() -> None:
        with Save.open(path, readonly=True) as save:
            save.log()

    return {
        "open": timed(just_open, repeat),
        "open + state": timed(open_and_state, repeat),
        "full log": timed(full_log, repeat),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for size in args.sizes:
            path = Path(tmp) / f"bench-{size}.db"
            took = build(path, size)
            mb = path.stat().st_size / 1e6
            print(f"built {size:>6} events in {took:6.2f} s ({mb:.1f} MB)", file=sys.stderr)
            results[size] = measure(path, args.repeat)
    labels = list(next(iter(results.values())))
    print(f"{'events':>8}  " + "  ".join(f"{label:>14}" for label in labels))
    for size, row in results.items():
        cells = "  ".join(f"{row[label] * 1000:11.2f} ms" for label in labels)
        print(f"{size:>8}  {cells}")
    if len(results) > 1:
        small, large = results[min(results)], results[max(results)]
        for label in ("open", "open + state"):
            print(f"{label}: the long save takes {large[label] / small[label]:.2f}x the short one")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
