"""``simengine run``: one headless game that prints its story as it streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from simengine.cli.common import (
    check_record_target,
    friendly_errors,
    open_or_start,
    saves_dir_option,
    storyteller_options,
)
from simengine.sim.run import load_script, run_ticks
from simengine.sim.session import (
    BeatStarted,
    Committed,
    GoalDone,
    Message,
    NarrationChunk,
    Notice,
    Session,
    StoryEnded,
    TickResult,
)
from simengine.store import SaveError
from simengine.storytellers.base import StorytellerError
from simengine.world.lore import LoreActivation
from simengine.world.text import clean_text, error_message


class StoryPrinter:
    """Prints a session's messages as a readable story (or JSON lines)."""

    def __init__(self, session: Session, as_json: bool, show_lore: bool = False):
        self.s = session
        self.as_json = as_json
        self.show_lore = show_lore
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
                    "drift": m.drift,
                }
                if self.show_lore:
                    row["lore"] = m.lore.ids() if m.lore else {"active": [], "dropped": []}
                click.echo(json.dumps(row, ensure_ascii=False))
            elif isinstance(m, GoalDone | StoryEnded):
                click.echo(json.dumps({**m.event.wire(), "narration": m.event.narration,
                                       "rejected": [], "refused": [], "story": story_row(m)},
                                      ensure_ascii=False))
            return
        if isinstance(m, BeatStarted):
            if m.tick != self.tick:
                self.tick = m.tick
                unit = self.s.save.settings.world.tick
                click.secho(f"\n— {unit} {m.tick} —", fg="cyan", bold=True)
            if m.kind == "player" and m.text:
                click.secho(f"> {clean_text(m.text, one_line=True)}", fg="green", bold=True)
        elif isinstance(m, NarrationChunk):
            if not self.streaming:
                click.echo("  ", nl=False)
            self.streaming = True
            click.echo(clean_text(m.text), nl=False)
        elif isinstance(m, Committed):
            if self.streaming:
                click.echo()
            elif not self.s.narrate_events:
                click.echo(f"  · {clean_text(m.event.summary, one_line=True)}")
            self.streaming = False
            if m.refused:
                for line in m.refused:
                    if line not in (m.narration if self.s.narrate_events else ""):
                        click.secho(f"  ! {clean_text(line, one_line=True)}", fg="yellow")
            else:
                for v in m.decision.rejected:
                    click.secho(f"  ! not accepted: {clean_text(str(v), one_line=True)}",
                                fg="yellow")
            if self.show_lore and m.lore and (m.lore.active or m.lore.dropped):
                click.secho("  " + lore_line(m.lore), fg="magenta")
        elif isinstance(m, GoalDone):
            click.secho(f"  ✓ Goal done: {clean_text(m.goal.text, one_line=True)}",
                        fg="green", bold=True)
        elif isinstance(m, StoryEnded):
            kind = {"win": "You won", "lose": "You lost"}.get(m.ending.kind, "The end")
            click.secho(f"\n=== {kind} ===", fg="magenta", bold=True)
            click.echo(clean_text(m.ending.text))
            click.echo()
            for line in m.epilogue:
                click.echo(f"  {clean_text(line, one_line=True)}")
        elif isinstance(m, Notice):
            click.secho(f"  [{clean_text(m.text, one_line=True)}]",
                        fg="yellow" if m.level != "info" else "blue", err=True)

    def tick_done(self, result: TickResult) -> None:
        if not self.as_json and not result.events:
            unit = self.s.save.settings.world.tick
            click.secho(f"\n— {unit} {result.tick} —", fg="cyan", bold=True)
            click.echo(f"  (a quiet {unit})")


def story_row(m: GoalDone | StoryEnded) -> dict[str, Any]:
    """The ``story`` field of a goal's or an ending's JSON line."""
    if isinstance(m, GoalDone):
        return {"goal": m.goal.id, "text": m.goal.text}
    return {"ending": m.ending.id, "kind": m.ending.kind, "text": m.ending.text,
            "epilogue": list(m.epilogue)}


def goal_lines(session: Session) -> list[str]:
    """The story's goals, ``[x]`` for those done; empty for a world without goals."""
    return [f"[{'x' if g.id in session.goals_done else ' '}] {g.text}"
            for g in session.story.goals]


