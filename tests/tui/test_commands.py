"""The input line's parser: words, /commands and their arguments, and mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from simengine.cli import main
from simengine.store.export import FORMATS
from simengine.tui.commands import NAMES, Command, Invalid, Say, help_rows, parse
from simengine.tui.reports import export_path


@pytest.mark.parametrize(("line", "parsed"), [
    ("I ask Tam what he saw", Say("I ask Tam what he saw")),
    ("  go north  ", Say("go north")),
    ("//shrug", Say("/shrug")),
    ("/undo", Command("undo", count=1)),
    ("/undo 3", Command("undo", count=3)),
    ("/UNDO 2", Command("undo", count=2)),
    ("/regenerate", Command("regenerate")),
    ("/retell", Command("regenerate")),
    ("/fork what-if", Command("fork", word="what-if")),
    ("/branches", Command("branches")),
    ("/switch main", Command("switch", word="main")),
    ("/wait", Command("wait", count=1)),
    ("/wait 12", Command("wait", count=12)),
    ("/look", Command("look")),
    ("/inventory", Command("inventory")),
    ("/i", Command("inventory")),
    ("/who", Command("who")),
    ("/save", Command("save")),
    ("/export", Command("export", word="markdown")),
    ("/export md", Command("export", word="markdown")),
    ("/export JSON", Command("export", word="json")),
    ("/export graphml", Command("export", word="graphml")),
    ("/storyteller", Command("storyteller")),
    ("/storyteller auto", Command("storyteller", word="auto")),
    ("/storyteller ollama qwen2.5:7b", Command("storyteller", word="ollama", extra="qwen2.5:7b")),
    ("/model procedural", Command("storyteller", word="procedural")),
    ("/help", Command("help")),
    ("/?", Command("help")),
    ("/quit", Command("quit")),
    ("/q", Command("quit")),
])
def test_lines_parse(line, parsed):
    assert parse(line) == parsed


@pytest.mark.parametrize(("line", "message"), [
    ("/dance", "unknown command /dance; the commands are: /undo"),
    ("/", "unknown command /;"),
    ("/undo two", "/undo wants a number from 1 to 1000; usage: /undo [N]"),
    ("/undo 0", "/undo wants a number"),
    ("/wait 5000", "/wait wants a number from 1 to 1000"),
    ("/fork", "/fork wants one name; usage: /fork NAME"),
    ("/fork a b", "/fork wants one name"),
    ("/switch", "/switch wants one name"),
    ("/look here", "/look takes nothing"),
    ("/export pdf", "/export writes markdown, json, graphml"),
    ("/storyteller gpt4", "/storyteller takes auto, ollama or procedural"),
    ("/storyteller procedural big", "the procedural storyteller has no model"),
    ("/storyteller ollama a b", "/storyteller takes auto, ollama or procedural"),
])
def test_mistakes_say_what_was_expected(line, message):
    parsed = parse(line)
    assert isinstance(parsed, Invalid)
    assert message in parsed.message


def test_blank_lines_are_nothing():
    assert parse("") is None and parse("   ") is None


def test_help_lists_every_command_once():
    usages = [usage for usage, _ in help_rows()]
    assert [u.split()[0] for u in usages] == list(NAMES)
    assert {"/undo", "/redo", "/regenerate", "/fork", "/branches", "/switch", "/wait", "/look",
            "/inventory", "/who", "/save", "/export", "/help", "/quit",
            "/storyteller", "/lore", "/known", "/all", "/goals", "/continue"} == set(NAMES)


def test_one_list_of_export_formats_serves_the_tui_and_the_cli():
    for fmt, suffix in FORMATS.items():
        assert parse(f"/export {fmt}") == Command("export", word=fmt)
        assert export_path(Path("s/harbour-42.db"), "main", fmt).name == f"harbour-42-main.{suffix}"
    choices = CliRunner().invoke(main, ["saves", "export", "--help"]).output
    assert "[" + "|".join(FORMATS) + "|chat-jsonl|sharegpt|card]" in choices.replace("\n", "")
