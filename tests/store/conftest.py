"""Fixtures for the store tests: a small world and a fresh save on a temp file.

The tests run with ``--import-mode=importlib``, which keeps test directories off
``sys.path``; so this conftest loads the shared helpers of ``storekit.py`` under
that name for the test modules to import. (The kill test also runs
``storekit.py`` as a script: its child writer lives there.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

KIT_PATH = Path(__file__).with_name("storekit.py")
if "storekit" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("storekit", KIT_PATH)
    assert _spec and _spec.loader
    sys.modules["storekit"] = _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)

from storekit import make_spec  # noqa: E402

from simengine.store import Save  # noqa: E402
from simengine.world.spec import WorldSpec  # noqa: E402


@pytest.fixture
def spec() -> WorldSpec:
    return make_spec()


@pytest.fixture
def save(tmp_path, spec):
    """A writable save with snapshots every 5 events, closed after the test."""
    s = Save.create(tmp_path / "game.db", spec, snapshot_every=5)
    yield s
    s.close()
