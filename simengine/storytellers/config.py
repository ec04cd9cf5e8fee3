"""Which storyteller, with which options: the registry of kinds, resolution, probing.

:data:`KINDS` is the one registry of storyteller kinds (name -> factory, probe):
the CLI's ``--storyteller``, batch runs, the TUI's picker and ``/storyteller``,
and the world file's ``[storyteller] kind`` all read it, so a kind
:func:`register` adds shows up in each of them.

Precedence for every Ollama setting: the command line, then the environment
(``SIMENGINE_MODEL``, ``OLLAMA_HOST``), then the world file's
``[storyteller]`` table, then the defaults (``qwen2.5:3b`` at
``http://127.0.0.1:11434``). ``probe`` asks a server, quickly, whether it
answers and has the model; ``choose_storyteller`` turns a kind
(``auto``/``ollama``/``procedural``/``replay:FILE``) into a storyteller and a
sentence saying which one and why.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from simengine.storytellers.base import Storyteller, StorytellerError
from simengine.storytellers.ollama import (
    DEFAULT_HOST,
    DEFAULT_MODEL,
    MAX_REPLY_BYTES,
    OllamaStoryteller,
    ReplyTooLarge,
    capped_transport,
    host_problem,
    normalise_host,
)
from simengine.storytellers.replay import CassetteRecorder, ReplayStoryteller
from simengine.world.spec import STORYTELLER_KINDS, StorytellerSpec
from simengine.world.text import clean_text, either

_DEFAULTS = StorytellerSpec()
PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class OllamaConfig:
    """Resolved Ollama settings; ``sources`` says where model and host came from."""

    model: str = DEFAULT_MODEL
    host: str = DEFAULT_HOST
    temperature: float = _DEFAULTS.temperature
    decide_temperature: float = _DEFAULTS.decide_temperature
    num_ctx: int = _DEFAULTS.num_ctx
    keep_alive: str | float = _DEFAULTS.keep_alive
    timeout: float = _DEFAULTS.timeout
    sources: dict[str, str] = field(default_factory=dict, compare=False)


def resolve_ollama_config(
    world_storyteller_spec: StorytellerSpec | None = None,
    cli_model: str | None = None,
    cli_host: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    cli_timeout: float | None = None,
    cli_num_ctx: int | None = None,
) -> OllamaConfig:
    """CLI > environment > world file > defaults, setting by setting."""
    env = os.environ if env is None else env
    spec = world_storyteller_spec
    sources: dict[str, str] = {}

    def pick(name: str, cli: Any, env_key: str | None, default: Any) -> Any:
        if cli not in (None, ""):
            sources[name] = "command line"
            return cli
        if env_key and env.get(env_key):
            sources[name] = f"${env_key}"
            return env[env_key]
        if spec is not None and name in spec.model_fields_set:
            sources[name] = "world file [storyteller]"
            return getattr(spec, name)
        sources[name] = "default"
        return getattr(spec, name) if spec is not None and hasattr(spec, name) else default

    model = pick("model", cli_model, "SIMENGINE_MODEL", DEFAULT_MODEL)
    host = pick("host", cli_host, "OLLAMA_HOST", DEFAULT_HOST)
    base = spec or _DEFAULTS
    return OllamaConfig(
        model=str(model).strip(),
        host=normalise_host(str(host)),
        temperature=base.temperature,
        decide_temperature=base.decide_temperature,
        num_ctx=int(pick("num_ctx", cli_num_ctx, None, base.num_ctx)),
        keep_alive=base.keep_alive,
        timeout=float(pick("timeout", cli_timeout, None, base.timeout)),
        sources=sources,
    )


def same_model(a: str, b: str) -> bool:
    """``qwen2.5`` and ``qwen2.5:latest`` are one model."""

    def tag(name: str) -> str:
        return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"

    return tag(a) == tag(b)


@dataclass(frozen=True)
class ProbeResult:
    """What a quick look at the server found."""

    ok: bool
    reason: str
    version: str | None = None
    models: list[str] = field(default_factory=list)
    reachable: bool = False
    has_model: bool = False


class NotOllama(ValueError):
    """A server answered, but not the way Ollama does."""


def json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object a reply holds, or :class:`NotOllama` saying why not.

    Absurdly nested JSON (a RecursionError in the parser) and JSON of the wrong
    shape are unreadable replies, not crashes.
    """
    try:
        data = response.json()
    except RecursionError:
        raise NotOllama(f"{what} sent JSON nested too deeply to read") from None
    except ValueError:
        raise NotOllama(f"{what} did not send JSON") from None
    if not isinstance(data, dict):
        raise NotOllama(f"{what} sent JSON that is not an object")
    return data


