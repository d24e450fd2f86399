"""Tools that need approval: the run pauses with ApprovalRequired, `resume(approve=...)` decides, and the
pending approval is in the durable session, so a new process (after SIGKILL) can answer it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
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


# The same agent with a tool named `write_file` and no requires_approval: asked about by default on a terminal.
WRITE_FILE_AGENT = """
from agentkit import Agent, FunctionModel, ToolCall, tool

@tool
def write_file(path: str) -> str:
    '''Write a file.'''
    return f"wrote {path}"

def answer(messages, tools):
    results = [r for m in messages for r in m.tool_results]
    if not results:
        return ToolCall(name="write_file", arguments={"path": "a.txt"})
    return "result: " + results[-1].content

agent = Agent(model=FunctionModel(answer), tools=[write_file])
"""


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it)")
@pytest.mark.parametrize(
    ("agent_file", "reply", "expected"),
    [
        (AGENT_FILE, "y", "result: launched 3"),
        (AGENT_FILE, "too risky", "denied this call: too risky"),
        (WRITE_FILE_AGENT, "y", "result: wrote a.txt"),
    ],
)
def test_cli_asks_on_the_terminal(tmp_path: Path, agent_file: str, reply: str, expected: str) -> None:
    with _on_a_terminal(tmp_path, agent_file, ["run", "{path}", "go"]) as (terminal, out):
        terminal.wait_for(lambda screen: "allow launch" in screen or "allow write_file" in screen)
        terminal.type(reply)
    assert expected in out.read_text()


class _Tmux:
    """A tmux session running one command, with a 30-second budget for everything waited on."""

    def __init__(self, session: str) -> None:
        self.session = session
        self.deadline = time.monotonic() + 30

    def type(self, line: str) -> None:
        """`line` and Enter (an empty line: Enter alone)."""
        keys = [line, "Enter"] if line else ["Enter"]
        subprocess.run(["tmux", "send-keys", "-t", self.session, *keys], check=True)

    def wait_for(self, ready: Callable[[str], bool]) -> None:
        """Until `ready(screen)`; the screen is in the failure when the budget runs out."""
        while not ready(_screen(self.session)):
            assert time.monotonic() < self.deadline, _screen(self.session)
            time.sleep(0.1)


@contextlib.contextmanager
def _on_a_terminal(tmp_path: Path, agent_file: str, args: list[str]) -> Iterator[tuple[_Tmux, Path]]:
    """`agentkit ARGS` ("{path}" names the agent file) on a tmux terminal; the block drives it, and on leaving
    it the command must end with exit status 0. Yields the terminal and the file its stdout goes to."""
    path = tmp_path / "rockets.py"
    path.write_text(agent_file)
    done, out = tmp_path / "done", tmp_path / "out"
    terminal = _Tmux(f"agentkit-approve-{os.getpid()}-{tmp_path.name}")
    env = f"AGENTKIT_HOME={os.environ['AGENTKIT_HOME']} "
    cli = " ".join(arg.format(path=path) for arg in args)
    command = f"{env}{sys.executable} -m agentkit {cli} > {out}; echo EXIT=$? > {done}; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", terminal.session, "-x", "160", "-y", "40", command], check=True)
    try:
        yield terminal, out
        terminal.wait_for(lambda _: done.exists())
    finally:
        subprocess.run(["tmux", "kill-session", "-t", terminal.session], capture_output=True)
    assert done.read_text().strip() == "EXIT=0"


def _screen(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


# ---- default approval of the tools that change things, when the CLI runs interactively ----------------


class _Terminal:
    def isatty(self) -> bool:
        return True


def _changing_agent(name: str, ran: list[str]) -> Agent:
    from agentkit.tooling import Tool

    def change(path: str) -> str:
        ran.append(path)
        return f"changed {path}"

    schema = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
    script = ScriptedModel([ToolCall(name=name, arguments={"path": "a.txt"}), "done"])
    return Agent(
        model=script, tools=[Tool.from_schema(name, "Change a file.", schema, change)], executor=InProcessExecutor()
    )


def _drive_cli(agent: Agent, monkeypatch: pytest.MonkeyPatch, *, terminal: bool, yes: bool) -> list[str]:
    """Run the CLI's driver on `agent`; the terminal prompts it showed (each answered "n")."""
    import io

    from agentkit.cli import run_cmd
    from agentkit.cli.display import LiveDisplay

    asked: list[str] = []

    def prompt(text: str, **kwargs: object) -> str:
        asked.append(text)
        return "n"

    if terminal:
        monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(run_cmd.click, "prompt", prompt)
    display = LiveDisplay(out=io.StringIO(), err=io.StringIO(), show_reasoning=False)
    result = run_cmd._drive(agent, "change it", display, yes=yes)
    assert result.text == "done"
    return asked


@pytest.mark.parametrize("name", ["apply_patch", "edit_file", "run", "write_file"])
def test_tools_that_change_things_are_asked_about_on_a_terminal_by_default(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    agent = _changing_agent(name, ran)
    asked = _drive_cli(agent, monkeypatch, terminal=True, yes=False)
    assert len(asked) == 1 and asked[0].startswith(f'allow {name}({{"path": "a.txt"}})?')
    assert ran == []  # "n": denied, and the model read why
    assert "the user denied this call" in agent.messages[2].tool_results[0].content


@pytest.mark.parametrize(("terminal", "yes"), [(True, True), (False, False)])
def test_yes_or_no_terminal_runs_them_without_asking(
    terminal: bool, yes: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    assert _drive_cli(_changing_agent("write_file", ran), monkeypatch, terminal=terminal, yes=yes) == []
    assert ran == ["a.txt"]


def test_a_tool_that_changes_nothing_is_not_asked_about(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    assert _drive_cli(_changing_agent("read_file", ran), monkeypatch, terminal=True, yes=False) == []
    assert ran == ["a.txt"]
    assert Agent(model=ScriptedModel(["x"])).approval_required == set()  # from Python, nothing is asked by default


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it)")
def test_chat_asks_on_the_terminal(tmp_path: Path) -> None:
    with _on_a_terminal(tmp_path, AGENT_FILE, ["chat", "{path}"]) as (terminal, out):
        terminal.type("go")
        terminal.wait_for(lambda screen: "allow launch" in screen)
        terminal.type("y")
        terminal.wait_for(lambda _: "result: launched 3" in out.read_text())
        terminal.type("")  # an empty line ends the chat
