"""``simengine run``: one headless game that prints its story as it streams."""

from __future__ import annotations

import asyncio
import json
import signal
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
from simengine.sim.run import load_script, run_ticks
from simengine.sim.session import (
    BeatStarted,
    Committed,
    Message,
    NarrationChunk,
    Notice,
    Session,
    TickResult,
)
from simengine.store import SaveError
from simengine.storytellers.base import StorytellerError


class StoryPrinter:
    """Prints a session's messages as a readable story (or JSON lines)."""

    def __init__(self, session: Session, as_json: bool):
        self.s = session
        self.as_json = as_json
        self.tick = None
        self.streaming = False

    def __call__(self, m: Message) -> None:
        if self.as_json:
            if isinstance(m, Committed):
                row = {
                    **m.event.wire(),
                    "narration": m.narration or m.event.summary,
                    "rejected": [
                        {**v.to_dict(), **({"told": m.refused[i]} if i < len(m.refused) else {})}
                        for i, v in enumerate(m.decision.rejected)
                    ],
                    "refused": list(m.refused),
                }
                click.echo(json.dumps(row, ensure_ascii=False))
            return
        if isinstance(m, BeatStarted):
            if m.tick != self.tick:
                self.tick = m.tick
                click.secho(f"\n— {self.s.save.spec.world.tick} {m.tick} —", fg="cyan", bold=True)
            if m.kind == "player" and m.text:
                click.secho(f"> {m.text}", fg="green", bold=True)
        elif isinstance(m, NarrationChunk):
            if not self.streaming:
                click.echo("  ", nl=False)
            self.streaming = True
            click.echo(m.text, nl=False)
        elif isinstance(m, Committed):
            if self.streaming:
                click.echo()
            elif not self.s.narrate_events:
                click.echo(f"  · {m.event.summary}")
            self.streaming = False
            if m.refused:
                for line in m.refused:
                    if line not in (m.narration if self.s.narrate_events else ""):
                        click.secho(f"  ! {line}", fg="yellow")
            else:
                for v in m.decision.rejected:
                    click.secho(f"  ! not accepted: {v}", fg="yellow")
        elif isinstance(m, Notice):
            click.secho(f"  [{m.text}]", fg="yellow" if m.level != "info" else "blue", err=True)

    def tick_done(self, result: TickResult) -> None:
        if not self.as_json and not result.events:
            unit = self.s.save.spec.world.tick
            click.secho(f"\n— {unit} {result.tick} —", fg="cyan", bold=True)
            click.echo(f"  (a quiet {unit})")


def summary_lines(session: Session, ran: int) -> list[str]:
    m = session.metrics.to_dict()
    rejected = ", ".join(f"{k} {v}" for k, v in m["ops_rejected"].items()) or "none"
    fallbacks = ", ".join(f"{k} ({v})" for k, v in m["fallbacks"].items()) or "none"
    calls = ", ".join(f"{k} {v}" for k, v in m["calls"].items()) or "none"
    events = ", ".join(f"{k} {v}" for k, v in m["events"].items()) or "none"
    return [
        f"ticks run: {ran} (save at tick {session.tick}, branch {session.branch})",
        f"events: {m['events_total']} ({events})",
        f"ops accepted: {m['ops_accepted']}; rejected: {m['ops_rejected_total']} ({rejected})",
        f"repairs: {m['repairs_succeeded']} of {m['repairs_tried']} succeeded; "
        f"inventions canonized: {m['inventions']}",
        f"fallbacks: {fallbacks}",
        f"model calls: {calls}; tokens: {m['prompt_tokens']} prompt, "
        f"{m['completion_tokens']} completion",
        f"time: {m['model_seconds']:.2f}s in the model, {m['engine_seconds']:.2f}s in the engine",
        f"save: {session.save.path}",
    ]


@click.command()
@click.argument("source")
@click.option(
    "--ticks",
    "-n",
    type=click.IntRange(0, 1_000_000),
    default=10,
    show_default=True,
    help="How many ticks to run.",
)
@click.option(
    "--script",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Player turns, one a line ('#' comments, '/wait N').",
)
@click.option(
    "--save",
    "save_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the save (default: a new file in the saves dir).",
)
@click.option("--branch", default=None, help="Branch to play on (a new one is forked if needed).")
@click.option("--json", "as_json", is_flag=True, help="Print events as JSON lines, not prose.")
@click.option("--no-narrate", is_flag=True, help="Skip narration (the summary stands in).")
@click.option(
    "--voice",
    type=click.Choice(["second", "third"]),
    default="third",
    show_default=True,
    help="Tell the player's own doings as 'you' (second) or by name (third).",
)
@storyteller_options
@saves_dir_option
def run(
    source: str,
    ticks: int,
    script: Path | None,
    save_path: Path | None,
    branch: str | None,
    as_json: bool,
    no_narrate: bool,
    voice: str,
    saves_dir: Path | None,
    **teller: Any,
) -> None:
    """Run a world or a save headless, printing the story as it streams.

    SOURCE is a world file (a new save is made) or a save (the game goes on).
    Ctrl-C stops after the current tick; nothing committed is lost.

    Example: simengine run worlds/harbour.toml --ticks 50 --seed 42
    """
    with friendly_errors():
        steps = load_script(script) if script else None
        session, why = open_or_start(
            source,
            save_path=save_path,
            branch=branch,
            saves_dir=saves_dir,
            narrate=not no_narrate,
            voice=voice,
            **teller,
        )
    printer = StoryPrinter(session, as_json)
    session.subscribe(printer)
    if not as_json:
        click.secho(f"{session.save.spec.world.name} · storyteller: {why}", fg="blue", err=True)
    stop = {"asked": False}

    def ask_stop(*_: object) -> None:
        if stop["asked"]:
            raise KeyboardInterrupt
        stop["asked"] = True
        click.secho("\n[stopping after this tick; Ctrl-C again to stop now]", fg="yellow", err=True)

    previous = signal.signal(signal.SIGINT, ask_stop)
    ran = -1
    try:
        ran = asyncio.run(
            run_ticks(
                session, ticks, steps, should_stop=lambda: stop["asked"], on_tick=printer.tick_done
            )
        )
        lines = summary_lines(session, ran)
    except KeyboardInterrupt:
        lines = ["stopped; every committed tick is in the save"]
    except (SaveError, StorytellerError) as exc:
        raise click.ClickException(f"{exc} (every tick before this one is in the save)") from None
    finally:
        signal.signal(signal.SIGINT, previous)
        session.close()
    out = sys.stderr if as_json else sys.stdout
    click.echo("", file=out)
    for line in lines:
        click.echo(line, file=out)
    if ran < 0:
        sys.exit(130)
