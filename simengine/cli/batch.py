"""``simengine batch``: many seeded headless runs in parallel, with a report."""

from __future__ import annotations

from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simengine.cli.common import TELLER, friendly_errors
from simengine.sim.batch import endings_lines, run_batch
from simengine.sim.executors import EXECUTORS, parse_hosts
from simengine.sim.executors.ray_tasks import import_ray
from simengine.storytellers.config import uses_model


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
    default=None,
    help="Runs at once (default: 2; with --hosts, their slots added up; under Ray, "
    "as many as the cluster's CPUs take).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Run i uses seed S+i.")
@click.option(
    "--storyteller",
    "-s",
    type=TELLER,
    default="procedural",
    show_default=True,
    help="Who tells every run.",
)
@click.option("--model", "-m", default=None, help="Ollama model.")
@click.option("--host", default=None, help="Ollama server (of every run; see --hosts).")
@click.option(
    "--hosts",
    default=None,
    metavar="URL=N,...",
    help="Ollama servers and the requests each serves at once (its OLLAMA_NUM_PARALLEL), "
    "e.g. http://a:11434=2,http://b:11434=4; a run keeps one for its life.",
)
@click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    default="local",
    show_default=True,
    help="Where runs run: here (procedural runs in worker processes, runs told by a "
    "model together in this one), or Ray tasks (pip install 'simengine[ray]').",
)
@click.option(
    "--address",
    default=None,
    help="Ray cluster to join (what `ray start --head` printed; default: a local Ray).",
)
@click.option(
    "--node-slot",
    default=None,
    metavar="RESOURCE",
    help="Ray resource of node-local Ollama servers (e.g. ollama_slot): a run takes one "
    "and talks to the server on its own node (OLLAMA_HOST there).",
)
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
    jobs: int | None,
    seed: int,
    storyteller: str,
    model: str | None,
    host: str | None,
    hosts: str | None,
    executor: str,
    address: str | None,
    node_slot: str | None,
    narrate: bool,
    out: Path | None,
) -> None:
    """Run many seeded simulations of WORLD in parallel; one save per run.

    Writes report.json and report.csv (each run's metrics and the totals) in
    --out. Calling it again skips finished runs and resumes unfinished ones;
    Ctrl-C stops runs after their current tick and keeps what finished.

    With --executor ray each run is a Ray task, on a local Ray instance or on
    the cluster at --address; a run whose worker dies is retried and resumes
    from its save.

    Example: simengine batch worlds/frontier.toml --runs 8 --ticks 50 --jobs 2 --seed 100
    """
    from simengine.store import saves_dir
    from simengine.world.loader import load_world

    console = Console(stderr=True)
    with friendly_errors():
        spec = load_world(world)
        if hosts:
            parse_hosts(hosts)  # a typo is reported before anything starts
        if (hosts or node_slot) and not uses_model(storyteller):
            click.secho(f"note: --{'hosts' if hosts else 'node-slot'} is for -s ollama or "
                        f"auto; {storyteller} runs make no model calls", fg="yellow", err=True)
        if executor == "ray":
            import_ray()
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
                hosts=hosts,
                executor=executor,
                address=address,
                node_slot=node_slot,
                out=out,
                narrate=narrate,
                on_progress=on_progress,
                on_skip=on_skip,
            )
    Console().print(results_table(spec.world.name, result.rows))
    t = result.totals
    click.echo(
        f"totals: {t['events_total']} events, {t['inventions']} inventions, "
        f"{t['ops_rejected_total']} rejections, {t['repairs_succeeded']}/"
        f"{t['repairs_tried']} repairs, {t['prompt_tokens'] + t['completion_tokens']} "
        f"tokens, {result.wall_seconds:.1f}s wall"
    )
    for line in endings_lines(result.endings):
        click.echo(line)
    for h in result.hosts:
        lost = ", lost mid-batch" if h["lost"] else ""
        click.echo(f"host {h['host']} ({h['slots']} slots): {h['runs']} runs{lost}")
    nodes = sorted({r["node"] for r in result.rows if r.get("node")})
    if executor == "ray" and nodes:
        click.echo(f"ran on {len(nodes)} Ray node(s): {', '.join(nodes)}")
    click.echo(f"report: {out / 'report.json'} and {out / 'report.csv'}")
    if result.interrupted:
        click.secho(
            "interrupted: finished runs are kept; run the same command to resume",
            fg="yellow",
            err=True,
        )
        raise SystemExit(130)


#: The table's columns: header, and how a row fills it.
COLUMNS = (
    ("run", lambda r, m: str(r["run"])),
    ("status", lambda r, m: r["status"]),
    ("ticks", lambda r, m: str(r["ticks"])),
    ("events", lambda r, m: str(m.get("events_total", 0))),
    ("invented", lambda r, m: str(m.get("inventions", 0))),
    ("rejected", lambda r, m: str(m.get("ops_rejected_total", 0))),
    ("repairs", lambda r, m: f"{m.get('repairs_succeeded', 0)}/{m.get('repairs_tried', 0)}"),
    ("fallbacks", lambda r, m: str(sum((m.get("fallbacks") or {}).values()))),
    ("tokens", lambda r, m: str(m.get("prompt_tokens", 0) + m.get("completion_tokens", 0))),
)


def results_table(title: str, rows: list[dict]) -> Table:
    """One line a run. Numbers never shrink below their header (no "tic…" at 80
    columns); a long status folds instead."""
    table = Table(title=f"batch of {title}", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for name, _ in COLUMNS:
        if name == "status":
            table.add_column(name, justify="left", overflow="fold", min_width=6)
        else:
            table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    for r in rows:
        m = r["metrics"]
        table.add_row(*(fill(r, m) for _, fill in COLUMNS))
    return table
