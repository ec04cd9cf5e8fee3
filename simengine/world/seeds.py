"""One seed mixer: every RNG the engine splits off a seed is seeded through it.

Same parts, same seed, on every machine and run: the parts go through their
``repr`` into BLAKE2b, never through ``hash()`` (salted per process for strings).
"""

from __future__ import annotations

import hashlib


def mix_seed(*parts: object) -> int:
    """A 64-bit seed from any parts (ints, strings, None, tuples of them).

    Example: ``random.Random(mix_seed("schedule", seed, tick))``.
    """
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")
