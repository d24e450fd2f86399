"""Hostile HTTP clients against a real `agentkit serve` on 127.0.0.1: every failure is bounded and JSON.

The server here runs with small limits and short timeouts (see the fixture) so the slow-client and
memory-cap cases take about a second each.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import HERE, Server, start_server

pytestmark = pytest.mark.integration

SESSION = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
MAX_PAYLOAD = 1_000_000
MAX_RECEIVING = 2_000_000
BODY_TIMEOUT = 1.5
HEADER_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("hostile")
    args = [str(HERE / "agent_fixture.py"), "--max-payload-bytes", str(MAX_PAYLOAD)]
    args += ["--max-receiving-bytes", str(MAX_RECEIVING), "--body-timeout", str(BODY_TIMEOUT)]
    args += ["--header-timeout", str(HEADER_TIMEOUT)]
    srv = start_server(args, root / "home", root / "server.log")
    yield srv
    srv.process.terminate()
    try:
        srv.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        srv.process.kill()


def post(server: Server, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json", **(headers or {})}
    return httpx.post(server.url + "/invocations", content=content, headers=headers, timeout=30)


def json_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    message: str = response.json()["error"]
    return message


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def hold(url: str, size: int) -> socket.socket:
    """A request that declares `size` bytes, sends the start of its body and then nothing more."""
    sock = connect(url)
    head = f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    sock.sendall(head.encode() + b'{"prompt": "')
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """Read one whole response (the server closes the connection after these errors)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower(), head
    return status, json.loads(body)


# ---- the strict decoder -------------------------------------------------------------------------------


def test_deep_nesting_is_a_400_naming_the_nesting_limit(hostile_server: Server) -> None:
    message = json_error(post(hostile_server, b"[" * 100_000), 400)
    assert "nesting" in message and "32" in message
    assert "RecursionError" not in hostile_server.log()


def test_a_lone_surrogate_is_a_400_and_never_reaches_the_session(hostile_server: Server) -> None:
    session = "test-" + uuid.uuid4().hex
    response = post(hostile_server, b'{"prompt": "hi \\ud800"}', {SESSION: session})
    assert "surrogate" in json_error(response, 400)
    assert not (hostile_server.home / "sessions" / f"{session}.jsonl").exists()
    ok = post(hostile_server, b'{"prompt": "fine"}', {SESSION: session})  # the session still works
    assert ok.json()["text"] == "heard: fine"


def test_a_huge_integer_is_a_400_about_its_digits(hostile_server: Server) -> None:
    message = json_error(post(hostile_server, b'{"prompt": "x", "n": ' + b"9" * 5000 + b"}"), 400)
    assert "5000 digits" in message
    assert "UTF-8" not in message


def test_bad_utf8_still_says_so(hostile_server: Server) -> None:
    assert "UTF-8" in json_error(post(hostile_server, b'{"prompt": "\xff"}'), 400)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]
)
def test_a_non_json_content_type_is_a_415_naming_the_accepted_types(hostile_server: Server, content_type: str) -> None:
    response = post(hostile_server, b'{"prompt": "x"}', {"Content-Type": content_type})
    message = json_error(response, 415)
    assert "application/json" in message


def test_a_missing_content_type_is_a_415_too(hostile_server: Server) -> None:
    response = httpx.post(hostile_server.url + "/invocations", content=b'{"prompt": "x"}', timeout=30)
    assert "no Content-Type" in json_error(response, 415)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.api+json"])
def test_json_content_types_are_accepted(hostile_server: Server, content_type: str) -> None:
    response = post(hostile_server, b'{"prompt": "x"}', {"Content-Type": content_type})
    assert response.status_code == 200
    assert response.json()["text"] == "heard: x"


# ---- the process-wide receiving cap -----------------------------------------------------------------------


