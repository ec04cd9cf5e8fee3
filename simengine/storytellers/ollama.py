"""The Ollama storyteller, on the official ``ollama`` client.

``propose`` makes one *decide* call: the scene's messages, a JSON schema built
for this scene as ``format``, low temperature, ``stream=False``; the reply is
parsed tolerantly and validated. ``narrate`` streams prose at a higher
temperature. Transport failures (no server, 500/503, an error line mid-stream,
a dropped connection, a timeout) are retried with exponential backoff; a reply
that is not a proposal gets one re-ask with the parse error. What still fails
raises :class:`~simengine.storytellers.base.StorytellerError` with a message a
person can act on, and the engine falls back to the procedural storyteller for
that beat. Every HTTP call becomes a :class:`Call` (``drain_calls``).

Every call is bounded: ``timeout`` limits the whole call (not only each read),
``num_predict`` limits the tokens asked for, and a reply larger than
:data:`MAX_REPLY_BYTES` (or :data:`MAX_REPLY_CHARS` of text) is cut off. A reply
the client cannot read (JSON nested too deep, of the wrong shape) is a failed
exchange like any other, and what a model writes is cleaned
(:func:`~simengine.world.text.clean_text`) before anything parses, stores or
prints it. :meth:`OllamaStoryteller.interrupt` (Ctrl-C) cuts the calls in flight.
"""

from __future__ import annotations

import asyncio
import copy
import os
import ssl
import time
from collections import OrderedDict
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from ollama import AsyncClient, ResponseError

from simengine.storytellers.base import CUT_NOTE, Intent, Scene, StorytellerError
from simengine.storytellers.drift import Retell, narrate_request
from simengine.storytellers.prompts import (
    ReplyInvalid,
    parse_proposal,
    propose_request,
    reask_text,
)
from simengine.world.calls import Call, Phase
from simengine.world.ops import Proposal
from simengine.world.rules import Violation
from simengine.world.seeds import mix_seed
from simengine.world.text import clean_text

DEFAULT_MODEL = "qwen2.5:3b"
DEFAULT_HOST = "http://127.0.0.1:11434"
#: Tokens a call may generate (Ollama's ``num_predict``): a proposal of a few ops is
#: a few hundred tokens, a narration a paragraph. ``options`` may say otherwise.
DECIDE_NUM_PREDICT = 1024
NARRATE_NUM_PREDICT = 512
#: What one call may send at most: HTTP bytes (a stream repeats metadata on every
#: token), and characters of model text. More is a broken or hostile server.
MAX_REPLY_BYTES = 8 * 2**20
MAX_REPLY_CHARS = 32_000
T = TypeVar("T")


class Interrupted(Exception):
    """The call was stopped from outside (Ctrl-C): ``interrupt()`` was called."""


class DeadlineExceeded(Exception):
    """The whole call took longer than the storyteller's ``timeout``."""


class ReplyTooLarge(Exception):
    """The server sent more than a reply may be; reading stopped."""


# What counts as a failed exchange rather than a bug in our code: refused or
# dropped connections (OSError, httpx), HTTP and stream errors (ResponseError),
# replies the client cannot read (pydantic/json errors are ValueErrors; a JSON
# list where an object belongs is a TypeError in the client; absurd nesting is a
# RecursionError), and our own limits (deadline, size, interrupt).
_EXCHANGE_ERRORS = (OSError, ResponseError, httpx.HTTPError, httpx.StreamError, ValueError,
                    TypeError, RecursionError, OverflowError, DeadlineExceeded, ReplyTooLarge,
                    Interrupted)


_TLS: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    global _TLS
    if _TLS is None:
        _TLS = httpx.create_ssl_context()
    return _TLS


def normalise_host(host: str | None) -> str:
    """``host:port`` or a URL -> ``scheme://host:port`` (the way the client reads it)."""
    host = (host or "").strip()
    if not host:
        return DEFAULT_HOST
    scheme, sep, rest = host.partition("://")
    if sep:
        default_port = 443 if scheme == "https" else 80
    else:
        scheme, rest, default_port = "http", host, 11434
    netloc, _, path = rest.partition("/")
    if netloc.startswith(":"):
        netloc = "127.0.0.1" + netloc
    if ":" not in netloc.rsplit("]", 1)[-1]:  # no port (IPv6 addresses come in brackets)
        netloc = f"{netloc}:{default_port}"
    path = path.strip("/")
    return f"{scheme}://{netloc}" + (f"/{path}" if path else "")


