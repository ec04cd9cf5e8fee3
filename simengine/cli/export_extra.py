"""``saves export`` formats for other tools: fine-tuning data and character cards.

Kept apart from :mod:`simengine.cli.saves` so that command's own file writing
stays as it is; ``export`` hands these formats (and several saves) over here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from simengine.importers.card_export import NoSuchCharacter, character_card
from simengine.sim.finetune import TRAINING_FORMATS, export_training
from simengine.store import Save, SaveError, resolve_save
from simengine.store.export import check_export_target, write_export
from simengine.world.ops import references

EXTRA_FORMATS: tuple[str, ...] = (*TRAINING_FORMATS, "card")


def extra_export_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options of the fine-tuning and card exports."""
    for option in reversed([
        click.option("--only-first-try", is_flag=True,
                     help="chat-jsonl/sharegpt: only exchanges that needed no repair."),
        click.option("--include-player-text", is_flag=True,
                     help="chat-jsonl/sharegpt: keep player turns (the player's words may be "
                     "private)."),
        click.option("--narrate", "with_narrate", is_flag=True,
                     help="chat-jsonl/sharegpt: add the narrate exchanges of accepted beats."),
        click.option("--character", default=None,
                     help="card: the character (id or name) to export."),
    ]):
        fn = option(fn)
    return fn


def _write(text: str, output: Path | None, saves: list[Path], force: bool) -> None:
    """Standard output, or ``output`` written whole (never over any of ``saves``)."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        for save in saves:
            check_export_target(output, source=save, force=force)
        write_export(text, output, source=saves[0], force=force)
    except SaveError as exc:
        raise click.ClickException(str(exc)) from None


def export_extra(
    names: list[str], fmt: str, branch: str | None, output: Path | None,
    saves_dir: Path | None, *, only_first_try: bool = False,
    include_player_text: bool = False, with_narrate: bool = False,
    character: str | None = None, force: bool = False,
) -> None:
    """Export ``names`` (saves) as fine-tuning data, or one save's character as a card."""
    if fmt not in TRAINING_FORMATS and fmt != "card":
        raise click.ClickException(f"--format {fmt} exports one save at a time; several saves "
                                   "go together only as chat-jsonl or sharegpt")
    try:
        paths = [resolve_save(name, saves_dir) for name in names]
        if fmt == "card":
            if len(paths) > 1:
                raise click.ClickException("--format card exports one save's character")
            if not character:
                raise click.ClickException("--format card needs --character ID (who to export)")
            with Save.open(paths[0], readonly=True) as s:
                state = s.state(branch)
                story = [(e.actor, {v for op in e.ops for _, v in references(op)}, e.summary)
                         for e in s.log(branch)]
                try:
                    card = character_card(s.spec, state, character, story)
                except NoSuchCharacter as exc:
                    raise click.ClickException(str(exc)) from None
            _write(json.dumps(card, indent=2, ensure_ascii=False) + "\n", output, paths, force)
            where = output or "standard output"
            click.echo(f"Wrote a character card of {card['data']['name']} to {where}.", err=True)
            return
        saves = [Save.open(p, readonly=True) for p in paths]
        try:
            text, summary = export_training(
                saves, fmt,  # type: ignore[arg-type]
                only_first_try=only_first_try, include_player_text=include_player_text,
                narrate=with_narrate)
        finally:
            for s in saves:
                s.close()
    except SaveError as exc:
        raise click.ClickException(str(exc)) from None
    _write(text, output, paths, force)
    for line in summary.lines():
        click.echo(line, err=True)
