"""``simengine models`` (list, pull) and ``simengine doctor``: the Ollama side, checked.

Thin commands over the ``ollama`` client and
:mod:`simengine.storytellers.config`. A missing server, a missing model or a
failed pull is one clear line with the fix (exit code 1), never a traceback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import httpx
import ollama
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from simengine.storytellers.base import Intent, StorytellerError
from simengine.storytellers.config import (
    NotOllama,
    OllamaConfig,
    json_object,
    model_names,
    resolve_ollama_config,
    same_model,
)
from simengine.storytellers.ollama import (
    OllamaStoryteller,
    ReplyTooLarge,
    capped_transport,
    classify,
    host_problem,
)
from simengine.world.state import WorldState
from simengine.world.text import clean_text, error_message

MIN_NUM_CTX = 3072  # below this a prompt (2,700 tokens in a rich world) and a reply do not fit


def ollama_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--host`` and ``--model``, shared by every command here."""
    fn = click.option("--model", default=None,
                      help="Model name (default: $SIMENGINE_MODEL, else qwen2.5:3b).")(fn)
    return click.option("--host", default=None,
                        help="Ollama server (default: $OLLAMA_HOST, else 127.0.0.1:11434).")(fn)


def _config(host: str | None, model: str | None, **kwargs: Any) -> OllamaConfig:
    return _checked(resolve_ollama_config(cli_model=model, cli_host=host, **kwargs))


def _checked(config: OllamaConfig) -> OllamaConfig:
    """``config``, or a clear refusal when its host cannot be an address at all."""
    problem = host_problem(config.host)
    if problem:
        raise click.ClickException(f"{problem} (from {config.sources.get('host', 'default')})")
    return config


def _fail(
    exc: BaseException, config: OllamaConfig, model: str | None = None
) -> click.ClickException:
    return click.ClickException(classify(exc, config.host, model or config.model, 10.0).reason)


def _shown(text: str) -> str:
    """A server's words, safe for the terminal and for rich's markup."""
    return escape(clean_text(str(text), one_line=True))


def _size(n: int | None) -> str:
    if not n:
        return "-"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@click.group(invoke_without_command=True)
@ollama_options
@click.pass_context
def models(ctx: click.Context, host: str | None, model: str | None) -> None:
    """List the models the Ollama server has; `pull NAME` fetches one.

    Example: simengine models --host http://127.0.0.1:11434
    """
    config = _config(host, model)
    ctx.obj = config
    if ctx.invoked_subcommand is not None:
        return
    try:
        with ollama.Client(host=config.host, timeout=10.0,
                           transport=capped_transport(sync=True)) as client:
            listing = client.list()
    except (ConnectionError, ollama.ResponseError, httpx.HTTPError, ValueError, TypeError,
            RecursionError, ReplyTooLarge) as exc:
        raise _fail(exc, config) from None
    console = Console(highlight=False, soft_wrap=True)
    if not listing.models:
        console.print(f"no models on {config.host} — try: simengine models pull {config.model}")
        return
    table = Table("name", "size", "parameters", "quantization", "modified", box=None)
    for m in sorted(listing.models, key=lambda m: m.model or ""):
        details = m.details
        mark = " *" if m.model and same_model(m.model, config.model) else ""
        table.add_row(_shown(f"{m.model}{mark}"), _size(m.size),
                      _shown((details.parameter_size if details else None) or "-"),
                      _shown((details.quantization_level if details else None) or "-"),
                      _when(m.modified_at))
    console.print(table)
    if any(m.model and same_model(m.model, config.model) for m in listing.models):
        console.print(f"* the model simengine uses ({config.sources.get('model', 'default')})")
    else:
        console.print(f"{config.model} (the model simengine uses) is not here — "
                      f"run: simengine models pull {config.model}")