def model_names(tags: dict[str, Any]) -> list[str]:
    """The model names in an ``/api/tags`` reply, or :class:`NotOllama`."""
    entries = tags.get("models") or []
    if not isinstance(entries, list):
        shown = clean_text(json.dumps(entries)[:40], one_line=True)
        raise NotOllama(f"/api/tags sent \"models\": {shown}, not a list of models")
    names = []
    for e in entries:
        name = e.get("model") or e.get("name") if isinstance(e, dict) else None
        if isinstance(name, str) and name:
            names.append(clean_text(name, one_line=True))
    return names


async def probe(config: OllamaConfig, timeout: float = PROBE_TIMEOUT) -> ProbeResult:
    """Does the server answer within ``timeout``, and does it have the model?"""
    host, model = config.host, config.model
    problem = host_problem(host)
    if problem:
        return ProbeResult(False, problem)
    try:
        async with httpx.AsyncClient(base_url=host, timeout=timeout,
                                     transport=capped_transport()) as client:
            async with asyncio.timeout(timeout * 2):  # per read, and for the whole probe
                version_reply = await client.get("/api/version")
                version_reply.raise_for_status()
                version = clean_text(str(json_object(version_reply, "/api/version")
                                         .get("version", "?")), one_line=True)[:40]
                tags = await client.get("/api/tags")
                tags.raise_for_status()
                names = model_names(json_object(tags, "/api/tags"))
    except httpx.ConnectError:
        return ProbeResult(False, f"Ollama is not reachable at {host} — start it with "
                                  "`ollama serve` (or set OLLAMA_HOST)")
    except (httpx.TimeoutException, TimeoutError):
        return ProbeResult(False, f"Ollama at {host} did not answer within {timeout:g} s")
    except httpx.HTTPStatusError as exc:
        return ProbeResult(False, f"{host} answered {exc.response.status_code}: is it Ollama?",
                           reachable=True)
    except NotOllama as exc:
        return ProbeResult(False, f"{host} did not answer like Ollama: {exc}", reachable=True)
    except ReplyTooLarge:
        return ProbeResult(False, f"{host} did not answer like Ollama: a reply of more than "
                                  f"{MAX_REPLY_BYTES // 2**20} MB", reachable=True)
    except (httpx.HTTPError, ValueError, AttributeError, OverflowError) as exc:
        return ProbeResult(False, f"{host} did not answer like Ollama ({type(exc).__name__})",
                           reachable=True)
    if not any(same_model(n, model) for n in names):
        return ProbeResult(False, f"model '{model}' is not pulled on {host} — run "
                                  f"`ollama pull {model}`", version, names, reachable=True)
    return ProbeResult(True, f"Ollama {version} at {host} has {model}", version, names,
                       reachable=True, has_model=True)


@dataclass(frozen=True)
class TellerRequest:
    """What a kind's factory gets: the settings, and what its probe found."""

    config: OllamaConfig
    seed: int
    procedural_factory: Callable[..., Storyteller]
    argument: str | None = None
    record: str | Path | None = None
    probed: ProbeResult | None = None
    ollama_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TellerKind:
    """One kind of storyteller.

    Attributes:
        name: what ``--storyteller``, ``/storyteller`` and world files call it.
        says: one line for pickers and help.
        build: makes the storyteller, and says why it is the one.
        probe: asks the model server first (the kind needs an Ollama host); its
            answer reaches ``build`` as ``request.probed``.
        argument: what follows ``name:`` (``FILE`` for ``replay:FILE``); a kind with
            one is a command-line matter, not for world files or the TUI.
    """

    name: str
    says: str
    build: Callable[[TellerRequest], tuple[Storyteller, str]]
    probe: Callable[[OllamaConfig, float], Awaitable[ProbeResult]] | None = None
    argument: str | None = None

    @property
    def spelled(self) -> str:
        return f"{self.name}:{self.argument}" if self.argument else self.name

    @property
    def uses_model(self) -> bool:
        return self.probe is not None


#: Every storyteller kind, by name, in the order help and pickers list them.
KINDS: dict[str, TellerKind] = {}


def register(kind: TellerKind) -> None:
    """Add a storyteller kind everywhere one is chosen (a world file too, unless it
    takes an argument)."""
    KINDS[kind.name] = kind
    if kind.argument is None and kind.name not in STORYTELLER_KINDS:
        STORYTELLER_KINDS.append(kind.name)


def kinds_text() -> str:
    """``auto, ollama, procedural or replay:FILE``: the kinds as help and errors list them."""
    return either([k.spelled for k in KINDS.values()])


