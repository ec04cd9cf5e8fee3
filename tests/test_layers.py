"""The layers import one way, as /work/shared/DESIGN.md's table says, and nothing imports testing.

Each layer lists the simengine layers it may import; any other simengine import
is an offence, and so is a UI, model or database library where it does not belong.
"""

from __future__ import annotations

import ast
from pathlib import Path

import simengine

ROOT = Path(simengine.__file__).parent
LAYERS = ("cli", "tui", "sim", "importers", "eval", "storytellers", "store", "world", "testing")

#: The intended arrows (DESIGN.md, "Layers"): cli/tui -> sim -> storytellers/eval/importers,
#: store -> world. A layer may always import itself and the package root's version.
MAY_IMPORT: dict[str, set[str]] = {
    "cli": {"tui", "sim", "importers", "eval", "storytellers", "store", "world"},
    "tui": {"cli", "sim", "importers", "eval", "storytellers", "store", "world"},
    "sim": {"storytellers", "store", "world", "eval"},
    "importers": {"world"},
    "eval": {"storytellers", "world"},
    "storytellers": {"world"},
    "store": {"world"},
    "world": set(),
    "testing": set(LAYERS),
}
#: Third-party libraries that belong to one layer only.
LIBRARIES: dict[str, set[str]] = {
    "world": {"textual", "ollama", "sqlite_utils", "click", "httpx", "rich"},
    "store": {"textual", "ollama", "click", "httpx"},
    "storytellers": {"textual", "sqlite_utils", "click"},
    "importers": {"textual", "ollama", "sqlite_utils", "click", "httpx"},
    "eval": {"textual", "sqlite_utils", "click"},
    "sim": {"textual", "click"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            names.add(".")  # relative imports hide the layer: not allowed
    return names


def offences_of(layer: str, root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted((root / layer).rglob("*.py")):
        where = path.relative_to(root)
        for name in imported_modules(path):
            if name == ".":
                out.append(f"{where} uses a relative import")
                continue
            parts = name.split(".")
            if parts[0] == "simengine" and len(parts) > 1 and parts[1] in LAYERS:
                if parts[1] != layer and parts[1] not in MAY_IMPORT[layer]:
                    out.append(f"{where} imports {name}")
            elif parts[0] in LIBRARIES.get(layer, set()):
                out.append(f"{where} imports {name}")
    return out


def test_every_folder_is_a_known_layer():
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(LAYERS), f"a new layer needs a row in DESIGN.md and here: {folders}"


def test_layers_import_one_way():
    offences = [o for layer in LAYERS for o in offences_of(layer)]
    assert offences == []


def test_nothing_outside_tests_imports_testing():
    production = [layer for layer in LAYERS if layer != "testing"]
    assert all("testing" not in MAY_IMPORT[layer] for layer in production)
    top = list(ROOT.glob("*.py"))
    bad = [f"{p.name} imports {n}" for p in top for n in imported_modules(p)
           if n.startswith("simengine.testing")]
    assert bad == []


def test_the_checker_catches_a_wrong_arrow(tmp_path):
    # The test above must be able to fail: a storyteller importing the store is caught.
    (tmp_path / "storytellers").mkdir()
    (tmp_path / "storytellers" / "bad.py").write_text(
        "from simengine.store import Save\nfrom simengine.testing import fixtures\n"
        "import textual\n")
    assert sorted(offences_of("storytellers", tmp_path)) == [
        "storytellers/bad.py imports simengine.store",
        "storytellers/bad.py imports simengine.testing",
        "storytellers/bad.py imports textual",
    ]


def test_the_world_layer_checks_something():
    assert len(list((ROOT / "world").glob("*.py"))) >= 5
