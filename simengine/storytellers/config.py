"""Which storyteller, with which options: resolution, probing, ``auto``.

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
from collections.abc import Callable, Mapping
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
from simengine.world.spec import StorytellerSpec
from simengine.world.text import clean_text

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
    if kind.startswith("replay:"):
        path = kind.split(":", 1)[1]
        if not path.strip():
            raise StorytellerError("say which cassette to replay after 'replay:' "
                                   "(e.g. -s replay:run.jsonl, recorded with --record run.jsonl)")
        if Path(path).is_dir():
            raise StorytellerError(f"{path} is a directory; replay:FILE needs a cassette file "
                                   "recorded with --record FILE")
        teller = ReplayStoryteller(path)
        return teller, (f"replaying {path} ({len(teller.exchanges)} exchanges recorded from "
                        f"{teller.name}; no server needed)")
    if kind == "replay":
        raise StorytellerError("say which cassette to replay: `replay:FILE`")
    if kind == "procedural":
        note = " (nothing to record: it makes no model calls)" if record else ""
        return procedural_factory(seed=seed), f"procedural storyteller (no model needed){note}"
    if kind not in ("auto", "ollama"):
        raise StorytellerError(
            f"unknown storyteller '{kind}' — use auto, ollama, procedural or replay:FILE"
        )
    result = await probe(config, timeout=probe_timeout)
    if not result.ok:
        if kind == "ollama":
            raise StorytellerError(result.reason)
        return procedural_factory(seed=seed), f"procedural storyteller: {result.reason}"
    recorder = None
    if record:
        recorder = CassetteRecorder(record, f"ollama:{config.model}", model=config.model)
    teller = OllamaStoryteller.from_config(config, recorder=recorder, **ollama_kwargs)
    why = f"{teller.name}: {result.reason}"
    if recorder is not None:
        why += f"; recording to {record}"
    return teller, why