@dataclass(frozen=True)
class Failure:
    """A failed exchange, classified: what to tell a person, and whether to retry."""

    reason: str
    retryable: bool


def classify(exc: BaseException, host: str, model: str, timeout: float | None) -> Failure:
    """Turn a client exception into a :class:`Failure` with a fix in its message."""
    failure = _classify(exc, host, model, timeout)
    # The server's own words (error bodies) end up in the message: clean them.
    return Failure(clean_text(failure.reason, one_line=True), failure.retryable)


def _classify(exc: BaseException, host: str, model: str, timeout: float | None) -> Failure:
    if isinstance(exc, Interrupted):
        return Failure(str(exc) or "stopped", False)
    if isinstance(exc, DeadlineExceeded):
        return Failure(f"Ollama at {host} did not answer within {timeout:g} s (the limit for a "
                       "whole call) — the model may still be loading, or be too slow; raise "
                       "`timeout` in [storyteller] or use a smaller model", True)
    if isinstance(exc, ReplyTooLarge):
        return Failure(f"Ollama at {host} sent a reply far too long ({exc}); stopped reading",
                       False)
    if isinstance(exc, RecursionError):
        return Failure(f"Ollama at {host} sent JSON nested too deeply to read", False)
    if isinstance(exc, TypeError):  # the client's ``Model(**reply)`` on a list or a number
        return Failure(f"Ollama at {host} sent a reply of the wrong shape (JSON that is not "
                       "an object)", False)
    if isinstance(exc, OverflowError | httpx.InvalidURL):
        return Failure(host_problem(host) or f"cannot connect to {host}: {exc}", False)
    if isinstance(exc, ResponseError):
        status, err = exc.status_code, exc.error
        if status == 404:
            return Failure(f"model '{model}' is not pulled on {host} — run `ollama pull {model}`",
                           False)
        if status == 503:
            return Failure(f"Ollama at {host} is busy (503: {err}) — try again, or keep fewer "
                           "requests in flight", True)
        if status == -1:
            return Failure(f"Ollama failed mid-reply at {host}: {err}", True)
        if status >= 500:
            return Failure(f"Ollama at {host} failed ({status}: {err})", True)
        return Failure(f"Ollama at {host} refused the request ({status}: {err})", False)
    if isinstance(exc, httpx.TimeoutException):
        return Failure(f"Ollama at {host} did not answer within {timeout:g} s — the model may "
                       "still be loading; raise `timeout` in [storyteller] or use a smaller model",
                       True)
    if isinstance(exc, ConnectionError | httpx.ConnectError):
        return Failure(f"Ollama is not reachable at {host} — start it with `ollama serve` "
                       "(or point OLLAMA_HOST at a running server)", True)
    if isinstance(exc, httpx.TransportError | httpx.StreamError | OSError):
        return Failure(f"the connection to Ollama at {host} dropped mid-reply "
                       f"({type(exc).__name__}: {exc})", True)
    return Failure(f"Ollama at {host} sent a reply the client could not read "
                   f"({type(exc).__name__}: {exc})", True)


def host_problem(host: str) -> str | None:
    """Why ``host`` (already normalised) cannot be a server address, or None."""
    shown = clean_text(host, one_line=True)
    try:
        url = httpx.URL(host)
        port = url.port
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        return (f"'{shown}' is not a server address ({exc}); give host:port or a URL, "
                "e.g. 127.0.0.1:11434 or http://[::1]:11434")
    if url.scheme not in ("http", "https"):
        return f"'{shown}' is not an http:// or https:// address"
    if not url.host or " " in host or "%20" in str(url.host):
        return f"'{shown}' names no host; give host:port, e.g. 127.0.0.1:11434"
    if port is not None and not 0 < port < 65536:
        return f"'{shown}' has port {port}; a port is 1 to 65535 (Ollama's is 11434)"
    return None


