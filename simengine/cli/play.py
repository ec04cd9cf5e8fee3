"""``simengine play``: the terminal UI, on a world, a save, or the launcher."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from simengine.cli.common import (
    friendly_errors,
    open_or_start,
    saves_dir_option,
    storyteller_options,
)


def has_terminal() -> bool:
    """The UI reads keys and draws on a terminal: both ends must be one."""
    return sys.stdin.isatty() and sys.stdout.isatty()


@click.command()
@click.argument("source", required=False)
@storyteller_options
@saves_dir_option
def play(source: str | None, saves_dir: Path | None, storyteller: str | None,
         model: str | None, host: str | None, seed: int | None, record: Path | None) -> None:
    """Play in the terminal: a world file (a new game), a save (go on), or nothing (choose).

    With no SOURCE the launcher lists the shipped worlds and your saves. Every
    beat is saved as it happens; quit any time with ctrl+q or /quit.

    Example: simengine play worlds/harbour.toml --storyteller auto
    """
    if not has_terminal():
        raise click.ClickException(
            "simengine play needs a terminal to draw on; without one, use "
            "`simengine run WORLD --ticks N` (add --script FILE for player turns)"
        )
    # Textual is imported here, not at the top: other commands start faster without it.
    from simengine.tui.app import SimApp
    from simengine.tui.launcher import PlayOptions

    options = PlayOptions(storyteller=storyteller, model=model, host=host, seed=seed,
                          record=record, saves_dir=saves_dir)
    session: Any = None
    why = ""
    if source:
        with friendly_errors():
            session, why = open_or_start(source, saves_dir=saves_dir, storyteller=storyteller,
                                         model=model, host=host, seed=seed, record=record)
    app = SimApp(options, session=session, why=why)
    try:
        app.run()
    finally:
        app.close_session()
        if app.saved is not None:
            click.echo(farewell(*app.saved))


def farewell(path: Path, branch: str) -> str:
    """Where the game is saved and the command that goes on with it."""
    shown = Path(path)
    try:
        shown = shown.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        pass  # outside the working directory: the whole path
    quoted = str(shown) if " " not in str(shown) else f"'{shown}'"
    return (f"Saved in {shown} (branch {branch}; every beat is kept).\n"
            f"Continue with: simengine play {quoted}")
