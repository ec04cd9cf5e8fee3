"""Hostile servers and replies: every one ends in a clear reason, never a crash or a hang.

The crafted replies come from ``simengine.testing`` (the fake Ollama's hostile
mode, ``Fault.raw``, ``Fault.trickle``, ``Fault.flood`` and ``override``).
``asyncio.wait_for`` guards below only turn a hang into a failure; they assert
no timing.
"""

from __future__ import annotations

import asyncio

import pytest

from simengine.storytellers.base import Intent, StorytellerError
from simengine.storytellers.config import (
    OllamaConfig,
    choose_storyteller,
    probe,
)
from simengine.storytellers.ollama import (
    DECIDE_NUM_PREDICT,
    NARRATE_NUM_PREDICT,
    OllamaStoryteller,
    host_problem,
)
from simengine.storytellers.procedural import ProceduralStoryteller
from simengine.testing.fake_ollama import FakeOllama, Fault
from simengine.testing.hostile import MARK, POISON, deep_chunk, deep_json
from simengine.world.ops import Proposal

NPC = Intent("npc", "mara", seed=11)
GUARD = 60  # seconds before a hang counts as a failure


def teller(fake: FakeOllama, **kwargs) -> OllamaStoryteller:
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("timeout", 5.0)
    kwargs.setdefault("retries", 0)
    return OllamaStoryteller(host=fake.url, **kwargs)


async def narration(t: OllamaStoryteller, scene) -> str:
    async def collect() -> str:
        proposal = Proposal(actor="mara", summary="Mara waits")
        return "".join([c async for c in t.narrate(scene, proposal)])

    return await asyncio.wait_for(collect(), GUARD)


def assert_clean(text: str) -> None:
    assert not [p for p in POISON if p in text] and "\x1b" not in text, repr(text)


# ------------------------------------------------------------------ point 14
async def test_poisoned_names_and_summaries_arrive_clean(scene):
    with FakeOllama(mode="hostile") as fake:
        t = teller(fake)
        proposal = await t.propose(scene, NPC)
        text = await narration(t, scene)
    assert MARK in proposal.summary and MARK in text  # the words came through...
    created = [op.entity.name for op in proposal.ops if op.op == "create"]
    assert created and MARK in created[0]
    for s in (proposal.summary, text, *created):
        assert_clean(s)  # ...the escapes, NULs and surrogates did not
    for call in t.drain_calls():
        assert_clean(str(call.response))


async def test_escapes_written_inside_the_model_json_are_cleaned(fake, scene):
    fake.enqueue('{"actor": "mara", "summary": "x\\ud800 \\u001b]0;PWNED\\u0007y", "ops": []}')
    proposal = await teller(fake).propose(scene, NPC)
    assert proposal.summary == "x\ufffd y"


# ------------------------------------------------------------------ point 15
@pytest.mark.parametrize("body, reason", [
    (deep_json(), "nested too deeply"),
    ("[1, 2, 3]", "wrong shape"),
    ("5", "wrong shape"),
], ids=["too-deep", "a-list", "a-number"])
async def test_an_unreadable_chat_reply_is_a_clear_error(fake, scene, body, reason):
    fake.enqueue(Fault.raw(body))
    with pytest.raises(StorytellerError, match=reason):
        await teller(fake).propose(scene, NPC)


async def test_a_stream_chunk_nested_too_deep_ends_the_narration_with_the_reason(fake, scene):
    fake.enqueue_streamed(Fault.raw(deep_chunk()))
    t = teller(fake)
    assert await narration(t, scene) == ""
    assert "nested too deeply" in t.last_error


@pytest.mark.parametrize("path, body, reason", [
    ("/api/version", deep_json(), "nested too deeply"),
    ("/api/version", "[1]", "not an object"),
    ("/api/tags", '{"models": 5}', '"models": 5, not a list'),
    ("/api/tags", '{"models": {"a": 1}}', "not a list"),
], ids=["version-too-deep", "version-a-list", "tags-a-number", "tags-an-object"])
async def test_a_misshapen_server_is_not_ollama_and_auto_falls_back(path, body, reason):
    with FakeOllama() as fake:
        fake.override(path, body)
        config = OllamaConfig(host=fake.url)
        result = await probe(config)
        assert not result.ok and reason in result.reason
        teller_, why = await choose_storyteller("auto", config, 1, ProceduralStoryteller)
        assert isinstance(teller_, ProceduralStoryteller) and reason in why
        with pytest.raises(StorytellerError, match=reason):
            await choose_storyteller("ollama", config, 1, ProceduralStoryteller)