@models.command()
@click.argument("name")
@click.option("--host", default=None, help="Ollama server (overrides the group's --host).")
@click.pass_obj
def pull(config: OllamaConfig, name: str, host: str | None) -> None:
    """Pull a model onto the server, with a progress bar.

    Example: simengine models pull qwen2.5:3b
    """
    if host:
        config = _config(host, None)
    console = Console(highlight=False, soft_wrap=True)
    tasks: dict[str, Any] = {}
    status = "starting"
    try:
        with ollama.Client(host=config.host, timeout=None) as client, Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), console=console, transient=False,
        ) as progress:
            for part in client.pull(name, stream=True):
                status = part.status or status
                if part.digest and part.total:
                    key = part.digest
                    if key not in tasks:
                        tasks[key] = progress.add_task(f"pulling {_shown(key[7:19])}",
                                                       total=part.total)
                    progress.update(tasks[key], completed=part.completed or 0)
                elif part.status and part.status != "success":
                    progress.console.print(_shown(part.status))
    except ollama.ResponseError as exc:
        if exc.status_code in (-1, 500) or "manifest" in str(exc.error):
            raise click.ClickException(
                f"pull of '{name}' failed: {clean_text(str(exc.error), one_line=True)} — "
                "check the name on ollama.com/library"
            ) from None
        raise _fail(exc, config, name) from None
    except (ConnectionError, httpx.HTTPError, ValueError, TypeError, RecursionError) as exc:
        raise _fail(exc, config, name) from None
    if status != "success":
        last = clean_text(status, one_line=True)
        raise click.ClickException(f"pull of '{name}' ended without success (last: {last})")
    console.print(f"pulled {name} on {config.host}")


# --------------------------------------------------------------------- doctor
@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _server_checks(config: OllamaConfig) -> tuple[list[Check], dict[str, Any] | None]:
    checks: list[Check] = []
    try:
        with httpx.Client(base_url=config.host, timeout=5.0,
                          transport=capped_transport(sync=True)) as client:
            version = json_object(client.get("/api/version").raise_for_status(),
                                  "/api/version").get("version", "?")
            version = clean_text(str(version), one_line=True)[:40]
            checks.append(Check("server", True, f"Ollama {version} answers at {config.host}"))
            names = model_names(json_object(client.get("/api/tags").raise_for_status(),
                                            "/api/tags"))
            found = next((n for n in names if same_model(n, config.model)), None)
            if found is None:
                checks.append(Check("model", False, f"'{config.model}' is not pulled "
                                    f"(the server has: {', '.join(names) or 'no models'})",
                                    f"run `ollama pull {config.model}` "
                                    f"(or `simengine models pull {config.model}`)"))
                return checks, None
            checks.append(Check("model", True, f"'{found}' is there "
                                f"({config.sources.get('model', 'default')})"))
            show = json_object(client.post("/api/show", json={"model": found})
                               .raise_for_status(), "/api/show")
            return checks, show
    except httpx.ConnectError:
        checks.append(Check("server", False, f"nothing answers at {config.host}",
                            "start it with `ollama serve`, or point --host / OLLAMA_HOST at it"))
    except httpx.TimeoutException:
        checks.append(Check("server", False, f"{config.host} did not answer within 5 s",
                            "is Ollama overloaded or still starting? try again"))
    except (NotOllama, ReplyTooLarge) as exc:
        checks.append(Check("server", False, f"{config.host} did not answer like Ollama: {exc}",
                            "check --host / OLLAMA_HOST points at Ollama (port 11434)"))
    except (httpx.HTTPError, ValueError, TypeError) as exc:
        checks.append(Check("server", False, f"{config.host} did not answer like Ollama "
                            f"({type(exc).__name__}: {clean_text(str(exc), one_line=True)})",
                            "check --host / OLLAMA_HOST points at Ollama (port 11434)"))
    return checks, None


