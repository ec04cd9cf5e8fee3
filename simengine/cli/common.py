"""What several commands share: options, error handling, opening games."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from simengine.cli.saves import saves_dir_option
from simengine.sim.run import ScriptError
from simengine.sim.session import Session
from simengine.sim.tellers import TellerChoice, choose
from simengine.store import SaveError, resolve_save, saves_dir
from simengine.storytellers.base import StorytellerError
from simengine.world.loader import WorldFileError, load_world

__all__ = ["friendly_errors", "open_or_start", "saves_dir_option", "storyteller_options"]


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Library errors become one clear message and exit code 1, never a traceback."""
    try:
        yield
    except WorldFileError as exc:
        raise click.ClickException("the world file has problems:\n" + str(exc)) from None
    except (SaveError, ScriptError, StorytellerError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise click.ClickException(f"{where}{exc.strerror or exc}") from None


def storyteller_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--storyteller, --model, --host, --seed, --record: who tells the story."""
    for option in reversed(
        [
            click.option(
                "--storyteller",
                "-s",
                "storyteller",
                default=None,
                help="auto, ollama, procedural or replay:FILE "
                "(default: the world file's, else procedural).",
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


def _unique_save(directory: Path, stem: str) -> Path:
    candidate, n = directory / f"{stem}.db", 2
    while candidate.exists():
        candidate, n = directory / f"{stem}-{n}.db", n + 1
    return candidate


def is_world_file(source: str) -> bool:
    return source.endswith(".toml")


def open_or_start(
    source: str,
    *,
    save_path: Path | None = None,
    branch: str | None = None,
    saves_dir: Path | None = None,
    narrate: bool = True,
    storyteller: str | None = None,
    model: str | None = None,
    host: str | None = None,
    seed: int | None = None,
    record: Path | None = None,
) -> tuple[Session, str]:
    """A session for a world file (a new save) or a save (continued), and who tells it."""
    if is_world_file(source):
        spec = load_world(source)
        run_seed = seed if seed is not None else spec.world.seed
        directory = saves_dir_of(saves_dir)
        path = save_path or _unique_save(directory, f"{spec.world.id}-{run_seed}")
        choice = _choose(storyteller, spec, run_seed, model, host, record)
        session = Session.new(
            spec,
            path,
            branch=branch or "main",
            seed=run_seed,
            narrate=narrate,
            storyteller=choice.storyteller,
            fallback=choice.fallback,
        )
        return session, choice.why
    path = resolve_save(source, saves_dir)
    session = Session.load(path, branch=branch, seed=seed, narrate=narrate)
    choice = _choose(storyteller, session.save.spec, session.seed, model, host, record)
    session.storyteller, session.fallback = choice.storyteller, choice.fallback
    return session, choice.why


def saves_dir_of(override: Path | None) -> Path:
    directory = saves_dir(override)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _choose(kind, spec, seed, model, host, record) -> TellerChoice:
    return choose(
        kind or spec.storyteller.kind, spec=spec, seed=seed, model=model, host=host, record=record
    )
