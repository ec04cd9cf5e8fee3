"""Option resolution, probing the server, and choosing a storyteller (``auto`` included)."""

from __future__ import annotations

import pytest

from simengine.storytellers.base import StorytellerError
from simengine.storytellers.config import (
    OllamaConfig,
    choose_storyteller,
    probe,
    resolve_ollama_config,
)
from simengine.storytellers.ollama import OllamaStoryteller
from simengine.storytellers.replay import ReplayStoryteller
from simengine.testing.fixtures import dead_url, running_fake
from simengine.world.spec import StorytellerSpec


class StubProcedural:
    name = "procedural"

    def __init__(self, seed: int = 0):
        self.seed = seed


# ----------------------------------------------------------------- resolution
def test_defaults():
    config = resolve_ollama_config(env={})
    assert (config.model, config.host) == ("qwen2.5:3b", "http://127.0.0.1:11434")
    assert (config.num_ctx, config.keep_alive, config.timeout) == (4096, "10m", 60.0)
    assert config.decide_temperature < config.temperature
    assert config.sources["model"] == "default"


def test_cli_beats_env_beats_world_file_beats_defaults():
    world = StorytellerSpec(model="llama3.2:3b", num_ctx=8192, timeout=30, temperature=0.5)
    env = {"SIMENGINE_MODEL": "qwen2.5:7b", "OLLAMA_HOST": "gpu-box:11500"}
    from_world = resolve_ollama_config(world, env={})
    assert from_world.model == "llama3.2:3b" and from_world.sources["model"].startswith("world")
    assert (from_world.num_ctx, from_world.timeout, from_world.temperature) == (8192, 30, 0.5)
    from_env = resolve_ollama_config(world, env=env)
    assert from_env.model == "qwen2.5:7b" and from_env.host == "http://gpu-box:11500"
    assert from_env.sources == {"model": "$SIMENGINE_MODEL", "host": "$OLLAMA_HOST",
                                "num_ctx": "world file [storyteller]",
                                "timeout": "world file [storyteller]"}
    from_cli = resolve_ollama_config(world, cli_model="mistral:7b", cli_host="https://h",
                                     env=env, cli_timeout=5, cli_num_ctx=2048)
    assert (from_cli.model, from_cli.host) == ("mistral:7b", "https://h:443")
    assert (from_cli.timeout, from_cli.num_ctx) == (5, 2048)


def test_the_storyteller_takes_the_resolved_options():
    config = OllamaConfig(model="m:1b", host="http://h:1", num_ctx=8192, timeout=9,
                          decide_temperature=0.1, temperature=0.9, keep_alive="1m")
    t = OllamaStoryteller.from_config(config, retries=0)
    assert (t.model, t.host, t.num_ctx, t.timeout, t.keep_alive) == ("m:1b", "http://h:1",
                                                                     8192, 9, "1m")
    assert t._options(t.decide_temperature, 3, 100) == {"temperature": 0.1, "seed": 3,
                                                        "num_ctx": 8192, "num_predict": 100}
    assert t.retries == 0


# ---------------------------------------------------------------------- probe
async def test_probe_finds_the_server_and_the_model():
    with running_fake(models=["qwen2.5:3b", "llama3.2"]) as fake:
        ok = await probe(OllamaConfig(host=fake.url, model="llama3.2"))
        missing = await probe(OllamaConfig(host=fake.url, model="mistral:7b"))
    assert ok.ok and ok.version == "0.13.5" and ok.models == ["qwen2.5:3b", "llama3.2:latest"]
    assert ok.reason == f"Ollama 0.13.5 at {fake.url} has llama3.2"
    assert not missing.ok and missing.reachable and "`ollama pull mistral:7b`" in missing.reason


async def test_probe_without_a_server_says_how_to_start_it():
    result = await probe(OllamaConfig(host=dead_url()))
    assert not result.ok and not result.reachable and "`ollama serve`" in result.reason


# ----------------------------------------------------------------- choosing
async def test_auto_without_a_server_picks_procedural_and_says_why():
    config = OllamaConfig(host=dead_url())
    teller, why = await choose_storyteller("auto", config, 42, StubProcedural)
    assert isinstance(teller, StubProcedural) and teller.seed == 42
    assert why.startswith("procedural storyteller: Ollama is not reachable at http://127.0.0.1:")
    assert "`ollama serve`" in why


async def test_auto_with_the_real_procedural_storyteller():
    from simengine.storytellers.procedural import ProceduralStoryteller

    teller, why = await choose_storyteller("auto", OllamaConfig(host=dead_url()), 7,
                                           ProceduralStoryteller)
    assert isinstance(teller, ProceduralStoryteller) and "not reachable" in why


async def test_auto_without_the_model_picks_procedural_and_names_the_pull():
    with running_fake(models=["llama3.2:3b"]) as fake:
        teller, why = await choose_storyteller("auto", OllamaConfig(host=fake.url), 1,
                                               StubProcedural)
    assert isinstance(teller, StubProcedural) and "`ollama pull qwen2.5:3b`" in why


async def test_auto_with_a_server_and_the_model_picks_ollama(tmp_path):
    with running_fake() as fake:
        teller, why = await choose_storyteller("auto", OllamaConfig(host=fake.url), 1,
                                               StubProcedural, record=tmp_path / "c.jsonl",
                                               backoff=0.01)
    assert isinstance(teller, OllamaStoryteller) and teller.backoff == 0.01
    assert why.startswith("ollama:qwen2.5:3b: Ollama 0.13.5 at http://127.0.0.1:")
    assert "recording to" in why and teller.recorder is not None


async def test_explicit_ollama_without_a_server_is_an_error():
    with pytest.raises(StorytellerError, match="`ollama serve`"):
        await choose_storyteller("ollama", OllamaConfig(host=dead_url()), 1, StubProcedural)


async def test_procedural_replay_and_unknown_kinds(tmp_path):
    teller, why = await choose_storyteller("procedural", OllamaConfig(), 3, StubProcedural)
    assert isinstance(teller, StubProcedural) and "no model needed" in why
    cassette = tmp_path / "c.jsonl"
    cassette.write_text('{"cassette": 1, "storyteller": "ollama:m"}\n')
    teller, why = await choose_storyteller(f"replay:{cassette}", OllamaConfig(), 3,
                                           StubProcedural)
    assert isinstance(teller, ReplayStoryteller) and teller.name == "ollama:m"
    assert "no server needed" in why
    for bad in ("replay", "gpt"):
        with pytest.raises(StorytellerError, match="replay:FILE"):
            await choose_storyteller(bad, OllamaConfig(), 3, StubProcedural)
