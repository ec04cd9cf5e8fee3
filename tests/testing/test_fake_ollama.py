"""The fake Ollama server: the wire format, scripted faults, plausible and noisy modes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import httpx
import ollama
import pytest

from simengine.storytellers.base import Intent
from simengine.storytellers.prompts import decide_messages, parse_proposal, proposal_schema
from simengine.testing.fake_ollama import INJECTION_KINDS, FakeOllama, Fault
from simengine.testing.fixtures import free_port, running_fake, simple_scene, tiny_state
from simengine.world.rules import Turn, check

MODEL = "qwen2.5:3b"
HI = [{"role": "user", "content": "hi"}]


def raw_lines(url: str, path: str, body: dict) -> tuple[int, str, list[str]]:
    with httpx.Client(base_url=url) as c, c.stream("POST", path, json=body) as r:
        text = "".join(r.iter_text())
        return r.status_code, r.headers.get("content-type", ""), text.split("\n")


def decide_body(scene, intent, **extra) -> dict:
    return {"model": MODEL, "messages": decide_messages(scene, intent),
            "format": proposal_schema(scene, intent), "stream": False, **extra}


# ---------------------------------------------------------------- wire format
def test_metadata_endpoints_through_the_real_client(fake):
    client = ollama.Client(host=fake.url, timeout=5)
    assert [m.model for m in client.list().models] == [MODEL]
    show = client.show(MODEL)
    assert show.modelinfo["qwen2.context_length"] == 32768
    assert client.ps().models == []
    client.chat(model=MODEL, messages=HI, keep_alive="5m")
    assert [m.model for m in client.ps().models] == [MODEL]
    assert httpx.get(f"{fake.url}/api/version").json() == {"version": "0.13.5"}
    assert httpx.get(fake.url).text == "Ollama is running"


def test_stream_is_ndjson_without_blank_lines_and_every_chunk_has_a_message(fake):
    status, ctype, lines = raw_lines(fake.url, "/api/chat",
                                     {"model": MODEL, "messages": HI, "stream": True})
    assert status == 200 and ctype == "application/x-ndjson"
    assert lines[-1] == ""  # the text ends with a newline; no blank line anywhere else
    chunks = [json.loads(line) for line in lines[:-1]]
    assert all("message" in c for c in chunks)
    assert [c["done"] for c in chunks] == [False] * (len(chunks) - 1) + [True]
    last = chunks[-1]
    assert last["done_reason"] == "stop" and last["message"]["content"] == ""
    assert last["eval_count"] == len(chunks) - 1 and last["prompt_eval_count"] >= 1
    assert last["total_duration"] > 0


def test_generate_streams_response_fields(fake):
    client = ollama.Client(host=fake.url, timeout=5)
    parts = list(client.generate(model=MODEL, prompt="Tell me", stream=True))
    assert parts[-1].done and "".join(p.response for p in parts)
    assert client.generate(model=MODEL, prompt="x").done


def test_errors_have_the_right_status_and_body(fake):
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=fake.url).chat(model="nope", messages=HI)
    assert err.value.status_code == 404 and err.value.error == "model 'nope' not found"
    r = httpx.post(f"{fake.url}/api/chat", json={"messages": HI})
    assert r.status_code == 400 and r.json() == {"error": "model is required"}
    r = httpx.post(f"{fake.url}/api/chat", content=b"{not json", headers={
        "content-type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()
    r = httpx.post(f"{fake.url}/api/chat", json={"model": MODEL, "messages": HI, "think": True})
    assert r.status_code == 400 and "does not support thinking" in r.json()["error"]
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=fake.url).show("nope")
    assert err.value.status_code == 404


def test_pull_streams_progress_then_has_the_model(fake):
    client = ollama.Client(host=fake.url, timeout=5)
    parts = list(client.pull("llama3.2:3b", stream=True))
    assert parts[0].status == "pulling manifest" and parts[-1].status == "success"
    progress = [p for p in parts if p.total]
    assert progress[-1].completed == progress[-1].total
    assert "llama3.2:3b" in [m.model for m in client.list().models]


def test_pull_of_an_unknown_name_errors_mid_stream(fake):
    fake.pullable = []
    with pytest.raises(ollama.ResponseError) as err:
        list(ollama.Client(host=fake.url).pull("bogus", stream=True))
    assert err.value.status_code == -1 and "file does not exist" in err.value.error


# ------------------------------------------------------------------ faults
def test_scripted_replies_in_order_then_plausible(fake, scene):
    fake.enqueue("plain text", {"actor": "mara", "ops": []})
    client = ollama.Client(host=fake.url)
    assert client.chat(model=MODEL, messages=HI).message.content == "plain text"
    assert json.loads(client.chat(model=MODEL, messages=HI).message.content)["ops"] == []
    body = decide_body(scene, Intent("npc", "mara"))
    reply = client.chat(model=MODEL, messages=body["messages"], format=body["format"])
    assert parse_proposal(reply.message.content).actor == "mara"


def test_http_faults_and_midstream_error_keeps_200(fake):
    fake.enqueue(Fault.http(500, "boom"), Fault.busy, Fault.midstream_error)
    client = ollama.Client(host=fake.url)
    for status in (500, 503):
        with pytest.raises(ollama.ResponseError) as err:
            client.chat(model=MODEL, messages=HI)
        assert err.value.status_code == status
    status, _, lines = raw_lines(fake.url, "/api/chat",
                                 {"model": MODEL, "messages": HI, "stream": True})
    assert status == 200
    assert json.loads(lines[-2]) == {"error": "llama runner process has terminated"}
    assert [e["status"] for e in fake.requests] == [500, 503, 200]


def test_drop_closes_the_connection_mid_reply(fake):
    fake.enqueue(Fault.drop, Fault.drop)
    client = ollama.Client(host=fake.url)
    with pytest.raises(httpx.RemoteProtocolError):
        client.chat(model=MODEL, messages=HI)
    with pytest.raises(httpx.RemoteProtocolError):
        list(client.chat(model=MODEL, messages=HI, stream=True))
    assert client.chat(model=MODEL, messages=HI).done  # the server lives on


def test_hang_times_the_client_out(fake):
    fake.enqueue(Fault.hang(2))
    with pytest.raises(httpx.TimeoutException):
        ollama.Client(host=fake.url, timeout=0.2).chat(model=MODEL, messages=HI)
    assert fake.requests[-1]["fault"] == "hang"


def test_invalid_and_schema_invalid_replies(fake, scene):
    body = decide_body(scene, Intent("npc", "mara"))
    fake.enqueue(Fault.invalid_json, Fault.schema_invalid)
    client = ollama.Client(host=fake.url)
    bad = client.chat(model=MODEL, messages=body["messages"], format=body["format"])
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad.message.content)
    odd = client.chat(model=MODEL, messages=body["messages"], format=body["format"])
    assert json.loads(odd.message.content)["ops"][0]["op"] == "fly"


# ------------------------------------------------------- plausible and noisy
@pytest.mark.parametrize("kind,actor", [("npc", "mara"), ("npc", "silas"), ("world", None),
                                        ("player", "mara")])
def test_plausible_proposals_pass_the_rules(kind, actor):
    state = tiny_state()
    with running_fake(mode="plausible") as fake:
        client = ollama.Client(host=fake.url)
        for seed in range(8):
            scene = simple_scene(state, actor or "ned")
            intent = Intent(kind, actor, text="I look around" if kind == "player" else "",
                            seed=seed)
            body = decide_body(scene, intent, options={"seed": seed})
            reply = client.chat(model=MODEL, messages=body["messages"], format=body["format"],
                                options=body["options"])
            proposal = parse_proposal(reply.message.content)
            assert check(proposal, state, Turn(kind, actor)) == [], reply.message.content


EXPECTED_RULE = {
    "dead_actor": "dead.act",
    "unknown_name": "ref.unknown",
    "unbalanced_currency": "currency.conserved",
    "teleport": "travel.adjacent",
    "protected_change": "attr.protected",
}


@pytest.mark.parametrize("kind", sorted(EXPECTED_RULE))
def test_injected_contradictions_break_the_rule_they_are_named_after(fake, scene, state, kind):
    fake.enqueue(Fault.inject(kind))
    body = decide_body(scene, Intent("npc", "mara"))
    reply = ollama.Client(host=fake.url).chat(model=MODEL, messages=body["messages"],
                                              format=body["format"])
    assert fake.log[-1]["injected"] == kind
    proposal = parse_proposal(reply.message.content)
    rules = {v.rule for v in check(proposal, state, Turn("npc", "mara"))}
    assert EXPECTED_RULE[kind] in rules


def test_noisy_mode_tags_every_injection_and_repairs_mostly_succeed(scene, state):
    with running_fake(mode="noisy", seed=3) as fake:
        fake.set_faults({k: 1 / len(INJECTION_KINDS) for k in INJECTION_KINDS})
        client = ollama.Client(host=fake.url)
        base = decide_body(scene, Intent("npc", "mara"))
        for seed in range(40):
            client.chat(model=MODEL, messages=base["messages"], format=base["format"],
                        options={"seed": seed})
        tags = {e["injected"] for e in fake.log}
        assert tags <= set(INJECTION_KINDS) | {None}
        assert len(tags - {None}) >= 5  # the kinds the tiny world has room for, and more
        repair = [*base["messages"], {"role": "assistant", "content": "{}"},
                  {"role": "user", "content": "Your last proposal broke the world's rules:\n- x"}]
        fake.requests.clear()
        for seed in range(20):
            client.chat(model=MODEL, messages=repair, format=base["format"],
                        options={"seed": seed})
        corrected = sum(1 for e in fake.log if e["injected"] is None)
        assert corrected >= 10


def test_noisy_inventions_are_create_ops(scene, state):
    with running_fake(mode="noisy") as fake:
        fake.set_faults({"invention": 1.0})
        body = decide_body(scene, Intent("npc", "mara"))
        reply = ollama.Client(host=fake.url).chat(model=MODEL, messages=body["messages"],
                                                  format=body["format"])
        assert fake.log[-1]["invented"] is True
        assert parse_proposal(reply.message.content).ops[-1].op == "create"


def test_set_faults_rejects_unknown_kinds_and_overfull_rates(fake):
    with pytest.raises(ValueError, match="unknown fault kinds"):
        fake.set_faults({"gremlins": 0.1})
    with pytest.raises(ValueError, match="at most 1"):
        fake.set_faults({"dead_actor": 0.7, "teleport": 0.7})


# ----------------------------------------------------------- latency model
def test_slots_bound_concurrent_generation_and_metrics_report_token_time():
    with running_fake(slots=2, latency_per_call=0.05, latency_per_token=0.001) as fake:
        def call() -> None:
            ollama.Client(host=fake.url).chat(model=MODEL, messages=HI)

        threads = [threading.Thread(target=call) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert fake.peak_in_flight == 2
        reply = ollama.Client(host=fake.url).chat(model=MODEL, messages=HI)
        assert reply.eval_duration == int(0.001 * reply.eval_count * 1e9)


# ------------------------------------------------------------- standalone
def test_runs_as_a_module_until_interrupted():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "simengine.eval.adversary", "--port", str(port),
         "--mode", "noisy", "--faults", "dead_actor=0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                version = httpx.get(f"http://127.0.0.1:{port}/api/version", timeout=0.5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        assert version.json()["version"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "fake ollama (noisy)" in out and "Traceback" not in err


def test_a_child_process_fake_names_its_port_and_leaves_its_log(tmp_path):
    """The bench runs the fake apart from the engine: port 0 picks a free port the
    first line names, and the request log is written when the child is stopped."""
    log = tmp_path / "log.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simengine.eval.adversary", "--port", "0", "--mode", "plausible",
         "--log", str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = next(w for w in proc.stdout.readline().split() if w.startswith("http://"))
        assert not url.endswith(":0")
        reply = ollama.Client(host=url).chat(model=MODEL, messages=HI)
        assert reply.message.content
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    entries = json.loads(log.read_text())
    assert [e["body"]["messages"] for e in entries if e["path"] == "/api/chat"] == [HI]


def test_stop_is_prompt_with_a_hanging_request():
    server = FakeOllama()
    url = server.start()
    server.enqueue(Fault.hang(30))
    t = threading.Thread(target=lambda: httpx.post(f"{url}/api/chat", timeout=60,
                                                   json={"model": MODEL, "messages": HI}))
    t.start()
    while not server.requests:
        time.sleep(0.01)
    server.stop()
    t.join(timeout=5)
    assert not t.is_alive()


# -------------------------------------------------------------- hostile mode
def test_hostile_mode_poisons_summaries_names_and_prose(scene):
    from simengine.testing.hostile import MARK, RETITLE

    with FakeOllama(mode="hostile") as fake:
        client = ollama.Client(host=fake.url)
        body = decide_body(scene, Intent("npc", "mara"))
        content = client.chat(model=MODEL, messages=body["messages"],
                              format=body["format"]).message.content
        prose = "".join(p.message.content for p in
                        client.chat(model=MODEL, messages=HI, stream=True))
    reply = json.loads(content)
    assert RETITLE in reply["summary"] and "\ud800" in reply["summary"]
    [new] = [op for op in reply["ops"] if op["op"] == "create"]
    assert "\x00" in new["name"] and MARK in new["name"]
    assert RETITLE in prose and "\ud800" in prose and "\x00" in prose


def test_raw_trickle_flood_and_override_reach_the_client_as_crafted(fake):
    fake.override("/api/tags", '{"models": 5}')
    assert httpx.get(fake.url + "/api/tags").json() == {"models": 5}
    fake.enqueue(Fault.raw("[1, 2]"))
    assert httpx.post(fake.url + "/api/chat", json={"model": MODEL, "messages": HI,
                                                    "stream": False}).json() == [1, 2]
    fake.enqueue_streamed(Fault.trickle(0.01, tokens=3))
    status, _, lines = raw_lines(fake.url, "/api/chat",
                                 {"model": MODEL, "messages": HI, "stream": True})
    parts = [json.loads(line) for line in lines if line]
    assert [p["message"]["content"] for p in parts] == [" more"] * 3 + [""]
    assert parts[-1]["done"] is True
    fake.enqueue(Fault.flood)
    got = 0
    with httpx.Client(base_url=fake.url) as c, c.stream(
        "POST", "/api/chat", json={"model": MODEL, "messages": HI, "stream": True}
    ) as r:
        for chunk in r.iter_bytes():
            got += len(chunk)
            if got > 2_000_000:  # far more than any reply: it does not end by itself
                break
    assert got > 2_000_000
    assert [e["fault"] for e in fake.requests if e["path"] == "/api/chat"] == [
        "raw", "trickle", "flood"]
