"""``simengine batch``: many seeded headless runs in parallel, with a report."""

from __future__ import annotations

from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simengine.cli.common import friendly_errors
from simengine.sim.batch import run_batch


@click.command()
@click.argument("world", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--runs",
    "-r",
    type=click.IntRange(1, 100_000),
    default=4,
    show_default=True,
    help="How many runs.",
)
@click.option(
    "--ticks",
    "-n",
    type=click.IntRange(1, 1_000_000),
    default=50,
    show_default=True,
    help="Ticks per run.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=2,
    show_default=True,
    help="Runs at once (and so model requests in flight at most).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Run i uses seed S+i.")
@click.option(
    "--storyteller",
    "-s",
    default="procedural",
    show_default=True,
    help="auto, ollama, procedural or replay:FILE.",
)
@click.option("--model", "-m", default=None, help="Ollama model.")
@click.option("--host", default=None, help="Ollama server.")
@click.option("--narrate", is_flag=True, help="Narrate events too (doubles the model calls).")
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where saves and reports go (default: saves/batch-WORLD).",
)
def batch(
    world: Path,
    runs: int,
    ticks: int,
    jobs: int,
    seed: int,
    storyteller: str,
    model: str | None,
    host: str | None,
    narrate: bool,
    out: Path | None,
) -> None:
    """Run many seeded simulations of WORLD in parallel; one save per run.

    Writes report.json and report.csv (each run's metrics and the totals) in
    --out. Calling it again skips finished runs and resumes unfinished ones;
    Ctrl-C stops runs after their current tick and keeps what finished.

    Example: simengine batch worlds/frontier.toml --runs 8 --ticks 50 --jobs 2 --seed 100
    """
    from simengine.store import saves_dir
    from simengine.world.loader import load_world

    console = Console(stderr=True)
    with friendly_errors():
        spec = load_world(world)
        out = out or saves_dir() / f"batch-{spec.world.id}"
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=console, transient=False) as progress:
            overall = progress.add_task("all runs", total=runs * ticks)
            tasks = {
                i: progress.add_task(f"run {i} (seed {seed + i})", total=ticks) for i in range(runs)
            }
            seen: dict[int, int] = {}

            def on_progress(index: int, tick: int) -> None:
                progress.update(tasks[index], completed=tick)
                progress.advance(overall, tick - seen.get(index, 0))
                seen[index] = tick

            def on_skip(index: int) -> None:
                on_progress(index, ticks)
                progress.update(tasks[index], description=f"run {index} (done earlier)")

            result = run_batch(
                world,
                runs=runs,
                ticks=ticks,
                jobs=jobs,
                seed=seed,
                storyteller=storyteller,
                model=model,
                host=host,
                out=out,
                narrate=narrate,
                on_progress=on_progress,
                on_skip=on_skip,
            )
    table = Table(title=f"batch of {spec.world.name}", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in (
        "run",
        "status",
        "ticks",
        "events",
        "invented",
        "rejected",
        "repairs",
        "fallbacks",
        "tokens",
    ):
        table.add_column(column, justify="left" if column == "status" else "right", no_wrap=True)
    for row in result.rows:
        m = row["metrics"]
        table.add_row(
            str(row["run"]),
            row["status"],
            str(row["ticks"]),
            str(m.get("events_total", 0)),
            str(m.get("inventions", 0)),
            str(m.get("ops_rejected_total", 0)),
            f"{m.get('repairs_succeeded', 0)}/{m.get('repairs_tried', 0)}",
            str(sum((m.get("fallbacks") or {}).values())),
            str(m.get("prompt_tokens", 0) + m.get("completion_tokens", 0)),
        )
    Console().print(table)
    t = result.totals
    click.echo(
        f"totals: {t['events_total']} events, {t['inventions']} inventions, "
        f"{t['ops_rejected_total']} rejections, {t['repairs_succeeded']}/"
        f"{t['repairs_tried']} repairs, {t['prompt_tokens'] + t['completion_tokens']} "
        f"tokens, {result.wall_seconds:.1f}s wall"
    )
    click.echo(f"report: {out / 'report.json'} and {out / 'report.csv'}")
    if result.interrupted:
        click.secho(
            "interrupted: finished runs are kept; run the same command to resume",
            fg="yellow",
            err=True,
        )
        raise SystemExit(130)
