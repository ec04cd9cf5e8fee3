"""The Ollama storyteller inside the engine's repair loop: every failure ends well.

Each case ends in an accepted proposal, a repaired one, or the procedural
storyteller telling the beat with the reason recorded.
"""

from __future__ import annotations

import pytest

from simengine.sim.decide import decide
from simengine.storytellers.base import Intent
from simengine.storytellers.ollama import OllamaStoryteller
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.testing.fake_ollama import FakeOllama, Fault
from simengine.testing.fixtures import dead_url, simple_scene, tiny_state
from simengine.world.rules import Turn, check


@pytest.fixture
def fake():
    with FakeOllama() as server:
        yield server


NPC = Intent("npc", "mara", seed=4)


async def run(host: str, intent: Intent = NPC, **kwargs):
    state = tiny_state()
    scene = simple_scene(state, intent.actor or "mara")
    teller = OllamaStoryteller(host=host, backoff=0.01, timeout=2, **kwargs)
    decision = await decide(teller, scene, intent, state, retries=2,
                            fallback=ProceduralStoryteller(seed=1))
    assert check(decision.proposal, state, Turn(intent.kind, intent.actor)) == []
    return decision


async def test_a_plain_beat_is_accepted_and_its_call_marked(fake):
    decision = await run(fake.url)
    assert decision.storyteller == "ollama:qwen2.5:3b" and decision.fallback_reason is None
    [call] = decision.calls
    assert call.accepted is True and call.prompt_tokens


@pytest.mark.parametrize("kind", ["dead_actor", "unbalanced_currency", "teleport",
                                  "protected_change"])
async def test_an_injected_contradiction_is_repaired(fake, kind):
    fake.enqueue(Fault.inject(kind))
    decision = await run(fake.url)
    assert decision.storyteller == "ollama:qwen2.5:3b"
    assert [c.phase for c in decision.calls] == ["decide", "repair"]
    assert decision.calls[0].accepted is False and decision.calls[0].violations
    assert decision.repaired


async def test_no_server_falls_back_to_procedural_with_the_reason():
    decision = await run(dead_url(), retries=0)
    assert decision.storyteller == "procedural"
    assert "`ollama serve`" in decision.fallback_reason
    assert any(c.error and "not reachable" in c.error for c in decision.calls)


@pytest.mark.parametrize("faults", [
    [Fault.http(500, "boom")] * 2,
    [Fault.busy] * 2,
    [Fault.drop] * 2,
    [Fault.invalid_json] * 2,
    [Fault.schema_invalid] * 2,
])
async def test_persistent_failures_fall_back_for_the_beat(fake, faults):
    fake.enqueue(*faults)
    decision = await run(fake.url, retries=1)
    assert decision.storyteller == "procedural" and decision.fallback_reason


async def test_a_missing_model_falls_back_naming_the_pull(fake):
    decision = await run(fake.url, model="llama3.1:8b")
    assert decision.storyteller == "procedural"
    assert "`ollama pull llama3.1:8b`" in decision.fallback_reason


async def test_a_timeout_falls_back_for_the_beat(fake):
    fake.enqueue(Fault.hang(2))
    state = tiny_state()
    teller = OllamaStoryteller(host=fake.url, timeout=0.3, retries=0, backoff=0.01)
    decision = await decide(teller, simple_scene(state, "mara"), Intent("npc", "mara"), state,
                            fallback=ProceduralStoryteller(seed=1))
    assert decision.storyteller == "procedural" and "within 0.3 s" in decision.fallback_reason
