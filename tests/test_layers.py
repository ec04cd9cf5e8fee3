"""The layers import one way: the pure world never imports a UI, model or database."""

from __future__ import annotations

import ast
from pathlib import Path

import simengine

ROOT = Path(simengine.__file__).parent
FORBIDDEN = {
    "world": {"textual", "ollama", "sqlite_utils", "click", "httpx", "simengine.store",
              "simengine.storytellers", "simengine.sim", "simengine.cli", "simengine.tui"},
    "store": {"textual", "ollama", "click", "simengine.storytellers", "simengine.sim",
              "simengine.cli", "simengine.tui"},
    "storytellers": {"textual", "sqlite_utils", "simengine.store", "simengine.sim",
                     "simengine.cli", "simengine.tui"},
    "sim": {"textual", "simengine.cli", "simengine.tui"},
    "importers": {"textual", "ollama", "sqlite_utils", "click", "httpx", "simengine.store",
                  "simengine.storytellers", "simengine.sim", "simengine.cli", "simengine.tui",
                  "simengine.eval"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layers_import_one_way():
    offences = []
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            for name in imported_modules(path):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == []


def test_the_world_layer_checks_something():
    assert len(list((ROOT / "world").glob("*.py"))) >= 5