def uses_model(spelled: str) -> bool:
    """Whether the kind ``spelled`` names asks a model server (and so needs a host)."""
    kind = KINDS.get(spelled.partition(":")[0])
    return kind is not None and kind.uses_model


def picker_kinds() -> list[TellerKind]:
    """The kinds a player can pick by name alone (no file to give)."""
    return [k for k in KINDS.values() if k.argument is None]


def teller_kind(spelled: str) -> tuple[TellerKind, str | None]:
    """The kind ``spelled`` names, and what follows its colon (``replay:run.jsonl`` ->
    replay, ``run.jsonl``; None without one). The kind's factory checks that part.

    Raises:
        StorytellerError: an unknown kind, or a colon after one that takes nothing.
    """
    name, colon, argument = spelled.partition(":")
    kind = KINDS.get(name)
    if kind is None or (colon and kind.argument is None):
        raise StorytellerError(f"unknown storyteller '{spelled}' — use {kinds_text()}")
    return kind, (argument if colon else None)


def _replay(request: TellerRequest) -> tuple[Storyteller, str]:
    path = request.argument or ""
    if not path.strip():
        raise StorytellerError("say which cassette to replay: replay:FILE "
                               "(e.g. -s replay:run.jsonl, recorded with --record run.jsonl)")
    if Path(path).is_dir():
        raise StorytellerError(f"{path} is a directory; replay:FILE needs a cassette file "
                               "recorded with --record FILE")
    teller = ReplayStoryteller(path)
    return teller, (f"replaying {path} ({len(teller.exchanges)} exchanges recorded from "
                    f"{teller.name}; no server needed)")


def _procedural(request: TellerRequest) -> tuple[Storyteller, str]:
    note = " (nothing to record: it makes no model calls)" if request.record else ""
    return (request.procedural_factory(seed=request.seed),
            f"procedural storyteller (no model needed){note}")


def _ollama(request: TellerRequest) -> tuple[Storyteller, str]:
    result, config, record = request.probed, request.config, request.record
    assert result is not None  # the kind has a probe
    if not result.ok:
        raise StorytellerError(result.reason)
    recorder = None
    if record:
        recorder = CassetteRecorder(record, f"ollama:{config.model}", model=config.model)
    teller = OllamaStoryteller.from_config(config, recorder=recorder, **request.ollama_kwargs)
    why = f"{teller.name}: {result.reason}"
    if recorder is not None:
        why += f"; recording to {record}"
    return teller, why


def _auto(request: TellerRequest) -> tuple[Storyteller, str]:
    result = request.probed
    if result is not None and not result.ok:
        return (request.procedural_factory(seed=request.seed),
                f"procedural storyteller: {result.reason}")
    return _ollama(request)


async def choose_storyteller(
    kind: str,
    config: OllamaConfig,
    seed: int,
    procedural_factory: Callable[..., Storyteller],
    *,
    record: str | Path | None = None,
    probe_timeout: float = PROBE_TIMEOUT,
    **ollama_kwargs: Any,
) -> tuple[Storyteller, str]:
    """A storyteller for ``kind``, and why it is the one.

    Args:
        kind: ``auto`` (Ollama when it answers and has the model, else
            procedural), ``ollama``, ``procedural`` or ``replay:FILE``.
        config: resolved Ollama settings.
        seed: the session's seed (for the procedural storyteller).
        procedural_factory: called as ``procedural_factory(seed=seed)``.
        record: a cassette path: every model exchange of the run goes there.
        probe_timeout: how long ``auto`` and ``ollama`` wait for the server.
        **ollama_kwargs: passed on to :class:`OllamaStoryteller`.

    Raises:
        StorytellerError: ``ollama`` with no usable server, an unknown kind, or
            a cassette that cannot be read.
    """
    chosen, argument = teller_kind(kind)
    probed = None if chosen.probe is None else await chosen.probe(config, probe_timeout)
    return chosen.build(TellerRequest(config, seed, procedural_factory, argument, record,
                                      probed, dict(ollama_kwargs)))


for _kind in (
    TellerKind("auto", "Ollama if it answers, else procedural", _auto, probe),
    TellerKind("ollama", "a local model through Ollama", _ollama, probe),
    TellerKind("procedural", "no model, offline", _procedural),
    TellerKind("replay", "a recorded cassette, told again exactly", _replay, argument="FILE"),
):
    register(_kind)
if set(STORYTELLER_KINDS) - set(KINDS):
    raise ImportError("world/spec.py names storytellers with no factory here: "
                      f"{sorted(set(STORYTELLER_KINDS) - set(KINDS))}")
