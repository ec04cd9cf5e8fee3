"""``simengine saves``: list, inspect, fork, undo and export saved games.

Thin commands over :mod:`simengine.store`. Every :class:`SaveError` becomes a
``click.ClickException``: one clear line on stderr and exit code 1, never a
traceback. Commands that only read open the save read-only, so they work while
a game is being played.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from simengine.cli.export_extra import EXTRA_FORMATS, export_extra, extra_export_options
from simengine.store import (
    NotASave,
    Save,
    SaveCorrupt,
    SaveError,
    SaveReadOnly,
    SaveTooNew,
    SaveTooOld,
    list_saves,
    resolve_save,
)
from simengine.store import saves_dir as default_saves_dir
from simengine.store.export import FORMATS, check_export_target, export, write_export
from simengine.world.text import clean_text, error_message


def saves_dir_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--saves-dir`` option every ``saves`` command shares."""
    return click.option(
        "--saves-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Directory of saves (default: $SIMENGINE_SAVES, else ./saves).",
    )(fn)


def branch_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--branch", "-b", default=None, help="Branch to use (default: the save's current branch)."
    )(fn)


@contextlib.contextmanager
def _friendly() -> Iterator[None]:
    """Library errors become one-line messages with exit code 1."""
    try:
        yield
    except (SaveError, OSError) as err:
        raise click.ClickException(error_message(err, with_file=True)) from err


def _open(save: str, directory: Path | None, *, readonly: bool) -> Save:
    return Save.open(resolve_save(save, directory), readonly=readonly)


def _when(stamp: str | None) -> str:
    if not stamp:
        return "never"
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def _where(s: Save, event_id: int | None) -> str:
    if event_id is None:
        return "the initial state"
    event = s.event(event_id)
    return f"event #{event.id} ({s.settings.world.tick} {event.tick})"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@click.group(name="saves")
def saves() -> None:
    """List, inspect, fork, undo and export saved games.

    Example: simengine saves list
    """


@saves.command(name="list")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@saves_dir_option
def list_command(directory: Path | None, saves_dir: Path | None) -> None:
    """List the saves in DIRECTORY: name, world, branches, ticks, last played.

    Example: simengine saves list ~/stories/saves
    """
    base = default_saves_dir(directory or saves_dir)
    paths = list_saves(base)
    if not paths:
        click.echo(f"No saves in {base}.")
        return
    rows = [("NAME", "WORLD", "BRANCHES", "TICKS", "LAST PLAYED")]
    for path in paths:
        try:
            with Save.open(path, readonly=True) as s:
                head = s.head()
                tick = s.event(head).tick if head is not None else 0
                played = s.get_meta("last_played") or s.get_meta("created_at")
                rows.append(
                    (path.stem, s.settings.world.name, str(len(s.branches())), str(tick),
                     _when(played))
                )
        except SaveError as err:
            rows.append((path.stem, f"({_problem(err)})", "-", "-", "-"))
    click.echo(_table(rows))


def _problem(err: SaveError) -> str:
    if isinstance(err, SaveTooNew):
        return "needs a newer simengine"
    if isinstance(err, SaveTooOld):
        return "needs an upgrade"
    if isinstance(err, SaveCorrupt):
        return "damaged"
    if isinstance(err, NotASave):
        return "not a save"
    if isinstance(err, SaveReadOnly):
        return "unreadable: no permission"
    return "unreadable"


@saves.command()
@click.argument("save")
@branch_option
@click.option(
    "--limit", "-n", type=click.IntRange(min=1), default=None, help="Show only the last N events."
)
@saves_dir_option
def log(save: str, branch: str | None, limit: int | None, saves_dir: Path | None) -> None:
    """Show the events of a branch, oldest first (SAVE: a name or a path).

    Example: simengine saves log tavern --branch main
    """
    with _friendly(), _open(save, saves_dir, readonly=True) as s:
        name = branch or s.current_branch
        events = s.log(name, limit=limit)
        current = " (current)" if name == s.current_branch else ""
        click.echo(clean_text(f"{s.path.name} · {s.settings.world.name} · branch {name}{current}"))
        if not events:
            click.echo("No events yet: the branch is at the initial state.")
            return
        label = s.settings.world.tick
        who = {e.id: f"{e.actor or 'world'} ({e.kind})" for e in events}
        ids = max(len(str(e.id)) for e in events) + 1
        ticks = max(len(str(e.tick)) for e in events)
        width = max(len(w) for w in who.values())
        drifted = {d["event_id"]: d["outcome"] for d in s.drifts()}
        for event in events:
            text = event.summary or event.intent or ", ".join(op.op for op in event.ops)
            text = clean_text(text, one_line=True)  # a model's words, safe for the terminal
            if event.id in drifted:
                text += f"  [narration drifted: {drifted[event.id]}]"
            click.echo(
                f"{'#' + str(event.id):<{ids}}  {label} {event.tick:>{ticks}}  "
                f"{who[event.id]:<{width}}  {text}"
            )