class _CappedStream(httpx.AsyncByteStream, httpx.SyncByteStream):
    def __init__(self, inner: Any, limit: int):
        self._inner, self._limit, self._seen = inner, limit, 0

    def _count(self, chunk: bytes) -> bytes:
        self._seen += len(chunk)
        if self._seen > self._limit:
            raise ReplyTooLarge(f"more than {self._limit // 2**20} MB")
        return chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield self._count(chunk)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            yield self._count(chunk)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def close(self) -> None:
        self._inner.close()


class _CappedTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """httpx's transport, with every response body cut off at ``limit`` bytes.

    The client reads a non-streamed reply whole and a streamed one line by line:
    without a cap, an endless body (or an endless line) grows the process until
    the machine runs out of memory.
    """

    def __init__(self, limit: int, sync: bool):
        inner = httpx.HTTPTransport if sync else httpx.AsyncHTTPTransport
        self._inner: Any = inner(verify=_tls())
        self._limit = limit

    def _capped(self, response: httpx.Response) -> httpx.Response:
        return httpx.Response(status_code=response.status_code, headers=response.headers,
                              stream=_CappedStream(response.stream, self._limit),
                              extensions=response.extensions)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._capped(await self._inner.handle_async_request(request))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._capped(self._inner.handle_request(request))

    async def aclose(self) -> None:
        await self._inner.aclose()

    def close(self) -> None:
        self._inner.close()


def capped_transport(*, sync: bool = False, limit: int = MAX_REPLY_BYTES) -> Any:
    """An httpx transport (``sync`` or async) that refuses bodies over ``limit`` bytes."""
    return _CappedTransport(limit, sync)


async def _closes_with_loop(client: AsyncClient, clients: dict[Any, Any],
                            loop: asyncio.AbstractEventLoop) -> AsyncGenerator[None, None]:
    """Holds ``client`` open until closed: by ``aclose()``, or by its loop's shutdown
    (``asyncio.run`` and ``asyncio.Runner`` close every async generator started in the
    loop before closing it), so the client's connections close on their own loop.

    It takes the client out of ``clients`` too: the loop is then free to go.
    """
    try:
        yield
    finally:
        held = clients.get(loop)
        if held is not None and held[0] is client:
            del clients[loop]
        await client.close()


def _server_ms(final: Any) -> float | None:
    """The server's own duration of a call (``total_duration``, ns) in ms, if it said."""
    total = getattr(final, "total_duration", None)
    return round(total / 1e6, 3) if isinstance(total, int | float) and total > 0 else None


