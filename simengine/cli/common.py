"""What several commands share: options and error handling."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from simengine.cli.saves import saves_dir_option
from simengine.sim.executors import ExecutorError, HostsError
from simengine.sim.run import ScriptError
from simengine.sim.start import is_world_file, open_or_start
from simengine.store import SaveError, resolve_save
from simengine.storytellers.base import StorytellerError
from simengine.storytellers.config import KINDS, teller_kind
from simengine.world.loader import WorldFileError
from simengine.world.text import clean_text, error_message

__all__ = [
    "check_record_target",
    "friendly_errors",
    "open_or_start",
    "saves_dir_option",
    "storyteller_options",
    "TELLER",
]


class TellerKindParam(click.ParamType):
    """``--storyteller``: a kind from the registry, listed in ``--help`` as it stands."""

    name = "storyteller"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "[" + "|".join(k.spelled for k in KINDS.values()) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            teller_kind(str(value))
        except StorytellerError as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


TELLER = TellerKindParam()


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Library errors become one clear message and exit code 1, never a traceback."""
    # Messages quote file names, world text and servers' words: clean them for the terminal.
    try:
        yield
    except WorldFileError as exc:
        raise click.ClickException(clean_text("the world file has problems:\n" + str(exc))) \
            from None
    except (SaveError, ScriptError, StorytellerError, ExecutorError, HostsError) as exc:
        raise click.ClickException(clean_text(str(exc))) from None
    except OSError as exc:
        raise click.ClickException(clean_text(error_message(exc, with_file=True))) from None


def check_record_target(
    record: Path | None, source: str, save_path: Path | None, saves_dir: Path | None
) -> None:
    """Refuse a ``--record`` cassette path that is the world or the save being played.

    Raises:
        click.ClickException: with what to do instead.
    """
    if record is None:
        return
    world = is_world_file(source)
    played = [(Path(source) if world else resolve_save(source, saves_dir), world)]
    if save_path is not None:
        played.append((save_path, False))
    for path, is_world in played:
        if _same_path(record, path):
            what = "the world file" if is_world else "the save"
            raise click.ClickException(
                f"--record {record} is {what} being played; recording there would destroy "
                "it. Name a new file for the cassette, e.g. --record run.jsonl"
            )


def _same_path(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they lead
        return a.resolve() == b.resolve()


def storyteller_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--storyteller, --model, --host, --seed, --record: who tells the story."""
    for option in reversed(
        [
            click.option(
                "--storyteller",
                "-s",
                "storyteller",
                type=TELLER,
                default=None,
                help="Who tells the story (default: the world file's, else procedural).",
            ),
            click.option(
                "--model",
                "-m",
                default=None,
                help="Ollama model (default: $SIMENGINE_MODEL, the world's, qwen2.5:3b).",
            ),
            click.option(
                "--host",
                default=None,
                help="Ollama server (default: $OLLAMA_HOST, http://127.0.0.1:11434).",
            ),
            click.option(
                "--seed",
                type=int,
                default=None,
                help="Seed (default: the save's, else the world's).",
            ),
            click.option(
                "--record",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Write every model exchange to this JSONL cassette.",
            ),
        ]
    ):
        fn = option(fn)
    return fn
