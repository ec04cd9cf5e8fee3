"""Build hook: the shipped worlds go into the wheel.

``worlds/`` at the top of the repository is the one authoring copy of the
shipped worlds. A wheel (``pip install .``, ``pipx install``) cannot reach the
repository, so building one copies ``worlds/*.toml`` into the package as
``simengine/shipped_worlds/``, where the launcher finds them. Editable installs
skip the copy: they read ``worlds/`` next to the package directly. Everything
else about the build is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithWorlds(build_py):
    """``build_py`` that also copies the shipped worlds into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "simengine" / "shipped_worlds"
        target.mkdir(parents=True, exist_ok=True)
        for world in sorted((HERE / "worlds").glob("*.toml")):
            shutil.copyfile(world, target / world.name)


setup(cmdclass={"build_py": BuildWithWorlds})