@saves.command()
@click.argument("save")
@click.argument("name")
@click.option(
    "--at",
    "at",
    type=click.IntRange(min=0),
    default=None,
    help="Event id to fork at; 0 is the initial state (default: the current head).",
)
@click.option("--switch", is_flag=True, help="Also make the new branch the current one.")
@saves_dir_option
def fork(save: str, name: str, at: int | None, switch: bool, saves_dir: Path | None) -> None:
    """Start a new branch NAME at any event of SAVE; nothing is copied or deleted.

    Example: simengine saves fork tavern what-if --at 12 --switch
    """
    with _friendly(), _open(save, saves_dir, readonly=False) as s:
        point = s.fork(name, at="head" if at is None else (at or None))
        if switch:
            s.switch(name)
        note = " and switched to it" if switch else ""
        click.echo(f"Forked branch {name!r} at {_where(s, point)}{note}.")


@saves.command()
@click.argument("save")
@click.argument("n", type=click.IntRange(min=1), default=1, required=False)
@branch_option
@saves_dir_option
def undo(save: str, n: int, branch: str | None, saves_dir: Path | None) -> None:
    """Move a branch's head N events back (default 1). Nothing is deleted.

    Example: simengine saves undo tavern 3 --branch main
    """
    with _friendly(), _open(save, saves_dir, readonly=False) as s:
        name = branch or s.current_branch
        old = s.head(name)
        new = s.undo(n, name)
        click.echo(f"Branch {name!r} is back at {_where(s, new)}.")
        if old is not None:
            click.echo(
                f"Nothing was deleted: `simengine saves fork {save} NAME --at {old}` "
                "keeps the undone events on a branch of their own."
            )


@saves.command()
@click.argument("save")
@click.argument("branch")
@saves_dir_option
def switch(save: str, branch: str, saves_dir: Path | None) -> None:
    """Make BRANCH the branch play continues on.

    Example: simengine saves switch tavern what-if
    """
    with _friendly(), _open(save, saves_dir, readonly=False) as s:
        s.switch(branch)
        click.echo(f"Now on branch {branch!r}, at {_where(s, s.head(branch))}.")


@saves.command(name="export")
@click.argument("save")
@click.argument("more", nargs=-1)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice([*FORMATS, *EXTRA_FORMATS]),
    default="json",
    show_default=True,
    help="json: everything; graphml: the head state's graph; markdown: the story; "
    "chat-jsonl, sharegpt: fine-tuning data from accepted model exchanges (of one or more "
    "saves); card: a Character Card V2 of one character (--character).",
)
@branch_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output); never the save itself.",
)
@extra_export_options
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@saves_dir_option
def export_command(
    save: str, more: tuple[str, ...], fmt: str, branch: str | None, output: Path | None,
    force: bool, saves_dir: Path | None, **extra: Any,
) -> None:
    """Export SAVE as JSON, GraphML (for Gephi or yEd), a Markdown transcript,
    fine-tuning data (chat-jsonl, sharegpt) or a character card.

    Example: simengine saves export tavern --format markdown -o tavern.md
    """
    if fmt in EXTRA_FORMATS or more:
        export_extra([save, *more], fmt, branch, output, saves_dir, force=force, **extra)
        return
    with _friendly(), _open(save, saves_dir, readonly=True) as s:
        if output is not None:  # refused before the export is built, not after
            check_export_target(output, source=s.path, force=force)
        text = export(s, fmt, branch)  # type: ignore[arg-type]
        if output is None:
            click.echo(text, nl=False)
        else:
            write_export(text, output, source=s.path, force=force)
            click.echo(f"Wrote {fmt} export of {s.path.name} to {output}.", err=True)
