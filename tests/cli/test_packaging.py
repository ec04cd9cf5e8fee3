"""A non-editable install carries the shipped worlds and finds them from anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
SOURCES = ("simengine", "worlds", "setup.py", "pyproject.toml", "README.md", "MANIFEST.in")

LIST_WORLDS = """
import simengine
from simengine.tui.launcher import default_world_dirs, find_worlds
print(simengine.__file__)
for w in find_worlds(default_world_dirs()):
    print(w.path.name, w.name, w.error or "ok", sep="|")
"""


def test_the_wheel_carries_the_shipped_worlds(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:  # built from a copy, so the build leaves nothing in the repo
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, src / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(dist)],
                   check=True, env=env, capture_output=True)
    wheel, = dist.glob("simengine-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, env=env)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, env=env, capture_output=True)
    elsewhere = tmp_path / "elsewhere"  # no worlds/ folder here
    elsewhere.mkdir()
    out = subprocess.run([str(python), "-c", LIST_WORLDS], cwd=elsewhere, env=env,
                         check=True, capture_output=True, text=True).stdout.splitlines()
    assert out[0].startswith(str(venv))  # the wheel's simengine, not the checkout's
    worlds = {line.split("|")[0]: line.split("|")[1:] for line in out[1:]}
    shipped = sorted(p.name for p in (ROOT / "worlds").glob("*.toml"))
    assert sorted(worlds) == shipped
    assert worlds["harbour.toml"] == ["Greywater Harbour", "ok"]
    validated = subprocess.run([str(venv / "bin" / "simengine"), "validate",
                                str(Path(out[0]).parent / "shipped_worlds" / "harbour.toml")],
                               cwd=elsewhere, env=env, capture_output=True, text=True)
    assert validated.returncode == 0 and ": ok (" in validated.stdout
