"""The import tests' helpers (``importkit.py``), loaded under that name.

Tests run with ``--import-mode=importlib``, which keeps test folders off
``sys.path``, so the helpers are loaded here for the test modules to import.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

KIT_PATH = Path(__file__).with_name("importkit.py")
if "importkit" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("importkit", KIT_PATH)
    assert _spec and _spec.loader
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["importkit"] = _module
    _spec.loader.exec_module(_module)