def lore_line(lore: LoreActivation) -> str:
    """``lore: a, b (600/400 tokens); dropped by the budget: c`` for one beat."""
    active = ", ".join(str(e.id) for e in lore.active) or "none"
    line = f"lore: {active} ({lore.used}/{lore.budget} tokens)"
    if lore.dropped:
        line += "; dropped by the budget: " + ", ".join(str(e.id) for e in lore.dropped)
    return line
def summary_lines(session: Session, ran: int) -> list[str]:
    m = session.metrics.to_dict()
    rejected = ", ".join(f"{k} {v}" for k, v in m["ops_rejected"].items()) or "none"
    fallbacks = ", ".join(f"{k} ({v})" for k, v in m["fallbacks"].items()) or "none"
    calls = ", ".join(f"{k} {v}" for k, v in m["calls"].items()) or "none"
    events = ", ".join(f"{k} {v}" for k, v in m["events"].items()) or "none"
    story = []
    if session.story.goals:
        done = sum(g.id in session.goals_done for g in session.story.goals)
        story.append(f"goals: {done} of {len(session.story.goals)} done")
    if session.ending is not None:
        story.append(f"ending: {session.ending.id} ({session.ending.kind}); "
                     "`simengine play` and /continue go on in a new branch")
    return [
        *story,
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
    default=None,
    help="How many ticks to run [default: a script's length, else 10].",
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
@click.option("--show-lore", is_flag=True,
              help="Show each beat's active lore and what the lore budget dropped.")
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
    ticks: int | None,
    script: Path | None,
    save_path: Path | None,
    branch: str | None,
    as_json: bool,
    no_narrate: bool,
    show_lore: bool,
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
        check_record_target(teller.get("record"), source, save_path, saves_dir)
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
    length = sum(step.ticks for step in steps or [])
    if ticks is None:
        ticks = length if steps else 10  # a script runs to its end
    elif steps and ticks < length:
        click.secho(f"[--ticks {ticks}: the script's last {length - ticks} of {length} ticks "
                    "are not run]", fg="yellow", err=True)
    printer = StoryPrinter(session, as_json, show_lore)
    session.subscribe(printer)
    if not as_json:
        click.secho(clean_text(f"{session.save.settings.world.name} · storyteller: {why}",
                               one_line=True), fg="blue", err=True)
        opening = session.save.settings.world.opening
        if opening and session.save.head() is None:  # a new story: what the player reads first
            click.echo(f"\n{clean_text(opening)}")
        if session.story.goals:
            click.secho("\nGoals:", bold=True)
            for line in goal_lines(session):
                click.echo(f"  {clean_text(line, one_line=True)}")
    stop = {"asked": False}

    def ask_stop(*_: object) -> None:
        if stop["asked"]:
            raise KeyboardInterrupt
        stop["asked"] = True
        # A model call in flight may take minutes (or never end): cut it now, so the
        # rest of this tick is told without the model and the run stops at its end.
        for teller in {id(t): t for t in (session.storyteller, session.fallback)}.values():
            if hasattr(teller, "interrupt"):
                teller.interrupt("stopped by Ctrl-C")
        click.secho("\n[stopping after this tick; Ctrl-C again to stop now]", fg="yellow", err=True)

    previous = signal.signal(signal.SIGINT, ask_stop)
    ran = -1
    failure: str | None = None
    try:
        ran = asyncio.run(
            run_ticks(
                session, ticks, steps, should_stop=lambda: stop["asked"], on_tick=printer.tick_done
            )
        )
        lines = summary_lines(session, ran)
    except KeyboardInterrupt:
        lines = ["stopped; every committed tick is in the save"]
    except (SaveError, StorytellerError, OSError) as exc:
        failure = (error_message(exc, with_file=True)
                   + " (every tick before this one is in the save)")
    finally:
        signal.signal(signal.SIGINT, previous)
        # A save that just failed a write usually fails the closing write too: say
        # the first failure once, and still let go of the file.
        try:
            session.close()
        except (SaveError, OSError) as exc:
            with contextlib.suppress(SaveError, OSError):
                session.save.close()
            failure = failure or (error_message(exc, with_file=True)
                                  + " (every committed tick is in the save)")
    if failure is not None:
        raise click.ClickException(failure)
    out = sys.stderr if as_json else sys.stdout
    click.echo("", file=out)
    for line in lines:
        click.echo(line, file=out)
    if ran < 0:
        sys.exit(130)
