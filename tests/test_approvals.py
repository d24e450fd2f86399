"""Tools that need approval: the run pauses with ApprovalRequired, `resume(approve=...)` decides, and the
pending approval is in the durable session, so a new process (after SIGKILL) can answer it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import anyio
import pytest

from agentkit import Agent, ConfigError, ScriptedModel, ToolCall, tool
from agentkit.loop import ApprovalRequired, RunEnd
from agentkit.tooling import InProcessExecutor

launched: list[int] = []


@tool(requires_approval=True)
def launch(n: int) -> str:
    """Launch n rockets."""
    launched.append(n)
    return f"launched {n}"


@tool
def count(n: int) -> int:
    """Count."""
    return n


def make(session: Path | None = None) -> Agent:
    script = ScriptedModel(
        [[ToolCall(name="launch", arguments={"n": 3}), ToolCall(name="count", arguments={"n": 1})], "done"]
    )
    return Agent(model=script, tools=[launch, count], executor=InProcessExecutor(), session=session)


def test_the_run_pauses_with_an_event_and_runs_nothing_of_the_batch() -> None:
    launched.clear()
    agent = make()

    async def events() -> list[object]:
        return [e async for e in agent.stream("go")]

    seen = anyio.run(events)
    paused = [e for e in seen if isinstance(e, ApprovalRequired)]
    assert [c.name for c in paused[0].calls] == ["launch"]
    end = seen[-1]
    assert isinstance(end, RunEnd) and end.result.stop_reason == "approval_required"
    assert launched == [] and [c.name for c in agent.pending_approvals] == ["launch"]
    with pytest.raises(ConfigError, match="calls wait for approval"):
        anyio.run(agent.resume)
    result = anyio.run(lambda: agent.resume(approve=True))
    assert launched == [3]
    assert [r.content for r in result.tool_results] == ["launched 3", "1"]
    assert result.text == "done" and agent.pending_approvals == []


def test_a_deny_reason_is_what_the_model_reads() -> None:
    launched.clear()
    agent = make()
    assert agent("go").stop_reason == "approval_required"
    result = anyio.run(lambda: agent.resume(approve="not on a Sunday"))
    assert launched == []
    denied = result.tool_results[0]
    assert denied.is_error and "the user denied this call: not on a Sunday" in denied.content


def test_an_agent_can_require_approval_for_a_tool_by_name() -> None:
    agent = make()
    agent.approval_required.add("count")
    agent("go")
    assert sorted(c.name for c in agent.pending_approvals) == ["count", "launch"]


def test_a_pending_approval_survives_sigkill(tmp_path: Path) -> None:
    transcript = tmp_path / "s.jsonl"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_approvals import make
        from pathlib import Path
        agent = make(Path({str(transcript)!r}))
        result = agent("go")
        print(result.stop_reason, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == -9 and run.stdout.strip() == "approval_required", run.stderr
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert any(r["type"] == "approval_required" for r in records)
    launched.clear()
    agent = make(transcript)  # a new process's view: the same session
    agent.model = ScriptedModel(["done"])
    assert [c.name for c in agent.pending_approvals] == ["launch"]
    result = anyio.run(lambda: agent.resume(approve=True))
    assert launched == [3] and result.text == "done"


AGENT_FILE = """
from agentkit import Agent, FunctionModel, ToolCall, tool

@tool(requires_approval=True)
def launch(n: int) -> str:
    '''Launch n rockets.'''
    return f"launched {n}"

def answer(messages, tools):
    results = [r for m in messages for r in m.tool_results]
    if not results:
        return ToolCall(name="launch", arguments={"n": 3})
    return "result: " + results[-1].content

agent = Agent(model=FunctionModel(answer), tools=[launch])
"""


def agentkit(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentkit", *args]
    return subprocess.run(command, capture_output=True, text=True, input="", timeout=60)


def test_cli_without_a_terminal_pauses_exits_4_and_resumes_with_yes(tmp_path: Path) -> None:
    path = tmp_path / "rockets.py"
    path.write_text(AGENT_FILE)
    paused = agentkit("run", str(path), "go", "--session", "rockets-1")
    assert paused.returncode == 4, paused.stderr
    assert "paused for approval" in paused.stderr and "sessions resume ID --yes" in paused.stderr
    resumed = agentkit("sessions", "resume", "rockets-1", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert "result: launched 3" in resumed.stdout
    direct = agentkit("run", str(path), "go", "--yes")
    assert direct.returncode == 0 and "result: launched 3" in direct.stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it)")
@pytest.mark.parametrize(
    ("reply", "expected"), [("y", "result: launched 3"), ("too risky", "denied this call: too risky")]
)
def test_cli_asks_on_the_terminal(tmp_path: Path, reply: str, expected: str) -> None:
    path = tmp_path / "rockets.py"
    path.write_text(AGENT_FILE)
    done, out = tmp_path / "done", tmp_path / "out"
    session = f"agentkit-approve-{os.getpid()}"
    env = f"AGENTKIT_HOME={os.environ['AGENTKIT_HOME']} "
    command = f"{env}{sys.executable} -m agentkit run {path} go > {out}; echo EXIT=$? > {done}; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40", command], check=True)
    try:
        deadline = time.monotonic() + 30
        while "allow launch" not in _screen(session):
            assert time.monotonic() < deadline, _screen(session)
            time.sleep(0.1)
        subprocess.run(["tmux", "send-keys", "-t", session, reply, "Enter"], check=True)
        while not done.exists():
            assert time.monotonic() < deadline, _screen(session)
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert done.read_text().strip() == "EXIT=0"
    assert expected in out.read_text()


def _screen(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
