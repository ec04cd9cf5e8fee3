"""World-file commands: ``validate`` and ``new``."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import click

from simengine.world.loader import WorldFileError, load_world, world_warnings
from simengine.world.spec import SLUG_PATTERN


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-q", "--quiet", is_flag=True, help="Print only the problems.")
def validate(paths: tuple[Path, ...], quiet: bool) -> None:
    """Check world files and print every problem with its file, line and field.

    Also warns of what a valid world may lack (no player, an undeclared relation
    kind). Exits 0 when every file can be played or run, 1 otherwise.

    Example: simengine validate worlds/*.toml
    """
    bad = 0
    for path in paths:
        try:
            spec = load_world(path)
        except WorldFileError as exc:
            bad += 1
            for problem in exc.problems:
                click.secho(str(problem), fg="red", err=True)
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""  # it loaded a moment ago; only the line numbers would be missing
        notes = world_warnings(spec, str(path), text)
        for level, problem in notes:
            click.secho(f"{level}: {problem}", fg="red" if level == "error" else "yellow",
                        err=True)
        if any(level == "error" for level, _ in notes):
            bad += 1
            continue
        if not quiet:
            counts = ", ".join(
                f"{len(getattr(spec, s))} {s}"
                for s in ("locations", "characters", "items", "factions")
            )
            click.echo(f"{path}: ok ({spec.world.name}: {counts})")
    if bad:
        raise SystemExit(1)


@click.command()
@click.argument("name")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write it (default: worlds/ID.toml).",
)
def new(name: str, output: Path | None) -> None:
    """Write a small, valid, commented starter world to edit.

    NAME is the world's display name; its id is NAME as a slug. Refuses to
    overwrite an existing file.

    Example: simengine new "The Salt Marsh"
    """
    world_id = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48].strip("-")
    if not re.match(SLUG_PATTERN, world_id) or not name.strip():
        raise click.BadParameter("give the world a name with at least one letter or digit")
    if len(name) > 120:
        raise click.BadParameter("keep the name under 120 characters")
    target = output or Path("worlds") / f"{world_id}.toml"
    template = resources.files("simengine.world").joinpath("starter.toml").read_text("utf-8")
    # A JSON string body is a valid TOML basic string body (quotes, backslashes, controls).
    safe_name = json.dumps(name.strip(), ensure_ascii=False)[1:-1]
    text = template.replace("{id}", world_id).replace("{name}", safe_name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise click.ClickException(
            f"{target} already exists; choose another name or --output"
        ) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror}") from None
    click.echo(f"wrote {target}; check it with: simengine validate {target}")
