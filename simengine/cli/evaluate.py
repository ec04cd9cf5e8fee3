"""``simengine eval``: how well the rules hold against a model that lies at known rates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simengine.cli.common import friendly_errors
from simengine.sim.batch import endings_lines
from simengine.sim.evaluate import DEFAULT_RATES, check_rates, evaluate, parse_rates

_DEFAULTS = ",".join(f"{k}={v:g}" for k, v in DEFAULT_RATES.items())


def _rates(ctx: click.Context, param: click.Parameter, value: str) -> dict[str, float]:
    try:
        rates = parse_rates(value or "")
        check_rates({**DEFAULT_RATES, **rates})
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return rates


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


@click.command("eval")
@click.argument("world", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--runs", "-r", type=click.IntRange(1, 10_000), default=4, show_default=True,
              help="How many seeded runs (run i uses seed S+i).")
@click.option("--ticks", "-n", type=click.IntRange(1, 1_000_000), default=30, show_default=True,
              help="Ticks per run.")
@click.option("--seed", type=int, default=0, show_default=True, help="The first run's seed.")
@click.option("--rates", default="", callback=_rates, metavar="KIND=RATE,...",
              help=f"Noisy-mode rates, over the defaults ({_DEFAULTS}).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the whole report as JSON here ('-': stdout).")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep each run's save here (default: thrown away).")
def eval_cmd(world: Path, runs: int, ticks: int, seed: int, rates: dict[str, float],
             json_path: Path | None, out: Path | None) -> None:
    """Measure the consistency layer: runs of WORLD against a fake model that lies.

    Each run plays WORLD headless against the fake Ollama server in noisy mode
    (in this process, on 127.0.0.1): it injects contradictions of known kinds at
    known rates and tags every reply it falsified. The report gives proposals,
    the share valid at the first try, violations by rule, repairs that succeed
    after 1 and 2 retries, inventions made canon, fallbacks, the validator's
    recall on each injected kind, and committed violations (every event re-checked
    from the save), which must be zero: if not, the command fails. Narrations get
    drift (a name nobody has, a dead man acting, a thing changing hands that no op
    moved) at the drift_* rates; the report gives the narration check's recall on
    each kind and its false alarms on clean prose.

    Example: simengine eval worlds/harbour.toml --runs 4 --ticks 30 --json eval.json
    """
    from simengine.world.loader import load_world

    err = Console(stderr=True)
    with friendly_errors():
        spec = load_world(world)
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn()]
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task(f"eval {spec.world.id}", total=runs * ticks)
            done: dict[int, int] = {}

            def on_progress(index: int, tick: int) -> None:
                progress.advance(task, tick - done.get(index, 0))
                done[index] = tick

            report = evaluate(spec, runs=runs, ticks=ticks, seed=seed, rates=rates, out=out,
                              on_progress=on_progress)
    data = report.to_dict()
    if json_path is not None:
        text = json.dumps(data, indent=2) + "\n"
        if str(json_path) == "-":
            click.echo(text, nl=False)
        else:
            json_path.write_text(text, encoding="utf-8")
    console = Console(stderr=str(json_path) == "-")
    render(data, console)
    for line in endings_lines(data["endings"]):
        console.print(line)
    if json_path is not None and str(json_path) != "-":
        console.print(f"report: {json_path}")
    total = data["total"]
    if total["committed_violations"]:
        raise click.ClickException(
            f"{total['committed_violations']} committed event(s) break a rule; first: "
            f"{total['committed_violation_details'][0]}")


def render(data: dict[str, Any], console: Console) -> None:
    """The report's tables."""
    t = data["total"]
    summary = Table(title=f"eval of {data['world']}: {data['runs']} run(s) x {data['ticks']} "
                          f"ticks, seed {data['seed']}", box=box.SIMPLE_HEAD, show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    calls = ", ".join(f"{k} {v}" for k, v in t["calls"].items()) or "none"
    repair = t["repair"]
    rows = [
        ("proposals (beats)", str(t["proposals"])),
        ("valid at the first try", f"{t['valid_first_try']} ({_pct(t['valid_first_try_share'])})"),
        ("model calls", calls),
        ("needed repair", str(repair["needed"])),
        ("repaired after 1 retry", f"{repair['after_1']} ({_pct(repair['rate_after_1'])})"),
        ("repaired after 2 retries", f"{repair['after_2']} ({_pct(repair['rate_after_2'])})"),
        ("inventions canonized", str(t["inventions_canonized"])),
        ("fallbacks to procedural", str(t["fallbacks"])),
        ("committed violations", str(t["committed_violations"])),
        ("replay matches the session", "yes" if t["replay_matches"] else "NO"),
        ("calls joined to the fake's log", f"{t['join']['matched']} "
                                           f"(unmatched {t['join']['unmatched']})"),
    ]
    for name, value in rows:
        style = "bold red" if name == "committed violations" and value != "0" else None
        summary.add_row(name, value, style=style)
    console.print(summary)
    rules = Table(title="violations by rule", box=box.SIMPLE_HEAD)
    for column in ("rule", "met", "dropped in the end"):
        rules.add_column(column, justify="left" if column == "rule" else "right")
    for rule, n in t["violations_by_rule"].items():
        rules.add_row(rule, str(n), str(t["rejected_by_rule"].get(rule, 0)))
    if not t["violations_by_rule"]:
        rules.add_row("(none)", "0", "0")
    console.print(rules)
    recall = Table(title="recall on injected contradictions", box=box.SIMPLE_HEAD,
                   pad_edge=False, collapse_padding=True,
                   caption="caught: its rule fired (or the parser refused); other: other rules")
    for column in ("injected kind", "rule", "n", "caught", "other", "missed", "recall"):
        recall.add_column(column, justify="left" if column in ("injected kind", "rule")
                          else "right", no_wrap=True)
    for kind, r in t["recall"].items():
        recall.add_row(kind, r["expected_rule"], str(r["injected"]), str(r["caught_by_rule"]),
                       str(r["caught_otherwise"]), str(r["missed"]), _pct(r["recall"]),
                       style="bold red" if r["missed"] else None)
    if not t["recall"]:
        recall.add_row("(nothing injected)", "", "0", "0", "0", "0", "-")
    console.print(recall)
    render_drift(t["narration_drift"], console)


def render_drift(d: dict[str, Any], console: Console) -> None:
    """The narration check's table: recall per drift kind, false alarms on clean prose."""
    table = Table(title="narration drift caught", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True,
                  caption=f"false alarms on clean prose: {d['false_alarms']} of {d['clean']} "
                          f"({_pct(d['false_alarm_rate'])}); retold {d['retold']}, told "
                          f"procedurally {d['procedural']}")
    for column in ("drift kind", "n", "caught", "missed", "recall"):
        table.add_column(column, justify="left" if column == "drift kind" else "right",
                         no_wrap=True)
    for kind, r in d["kinds"].items():
        table.add_row(kind, str(r["injected"]), str(r["caught"]), str(r["missed"]),
                      _pct(r["recall"]), style="bold red" if r["missed"] else None)
    if not d["kinds"]:
        table.add_row("(nothing injected)", "0", "0", "0", "-")
    console.print(table)
