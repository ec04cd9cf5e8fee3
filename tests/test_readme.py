"""The README's Quick start stays true: CI runs its test line exactly."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def quick_start_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\s+```sh\n(.*?)```", text, re.S)
    assert block, "README has no Quick start code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_lines_and_ci_runs_the_test_line():
    lines = quick_start_lines()
    assert len(lines) == 2
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert lines[1] in ci
