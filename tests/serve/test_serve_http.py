"""`agentkit serve` as a real process on 127.0.0.1, driven over HTTP with httpx."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

Server = Any  # tests/serve/conftest.py: url, home, log(), max_payload
SECRET = "AKIAFAKESECRET1234567890"  # raised by agent_fixture.py on "boom"

pytestmark = pytest.mark.integration

SESSION = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


def new_session() -> str:
    return "test-" + uuid.uuid4().hex  # 37 characters, as AgentCore's are (33 to 256)


def invoke(server: Server, payload: object, session: str | None = None, headers: dict | None = None) -> httpx.Response:
    headers = dict(headers or {})
    if session:
        headers[SESSION] = session
    return httpx.post(server.url + "/invocations", json=payload, headers=headers, timeout=30)


def sse_events(body: str) -> list[dict]:
    assert body.endswith("\n\n")
    frames = [f for f in body.split("\n\n") if f]
    assert all(f.startswith("data: ") for f in frames), frames
    return [json.loads(f[len("data: ") :]) for f in frames]


def wait_healthy(server: Server) -> dict:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        body = httpx.get(server.url + "/ping").json()
        if body["status"] == "Healthy":
            return body
        time.sleep(0.05)
    raise AssertionError("the server stayed HealthyBusy")


def test_ping_says_healthy_with_an_integer_timestamp(server: Server) -> None:
    response = httpx.get(server.url + "/ping")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "Healthy"
    assert isinstance(body["time_of_last_update"], int)
    assert abs(body["time_of_last_update"] - time.time()) < 3600


def test_invoke_returns_the_run_as_json(server: Server) -> None:
    response = invoke(server, {"prompt": "hello"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["text"] == "heard: hello"
    assert body["stop_reason"] == "end_turn"
    assert body["session_id"] is None


@pytest.mark.parametrize("how", ["accept", "flag"])
def test_invoke_streams_server_sent_events(server: Server, how: str) -> None:
    headers = {"Accept": "text/event-stream"} if how == "accept" else {}
    payload = {"prompt": "stream me", "stream": True} if how == "flag" else {"prompt": "stream me"}
    with httpx.stream("POST", server.url + "/invocations", json=payload, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = response.read().decode()
    events = sse_events(body)
    assert [e["kind"] for e in events] == ["text", "done"]
    assert events[0]["text"] == "heard: stream me"
    assert events[-1]["text"] == "heard: stream me"


def test_stream_false_wins_over_the_accept_header(server: Server) -> None:
    response = invoke(server, {"prompt": "x", "stream": False}, headers={"Accept": "text/event-stream"})
    assert response.headers["content-type"] == "application/json"
    assert response.json()["text"] == "heard: x"


def test_a_session_continues_across_invocations_and_is_durable(server: Server) -> None:
    session = new_session()
    assert invoke(server, {"prompt": "one"}, session).json()["text"] == "heard: one"
    assert invoke(server, {"prompt": "two"}, session).json()["text"] == "heard: one | two"
    assert invoke(server, {"prompt": "solo"}, new_session()).json()["text"] == "heard: solo"
    transcript = server.home / "sessions" / f"{session}.jsonl"
    assert transcript.exists()
    assert '"two"' in transcript.read_text()


def test_a_long_session_header_maps_to_a_safe_session_name(server: Server) -> None:
    session = "weird/../" + "x" * 240
    assert invoke(server, {"prompt": "a"}, session).json()["text"] == "heard: a"
    assert invoke(server, {"prompt": "b"}, session).json()["text"] == "heard: a | b"
    assert not (server.home / "x").exists()


def test_a_session_header_ending_in_jsonl_stays_under_the_sessions_folder(server: Server) -> None:
    session = f"notes-{uuid.uuid4().hex}.jsonl"  # looks like a file name: must still be a session name
    stray = Path.cwd() / session  # the server runs in the test's working directory
    try:
        assert invoke(server, {"prompt": "a"}, session).json()["text"] == "heard: a"
        assert invoke(server, {"prompt": "b"}, session).json()["text"] == "heard: a | b"
        assert not stray.exists()
        assert (server.home / "sessions" / f"{session}.jsonl").exists()
    finally:
        stray.unlink(missing_ok=True)


def test_a_cancelled_waiter_gives_back_its_place_on_the_session_lock() -> None:
    from agentkit.serve import _SessionLocks

    async def scenario() -> dict:
        locks = _SessionLocks()
        await locks.acquire("s")
        waiter = asyncio.ensure_future(locks.acquire("s"))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        locks.release("s")
        return locks._locks

    assert asyncio.run(scenario()) == {}


def test_invocations_of_one_session_run_one_at_a_time(server: Server) -> None:
    session = new_session()
    results: dict[str, str] = {}

    def call(prompt: str) -> None:
        results[prompt] = invoke(server, {"prompt": prompt}, session).json()["text"]

    first = threading.Thread(target=call, args=("slow first",))
    first.start()
    time.sleep(0.3)
    call("second")
    first.join()
    assert results["slow first"] == "heard: slow first"
    assert results["second"] == "heard: slow first | second"


def test_ping_says_healthy_busy_while_a_run_is_in_progress(server: Server) -> None:
    before = wait_healthy(server)
    thread = threading.Thread(target=invoke, args=(server, {"prompt": "slow run"}))
    thread.start()
    busy = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(busy) < 2:
        body = httpx.get(server.url + "/ping", timeout=5).json()
        if body["status"] == "HealthyBusy":
            busy.append(body)
        time.sleep(0.05)
    thread.join()
    after = wait_healthy(server)
    assert len(busy) == 2, "never saw HealthyBusy while the model blocked"
    assert busy[0]["time_of_last_update"] == busy[1]["time_of_last_update"]  # not re-stamped per ping
    assert before["time_of_last_update"] <= busy[0]["time_of_last_update"] <= after["time_of_last_update"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "invalid JSON payload"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"input": "hi"}', '"prompt" string'),
        (b'{"prompt": "x", "stream": "yes"}', '"stream" must be'),
        (b"\xff\xfe", "invalid JSON payload"),
    ],
)
def test_bad_payloads_get_400_with_a_json_error(server: Server, content: bytes, expected: str) -> None:
    response = httpx.post(server.url + "/invocations", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert expected in body["error"]
    assert body["request_id"] == response.headers["x-request-id"]


def test_an_oversized_payload_is_refused_from_its_content_length(server: Server) -> None:
    response = invoke(server, {"prompt": "x" * (server.max_payload + 10)})
    assert response.status_code == 413
    assert "over the limit" in response.json()["error"]


JSON = {"Content-Type": "application/json"}


def test_an_oversized_chunked_payload_is_refused_while_streaming_it(server: Server) -> None:
    def body():  # no Content-Length: httpx sends it chunked
        yield b'{"prompt": "'
        for _ in range(server.max_payload // 512 + 4):
            yield b"y" * 512
        yield b'"}'

    response = httpx.post(server.url + "/invocations", content=body(), headers=JSON, timeout=30)
    assert response.status_code == 413
    assert str(server.max_payload) in response.json()["error"]


def test_a_chunked_payload_under_the_limit_is_accepted(server: Server) -> None:
    def body():
        yield b'{"prompt": '
        yield b'"chunked"}'

    response = httpx.post(server.url + "/invocations", content=body(), headers=JSON, timeout=30)
    assert response.status_code == 200
    assert response.json()["text"] == "heard: chunked"


@pytest.mark.parametrize("stream", [False, True])
def test_an_agent_failure_is_a_500_that_does_not_leak_the_error_text(server: Server, stream: bool) -> None:
    response = invoke(server, {"prompt": "boom", "stream": stream})
    assert response.status_code == 500
    body = response.json()
    assert SECRET not in response.text
    assert "RuntimeError" in body["error"]
    request_id = body["request_id"]
    time.sleep(0.2)
    log = server.log()
    assert request_id in log
    assert "backend refused key" in log  # the details stay in the server log


def test_a_failure_after_streaming_began_ends_the_stream_with_an_error_event(server: Server) -> None:
    response = invoke(server, {"prompt": "boom later", "stream": True})
    assert response.status_code == 200  # the headers were already sent
    events = sse_events(response.text)
    assert [e["kind"] for e in events][:3] == ["text", "tool_call", "tool_result"]
    assert events[-1]["kind"] == "error"
    assert events[-1]["request_id"] == response.headers["x-request-id"]
    assert SECRET not in response.text


def test_the_caller_request_id_is_used_when_given(server: Server) -> None:
    rid = "req-" + uuid.uuid4().hex
    response = invoke(server, {"prompt": "boom"}, headers={"X-Amzn-Bedrock-AgentCore-Runtime-Request-Id": rid})
    assert response.json()["request_id"] == rid


def test_wrong_methods_and_paths(server: Server) -> None:
    assert httpx.get(server.url + "/invocations").status_code == 405
    assert httpx.post(server.url + "/ping").status_code == 405
    assert httpx.get(server.url + "/nowhere").status_code == 404


def test_a_disconnect_mid_stream_cancels_the_run_and_the_session_resumes(server: Server) -> None:
    session = new_session()
    headers = {SESSION: session, "Accept": "text/event-stream"}
    with httpx.stream(
        "POST", server.url + "/invocations", json={"prompt": "pause now"}, headers=headers, timeout=30
    ) as response:
        seen = []
        for line in response.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:])["kind"])
            if "tool_result" in seen:
                break  # the model is now blocked for 2 s: hang up
    assert seen[:3] == ["text", "tool_call", "tool_result"]
    wait_healthy(server)
    transcript = (server.home / "sessions" / f"{session}.jsonl").read_text()
    assert "finished the pause" not in transcript  # the run was cancelled, not completed
    assert "noted" in transcript  # what finished before the disconnect was kept
    assert "cancelled" in server.log()
    reply = invoke(server, {"prompt": "after"}, session).json()
    assert reply["text"] == "heard: pause now | after"


def test_a_disconnect_during_a_tool_call_still_records_its_result_so_resume_never_repeats_it(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentkit import Agent
    from agentkit.sessions import Session

    from .agent_fixture import PausingModel, transfer

    session = new_session()
    headers = {SESSION: session, "Accept": "text/event-stream"}
    with httpx.stream(
        "POST", server.url + "/invocations", json={"prompt": "transfer now"}, headers=headers, timeout=30
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and json.loads(line[6:])["kind"] == "tool_call":
                break  # the 1 s transfer is running: hang up
    wait_healthy(server)
    transfers = server.home / "transfers.txt"
    assert transfers.read_text().splitlines() == ["5"]  # the tool finished despite the disconnect
    path = server.home / "sessions" / f"{session}.jsonl"
    state = Session(path).load()
    assert [r.content for r in state.completed.values()] == ["moved 5"] and state.interrupted == []
    # resume it as another process would (the server holds no lock between requests)
    monkeypatch.setenv("AGENTKIT_HOME", str(server.home))  # where the tool counts its calls
    result = asyncio.run(Agent(model=PausingModel(), tools=[transfer], session=path).resume())
    assert result.text == "transfer done"
    assert transfers.read_text().splitlines() == ["5"]  # not called again
