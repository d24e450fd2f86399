"""`agentkit serve --sessions s3://...`: SIGKILL mid-run, then a second server process with an empty HOME and
TMPDIR continues the same session from S3 (as a new microVM would)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from s3_support import s3_client
from serve_support import launch_serve

from agentkit.sessions import Session

pytestmark = pytest.mark.integration

AGENT = Path(__file__).parent.parent / "serve" / "agent_fixture.py"
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


def start_serve(machine: Path, sessions: str, *, flag: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """`agentkit serve` as on a fresh machine: HOME, TMPDIR and AGENTKIT_HOME are new, empty folders. The
    store comes from $AGENTKIT_SESSIONS, or from --sessions when `flag`."""
    for name in ("home", "tmp", "agentkit"):
        (machine / name).mkdir(parents=True)
    env = dict(
        os.environ,
        HOME=str(machine / "home"),
        TMPDIR=str(machine / "tmp"),
        AGENTKIT_HOME=str(machine / "agentkit"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("AGENTKIT_SESSIONS", None)
    options = ["--sessions", sessions] if flag else []
    if not flag:
        env["AGENTKIT_SESSIONS"] = sessions
    args = [str(AGENT), *options]
    return launch_serve(args, env, machine / "serve.log")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def break_mid_run(server: subprocess.Popen[bytes], session_url: str) -> None:
    """The model now waits 2 s before its next turn: once the tool's result is in S3, SIGKILL the server."""
    deadline = time.monotonic() + 5
    while "noted" not in json.dumps(Session.open(session_url).records()):
        assert time.monotonic() < deadline, "the tool result never reached S3"
        time.sleep(0.05)
    os.kill(server.pid, signal.SIGKILL)


def test_sigkill_mid_run_then_a_fresh_server_continues_the_session_from_s3(
    bucket: str, moto_endpoint: str, tmp_path: Path
) -> None:
    store = f"s3://{bucket}/runtime?lease=2"
    session = "agentcore-session-0123456789abcdef0123456789"
    first, url = start_serve(tmp_path / "machine-1", store)
    try:
        headers = {SESSION_HEADER: session, "Accept": "text/event-stream"}
        with httpx.stream("POST", url + "/invocations", json={"prompt": "pause now"}, headers=headers, timeout=30) as r:
            for line in r.iter_lines():  # (leaving this loop would hang up, which cancels the run)
                if line.startswith("data: ") and json.loads(line[6:])["kind"] == "tool_result":
                    break_mid_run(first, f"s3://{bucket}/runtime/{session}")
                    break
        first.wait(timeout=10)
    finally:
        stop(first)
    assert first.returncode == -signal.SIGKILL
    lock = s3_client(moto_endpoint).get_object(Bucket=bucket, Key=f"runtime/{session}/writer.lock")
    assert b"pid" in lock["Body"].read()  # the killed server never gave its lock back

    second, url = start_serve(tmp_path / "machine-2", store, flag=True)
    try:
        deadline = time.monotonic() + 20
        while True:  # 409 while the dead server's lease lasts (2 s, +1 s of S3's clock granularity)
            response = httpx.post(
                url + "/invocations", json={"prompt": "after"}, headers={SESSION_HEADER: session}, timeout=30
            )
            if response.status_code != 409 or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert response.status_code == 200, response.text
        assert response.json()["text"] == "heard: pause now | after"
    finally:
        stop(second)
    assert "taking over session runtime/" in (tmp_path / "machine-2" / "serve.log").read_text()
    # nothing was written to either machine's disk
    for machine in ("machine-1", "machine-2"):
        assert not list((tmp_path / machine / "agentkit").iterdir())
    messages = Session.open(f"s3://{bucket}/runtime/{session}").load().messages
    assert [m.role for m in messages] == ["user", "assistant", "tool", "user", "assistant"]