class OllamaStoryteller:
    """Proposes and narrates through an Ollama server.

    Args:
        model: the model name (default: ``SIMENGINE_MODEL`` or ``qwen2.5:3b``).
        host: the server (default: ``OLLAMA_HOST`` or ``http://127.0.0.1:11434``).
        options: extra Ollama options; they win over the ones set here.
        keep_alive: how long the server keeps the model loaded ("10m", seconds).
        timeout: seconds a whole call may take (each read, too; the client's
            default is to wait forever).
        retries: retries of a failed exchange (so ``retries + 1`` tries).
        backoff: first retry delay in seconds, doubled each retry.
        seed: a fixed sampling seed; by default each decide call uses the
            beat's ``intent.seed``, so the session's seed decides the story.
        decide_temperature: temperature of decide and repair calls.
        temperature: temperature of narrate calls.
        num_ctx: the context window asked for (servers default to 2048-4096).
        reasks: re-asks after a reply that is not a proposal.
        on_prompt_tokens: called with (prompt characters, ``prompt_eval_count``)
            after each call, to calibrate a token estimator.
        recorder: a cassette recorder (:mod:`simengine.storytellers.replay`).
    """

    #: The player's decide call proposes how the people there react, too (the prompt
    #: asks for it), so a player's turn needs no separate reaction beat.
    reactions_in_turn = True

    def __init__(
        self,
        model: str | None = None,
        host: str | None = None,
        options: dict[str, Any] | None = None,
        keep_alive: str | float | None = "10m",
        timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 0.5,
        seed: int | None = None,
        *,
        decide_temperature: float = 0.2,
        temperature: float = 0.8,
        num_ctx: int = 4096,
        reasks: int = 1,
        on_prompt_tokens: Callable[[int, int], Any] | None = None,
        recorder: Any = None,
    ):
        #: ``second``: narrate the player's character as "you" (the session sets it).
        self.voice = "third"
        self.model = model or os.environ.get("SIMENGINE_MODEL") or DEFAULT_MODEL
        self.host = normalise_host(host or os.environ.get("OLLAMA_HOST"))
        self.options = dict(options or {})
        self.keep_alive = keep_alive
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.seed = seed
        self.decide_temperature = decide_temperature
        self.temperature = temperature
        self.num_ctx = num_ctx
        self.reasks = reasks
        self.on_prompt_tokens = on_prompt_tokens
        self.recorder = recorder
        self.name = f"ollama:{self.model}"
        self.last_error: str | None = None
        self._calls: list[Call] = []
        self._host_problem = host_problem(self.host)
        # interrupt() cancels these (the exchanges in flight) and refuses new ones.
        self._interrupted: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # The raw reply a repair call sends back, per beat: beats may be in
        # flight together, so "the last reply" must be the last one of *this* beat.
        self._replies: OrderedDict[Intent, str] = OrderedDict()
        # One client (one httpx pool: connections kept alive) per event loop, with what
        # closes it (and takes it out of here) at the loop's end; a twin shares them.
        self._clients: dict[asyncio.AbstractEventLoop,
                            tuple[AsyncClient, AsyncGenerator[None, None]]] = {}

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> OllamaStoryteller:
        """Build from an :class:`~simengine.storytellers.config.OllamaConfig`."""
        values = dict(model=config.model, host=config.host, keep_alive=config.keep_alive,
                      timeout=config.timeout, decide_temperature=config.decide_temperature,
                      temperature=config.temperature, num_ctx=config.num_ctx)
        values.update(kwargs)
        return cls(**values)

    def __repr__(self) -> str:
        return f"<OllamaStoryteller {self.model} at {self.host}>"

    # --------------------------------------------------------------- public
    def drain_calls(self) -> list[Call]:
        calls, self._calls = self._calls, []
        return calls

    def twin(self) -> OllamaStoryteller:
        """This storyteller for a call asked ahead of its beat's turn
        (:mod:`simengine.sim.ahead`): the same settings, client and memory of
        replies, but its own call log, and the prompt sizes it learns held back
        until :meth:`release` (a session's scenes are cut by them, in beat order)."""
        twin = copy.copy(self)
        twin._calls = []
        held: list[tuple[int, int]] = []
        twin._held, twin._report = held, self.on_prompt_tokens
        twin.on_prompt_tokens = lambda chars, tokens: held.append((chars, tokens))
        return twin

    def release(self) -> None:
        """A twin's answer is used: report the prompt sizes it learned, as its own
        storyteller would have when it asked."""
        report, held = getattr(self, "_report", None), getattr(self, "_held", [])
        for chars, tokens in held if report else ():
            report(chars, tokens)
        held.clear()

    def decide_request(self, scene: Scene, intent: Intent) -> dict[str, Any]:
        """What the first decide call for ``intent`` in ``scene`` sends: two scenes
        that give the same request get the same answer (:mod:`simengine.sim.ahead`)."""
        _, messages, schema = propose_request(scene, intent)
        return self._request(messages, schema, self._decide_options(intent), stream=False)

    async def propose(
        self, scene: Scene, intent: Intent, feedback: Sequence[Violation] = ()
    ) -> Proposal:
        """One decide (or, with ``feedback``, repair) exchange -> a validated proposal."""
        phase, messages, schema = propose_request(scene, intent, feedback,
                                                  self._replies.get(intent))
        options = self._decide_options(intent)
        try:
            proposal, raw = await self._decide(phase, messages, schema, options)
        except StorytellerError as exc:
            self.last_error = exc.reason
            self._record_exchange(phase, messages, schema, {"error": exc.reason})
            raise
        self.last_error = None
        self._remember(intent, raw)
        self._record_exchange(phase, messages, schema, {"content": raw})
        return proposal

    retells = True  # narrate takes ``retell``: a second telling, told why the first drifted

    async def narrate(
        self, scene: Scene, accepted: Proposal, rejected: Sequence[Violation] = (),
        retell: Retell | None = None,
    ) -> AsyncIterator[str]:
        """Stream prose about what was accepted. On failure, stop and record why.

        A stream cut off after some prose keeps it, and ends with a visible note
        that it was cut and why (prose already shown is never told again). A reader
        that stops reading (``aclose``: the prose drifted) ends the call, recorded
        with what it had read.
        """
        messages = narrate_request(scene, accepted, rejected, self.voice, retell)
        seed = self.seed if self.seed is not None else (
            mix_seed(messages[-1]["content"]) & 0x7FFFFFFF
        )
        options = self._options(self.temperature, seed, NARRATE_NUM_PREDICT)
        request = self._request(messages, None, options, stream=True)
        chunks: list[str] = []
        error: str | None = None
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            queue: asyncio.Queue[str | None] = asyncio.Queue()
            task = self._start(self._pump(queue, messages, options))
            # None after the last piece, however the stream ended (the task is done then).
            task.add_done_callback(lambda _, q=queue: q.put_nowait(None))
            try:
                while True:
                    text = await queue.get()
                    if text is None:
                        break
                    chunks.append(text)
                    try:
                        yield text
                    except GeneratorExit:  # the reader stopped here: the call is over
                        self._record("narrate", request, "".join(chunks), started)
                        self._record_exchange("narrate", messages, None,
                                              {"chunks": chunks, "error": None})
                        raise
                final = self._outcome(task)
            except _EXCHANGE_ERRORS as exc:
                failure = classify(exc, self.host, self.model, self.timeout)
                error = failure.reason
                self._record("narrate", request, "".join(chunks) or None, started, error=error)
                # Once prose has been shown it cannot be taken back: never retry then,
                # but say that it was cut, so nobody takes half a scene for the whole.
                if chunks:
                    note = " " + CUT_NOTE.format(self._cut_reason(exc))
                    chunks.append(note)
                    yield note
                if chunks or not failure.retryable or attempt == self.retries:
                    break
                await asyncio.sleep(self.backoff * 2**attempt)
                continue
            finally:
                await self._stop(task)
            error = None
            self._record("narrate", request, "".join(chunks), started, final=final)
            break
        self.last_error = error
        self._record_exchange("narrate", messages, None, {"chunks": chunks, "error": error})

    def _cut_reason(self, exc: BaseException) -> str:
        """Why prose stopped, in a few words fit for the story itself."""
        if isinstance(exc, Interrupted):
            return str(exc) or "stopped"
        if isinstance(exc, DeadlineExceeded):
            return f"the model took longer than {self.timeout:g} s"
        if isinstance(exc, ReplyTooLarge):
            return "the model ran on far too long"
        if isinstance(exc, ResponseError):
            return "the model failed mid-reply"
        return "the connection to the model failed"

    def interrupt(self, reason: str = "stopped by Ctrl-C") -> None:
        """Stop every exchange in flight, and refuse new ones, with ``reason``.

        Safe to call from a signal handler or another thread: the cancellations
        are handed to each call's event loop.
        """
        self._interrupted = reason
        for task in list(self._tasks):
            try:
                task.get_loop().call_soon_threadsafe(task.cancel)
            except RuntimeError:  # its loop has closed: nothing left to stop
                pass

    # ------------------------------------------------------------ internals
    async def _client(self) -> AsyncClient:
        """This event loop's client, built on its first call and kept: its pool keeps the
        connection alive, so a call does not open (and tear down) a TCP connection.

        An httpx pool is bound to the loop it first ran on, and callers (propose_sync,
        tests, the TUI's workers) use several: each loop gets its own client, never
        another's. It is closed by :meth:`aclose` / :meth:`close`, or when its loop
        shuts down (``asyncio.run`` closes the async generators still open in it:
        :func:`_closes_with_loop` is one, and closes the client on its own loop).
        A call cancelled mid-reply (``interrupt``) closes its connection instead of
        handing it back, so the pool never lends a half-read one.
        """
        loop = asyncio.get_running_loop()
        held = self._clients.get(loop)
        if held is not None and not held[0]._client.is_closed:
            return held[0]
        for gone in [other for other in list(self._clients) if other.is_closed()]:
            del self._clients[gone]  # closed without a shutdown: nothing can close it now
        # The TLS context is shared: building one costs ~20 ms a client.
        client = AsyncClient(host=self.host, timeout=self.timeout, transport=capped_transport())
        closer = _closes_with_loop(client, self._clients, loop)
        await closer.asend(None)  # started here, so this loop's shutdown closes it
        self._clients[loop] = (client, closer)
        return client

    async def aclose(self) -> None:
        """Close the running loop's client (a loop running elsewhere closes its own at
        its end; a later call opens a new one)."""
        await self._close_held(asyncio.get_running_loop())

    def close(self) -> None:
        """Close the clients of loops open but not running, from outside any running
        loop (inside one, ``await aclose()``)."""
        for loop in list(self._clients):
            if not loop.is_running() and not loop.is_closed():
                loop.run_until_complete(self._close_held(loop))

    async def _close_held(self, loop: asyncio.AbstractEventLoop) -> None:
        held = self._clients.pop(loop, None)
        if held is not None:
            await held[1].aclose()  # runs _closes_with_loop's finally: the client closes

    def _start(self, work: Awaitable[T]) -> asyncio.Task[T]:
        """Run one exchange as its own task, under the call's overall deadline.

        The client's ``timeout`` bounds each read; a server that sends a token
        every second would never trip it. The deadline bounds the whole call,
        and ``interrupt()`` cancels the task.
        """

        async def bounded() -> T:
            refused = (Interrupted(self._interrupted) if self._interrupted else
                       OverflowError(self._host_problem) if self._host_problem else None)
            if refused is not None:
                if isinstance(work, Coroutine):
                    work.close()  # never started: say so, or Python warns it was never awaited
                raise refused
            scope = asyncio.timeout(self.timeout)
            try:
                async with scope:
                    return await work
            except TimeoutError:
                if scope.expired():
                    raise DeadlineExceeded() from None
                raise

        task = asyncio.ensure_future(bounded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, work: Awaitable[T]) -> T:
        task = self._start(work)
        try:
            await asyncio.wait({task})  # our own cancellation still reaches us here
        finally:
            await self._stop(task)
        return self._outcome(task)

    def _outcome(self, task: asyncio.Task[T]) -> T:
        if task.cancelled():
            raise Interrupted(self._interrupted or "stopped")
        return task.result()

    @staticmethod
    async def _stop(task: asyncio.Task[Any]) -> None:
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" warning

    async def _pump(self, queue: asyncio.Queue[str | None], messages: list[dict[str, str]],
                    options: dict[str, Any]) -> Any:
        """Stream one narrate call into ``queue``; returns the final chunk."""
        final: Any = None
        size = 0
        client = await self._client()
        stream = await client.chat(model=self.model, messages=messages, stream=True,
                                   options=options, keep_alive=self.keep_alive)
        try:
            async for part in stream:
                text = clean_text(part.message.content or "")
                size += len(text)
                if size > MAX_REPLY_CHARS:
                    raise ReplyTooLarge(f"more than {MAX_REPLY_CHARS:,} characters of prose")
                if text:
                    queue.put_nowait(text)
                if part.done:
                    final = part
        finally:
            await stream.aclose()  # a stream left open is closed by the loop, too late
        return final

    def _decide_options(self, intent: Intent) -> dict[str, Any]:
        seed = self.seed if self.seed is not None else intent.seed
        return self._options(self.decide_temperature, seed, DECIDE_NUM_PREDICT)

    def _options(self, temperature: float, seed: int, num_predict: int) -> dict[str, Any]:
        # A plain dict: ollama.Options silently drops fields it does not declare.
        options: dict[str, Any] = {"temperature": temperature, "seed": seed,
                                   "num_ctx": self.num_ctx, "num_predict": num_predict}
        options.update(self.options)
        return options

    def _request(self, messages: list[dict[str, str]], schema: dict[str, Any] | None,
                 options: dict[str, Any], stream: bool) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "messages": messages, "stream": stream,
                                   "options": options, "keep_alive": self.keep_alive}
        if schema is not None:
            request["format"] = schema
        return request

    def _remember(self, intent: Intent, raw: str) -> None:
        self._replies[intent] = raw
        self._replies.move_to_end(intent)
        while len(self._replies) > 64:
            self._replies.popitem(last=False)

    async def _decide(self, phase: Phase, messages: list[dict[str, str]],
                      schema: dict[str, Any], options: dict[str, Any]) -> tuple[Proposal, str]:
        reasks = 0
        while True:
            content, record = await self._chat(phase, messages, schema, options)
            try:
                return parse_proposal(content), content
            except ReplyInvalid as exc:
                record.accepted = False
                record.error = f"invalid reply: {exc.reason}"
                if reasks >= self.reasks:
                    raise StorytellerError(
                        f"{self.model} did not return a valid proposal "
                        f"({reasks + 1} tries): {exc.reason}"
                    ) from None
                reasks += 1
                messages = [*messages, {"role": "assistant", "content": content},
                            {"role": "user", "content": reask_text(exc.reason)}]

    async def _chat(self, phase: Phase, messages: list[dict[str, str]], schema: dict[str, Any],
                    options: dict[str, Any]) -> tuple[str, Call]:
        """One non-streamed chat exchange with bounded retries."""
        request = self._request(messages, schema, options, stream=False)
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                reply = await self._run(self._ask(messages, schema, options))
            except _EXCHANGE_ERRORS as exc:
                failure = classify(exc, self.host, self.model, self.timeout)
                self._record(phase, request, None, started, error=failure.reason)
                if not failure.retryable or attempt == self.retries:
                    tries = f" (after {attempt + 1} tries)" if attempt else ""
                    raise StorytellerError(failure.reason + tries) from None
                await asyncio.sleep(self.backoff * 2**attempt)
                continue
            content = clean_text(reply.message.content or "")
            return content, self._record(phase, request, content, started, final=reply)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ask(self, messages: list[dict[str, str]], schema: dict[str, Any],
                   options: dict[str, Any]) -> Any:
        client = await self._client()
        reply = await client.chat(model=self.model, messages=messages, format=schema,
                                  options=options, keep_alive=self.keep_alive, stream=False)
        if len(reply.message.content or "") > MAX_REPLY_CHARS:
            raise ReplyTooLarge(f"{len(reply.message.content):,} characters for one proposal")
        return reply

    def _record(self, phase: Phase, request: dict[str, Any], response: Any, started: float,
                *, final: Any = None, error: str | None = None) -> Call:
        record = Call(
            storyteller=self.name,
            model=self.model,
            phase=phase,
            request=request,
            response=response,
            prompt_tokens=getattr(final, "prompt_eval_count", None),
            completion_tokens=getattr(final, "eval_count", None),
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            error=error,
            model_ms=_server_ms(final),
        )
        self._calls.append(record)
        if self.on_prompt_tokens and record.prompt_tokens:
            chars = sum(len(m["content"]) for m in request["messages"])
            self.on_prompt_tokens(chars, record.prompt_tokens)
        return record

    def _record_exchange(self, phase: Phase, messages: list[dict[str, str]],
                         schema: dict[str, Any] | None, reply: dict[str, Any]) -> None:
        if self.recorder is not None:
            last = self._calls[-1] if self._calls else None
            if last is not None and last.prompt_tokens and "error" not in reply:
                # A replay calibrates its token estimate from these, as this run did, so
                # its scenes (and prompts) come out the same.
                reply = {**reply, "prompt_tokens": last.prompt_tokens}
            self.recorder.record(phase, messages, schema, reply, by=self.name)