@pytest.mark.parametrize("host, reason", [
    ("http://127.0.0.1:99999", "port 99999"),
    ("http://[::1", "not a server address"),
])
async def test_an_impossible_host_is_a_clear_reason_everywhere(scene, host, reason):
    assert reason in host_problem(host)
    config = OllamaConfig(host=host)
    assert reason in (await probe(config)).reason
    teller_, why = await choose_storyteller("auto", config, 1, ProceduralStoryteller)
    assert isinstance(teller_, ProceduralStoryteller) and reason in why
    with pytest.raises(StorytellerError, match=reason):  # a single beat: a reason to fall back on
        await OllamaStoryteller(host=host, retries=0).propose(scene, NPC)


# ------------------------------------------------------------------ point 16
async def test_every_call_asks_for_a_bounded_number_of_tokens(fake, scene):
    t = teller(fake)
    await t.propose(scene, NPC)
    await narration(t, scene)
    decide, narrate = [e["body"]["options"] for e in fake.requests if e["path"] == "/api/chat"]
    assert decide["num_predict"] == DECIDE_NUM_PREDICT
    assert narrate["num_predict"] == NARRATE_NUM_PREDICT
    t = teller(fake, options={"num_predict": 64})
    await t.propose(scene, NPC)
    assert fake.requests[-1]["body"]["options"]["num_predict"] == 64  # options still win


async def test_a_trickling_decide_call_ends_at_the_deadline(fake, scene):
    # One token every 0.3 s never trips a 1 s read timeout; the whole call's deadline does.
    fake.enqueue(Fault.trickle(0.3))
    with pytest.raises(StorytellerError, match="did not answer within 1 s"):
        await asyncio.wait_for(teller(fake, timeout=1).propose(scene, NPC), GUARD)


async def test_a_trickling_narration_keeps_its_prose_with_a_note_that_it_was_cut(fake, scene):
    fake.enqueue_streamed(Fault.trickle(0.3))
    t = teller(fake, timeout=1.5)
    text = await narration(t, scene)
    assert text.startswith(" more") and "[… the telling was cut off here:" in text
    assert text.endswith("[… the telling was cut off here: the model took longer than 1.5 s]")
    assert "did not answer within 1.5 s" in t.last_error  # the whole reason, for the record


async def test_an_endless_stream_is_cut_at_the_size_cap(fake, scene):
    fake.enqueue_streamed(Fault.flood)
    t = teller(fake, timeout=30)
    text = await narration(t, scene)
    assert text.endswith("[… the telling was cut off here: the model ran on far too long]")
    assert "far too long" in t.last_error and len(text) < 40_000


async def test_an_endless_unstreamed_body_is_cut_at_the_size_cap(fake, scene):
    fake.enqueue(Fault.flood)
    with pytest.raises(StorytellerError, match="far too long"):
        await asyncio.wait_for(teller(fake, timeout=30).propose(scene, NPC), GUARD)


async def test_interrupt_cuts_the_call_in_flight_and_refuses_the_next(fake, scene):
    fake.enqueue_streamed(Fault.trickle(0.2))
    t = teller(fake, timeout=120)
    chunks: list[str] = []
    proposal = Proposal(actor="mara", summary="Mara waits")
    async for chunk in t.narrate(scene, proposal):
        chunks.append(chunk)
        if len(chunks) == 2:
            t.interrupt("stopped by Ctrl-C")  # as the signal handler does
    assert chunks[-1] == " [… the telling was cut off here: stopped by Ctrl-C]"
    with pytest.raises(StorytellerError, match="stopped by Ctrl-C"):
        await t.propose(scene, NPC)
    assert t.drain_calls()[-1].error == "stopped by Ctrl-C"


async def test_interrupt_from_another_thread_stops_a_hanging_decide(fake, scene):
    fake.enqueue(Fault.hang(60))
    t = teller(fake, timeout=120)
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, lambda: loop.run_in_executor(None, t.interrupt))
    with pytest.raises(StorytellerError, match="stopped by Ctrl-C"):
        await asyncio.wait_for(t.propose(scene, NPC), GUARD)


async def test_the_probe_stops_reading_a_huge_reply():
    with FakeOllama() as fake:
        fake.override("/api/tags", '{"models": [' + '"x",' * 2_500_000 + '"y"]}')  # ~10 MB
        result = await probe(OllamaConfig(host=fake.url), timeout=30)
    assert not result.ok and "more than 8 MB" in result.reason
