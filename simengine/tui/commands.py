"""The play screen's input line, parsed: the player's words or a ``/command``.

Pure and small, so every command's spelling is unit-tested without a UI. The
play screen decides what a parsed command does; this module only knows how
commands are written.
"""

from __future__ import annotations

from dataclasses import dataclass

from simengine.store.export import FORMATS
from simengine.storytellers.config import KINDS, picker_kinds
from simengine.world.text import either

#: What ``/export`` writes when no format is named.
DEFAULT_EXPORT = "markdown"
EXPORT_FORMATS = tuple(FORMATS)
MAX_COUNT = 1000  # /wait 10000 would tie the story up for a long time; ask for less


@dataclass(frozen=True)
class Say:
    """The player's action, to be told as a turn."""

    text: str


@dataclass(frozen=True)
class Command:
    """A ``/command``; only the fields its kind uses are set.

    Attributes:
        name: the canonical name (``undo``, ``fork``, ...).
        count: ``/undo N``, ``/wait N`` (defaults filled in).
        word: ``/fork NAME``, ``/switch NAME``, ``/export FORMAT``, ``/storyteller KIND``.
        extra: ``/storyteller KIND MODEL``.
    """

    name: str
    count: int | None = None
    word: str | None = None
    extra: str | None = None


@dataclass(frozen=True)
class Invalid:
    """A line that looks like a command but is not one; ``message`` says why."""

    message: str


Parsed = Say | Command | Invalid


@dataclass(frozen=True)
class CommandSpec:
    """How a command is written and what it does, for parsing and for ``/help``."""

    name: str
    usage: str
    help: str
    args: str = "none"  # none, count, name, format, teller
    aliases: tuple[str, ...] = ()


SPECS: tuple[CommandSpec, ...] = (
    CommandSpec("undo", "/undo [N]", "take back the last N turns (default 1)", "count"),
    CommandSpec("redo", "/redo", "go forward again over what the last /undo took back"),
    CommandSpec("regenerate", "/regenerate", "tell the last turn again, differently",
                aliases=("retell", "regen")),
    CommandSpec("fork", "/fork NAME", "start branch NAME here and play on it", "name"),
    CommandSpec("branches", "/branches", "list the branches of this save",
                aliases=("timeline",)),
    CommandSpec("switch", "/switch NAME", "continue on another branch", "name"),
    CommandSpec("wait", "/wait [N]", "let N turns of time pass (default 1)", "count"),
    CommandSpec("goals", "/goals", "the story's goals, and which are done"),
    CommandSpec("continue", "/continue", "play on after an ending, in a new branch"),
    CommandSpec("all", "/all", "show every beat, or only what you witness (the default)",
                aliases=("everything",)),
    CommandSpec("look", "/look", "describe where you are", aliases=("l",)),
    CommandSpec("inventory", "/inventory", "what you carry and what you are",
                aliases=("inv", "i")),
    CommandSpec("who", "/who", "who is here, and who else is about"),
    CommandSpec("save", "/save", "where the game is saved (every beat already is)"),
    CommandSpec("lore", "/lore", "the lore the last beat brought in, and what the lore "
                "budget left out"),
    CommandSpec("known", "/known", "what you know that not everyone does: what you were "
                "told, found out or overheard", aliases=("facts", "clues")),
    CommandSpec("export", "/export [FORMAT]",
                "write the story next to the save: markdown (default), json or graphml",
                "format"),
    CommandSpec("storyteller", "/storyteller [KIND [MODEL]]",
                "show who tells the story, or change it: auto, procedural, or ollama "
                "with a model", "teller", aliases=("model",)),
    CommandSpec("help", "/help", "this list", aliases=("h", "?")),
    CommandSpec("quit", "/quit", "save and leave (nothing committed is lost)",
                aliases=("q", "exit")),
)
_BY_NAME = {spec.name: spec for spec in SPECS} | {
    alias: spec for spec in SPECS for alias in spec.aliases
}
NAMES = tuple(f"/{spec.name}" for spec in SPECS)


def parse(line: str) -> Parsed | None:
    """Parse one input line; None for a blank one.

    Args:
        line: what the player typed.

    Returns:
        Say for words, Command for a known ``/command`` with valid arguments,
        Invalid (with a message for the player) for anything else starting with ``/``.
    """
    text = line.strip()
    if not text:
        return None
    if not text.startswith("/"):
        return Say(text)
    if text.startswith("//"):
        return Say(text[1:])  # an escape for words that begin with a slash
    head, *args = text[1:].split() or [""]
    spec = _BY_NAME.get(head.lower()) if head else None
    if spec is None:
        known = " ".join(NAMES)
        return Invalid(f"unknown command /{head}; the commands are: {known}")
    return _with_args(spec, args)


def _with_args(spec: CommandSpec, args: list[str]) -> Parsed:
    usage = f"usage: {spec.usage}"
    if spec.args == "none":
        return Command(spec.name) if not args else Invalid(f"/{spec.name} takes nothing; {usage}")
    if spec.args == "count":
        if not args:
            return Command(spec.name, count=1)
        if len(args) > 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_COUNT:
            return Invalid(f"/{spec.name} wants a number from 1 to {MAX_COUNT}; {usage}")
        return Command(spec.name, count=int(args[0]))
    if spec.args == "name":
        if len(args) != 1:
            return Invalid(f"/{spec.name} wants one name; {usage}")
        return Command(spec.name, word=args[0])
    if spec.args == "format":
        if not args:
            return Command(spec.name, word=DEFAULT_EXPORT)
        fmt = {"md": "markdown"}.get(args[0].lower(), args[0].lower())
        if len(args) > 1 or fmt not in EXPORT_FORMATS:
            return Invalid(f"/{spec.name} writes {', '.join(EXPORT_FORMATS)}; {usage}")
        return Command(spec.name, word=fmt)
    # teller: nothing (show), KIND, or KIND MODEL; a replay cassette is a CLI matter.
    if not args:
        return Command(spec.name)
    kind, names = args[0].lower(), [k.name for k in picker_kinds()]
    if kind not in names or len(args) > 2:
        return Invalid(f"/{spec.name} takes {either(names)}, and a model; {usage}")
    if not KINDS[kind].uses_model and len(args) == 2:
        return Invalid(f"the {kind} storyteller has no model")
    return Command(spec.name, word=kind, extra=args[1] if len(args) == 2 else None)


def help_rows() -> list[tuple[str, str]]:
    """(usage, what it does) for every command, in the order ``/help`` lists them."""
    return [(spec.usage, spec.help) for spec in SPECS]
