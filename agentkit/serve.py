"""Serve an agent over the Amazon Bedrock AgentCore HTTP contract: `POST /invocations` and `GET /ping`.

    app = create_app(load_agent_factory("agents/echo.py"))     # an ASGI app
    serve(app, host="0.0.0.0", port=8080)                       # what `agentkit serve` runs

`POST /invocations` takes a JSON object with a `prompt` string. It answers with one JSON object (the run's
result), or with `text/event-stream` events (`data: <json>` per agent event, the last one `"kind": "done"`)
when the payload says `"stream": true` or the Accept header prefers `text/event-stream`. The header
`X-Amzn-Bedrock-AgentCore-Runtime-Session-Id` names a durable agentkit session, so a conversation continues
across invocations (and across restarts; with an S3 store, `load_agent_factory(..., sessions="s3://...")`, on
any machine); invocations of one session run one at a time, in arrival order.
`GET /ping` says `Healthy`, or `HealthyBusy` while any run is in progress; `time_of_last_update` changes
only when the status does (AgentCore reaps sessions that stay Healthy for the idle timeout).

Hostile clients stay bounded. Every failure is a JSON object `{"error": ..., "request_id": ...}`, never
plain text (uvicorn's own protocol errors included, see agentkit.serve_http):
- 415: a Content-Type other than JSON (`application/json` or `application/*+json`; a request without one
  is read as JSON, as AgentCore's examples send it);
- 413: a payload over `max_payload_bytes` (from Content-Length before reading, or as soon as a chunked
  body crosses it);
- 503: the payloads being received at once, by all requests together, would pass `max_receiving_bytes`
  (so 8 clients sending 95 MB each cannot make the server buffer 760 MB); try again later;
- 408: the body did not arrive within `body_timeout` seconds (a client trickling one byte every 2 s), or
  the headers within `header_timeout` (enforced in agentkit.serve_http);
- 400: a payload that is not strict JSON within `PAYLOAD_LIMITS` (nesting deeper than 32, more than
  10,000 values, a number of more than 100 digits, a lone surrogate such as "\\ud800", NaN; see
  agentkit.strict_json), or one without a prompt; the message names the problem;
- 409: the session is busy in another process (agentkit.errors.SessionBusy), or its stored transcript is
  damaged (the body says so without the store's paths; the server log names the record);
- 500: a failed run. Its body never carries exception text (it may hold keys or prompts); it carries a
  request id that the server log repeats next to the traceback.

A client that disconnects cancels its run; everything the run had finished is already in the session
transcript, so the next invocation continues from there. A tool call running on a thread at that moment
cannot be stopped: the run waits for it (within its timeout) and records its result first, so a resumed
run never calls it again (see AgentLoop and agentkit.tool_threads).

Why not the official `bedrock-agentcore` SDK app (`BedrockAgentCoreApp`, a Starlette app)? Measured on the
same machine (benchmarks/bench_serve.py) and read from its source: it returns exception text in 500 bodies,
has no payload limit, reports a failure inside a stream as HTTP 200, and importing it pulls in boto3
(~0.5 s more startup). The contract is two routes, so this module is a small ASGI app on uvicorn instead. It
keeps the SDK's good idea: agent runs happen on one worker thread with its own event loop, so `/ping`
answers at once even while agent code blocks (a synchronous model call, a CPU-bound parser).

Agents come from `load_agent_factory(spec)`: a ready-made agent's name, a `module:attribute` import path or
a Python file, read by `agentkit.agents.load_definition` exactly as `agentkit run` reads them. This module
holds no agent logic.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from agentkit import strict_json
from agentkit.agent import Agent
from agentkit.errors import ConfigError, SessionBusy, SessionDamaged
from agentkit.session_stores import SessionStore, open_store
from agentkit.sessions import Session, default_store

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "DEFAULT_MAX_RECEIVING_BYTES",
    "PAYLOAD_LIMITS",
    "SESSION_HEADER",
    "AgentCoreApp",
    "AgentFactory",
    "create_app",
    "load_agent_factory",
    "serve",
    "session_key",
]

log = logging.getLogger("agentkit.serve")

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
_REQUEST_ID_HEADER = b"x-amzn-bedrock-agentcore-runtime-request-id"
DEFAULT_MAX_PAYLOAD_BYTES = 100_000_000  # AgentCore's own request limit
DEFAULT_MAX_RECEIVING_BYTES = 200_000_000  # all bodies being received at once, across requests
DEFAULT_BODY_TIMEOUT = 120.0  # seconds for a whole body to arrive
DEFAULT_HEADER_TIMEOUT = 10.0  # seconds for a request's headers to arrive (agentkit.serve_http)
PAYLOAD_LIMITS = strict_json.Limits(max_depth=32, max_values=10_000, max_number_digits=100)
_JSON_TYPE = re.compile(r"^application/(?:[a-z0-9.+-]+\+)?json$")
_SAFE_SESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

# session key (None: no session header, a throwaway conversation) -> a fresh Agent bound to it
AgentFactory = Callable[[str | None], Agent]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


# ---- loading agents ----------------------------------------------------------------------------------


def load_agent_factory(
    spec: str,
    *,
    model: Any = None,
    options: dict[str, Any] | None = None,
    sessions: str | SessionStore | None = None,
) -> AgentFactory:
    """Resolve an agent spec (ready-made name, `module:attribute`, `file.py`) to a factory.

    Specs are read by `agentkit.agents.load_definition`, as `agentkit run` reads them. Each call of the
    factory builds a fresh agent from the definition (with `model` and `options`) and binds it to the
    session in `sessions` (a store or its URL, see agentkit.session_stores; default: `default_store()`,
    $AGENTKIT_SESSIONS or $AGENTKIT_HOME/sessions), so concurrent sessions never share a conversation.
    """
    from agentkit.agents import load_definition

    store = open_store(sessions) if isinstance(sessions, str) else sessions or default_store()
    definition = load_definition(spec)
    kwargs = dict(options or {})

    def factory(session: str | None) -> Agent:
        return _bind(definition.create(model, **kwargs), session, store)

    return factory


def _bind(agent: Agent, session: str | None, store: SessionStore) -> Agent:
    """A copy of `agent` whose conversation is `session` (None: a new, unsaved one); a definition may hand
    out the same Agent more than once, so the original is never used directly. The session is always
    `session_key(session)` in the store, never a path."""
    if session is None:
        return agent.clone(session=None)
    return agent.clone(session=Session(store.transcript(session_key(session))))


def session_key(header_value: str) -> str:
    """The agentkit session id for an AgentCore session id (hashed when it is not a safe file name)."""
    if _SAFE_SESSION.match(header_value):
        return header_value
    return "ac-" + hashlib.sha256(header_value.encode()).hexdigest()


# ---- health --------------------------------------------------------------------------------------------


class _Health:
    """Healthy / HealthyBusy, with the time of the last change (never re-stamped while unchanged)."""

    def __init__(self) -> None:
        self.running = 0
        self._set("Healthy")

    def _set(self, status: str) -> None:
        self.status = status
        self.changed = int(time.time())
        self.body = json.dumps({"status": status, "time_of_last_update": self.changed}).encode()

    def enter(self) -> None:
        self.running += 1
        if self.running == 1:
            self._set("HealthyBusy")

    def leave(self) -> None:
        self.running -= 1
        if self.running == 0:
            self._set("Healthy")


# ---- the worker event loop -------------------------------------------------------------------------------


class _Worker:
    """One thread running its own event loop: agent code that blocks never stalls the server's loop."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self.loop is None:
                ready = threading.Event()
                self._thread = threading.Thread(target=self._main, args=(ready,), name="agentkit-runs", daemon=True)
                self._thread.start()
                ready.wait()
            assert self.loop is not None
            return self.loop

    def _main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        ready.set()
        loop.run_forever()
        loop.close()

    def stop(self) -> None:
        with self._lock:
            loop, thread = self.loop, self._thread
            self.loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)


