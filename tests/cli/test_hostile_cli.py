"""The commands against hostile servers, hosts, names and cassettes: clear words, no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.dom.minidom
from pathlib import Path

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.store import Save
from simengine.testing.fake_ollama import FakeOllama, Fault
from simengine.testing.hostile import MARK, POISON, deep_json

HARBOUR = Path(__file__).parent.parent.parent / "worlds" / "harbour.toml"


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def assert_clean(text: str) -> None:
    assert not [p for p in POISON if p in text] and "\x1b" not in text, repr(text[:300])


# ------------------------------------------------------------------ point 14
def test_a_hostile_model_leaves_no_escape_in_the_run_the_save_the_log_or_the_exports(tmp_path):
    save = tmp_path / "h.db"
    with FakeOllama(mode="hostile") as fake:
        run = invoke("run", str(HARBOUR), "-n", "3", "-s", "ollama", "--host", fake.url,
                     "--save", str(save))
    assert run.exit_code == 0, run.output
    assert MARK in run.output and "ticks run: 3" in run.output
    assert_clean(run.output)
    with Save.open(save, readonly=True) as s:
        stored = [e.summary + e.narration for e in s.log()]
    assert any(MARK in text for text in stored)
    for text in stored:
        assert_clean(text)
    log = invoke("saves", "log", str(save))
    assert MARK in log.output
    assert_clean(log.output)
    exports = {}
    for fmt in ("markdown", "graphml", "json"):
        out = tmp_path / f"h.{fmt}"
        assert invoke("saves", "export", str(save), "-f", fmt, "-o", str(out)).exit_code == 0
        exports[fmt] = out.read_text(encoding="utf-8")
        assert MARK in exports[fmt]
        assert_clean(exports[fmt])
    xml.dom.minidom.parseString(exports["graphml"])  # a NUL in a name used to break this
    json.loads(exports["json"])


def test_player_text_is_cleaned_before_it_is_stored_or_printed(tmp_path):
    script = tmp_path / "turns.txt"
    script.write_text("I wave\x1b]0;PWNED\x07 at the gulls\x00\n", encoding="utf-8")
    save = tmp_path / "p.db"
    result = invoke("run", str(HARBOUR), "-n", "1", "-s", "procedural", "--script", str(script),
                    "--save", str(save))
    assert result.exit_code == 0 and "> I wave at the gulls" in result.output
    assert_clean(result.output)
    with Save.open(save, readonly=True) as s:
        assert [e.intent for e in s.log() if e.kind == "player"] == ["I wave at the gulls"]


# ------------------------------------------------------------------ point 15
@pytest.mark.parametrize("path, body, reason", [
    ("/api/tags", '{"models": 5}', "not a list of models"),
    ("/api/version", deep_json(), "nested too deeply"),
], ids=["tags-not-a-list", "version-too-deep"])
def test_doctor_and_auto_say_a_misshapen_server_is_not_ollama(tmp_path, path, body, reason):
    with FakeOllama() as fake:
        fake.override(path, body)
        doctor = invoke("doctor", "--host", fake.url)
        assert doctor.exit_code == 1 and reason in doctor.output
        run = invoke("run", str(HARBOUR), "-n", "1", "-s", "auto", "--host", fake.url,
                     "--save", str(tmp_path / "a.db"))
    assert run.exit_code == 0 and f"procedural storyteller: {fake.url} did not answer like " \
        f"Ollama" in run.output and reason in run.output


@pytest.mark.parametrize("host, reason", [
    ("127.0.0.1:99999", "port 99999"),
    ("http://[::1", "not a server address"),
])
def test_an_impossible_host_is_one_clear_line(tmp_path, host, reason):
    for args in (["models", "--host", host], ["doctor", "--host", host],
                 ["run", str(HARBOUR), "-n", "1", "-s", "ollama", "--host", host,
                  "--save", str(tmp_path / "o.db")]):
        result = invoke(*args)
        assert result.exit_code == 1 and reason in result.output, (args, result.output)
    auto = invoke("run", str(HARBOUR), "-n", "1", "-s", "auto", "--host", host,
                  "--save", str(tmp_path / "a.db"))
    assert auto.exit_code == 0 and "procedural storyteller:" in auto.output
    assert reason in auto.output


# ------------------------------------------------------------------ point 19
def test_replay_without_a_file_says_what_is_missing(tmp_path):
    for kind, words in (("replay:", "say which cassette to replay"),
                        (f"replay:{tmp_path}", "is a directory")):
        result = invoke("run", str(HARBOUR), "-n", "1", "-s", kind,
                        "--save", str(tmp_path / "r.db"))
        assert result.exit_code == 1 and words in result.output, result.output
        assert "Is a directory" not in result.output


# ------------------------------------------------------------------ point 16
def test_one_ctrl_c_cuts_a_trickling_model_and_ends_the_run(tmp_path):
    world = tmp_path / "slow.toml"
    world.write_text(HARBOUR.read_text().replace('kind = "procedural"',
                                                 'kind = "ollama"\ntimeout = 600', 1))
    save = tmp_path / "slow.db"
    with FakeOllama() as fake:
        fake.enqueue_streamed(*[Fault.trickle(0.5)] * 20)  # every narration trickles
        proc = subprocess.Popen(
            [sys.executable, "-m", "simengine", "run", str(world), "-n", "1000",
             "--host", fake.url, "--save", str(save)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # wait for the trickle to start
                if any(e["fault"] == "trickle" for e in fake.requests):
                    break
                time.sleep(0.1)
            time.sleep(1)
            proc.send_signal(signal.SIGINT)  # once
            out, err = proc.communicate(timeout=60)  # a hang guard, not a timing test
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopping after this tick" in err
    assert "[… the telling was cut off here: stopped by Ctrl-C]" in out
    assert "ticks run: 1 " in out
    with Save.open(save, readonly=True) as s:
        assert any("cut off here" in e.narration for e in s.log())


# ------------------------------------------------------------------ point 18
def test_new_refuses_a_name_that_is_not_text_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("new", "a\udcff\udcfeb")  # what click makes of the bytes a\xff\xfeb
    assert result.exit_code == 2 and "not UTF-8" in result.output
    assert not Path("worlds").exists() or not list(Path("worlds").iterdir())


@pytest.mark.parametrize("name", ["日本語の世界", "Ελληνικός κόσμος", "Мир", "عالم", "CON"])
def test_new_accepts_a_name_in_any_script(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    result = invoke("new", name)
    assert result.exit_code == 0, result.output
    [path] = list(Path("worlds").iterdir())
    check = invoke("validate", str(path))
    assert check.exit_code == 0 and f"({name}:" in check.output


def test_a_save_written_before_cleaning_still_prints_and_exports_clean(tmp_path):
    # A save made by an older simengine may already hold raw escapes and NULs:
    # what leaves through saves log and the exports is cleaned again.
    from simengine.testing.fixtures import TINY_WORLD
    from simengine.world.ops import Create, NewEntity
    from simengine.world.spec import WorldSpec

    spec = WorldSpec.model_validate(TINY_WORLD)
    path = tmp_path / "old.db"
    with Save.create(path, spec) as s:
        s.append(tick=1, kind="world", summary=f"\x1b]0;PWNED\x07{MARK} comes\x00",
                 narration=f"\x1b[2J{MARK} is here.\x07",
                 ops=[Create(entity=NewEntity(id="hesk", kind="character",
                                              name=f"{MARK}\x00\x1b]0;PWNED\x07", at="dock"))])
    log = invoke("saves", "log", str(path))
    assert f"{MARK} comes" in log.output
    assert_clean(log.output)
    for fmt in ("markdown", "graphml", "json"):
        out = invoke("saves", "export", str(path), "-f", fmt).output
        assert MARK in out
        assert_clean(out)
    xml.dom.minidom.parseString(invoke("saves", "export", str(path), "-f", "graphml").output)


def test_a_script_that_is_a_device_is_refused_not_read_forever(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from simengine.cli import main

    monkeypatch.chdir(tmp_path)
    world = Path(__file__).resolve().parents[2] / "worlds" / "harbour.toml"
    result = CliRunner().invoke(main, ["run", str(world), "--script", "/dev/zero"])
    assert result.exit_code != 0
    assert "not a regular file" in result.output