def _context_check(config: OllamaConfig, show: dict[str, Any]) -> Check:
    info = show.get("model_info")
    info = info if isinstance(info, dict) else {}
    limit = next((int(v) for k, v in info.items() if str(k).endswith(".context_length")
                  and isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 2**40),
                 None)
    where = config.sources.get("num_ctx", "default")
    if config.num_ctx < MIN_NUM_CTX:
        return Check("num_ctx", False, f"num_ctx {config.num_ctx} ({where}) is too small for "
                     "a scene and the instructions", "set num_ctx = 4096 in [storyteller]")
    if limit and config.num_ctx > limit:
        return Check("num_ctx", False, f"num_ctx {config.num_ctx} ({where}) exceeds the model's "
                     f"{limit}", f"set num_ctx = {min(limit, 4096)} in [storyteller]")
    model_limit = f"; the model allows {limit}" if limit else ""
    return Check("num_ctx", True, f"{config.num_ctx} ({where}), sent with every call{model_limit}")


#: Who acts in the doctor's test beat: the innkeeper of the starter world.
DOCTOR_ACTOR = "innkeeper"


def _doctor_world() -> WorldState:
    """The starter world `simengine new` writes, for a test beat like a real one."""
    from importlib import resources

    from simengine.world.loader import parse_world

    text = resources.files("simengine.world").joinpath("starter.toml").read_text("utf-8")
    text = text.replace("{id}", "doctor").replace("{name}", "The Doctor's Test World")
    return WorldState.from_spec(parse_world(text, "starter.toml"))


def _decide_check(config: OllamaConfig) -> Check:
    # Imported here: the world is only needed when the doctor calls a model.
    from simengine.storytellers.scene import build_scene
    from simengine.world.rules import Turn, check

    state = _doctor_world()
    intent = Intent("npc", DOCTOR_ACTOR, seed=7)
    scene = build_scene(state, intent)  # the very scene a real beat would send
    teller = OllamaStoryteller.from_config(config, retries=0, reasks=1)
    started = time.perf_counter()
    try:
        proposal = asyncio.run(teller.propose(scene, intent))
    except StorytellerError as exc:
        return Check("decide", False, f"the test decide call failed: {exc.reason}",
                     "see the line above; a model that keeps failing here may be too small")
    seconds = time.perf_counter() - started
    broken = check(proposal, state, Turn("npc", DOCTOR_ACTOR))
    note = f", {len(broken)} rule violation(s) the engine would repair" if broken else ""
    return Check("decide", True, f"a valid proposal with {len(proposal.ops)} op(s) "
                 f"in {seconds:.1f} s{note}")


@click.command()
@ollama_options
@click.option("--world", "world_file", type=click.Path(path_type=Path), default=None,
              help="Read [storyteller] settings (model, num_ctx, timeout) from a world file.")
@click.option("--timeout", type=float, default=None, help="Seconds for the test call.")
def doctor(host: str | None, model: str | None, world_file: Path | None,
           timeout: float | None) -> None:
    """Check that Ollama is ready: server, version, model, num_ctx, a test decide call.

    Each check prints ✓ or ✗ with the fix; exits 0 when all pass, else 1.

    Example: simengine doctor --model qwen2.5:3b
    """
    spec = None
    if world_file is not None:
        from simengine.world.loader import WorldFileError, load_world

        try:
            spec = load_world(world_file).storyteller
        except WorldFileError as exc:
            raise click.ClickException(f"{world_file}: {exc}") from None
        except OSError as exc:
            raise click.ClickException(f"cannot read {world_file}: {error_message(exc)}") from None
    config = resolve_ollama_config(spec, cli_model=model, cli_host=host, cli_timeout=timeout)
    problem = host_problem(config.host)
    if problem:
        click.echo(f"{click.style('✗', fg='red')} server: {problem}")
        click.echo("  fix: give --host (or OLLAMA_HOST) as host:port, e.g. 127.0.0.1:11434")
        raise SystemExit(1)
    checks, show = _server_checks(config)
    if show is not None:
        checks.append(_context_check(config, show))
        checks.append(_decide_check(config))
    for c in checks:
        mark = click.style("✓", fg="green") if c.ok else click.style("✗", fg="red")
        click.echo(f"{mark} {c.name}: {c.detail}")
        if not c.ok and c.fix:
            click.echo(f"  fix: {c.fix}")
    if not all(c.ok for c in checks):
        raise SystemExit(1)
    click.echo(f"all good: simengine can use {config.model} at {config.host}")
