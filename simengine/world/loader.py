"""Loading world files (placeholder, being replaced by the full loader)."""
from __future__ import annotations

import tomllib
from pathlib import Path

from simengine.world.spec import WorldSpec


def load_world(path: str | Path) -> WorldSpec:
    return WorldSpec.model_validate(tomllib.loads(Path(path).read_text()))
