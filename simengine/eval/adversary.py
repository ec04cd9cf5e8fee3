"""A fake Ollama server: the real HTTP API, no model.

``FakeOllama`` speaks the wire format in ``shared/reference/ollama-api.md`` to
the real ``ollama`` client: chunked NDJSON streams with no blank lines, a
``message`` on every chat chunk, a final ``done`` chunk with nanosecond
metrics, ``{"error": ...}`` bodies with the right status, and an error line
that keeps HTTP 200 once a stream has started.

Replies come from a queue (:meth:`FakeOllama.enqueue`: a string, a dict sent
as JSON, or a :class:`Fault`), else from the mode:

* ``scripted`` / ``plausible``: a valid proposal derived from the request
  alone (the ``<<SCENE_JSON>>`` block the prompt builder writes, see
  :mod:`simengine.storytellers.prompts`), or prose for a narrate call;
* ``noisy``: plausible proposals with contradictions of known kinds injected
  at configured rates (:meth:`FakeOllama.set_faults`), each tagged in the
  request log, and corrected answers to most repair requests; narrations with
  drift (:data:`~simengine.eval.replies.DRIFT_KINDS`) at their own rates, and
  straight answers to most retellings;
* ``hostile``: plausible proposals and prose with terminal escapes, NUL, C1
  controls and lone surrogates in summaries, names and narration
  (:mod:`simengine.eval.hostile`). With :meth:`Fault.raw`,
  :meth:`Fault.trickle`, ``Fault.flood`` and :meth:`FakeOllama.override` a test
  crafts replies nested too deep, streams that never end, and endpoints of the
  wrong shape.

What it says lives in :mod:`simengine.eval.replies`; this module is
the HTTP side.

A latency model (per call and per token, at most ``slots`` requests at once)
lets benchmarks measure batching. Run it standalone with
``python -m simengine.eval.adversary --port 11434``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from simengine.eval.hostile import hostile_proposal, hostile_prose
from simengine.eval.replies import (
    DRIFT_KINDS,
    INJECTION_KINDS,
    inject,
    inject_drift,
    invention,
    keep_alive_seconds,
    model_entry,
    model_tag,
    plausible_proposal,
    prose_for,
    roll_drift,
    roll_injection,
    scene_facts_from,
    show_entry,
    tokens_of,
)

VERSION = "0.13.5"
CREATED_AT = "2026-01-01T00:00:00Z"  # fixed, so recorded replies are stable
MODES = ("scripted", "plausible", "noisy", "hostile")
BUSY = "server busy, please try again.  maximum pending requests exceeded"


@dataclass(frozen=True)
class Fault:
    """A scripted failure for the next model call.

    Use the constructors and constants: ``Fault.http(500, "boom")``,
    ``Fault.hang(2)``, ``Fault.midstream("runner died")``, ``Fault.busy``,
    ``Fault.drop``, ``Fault.midstream_error``, ``Fault.invalid_json``,
    ``Fault.schema_invalid``, or an injected contradiction such as
    ``Fault.dead_actor`` (any of :data:`INJECTION_KINDS`).
    """

    kind: str
    status: int = 0
    message: str = ""
    seconds: float = 0.0
    after: int = 2  # chunks written before a mid-stream error or a drop
    count: int = 0  # tokens a trickle sends before it ends (0: until the client leaves)

    drop: ClassVar[Fault]
    flood: ClassVar[Fault]
    midstream_error: ClassVar[Fault]
    busy: ClassVar[Fault]
    invalid_json: ClassVar[Fault]
    schema_invalid: ClassVar[Fault]
    unknown_name: ClassVar[Fault]
    dead_actor: ClassVar[Fault]
    unbalanced_currency: ClassVar[Fault]
    teleport: ClassVar[Fault]
    protected_change: ClassVar[Fault]

    @staticmethod
    def http(status: int, message: str = "internal server error") -> Fault:
        return Fault("http", status=status, message=message)

    @staticmethod
    def hang(seconds: float) -> Fault:
        """Say nothing for ``seconds`` (then answer, to a client long gone)."""
        return Fault("hang", seconds=seconds)

    @staticmethod
    def midstream(message: str = "llama runner process has terminated", after: int = 2) -> Fault:
        return Fault("midstream_error", message=message, after=after)

    @staticmethod
    def raw(body: str, status: int = 200) -> Fault:
        """Send ``body`` as it is: the whole reply, or (streamed) the one chunk line."""
        return Fault("raw", status=status, message=body)

    @staticmethod
    def trickle(seconds: float, tokens: int = 0) -> Fault:
        """Stream one token every ``seconds`` (``tokens`` of them; 0: until the client leaves).

        Unstreamed, the reply's bytes come as slowly: a space every ``seconds``.
        """
        return Fault("trickle", seconds=seconds, count=tokens)

    @staticmethod
    def inject(kind: str) -> Fault:
        """An injected contradiction (a decide reply) or drift (a narration)."""
        known = (*INJECTION_KINDS, *DRIFT_KINDS)
        if kind not in known:
            raise ValueError(f"unknown injection {kind!r}; known: {', '.join(known)}")
        return Fault(kind)


Fault.drop = Fault("drop")
Fault.flood = Fault("flood")  # tokens as fast as the socket takes them, never done
Fault.midstream_error = Fault.midstream()
Fault.busy = Fault.http(503, BUSY)
for _kind in (*INJECTION_KINDS, *DRIFT_KINDS):
    setattr(Fault, _kind, Fault(_kind))


# ----------------------------------------------------------------------- server
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], fake: FakeOllama):
        super().__init__(addr, _Handler)
        self.fake = fake
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self.open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up is normal here (timeouts, drops)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the request log is FakeOllama.requests

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            pass

    # -------------------------------------------------------------- plumbing
    def _send_json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_raw(self, status: int, body: str) -> None:
        data = body.encode("utf-8", "surrogatepass")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send_json(status, {"error": message})

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, obj: Any) -> None:
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return None
        return body if isinstance(body, dict) else None

    # ---------------------------------------------------------------- routes
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        fake = self.server.fake
        entry = fake._log(self.command, self.path, None)
        if self.path in fake.overrides:
            return self._send_raw(200, fake.overrides[self.path])
        if self.path in ("/", ""):
            data = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        elif self.path == "/api/version":
            self._send_json(200, {"version": fake.version})
        elif self.path == "/api/tags":
            self._send_json(200, {"models": [model_entry(m) for m in fake.models]})
        elif self.path == "/api/ps":
            self._send_json(200, {"models": fake._loaded_entries()})
        else:
            entry["status"] = 404
            self._error(404, "404 page not found")

    def do_POST(self) -> None:
        fake = self.server.fake
        body = self._body()
        entry = fake._log(self.command, self.path, body)
        routes = {"/api/chat": self._generate, "/api/generate": self._generate,
                  "/api/show": self._show, "/api/pull": self._pull}
        route = routes.get(self.path)
        if route is None:
            entry["status"] = 404
            return self._error(404, "404 page not found")
        if body is None:
            entry["status"] = 400
            return self._error(400, "invalid character in request body")
        route(body, entry)

    def _show(self, body: dict[str, Any], entry: dict[str, Any]) -> None:
        fake = self.server.fake
        model = model_tag(str(body.get("model") or body.get("name") or ""))
        if model not in fake.models:
            entry["status"] = 404
            return self._error(404, f"model '{body.get('model')}' not found")
        self._send_json(200, show_entry(model, fake.context_length))

    def _pull(self, body: dict[str, Any], entry: dict[str, Any]) -> None:
        fake = self.server.fake
        model = model_tag(str(body.get("model") or body.get("name") or ""))
        if not body.get("model") and not body.get("name"):
            return self._error(400, "model is required")
        ok = fake.pullable is None or model in fake.pullable
        digest = "sha256:" + hashlib.sha256(model.encode()).hexdigest()
        total = 1_929_000_000
        steps = [{"status": "pulling manifest"}]
        if ok:
            steps += [{"status": f"pulling {digest[7:19]}", "digest": digest, "total": total,
                       "completed": total * i // 4} for i in range(5)]
            steps += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"},
                      {"status": "success"}]
        if body.get("stream") is False:
            if not ok:
                return self._error(500, "pull model manifest: file does not exist")
            fake._add_model(model)
            return self._send_json(200, {"status": "success"})
        self._start_stream()
        for step in steps:
            self._chunk(step)
            time.sleep(fake.pull_delay)
        if ok:
            fake._add_model(model)
        else:
            self._chunk({"error": "pull model manifest: file does not exist"})
        self._end_stream()

    def _generate(self, body: dict[str, Any], entry: dict[str, Any]) -> None:
        fake = self.server.fake
        chat = self.path == "/api/chat"
        raw_model = body.get("model")
        if not raw_model:
            entry["status"] = 400
            return self._error(400, "model is required")
        model = model_tag(str(raw_model))
        if model not in fake.models:
            entry["status"] = 404
            return self._error(404, f"model '{raw_model}' not found")
        if body.get("think"):
            entry["status"] = 400
            return self._error(400, f'"{raw_model}" does not support thinking')
        fmt = body.get("format")
        if fmt not in (None, "", "json") and not isinstance(fmt, dict):
            entry["status"] = 500
            return self._error(500, f"invalid format: {fmt!r}")
        messages = body.get("messages") or []
        if chat and not messages:  # a load request
            fake._touch(model, body.get("keep_alive"))
            return self._send_json(200, {"model": raw_model, "created_at": CREATED_AT,
                                         "message": {"role": "assistant", "content": ""},
                                         "done_reason": "load", "done": True})
        if not chat:
            messages = [{"role": "system", "content": body.get("system") or ""},
                        {"role": "user", "content": body.get("prompt") or ""}]
        started = time.perf_counter()
        fault = fake._next_scripted(streamed=body.get("stream") is not False)
        if isinstance(fault, Fault) and fault.kind == "http":
            entry.update(status=fault.status, fault="http")
            return self._error(fault.status, fault.message)
        if isinstance(fault, Fault) and fault.kind == "hang":
            entry["fault"] = "hang"
            fake._stopping.wait(fault.seconds)
            fault = None
        if isinstance(fault, Fault) and fault.kind in ("raw", "trickle", "flood"):
            entry["fault"] = fault.kind
            return self._hostile(fault, body, raw_model, chat)
        content = fake._content(fault, body, messages, entry)
        entry["reply"] = content
        fake._touch(model, body.get("keep_alive"))
        tokens = tokens_of(content)
        prompt_tokens = max(1, int(sum(len(str(m.get("content", ""))) for m in messages)
                                   / fake.chars_per_token))
        with fake._slots:
            fake._in_flight(+1)
            try:
                time.sleep(fake.latency_per_call)
                self._answer(body, raw_model, content, tokens, prompt_tokens, fault, chat, started)
            finally:
                fake._in_flight(-1)

    def _answer(self, body: dict[str, Any], model: str, content: str, tokens: list[str],
                prompt_tokens: int, fault: Any, chat: bool, started: float) -> None:
        fake = self.server.fake
        per_token = fake.latency_per_token
        key = "message" if chat else "response"

        def part(text: str) -> Any:
            return {"role": "assistant", "content": text} if chat else text

        def final() -> dict[str, Any]:
            out: dict[str, Any] = {"model": model, "created_at": CREATED_AT, key: part(""),
                                   "done": True, "done_reason": "stop",
                                   "total_duration": max(1, int((time.perf_counter() - started)
                                                                * 1e9)),
                                   "load_duration": 1_334_875,
                                   "prompt_eval_count": prompt_tokens,
                                   "eval_count": len(tokens)}
            if per_token:
                out["eval_duration"] = int(per_token * len(tokens) * 1e9)
            return out

        kind = fault.kind if isinstance(fault, Fault) else None
        if body.get("stream") is False:
            if kind == "midstream_error":  # no stream to break: the server fails the call
                return self._error(500, fault.message)
            time.sleep(per_token * len(tokens))
            reply = final()
            reply[key] = part(content)
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if kind == "drop":
                self.wfile.write(data[: len(data) // 2])
                return self._drop()
            self.wfile.write(data)
            return
        self._start_stream()
        for i, token in enumerate(tokens):
            if kind in ("midstream_error", "drop") and i >= fault.after:
                break
            time.sleep(per_token)
            self._chunk({"model": model, "created_at": CREATED_AT, key: part(token),
                         "done": False})
        if kind == "drop":
            return self._drop()
        if kind == "midstream_error":
            self._chunk({"error": fault.message})
        else:
            self._chunk(final())
        self._end_stream()


    def _hostile(self, fault: Fault, body: dict[str, Any], model: str, chat: bool) -> None:
        """Replies no honest server sends: raw bodies, trickles, floods."""
        fake = self.server.fake
        stream = body.get("stream") is not False
        key = "message" if chat else "response"

        def token(text: str) -> dict[str, Any]:
            part = {"role": "assistant", "content": text} if chat else text
            return {"model": model, "created_at": CREATED_AT, key: part, "done": False}

        if fault.kind == "raw" and not stream:
            return self._send_raw(fault.status or 200, fault.message)
        self._start_stream()
        if fault.kind == "raw":
            data = (fault.message + "\n").encode("utf-8", "surrogatepass")
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        elif fault.kind == "trickle":
            sent = 0
            while not fault.count or sent < fault.count:
                if fake._stopping.wait(fault.seconds):
                    return self._drop()
                if stream:
                    self._chunk(token(" more"))
                else:  # JSON allows any amount of whitespace before the value
                    self.wfile.write(b"1\r\n \r\n")
                sent += 1
            if not stream:
                reply = {"model": model, "created_at": CREATED_AT, key: token("ok")[key],
                         "done": True, "done_reason": "stop"}
                data = json.dumps(reply).encode()
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            else:
                self._chunk({**token(""), "done": True, "done_reason": "stop"})
        else:  # flood: never done, until the client hangs up or the fake stops
            if not stream:
                head = json.dumps({"model": model, key: token("")[key]})[:-3]
                self.wfile.write(f"{len(head):X}\r\n".encode() + head.encode() + b"\r\n")
            block = ((json.dumps(token(" more"), separators=(",", ":")) + "\n") * 400
                     if stream else "more " * 10_000).encode()
            frame = f"{len(block):X}\r\n".encode() + block + b"\r\n"
            while not fake._stopping.is_set():
                self.wfile.write(frame)
            return self._drop()
        self._end_stream()


class FakeOllama:
    """A running fake Ollama on 127.0.0.1; see the module docstring.

    Args:
        models: model names the server has (``:latest`` is implied without a tag).
        mode: ``scripted`` (queue, then plausible), ``plausible``, ``noisy`` or ``hostile``.
        latency_per_call: seconds slept per generation call.
        latency_per_token: seconds slept per generated token.
        slots: how many generation calls run at once (None: no limit).
        seed: seeds the plausible and noisy choices (each request draws from
            an RNG seeded by this and the request body, so order never matters).
        port: 0 picks a free port.
        pullable: names ``/api/pull`` may fetch (None: any).
        chars_per_token: how many prompt characters make one ``prompt_eval_count``
            token (real tokenizers differ by model and language).
    """

    def __init__(self, models: list[str] | tuple[str, ...] = ("qwen2.5:3b",),
                 mode: str = "scripted", latency_per_call: float = 0.0,
                 latency_per_token: float = 0.0, slots: int | None = None, seed: int = 0,
                 port: int = 0,
                 host: str = "127.0.0.1", pullable: list[str] | None = None,
                 version: str = VERSION, context_length: int = 32768,
                 chars_per_token: float = 4.0):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.models = [model_tag(m) for m in models]
        self.mode = mode
        self.latency_per_call = latency_per_call
        self.latency_per_token = latency_per_token
        self.seed = seed
        self.version = version
        self.context_length = context_length
        self.chars_per_token = chars_per_token
        self.pullable = None if pullable is None else [model_tag(m) for m in pullable]
        self.pull_delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self.overrides: dict[str, str] = {}
        self.rates: dict[str, float] = {}
        #: The world's facts only some know (an evaluation hands them over), for
        #: knowledge lies: the fake tells what the actor does not know.
        self.world_facts: list[str] = []
        self.in_flight = 0
        self.peak_in_flight = 0  # most generation calls served at once (<= slots)
        self._slots: Any = threading.Semaphore(slots) if slots else _NoLimit()
        self._queue: list[Any] = []
        self._stream_queue: list[Any] = []
        self._lock = threading.Lock()
        self._loaded: dict[str, float] = {}
        self._stopping = threading.Event()
        self._addr = (host, port)
        self._server: _Server | None = None
        self._url: str | None = None
        self._thread: threading.Thread | None = None

    # --------------------------------------------------------------- control
    @property
    def log(self) -> list[dict[str, Any]]:
        """The request log (same list as :attr:`requests`)."""
        return self.requests

    @property
    def url(self) -> str:
        """The base URL (still readable after ``stop()``: then nothing answers there)."""
        if self._server is not None:
            host, port = self._server.server_address[:2]
            self._url = f"http://{host}:{port}"
        if self._url is None:
            raise RuntimeError("the fake has not been started; call start()")
        return self._url

    def start(self) -> str:
        """Serve in a background thread; returns the base URL."""
        self._stopping.clear()
        self._server = _Server(self._addr, self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="fake-ollama")
        self._thread.start()
        return self.url

    def serve_forever(self, ready: Any = None) -> None:
        """Serve in this thread until interrupted (the ``python -m`` entry); ``ready``
        is called with the base URL once the port is bound (port 0 picks one)."""
        self._server = _Server(self._addr, self)
        if ready is not None:
            ready(self.url)
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._stopping.set()
            self._server.server_close()

    def stop(self) -> None:
        self._stopping.set()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with server.lock:
            for sock in list(server.open):  # keep-alive connections idle in readline
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        server.server_close()
        if self._thread:
            self._thread.join(timeout=2)

    def __enter__(self) -> FakeOllama:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enqueue(self, *replies: Any) -> FakeOllama:
        """Script the next generation replies: a str, a dict (sent as JSON) or a Fault."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def enqueue_streamed(self, *replies: Any) -> FakeOllama:
        """Script the next *streamed* replies (narrate calls); decide calls skip these."""
        with self._lock:
            self._stream_queue.extend(replies)
        return self

    def override(self, path: str, body: str) -> FakeOllama:
        """Answer GET ``path`` (``/api/version``, ``/api/tags``...) with ``body``, as it is."""
        self.overrides[path] = body
        return self

    def set_faults(self, rates: dict[str, float]) -> FakeOllama:
        """Noisy-mode rates: INJECTION_KINDS, ``invention`` and ``repair_success`` (0.8);
        DRIFT_KINDS and ``retell_success`` (0.8) for narrations."""
        unknown = set(rates) - {*INJECTION_KINDS, "invention", "repair_success",
                                *DRIFT_KINDS, "retell_success"}
        if unknown:
            raise ValueError(f"unknown fault kinds: {', '.join(sorted(unknown))}")
        if sum(rates.get(k, 0.0) for k in INJECTION_KINDS) > 1.0 + 1e-9:
            raise ValueError("injection rates must sum to at most 1")
        if sum(rates.get(k, 0.0) for k in DRIFT_KINDS) > 1.0 + 1e-9:
            raise ValueError("drift rates must sum to at most 1")
        self.rates = dict(rates)
        return self

    # -------------------------------------------------------------- internals
    def _in_flight(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _log(self, method: str, path: str, body: Any) -> dict[str, Any]:
        entry = {"method": method, "path": path, "body": body, "status": 200,
                 "injected": None, "invented": False, "fault": None, "reply": None}
        with self._lock:
            self.requests.append(entry)
        return entry

    def _next_scripted(self, streamed: bool = False) -> Any:
        with self._lock:
            if streamed and self._stream_queue:
                return self._stream_queue.pop(0)
            return self._queue.pop(0) if self._queue else None

    def _rng(self, body: dict[str, Any]) -> random.Random:
        request = json.dumps([self.seed, body.get("messages"), body.get("prompt"),
                              body.get("options")], sort_keys=True, default=str)
        # Not world.seeds.mix_seed: the fake keeps the draws its tests and recorded evals know.
        return random.Random(int(hashlib.sha256(request.encode()).hexdigest()[:16], 16))

    def _content(self, item: Any, body: dict[str, Any], messages: list[dict[str, Any]],
                 entry: dict[str, Any]) -> str:
        if isinstance(item, str):
            return item
        if isinstance(item, dict):
            return json.dumps(item)
        if isinstance(item, Fault) and item.kind in ("drop", "midstream_error"):
            entry["fault"] = item.kind
        if not body.get("format"):
            prose = prose_for(messages)
            if self.mode == "hostile":
                return hostile_prose(prose)
            rng = self._rng(body)
            drift = item.kind if isinstance(item, Fault) and item.kind in DRIFT_KINDS else (
                roll_drift(self.rates, messages, rng) if self.mode == "noisy" else None)
            drifted = inject_drift(drift, prose, messages, rng) if drift else None
            if drifted is not None:
                entry["injected"] = drift
                return drifted
            return prose
        rng = self._rng(body)
        facts = scene_facts_from(body, messages)
        facts.setdefault("world_facts", list(self.world_facts))
        proposal = plausible_proposal(facts, rng)
        if self.mode == "hostile" and not isinstance(item, Fault):
            return hostile_proposal(proposal, facts, rng)
        kind: str | None = None
        if isinstance(item, Fault) and item.kind in INJECTION_KINDS:
            kind = item.kind
        elif self.mode == "noisy":
            kind = roll_injection(self.rates, messages, rng)
            invent = rng.random() < self.rates.get("invention", 0.0)
            new = invention(facts, rng) if invent and kind is None else None
            if new:
                proposal["ops"].append(new)
                entry["invented"] = True
        if kind is not None:
            injected = inject(kind, proposal, facts, rng)
            if injected is not None:
                entry["injected"] = kind
                entry["fault"] = entry["fault"] or "injected"
                return injected if isinstance(injected, str) else json.dumps(injected)
        return json.dumps(proposal)

    def _add_model(self, model: str) -> None:
        with self._lock:
            if model not in self.models:
                self.models.append(model)

    def _touch(self, model: str, keep_alive: Any) -> None:
        seconds = keep_alive_seconds(keep_alive)
        with self._lock:
            if seconds == 0:
                self._loaded.pop(model, None)
            else:
                self._loaded[model] = seconds

    def _loaded_entries(self) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        out = []
        with self._lock:
            loaded = dict(self._loaded)
        for model, seconds in loaded.items():
            expires = (now + timedelta(days=3650) if seconds < 0 else
                       now + timedelta(seconds=seconds))
            entry = model_entry(model)
            entry.update(expires_at=expires.isoformat().replace("+00:00", "Z"),
                         size_vram=entry["size"], context_length=4096)
            out.append(entry)
        return out


class _NoLimit:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main(argv: list[str] | None = None) -> None:
    """``python -m simengine.eval.adversary --port N``: serve until Ctrl-C (or SIGTERM).

    A separate process, as a real Ollama is: a benchmark that timed the engine
    beside an in-process fake would count the fake's own work (its threads share
    the GIL) as the engine's. ``--port 0`` picks a free port; the first line
    printed names the URL. ``--log FILE`` writes the request log (JSON) on exit.
    """
    ap = argparse.ArgumentParser(prog="python -m simengine.eval.adversary",
                                 description="A fake Ollama server (no model) for tests and demos.")
    ap.add_argument("--port", type=int, default=11434)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--mode", choices=MODES, default="plausible")
    ap.add_argument("--models", default="qwen2.5:3b", help="comma-separated model names")
    ap.add_argument("--latency-call", type=float, default=0.0, help="seconds per call")
    ap.add_argument("--latency-token", type=float, default=0.0, help="seconds per token")
    ap.add_argument("--slots", type=int, default=None, help="parallel generation slots")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--faults", default="",
                    help="noisy rates, e.g. dead_actor=0.1,invention=0.2,drift_name=0.1")
    ap.add_argument("--log", default=None,
                    help="write the request log here (JSON), when stopped")
    args = ap.parse_args(argv)
    fake = FakeOllama(models=[m.strip() for m in args.models.split(",") if m.strip()],
                      mode=args.mode, latency_per_call=args.latency_call,
                      latency_per_token=args.latency_token, slots=args.slots, seed=args.seed,
                      port=args.port, host=args.host)
    if args.faults:
        fake.set_faults({k.strip(): float(v) for k, v in
                         (pair.split("=", 1) for pair in args.faults.split(",") if pair)})

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM stops it as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, interrupt)
    try:
        fake.serve_forever(ready=lambda url: print(
            f"fake ollama ({args.mode}) on {url} - Ctrl-C to stop", flush=True))
    except KeyboardInterrupt:
        pass
    if args.log:
        with open(args.log, "w", encoding="utf-8") as out:
            json.dump(fake.requests, out, default=str)


if __name__ == "__main__":
    main()