class _Run:
    """One agent run on the worker loop, cancellable from the server's loop."""

    def __init__(self, worker_loop: asyncio.AbstractEventLoop) -> None:
        self.worker_loop = worker_loop
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.worker_loop.call_soon_threadsafe(self._cancel_task)

    def _cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()


class _Outbox:
    """Hands items from the worker thread to the server's loop with one wake-up per batch, not per item."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._items: list[tuple[asyncio.Queue[Any], Any]] = []
        self._lock = threading.Lock()
        self._scheduled = False

    def put(self, queue: asyncio.Queue[Any], item: Any) -> None:
        with self._lock:
            self._items.append((queue, item))
            if self._scheduled:
                return
            self._scheduled = True
        self.loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._lock:
            items, self._items, self._scheduled = self._items, [], False
        for queue, item in items:
            queue.put_nowait(item)


class _SessionLocks:
    """One asyncio.Lock per session, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def acquire(self, key: str) -> None:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting: give the user count back without releasing
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
            raise

    def release(self, key: str) -> None:
        lock, users = self._locks[key]
        lock.release()
        if users == 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close  # the body may still be arriving: end the connection after the answer


_DONE = object()
_JSON_HEADERS = [(b"content-type", b"application/json")]
_SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


def _session_problem(failure: SessionBusy | SessionDamaged, request_id: str) -> str:
    """What a client may read of a session error: a busy session's holder, or that the transcript is damaged
    (where it is stored, a path or a bucket, stays in the server log)."""
    if isinstance(failure, SessionBusy):
        return str(failure)
    log.error("request %s: %s", request_id, failure)
    return (
        "the session cannot be resumed: its stored transcript is damaged; use a new session id "
        "(the server log names the record)"
    )


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


