"""``simengine import``: character cards and lorebooks from other tools -> a world file."""

from __future__ import annotations

from pathlib import Path

import click

from simengine.importers import ImportFailed, import_files
from simengine.importers.build import DEFAULT_PLAYER
from simengine.world.text import error_message, slugify


@click.command(name="import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=True, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="World file to write (default: worlds/NAME.toml).")
@click.option("--name", default=None, help="The world's name (default: the first card's).")
@click.option("--player", default=DEFAULT_PLAYER, show_default=True,
              help="The name of the character the player plays ({{user}} in the cards).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def import_command(
    files: tuple[Path, ...], output: Path | None, name: str | None, player: str, force: bool
) -> None:
    """Make a world file of character cards and lorebooks (FILES, combined into one world).

    Reads Character Cards V1/V2/V3 (JSON, PNG or CHARX), SillyTavern World Info,
    character books, KoboldAI world info, NovelAI lorebooks and stories, AI
    Dungeon world info and story cards, and Agnai memory books. Prints what it
    made of every field, and what it kept only as lore or left unused.

    Example: simengine import seraphina.png eldoria.json -o worlds/eldoria.toml
    """
    try:
        result = import_files(list(files), name=name, player=player)
    except ImportFailed as exc:
        raise click.ClickException(str(exc)) from None
    target = output or Path("worlds") / f"{slugify(result.spec.world.name, 'imported')}.toml"
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; choose another -o or add --force")
    for line in result.report:
        click.echo(line)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(result.text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{target}: cannot write ({error_message(exc)})") from None
    spec = result.spec
    click.secho(
        f"Wrote {target}: {len(spec.characters)} characters, {len(spec.locations)} places, "
        f"{len(spec.lore)} lore entries. Play it: simengine play {target}",
        fg="green",
    )
