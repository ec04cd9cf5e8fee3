"""Test tools: fixtures, a scripted storyteller, and the fake Ollama server.

The fake server is also the evaluation's adversarial model, a product feature, so
it lives in :mod:`simengine.eval`; its old names here stay importable for tests
(``simengine.testing.fake_ollama`` is ``simengine.eval.adversary``, the very module).
No production module imports this package.
"""

from __future__ import annotations

import sys

from simengine.eval import adversary as _adversary
from simengine.eval import hostile as _hostile
from simengine.eval import replies as _replies

# The same module objects under the old names: monkeypatching one patches the other.
sys.modules.setdefault(f"{__name__}.fake_ollama", _adversary)
sys.modules.setdefault(f"{__name__}.fake_replies", _replies)
sys.modules.setdefault(f"{__name__}.hostile", _hostile)
fake_ollama, fake_replies, hostile = _adversary, _replies, _hostile
