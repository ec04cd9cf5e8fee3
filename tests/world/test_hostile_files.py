"""World files written to hurt: deep nesting, long chains, FIFOs, devices, bad syntax."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.world import loader
from simengine.world.loader import WorldFileError, containment_cycles, load_world, parse_world

FIXTURES = Path(__file__).parent.parent / "fixtures"
GOOD = (FIXTURES / "mini.toml").read_text()


def problems_of(text: str) -> list[str]:
    with pytest.raises(WorldFileError) as err:
        parse_world(text, "w.toml")
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize("value", ["[" * 3000 + "]" * 3000, "{a=" * 3000 + "1" + "}" * 3000],
                         ids=["arrays", "tables"])
def test_deep_nesting_is_a_problem_with_a_line_not_a_recursion_error(value):
    text = GOOD + f"\n[extra]\ndeep = {value}\n"
    [problem] = problems_of(text)
    line = GOOD.count("\n") + 3
    assert problem.startswith(f"w.toml:{line}: ") and "nested more than" in problem


def test_validate_reports_deep_nesting_cleanly(tmp_path):
    world = tmp_path / "deep.toml"
    world.write_text(GOOD + "\n[extra]\ndeep = " + "[" * 3000 + "]" * 3000 + "\n")
    result = CliRunner().invoke(main, ["validate", str(world)])
    assert result.exit_code == 1 and "nested more than" in result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output


def test_containment_check_is_linear():
    class Counting(dict):
        lookups = 0

        def __getitem__(self, key):
            Counting.lookups += 1
            return super().__getitem__(key)

    n = 5000
    chain = Counting({f"i{k}": f"i{k + 1}" for k in range(n - 1)})
    chain[f"i{n - 1}"] = "dock"
    assert containment_cycles(chain) == []
    assert Counting.lookups <= 2 * n  # each item followed once, not once per item below it
    chain[f"i{n - 1}"] = "i0"  # close the chain into one loop
    [ring] = containment_cycles(chain)
    assert len(ring) == n and ring[0] == "i0"


def test_a_long_chain_of_items_validates_and_its_loop_is_reported_once():
    items = "".join(
        f'\n[[items]]\nid = "box{k}"\nname = "Box {k}"\nat = "box{k + 1}"\n' for k in range(2000)
    )
    spec = parse_world(GOOD + items.replace('at = "box2000"', 'at = "dock"'), "w.toml")
    assert len(spec.items) >= 2000
    loops = [p for p in problems_of(GOOD + items.replace('at = "box2000"', 'at = "box0"'))
             if "containment cycle" in p]
    assert len(loops) == 1 and "containment cycle: box0 -> box1 -> " in loops[0]


def test_a_toml_syntax_error_quotes_the_line_with_a_caret_and_names_the_key():
    text = GOOD.replace('name = "Mara"', 'name = "Mara', 1)
    assert text != GOOD
    [problem] = problems_of(text)
    head, quoted, caret = problem.split("\n")
    number = text[: text.index('name = "Mara')].count("\n") + 1
    assert head.startswith(f"w.toml:{number}: TOML syntax:") and "characters[" in head
    assert head.endswith(".name")
    assert quoted.strip() == 'name = "Mara'
    assert caret.index("^") == quoted.index("Mara") + len("Mara")


def test_a_syntax_error_never_prints_a_raw_escape():
    text = GOOD.replace('name = "Mara"', 'name = "Ma\x1b]0;PWNED\x07ra"', 1)
    problem = "\n".join(problems_of(text))
    assert "\x1b" not in problem and "\x07" not in problem and "TOML syntax" in problem


def test_escapes_written_as_toml_escapes_are_cleaned_on_load():
    text = GOOD.replace('name = "Mara"', 'name = "Ma\\u001b]0;PWNED\\u0007ra\\u0000"', 1)
    spec = parse_world(text, "w.toml")
    names = [c.name for c in spec.characters]
    assert "Mara" in names and not any("\x1b" in n or "\x00" in n for n in names)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_not_read_forever(tmp_path):
    fifo = tmp_path / "world.toml"
    os.mkfifo(fifo)
    with pytest.raises(WorldFileError, match="is a FIFO, not a world file"):
        load_world(fifo)  # on the old code this blocks forever in open()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_refused(tmp_path):
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    for path in (Path("/dev/zero"), link):
        with pytest.raises(WorldFileError, match="is a device, not a world file"):
            load_world(path)


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_WORLD_BYTES", 1000)
    big = tmp_path / "big.toml"
    big.write_text(GOOD + "#" * 2000)
    with pytest.raises(WorldFileError, match="a world file may be at most"):
        load_world(big)


@pytest.mark.skipif(sys.platform != "linux", reason="/proc is Linux's")
def test_a_file_that_lies_about_its_size_is_cut_off(monkeypatch):
    monkeypatch.setattr(loader, "MAX_WORLD_BYTES", 100)
    with pytest.raises(WorldFileError, match="larger than"):
        load_world("/proc/self/maps")  # st_size 0, far more than 100 bytes to read


def test_problems_never_print_a_raw_escape_from_a_file_name(tmp_path):
    name = tmp_path / "x\x1b]0;PWNED\x07.toml"
    for args in (["validate", str(name)], ["run", str(name), "-n", "1"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and "no such file" in result.output
        assert "\x1b" not in result.output and "\x07" not in result.output