# ---- the ASGI app --------------------------------------------------------------------------------------


class AgentCoreApp:
    """The AgentCore HTTP contract as a plain ASGI app."""

    def __init__(
        self,
        factory: AgentFactory,
        *,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_receiving_bytes: int | None = None,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    ) -> None:
        receiving = (
            max(DEFAULT_MAX_RECEIVING_BYTES, max_payload_bytes) if max_receiving_bytes is None else max_receiving_bytes
        )
        if max_payload_bytes < 1:
            raise ConfigError(f"max_payload_bytes must be positive, not {max_payload_bytes}")
        if receiving < max_payload_bytes:
            raise ConfigError(
                f"max_receiving_bytes ({receiving}) must be at least max_payload_bytes ({max_payload_bytes}), "
                "or no payload of the largest size could ever be received"
            )
        if body_timeout <= 0 or header_timeout <= 0:
            raise ConfigError("body_timeout and header_timeout must be positive numbers of seconds")
        self.factory = factory
        self.max_payload_bytes = max_payload_bytes
        self.max_receiving_bytes = receiving
        self.body_timeout = body_timeout
        self.header_timeout = header_timeout
        self._receiving = 0  # bytes of request bodies being received right now, all requests together
        self.health = _Health()
        self._worker = _Worker()
        self._sessions = _SessionLocks()
        self._outbox: _Outbox | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`_http`, with any unexpected failure answered as a JSON 500 (uvicorn's own would be plain text)."""
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self._http(scope, receive, tracked)
        except Exception:
            request_id = uuid.uuid4().hex
            log.exception("request %s: the server failed", request_id)
            if started:
                raise
            body = json.dumps({"error": "the server failed; see the server log", "request_id": request_id})
            await _respond(send, 500, body.encode(), [*_JSON_HEADERS, (b"connection", b"close")])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._worker.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._worker.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/ping":
            if method in ("GET", "HEAD"):
                await _respond(send, 200, self.health.body, _JSON_HEADERS)
            else:
                await _respond(send, 405, b'{"error":"use GET /ping"}', [*_JSON_HEADERS, (b"allow", b"GET, HEAD")])
        elif path == "/invocations":
            if method == "POST":
                await self._invocation(scope, receive, send)
            else:
                await _respond(send, 405, b'{"error":"use POST /invocations"}', [*_JSON_HEADERS, (b"allow", b"POST")])
        else:
            await _respond(send, 404, b'{"error":"not found: use POST /invocations or GET /ping"}', _JSON_HEADERS)

    async def _invocation(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        request_id = headers.get(_REQUEST_ID_HEADER, b"").decode("latin-1") or uuid.uuid4().hex
        extra = [(b"x-request-id", request_id.encode("latin-1"))]
        try:
            _check_content_type(headers.get(b"content-type"))
            payload = await self._read_payload(headers, receive)
            prompt, stream = _parse_payload(payload, headers.get(b"accept", b""))
        except _BadRequest as exc:
            body = json.dumps({"error": exc.message, "request_id": request_id}).encode()
            close = [(b"connection", b"close")] if exc.close else []
            later = [(b"retry-after", b"1")] if exc.status == 503 else []
            await _respond(send, exc.status, body, [*_JSON_HEADERS, *extra, *close, *later])
            return
        raw_session = headers.get(SESSION_HEADER.lower().encode(), b"").decode("latin-1")
        key = session_key(raw_session) if raw_session else None
        if key is not None:
            await self._sessions.acquire(key)
        try:
            await self._run(prompt, key, stream, request_id, receive, send, extra)
        finally:
            if key is not None:
                self._sessions.release(key)

    async def _read_payload(self, headers: dict[bytes, bytes], receive: Receive) -> Any:
        limit = self.max_payload_bytes
        declared = headers.get(b"content-length")
        expected = int(declared) if declared is not None and declared.isdigit() else None
        if expected is not None and expected > limit:
            raise _BadRequest(413, f"payload of {expected} bytes is over the limit of {limit} bytes", close=True)
        reserved = 0
        try:
            if expected is not None:  # reserve it all now: a declared size is known before any byte is read
                self._reserve(expected)
                reserved = expected
            buffer = bytearray()
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _BadRequest(400, "the client disconnected before sending the whole payload")
                    chunk = message.get("body", b"")
                    if len(buffer) + len(chunk) > limit:
                        raise _BadRequest(413, f"payload is over the limit of {limit} bytes", close=True)
                    if len(buffer) + len(chunk) > reserved:
                        self._reserve(len(buffer) + len(chunk) - reserved)
                        reserved = len(buffer) + len(chunk)
                    buffer += chunk
                    if not message.get("more_body", False):
                        break
            return strict_json.loads(buffer, PAYLOAD_LIMITS)  # still reserved: decoding holds copies of it
        except TimeoutError:
            raise _BadRequest(
                408, f"the payload did not arrive within {self.body_timeout:g} s; send it faster", close=True
            ) from None
        except strict_json.JSONError as exc:
            raise _BadRequest(
                400, f'invalid JSON payload ({exc}): send a JSON object like {{"prompt": "..."}}'
            ) from None
        finally:
            self._receiving -= reserved

    def _reserve(self, size: int) -> None:
        """Count `size` more bytes as being received, or refuse with 503 when all requests together would
        pass `max_receiving_bytes` (the caller gives back what it reserved)."""
        if self._receiving + size > self.max_receiving_bytes:
            raise _BadRequest(
                503,
                f"the server is receiving {self.max_receiving_bytes} bytes of payloads at once already; "
                "try again shortly",
                close=True,
            )
        self._receiving += size

    async def _run(
        self,
        prompt: str,
        key: str | None,
        stream: bool,
        request_id: str,
        receive: Receive,
        send: Send,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        if self._outbox is None:
            self._outbox = _Outbox(asyncio.get_running_loop())
        outbox = self._outbox
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def push(item: Any) -> None:
            outbox.put(queue, item)

        worker_loop = self._worker.start()
        run = _Run(worker_loop)
        self.health.enter()
        future = asyncio.wrap_future(_submit(worker_loop, self._drive(run, prompt, key, stream, push)))
        future.add_done_callback(lambda _: queue.put_nowait(_DONE))
        watcher = asyncio.ensure_future(_wait_disconnect(receive))

        def on_disconnect(_: object) -> None:
            run.cancel()

        watcher.add_done_callback(on_disconnect)
        try:
            await self._relay(queue, future, stream, request_id, send, extra)
        finally:
            watcher.remove_done_callback(on_disconnect)
            watcher.cancel()
            if not future.done():
                run.cancel()
            await asyncio.wait([future])  # the run has unwound (and closed its session) before the lock frees
            self.health.leave()
            if future.cancelled() or run.cancelled:
                log.info("request %s: the client disconnected; the run was cancelled", request_id)

    async def _relay(
        self,
        queue: asyncio.Queue[Any],
        future: asyncio.Future[Any],
        stream: bool,
        request_id: str,
        send: Send,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        started = False
        while True:
            item = await queue.get()
            parts = [item]
            while not queue.empty():
                parts.append(queue.get_nowait())
            done = parts[-1] is _DONE
            body = b"".join(p for p in parts if p is not _DONE)
            if done:
                failure = None if future.cancelled() else future.exception()
                if isinstance(failure, (SessionBusy, SessionDamaged)):
                    error = {"error": _session_problem(failure, request_id), "request_id": request_id}
                    if not started:
                        await _respond(send, 409, json.dumps(error).encode(), [*_JSON_HEADERS, *extra])
                        return
                    body += _sse({"kind": "error", **error})
                elif failure is not None:
                    log.error("request %s: the agent run failed", request_id, exc_info=failure)
                    error = {"error": f"the agent run failed ({type(failure).__name__}); see the server log"}
                    error["request_id"] = request_id
                    if not started:
                        await _respond(send, 500, json.dumps(error).encode(), [*_JSON_HEADERS, *extra])
                        return
                    body += _sse({"kind": "error", **error})
                if future.cancelled():
                    return
            if not started:
                if not stream:
                    await _respond(send, 200, body, [*_JSON_HEADERS, *extra])
                    return
                await send({"type": "http.response.start", "status": 200, "headers": [*_SSE_HEADERS, *extra]})
                started = True
            await send({"type": "http.response.body", "body": body, "more_body": not done})
            if done:
                return

    async def _drive(self, run: _Run, prompt: str, key: str | None, stream: bool, push: Callable[[Any], None]) -> None:
        """Runs on the worker loop: one agent run, its output pushed to the server's loop as bytes."""
        run.task = asyncio.current_task()
        if run.cancelled:
            return
        agent = self.factory(key)
        try:
            if not stream:
                result = await agent.invoke_async(prompt)
                data = result.to_dict() | {"session_id": key}
                push(json.dumps(data, ensure_ascii=False).encode())
                return
            async for event in agent.stream(prompt):
                if event.kind != "message":
                    push(_sse(event.to_dict()))
        finally:
            if agent.session is not None:
                agent.session.close()


def _submit(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
    return asyncio.run_coroutine_threadsafe(coro, loop)


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _check_content_type(value: bytes | None) -> None:
    """JSON only, said so by the client (AgentCore sends application/json); a charset other than UTF-8 is
    refused too."""
    if value is None:
        raise _BadRequest(415, "no Content-Type: send the payload as application/json (UTF-8)")
    media, _, params = value.decode("latin-1").partition(";")
    charset = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_-]+)", params)
    if _JSON_TYPE.match(media.strip().lower()) and (charset is None or charset.group(1).lower() in ("utf-8", "utf8")):
        return
    shown = value[:100].decode("latin-1")
    raise _BadRequest(
        415,
        f"unsupported Content-Type {shown!r}: send the payload as application/json (UTF-8), "
        "or another application/*+json type",
    )


def _parse_payload(payload: Any, accept: bytes) -> tuple[str, bool]:
    if not isinstance(payload, dict):
        raise _BadRequest(
            400, f'the payload must be a JSON object like {{"prompt": "..."}}, not {type(payload).__name__}'
        )
    prompt = payload.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise _BadRequest(400, 'the payload needs a non-empty "prompt" string')
    stream = payload.get("stream")
    if stream is None:
        return prompt, _prefers_event_stream(accept.decode("latin-1"))
    if not isinstance(stream, bool):
        raise _BadRequest(400, '"stream" must be true or false')
    return prompt, stream


def _prefers_event_stream(accept: str) -> bool:
    """True when text/event-stream is listed and no JSON type is preferred to it (by q, then order)."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(accept.split(",")):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        if media not in ("text/event-stream", "application/json"):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if best is None or q > best[0]:
            best = (q, position, media)
    return best is not None and best[2] == "text/event-stream" and best[0] > 0


def create_app(
    factory: AgentFactory,
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    max_receiving_bytes: int | None = None,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
) -> AgentCoreApp:
    """The ASGI app serving `factory`'s agents over the AgentCore contract (limits: see the module doc;
    `max_receiving_bytes` defaults to the larger of 200 MB and `max_payload_bytes`)."""
    return AgentCoreApp(
        factory,
        max_payload_bytes=max_payload_bytes,
        max_receiving_bytes=max_receiving_bytes,
        body_timeout=body_timeout,
        header_timeout=header_timeout,
    )


def serve(
    app: AgentCoreApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    log_level: str = "warning",
    ready: Callable[[str, int], None] | None = None,
) -> None:
    """Run `app` under uvicorn until interrupted (in a container, pass host="0.0.0.0").

    The port is bound before `ready(host, port)` is called (port 0 gives the port the system picked), so a
    busy port or a missing extra fails before anything says the server is up.

    uvicorn picks httptools and uvloop when installed (the `serve` extra installs them): in
    benchmarks/bench_serve.py they nearly double throughput over its pure-Python h11 parser. The HTTP
    protocol is uvicorn's with `app.header_timeout` and JSON protocol errors (agentkit.serve_http).
    """
    try:
        import uvicorn
    except ImportError as exc:
        from agentkit.errors import MissingExtra

        raise MissingExtra("uvicorn", "serve") from exc
    from agentkit.serve_http import protocol_class

    # Agent runs hold the GIL on the worker thread; a shorter switch interval (default 5 ms) lets the
    # server's thread answer /ping and move stream bytes sooner (measured in benchmarks/bench_serve.py).
    sys.setswitchinterval(0.0005)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        http=protocol_class(app.header_timeout),
    )
    listener = _listen(host, port)
    if ready is not None:
        ready(host, listener.getsockname()[1])
    uvicorn.Server(config).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port or stop what is using it"
        ) from exc