def test_bodies_received_at_once_are_capped_across_requests(hostile_server: Server) -> None:
    size = 900_000  # each under the payload limit; three of them pass the 2 MB receiving cap
    holders = []
    try:
        holders = [hold(hostile_server.url, size) for _ in range(2)]
        time.sleep(0.3)
        third = post(hostile_server, b'{"prompt": "' + b"z" * (size - 20) + b'"}')
        assert "try again" in json_error(third, 503)
        assert third.headers["retry-after"] == "1"
        small = post(hostile_server, b'{"prompt": "small"}')  # small ones still fit beside the two
        assert small.status_code == 200
    finally:
        for sock in holders:
            sock.close()
    time.sleep(0.3)
    again = post(hostile_server, b'{"prompt": "' + b"z" * (size - 20) + b'"}')  # the reservations were given back
    assert again.status_code == 200, again.text


def test_a_chunked_body_counts_against_the_cap_as_it_arrives(hostile_server: Server) -> None:
    holders = [hold(hostile_server.url, 999_000) for _ in range(2)]  # 2,000 bytes of the cap are left
    try:
        time.sleep(0.3)

        def body() -> Iterator[bytes]:  # no Content-Length: counted chunk by chunk
            yield b'{"prompt": "'
            for _ in range(20):
                yield b"c" * 1000
            yield b'"}'

        response = httpx.post(
            hostile_server.url + "/invocations",
            content=body(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert "receiving" in json_error(response, 503)
    finally:
        for sock in holders:
            sock.close()


# ---- slow clients -----------------------------------------------------------------------------------------


def trickle(url: str, prefix: bytes, data: bytes, gap: float) -> tuple[float, int, dict[str, Any]]:
    """Send `prefix`, then `data` one byte every `gap` s until the server answers; its answer and when.

    A byte that crosses the server's answer on the wire makes the server's kernel reset the connection,
    which can drop the answer: that outcome is status 0."""
    sock = connect(url)
    started = time.monotonic()
    try:
        sock.sendall(prefix)
        for byte in data:
            readable, _, _ = select.select([sock], [], [], gap)
            if readable:  # stop sending before reading
                break
            sock.sendall(bytes([byte]))
        status, body = read_response(sock)
    except ConnectionError:  # reset, or a broken pipe on the next byte
        status, body = 0, {}
    finally:
        sock.close()
    return time.monotonic() - started, status, body


@pytest.mark.parametrize(
    ("prefix", "data", "expected"),
    [
        (
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n",
            b"x" * 40,
            "payload did not arrive",
        ),
        (b"", b"POST /invocations HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"p" * 40, "headers did not arrive"),
    ],
)
def test_slow_clients_are_timed_out_with_a_json_408(
    hostile_server: Server, prefix: bytes, data: bytes, expected: str
) -> None:
    results: list[tuple[float, int, dict[str, Any]]] = []
    threads = [
        threading.Thread(target=lambda: results.append(trickle(hostile_server.url, prefix, data, 0.3)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    ping = httpx.get(hostile_server.url + "/ping", timeout=5)  # the server answers others meanwhile
    assert ping.status_code == 200
    for thread in threads:
        thread.join(timeout=20)
    assert len(results) == 3
    for elapsed, status, body in results:
        assert elapsed < 5  # 40 bytes at 0.3 s each would take 12 s
        assert status in (408, 0)
        assert status == 0 or expected in body["error"]
    assert any(status == 408 for _, status, _ in results)


def test_a_malformed_request_gets_a_json_400(hostile_server: Server) -> None:
    sock = connect(hostile_server.url)
    try:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        status, body = read_response(sock)
    finally:
        sock.close()
    assert status == 400
    assert "invalid HTTP request" in body["error"]


def test_an_unexpected_server_failure_is_a_json_500(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentkit.serve as serve_module

    def broken(value: bytes | None) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(serve_module, "_check_content_type", broken)
    app = serve_module.create_app(lambda key: None)  # type: ignore[arg-type,return-value]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/invocations", "method": "POST", "headers": []}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 500
    assert json.loads(sent[1]["body"])["error"].startswith("the server failed")


# ---- sessions ---------------------------------------------------------------------------------------------


def test_a_session_busy_in_another_process_is_a_409_naming_the_holder(hostile_server: Server) -> None:
    import os

    from agentkit.sessions import Session

    session = "test-" + uuid.uuid4().hex
    holder = Session(hostile_server.home / "sessions" / f"{session}.jsonl")
    holder.acquire()  # this test process is "the other process"
    try:
        for stream in (False, True):
            response = httpx.post(
                hostile_server.url + "/invocations", json={"prompt": "hi", "stream": stream}, headers={SESSION: session}
            )
            message = json_error(response, 409)
            assert f"pid {os.getpid()} on " in message
    finally:
        holder.release()
    ok = httpx.post(hostile_server.url + "/invocations", json={"prompt": "now"}, headers={SESSION: session})
    assert ok.status_code == 200 and ok.json()["text"] == "heard: now"


def test_a_damaged_session_is_a_409_that_names_no_server_path(hostile_server: Server) -> None:
    session = "test-" + uuid.uuid4().hex
    path = hostile_server.home / "sessions" / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"not": "a record"}\n{"kind": "x"}\n')
    for stream in (False, True):
        response = httpx.post(
            hostile_server.url + "/invocations", json={"prompt": "hi", "stream": stream}, headers={SESSION: session}
        )
        message = json_error(response, 409)
        assert "damaged" in message and "new session id" in message
        assert str(hostile_server.home) not in message  # where sessions are stored is the server's business
    fresh = httpx.post(hostile_server.url + "/invocations", json={"prompt": "now"}, headers={SESSION: session + "-2"})
    assert fresh.status_code == 200 and fresh.json()["text"] == "heard: now"
    assert path.read_text().startswith('{"not": "a record"}')  # nothing of the damaged transcript was lost


def test_an_idle_connection_is_closed_quietly_after_the_header_timeout(hostile_server: Server) -> None:
    sock = connect(hostile_server.url)
    try:
        started = time.monotonic()
        assert sock.recv(1000) == b""  # closed, with no unasked-for 408
        assert time.monotonic() - started < HEADER_TIMEOUT + 3
    finally:
        sock.close()


def test_a_keep_alive_connection_serves_several_requests(hostile_server: Server) -> None:
    with httpx.Client(base_url=hostile_server.url, timeout=10) as client:
        for index in range(3):
            response = client.post("/invocations", json={"prompt": f"n{index}"})
            assert response.status_code == 200
            time.sleep(0.2)


# ---- the protocol layer, on both of uvicorn's HTTP parsers --------------------------------------------------


@pytest.fixture(params=["httptools", "h11"])
def bare_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """uvicorn in a thread with agentkit's protocol on `param`'s parser, serving a trivial app."""
    import importlib

    import uvicorn
    from mcp_support import free_port

    from agentkit.serve_http import protocol_class

    module, name = {
        "httptools": ("uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol"),
        "h11": ("uvicorn.protocols.http.h11_impl", "H11Protocol"),
    }[request.param]
    base = getattr(importlib.import_module(module), name)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=protocol_class(HEADER_TIMEOUT, base), log_level="error", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_both_parsers_answer_a_bad_request_and_a_late_head_with_json(bare_url: str) -> None:
    sock = connect(bare_url)
    try:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        status, body = read_response(sock)
    finally:
        sock.close()
    assert status == 400 and "invalid HTTP request" in body["error"]
    elapsed, status, body = trickle(bare_url, b"", b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 40, 0.3)
    assert elapsed < 5 and status in (408, 0)
    assert status == 0 or "headers did not arrive" in body["error"]
    with httpx.Client(base_url=bare_url, timeout=5) as client:  # a normal request, twice on one connection
        assert client.get("/ping").status_code == 200
        assert client.get("/ping").status_code == 200
