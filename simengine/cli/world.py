"""World-file commands: ``validate`` and ``new``."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from importlib import resources
from pathlib import Path

import click

from simengine.world.loader import WorldFileError, load_world, world_warnings
from simengine.world.spec import SLUG_PATTERN
from simengine.world.text import clean_text, error_message, slugify

# Names Windows keeps for devices: a world file must not be called one of them.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
             *(f"lpt{i}" for i in range(10))}


def _ids_for(name: str) -> tuple[str, str]:
    """(world id, file stem) for a display name in any script, or BadParameter.

    The id is an ASCII slug (accents folded: "Ünïcödé" -> "unicode"); a name with
    no Latin letters or digits ("日本語の世界") gets a stable id made from its
    hash. The file stem keeps the name's letters and digits in their own script.
    """
    if re.search(r"[\ud800-\udfff]", name):
        raise click.BadParameter("the name holds bytes that are not UTF-8 text; type it "
                                 "again, or pass it in your terminal's UTF-8 encoding")
    text = clean_text(name, one_line=True).strip()
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        raise click.BadParameter("give the world a name with at least one letter or digit")
    if len(text) > 120:
        raise click.BadParameter("keep the name under 120 characters")
    world_id = slugify(text, "")
    if not re.match(SLUG_PATTERN, world_id):
        world_id = "world-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    stem = re.sub(r"[\W_]+", "-", unicodedata.normalize("NFC", text).lower()).strip("-")
    while len(stem.encode()) > 96:  # file names are limited in bytes, not characters
        stem = stem[:-1]
    stem = stem.strip("-") or world_id
    if stem.split(".")[0] in _RESERVED:
        stem += "-world"
    return world_id, stem


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
        notes = [("warning", w) for w in spec.warnings]  # worth a look, not a refusal
        notes += world_warnings(spec, str(path), text)
        for level, problem in notes:
            click.secho(f"{level}: {problem}", fg="red" if level == "error" else "yellow",
                        err=True)
        if any(level == "error" for level, _ in notes):
            bad += 1
            continue
        if not quiet:
            counts = ", ".join(
                f"{len(getattr(spec, s))} {s}"
                for s in ("locations", "characters", "items", "factions", "facts")
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
    help="Where to write it (default: worlds/NAME.toml, the name made a file name).",
)
def new(name: str, output: Path | None) -> None:
    """Write a small, valid, commented starter world to edit.

    NAME is the world's display name; its id is NAME as a slug. Refuses to
    overwrite an existing file.

    Example: simengine new "The Salt Marsh"
    """
    world_id, stem = _ids_for(name)
    name = clean_text(name, one_line=True).strip()
    target = output or Path("worlds") / f"{stem}.toml"
    template = resources.files("simengine.world").joinpath("starter.toml").read_text("utf-8")
    # A JSON string body is a valid TOML basic string body (quotes, backslashes, controls).
    safe_name = json.dumps(name, ensure_ascii=False)[1:-1]
    data = template.replace("{id}", world_id).replace("{name}", safe_name).encode("utf-8")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as fh:
            try:
                fh.write(data)
            except BaseException:
                fh.close()
                target.unlink(missing_ok=True)  # never leave an empty or half-written world
                raise
    except FileExistsError:
        raise click.ClickException(
            f"{target} already exists; choose another name or --output"
        ) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {error_message(exc)}") from None
    click.echo(f"wrote {target}; check it with: simengine validate {target}")
