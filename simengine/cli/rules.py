"""``simengine rules``: every rule the engine holds a world to, from the rule registry."""

from __future__ import annotations

import json
from pathlib import Path

import click

from simengine.world.loader import WorldFileError, load_world
from simengine.world.rules import Rule, records
from simengine.world.rules.registry import prompt_rules
from simengine.world.state import WorldState


@click.command()
@click.argument("world", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rule.")
@click.option("--prompt", is_flag=True, help="The rules as a model reads them in this world.")
def rules(world: Path | None, as_json: bool, prompt: bool) -> None:
    """Print the rules: the built-in ones, and a world file's own [[rules]].

    Example: simengine rules worlds/harbour.toml
    """
    state = None
    if world is not None:
        try:
            state = WorldState.from_spec(load_world(world))
        except WorldFileError as exc:
            for problem in exc.problems:
                click.secho(str(problem), fg="red", err=True)
            raise SystemExit(1) from None
    elif prompt:
        raise click.UsageError("--prompt needs a WORLD: the wording depends on the world")
    if prompt:
        assert state is not None
        for i, line in enumerate(prompt_rules(state), 1):
            click.echo(f"{i}. {line}")
        return
    rows = records(state)
    if as_json:
        for r in rows:
            click.echo(json.dumps({"id": r.id, "says": r.says, "applies_to": r.applies,
                                   "source": r.source, "fault": r.fault}, ensure_ascii=False))
        return
    _table(rows)


def _table(rows: list[Rule]) -> None:
    width = max(len(r.id) for r in rows)
    for source, title in (("engine", "Built in"), ("world", "This world's own ([[rules]])")):
        group = [r for r in rows if r.source == source]
        if not group:
            continue
        click.secho(title, bold=True)
        for r in group:
            click.echo(f"  {r.id:<{width}}  {r.says}  [{r.applies}; {r.fault}'s fault]")
