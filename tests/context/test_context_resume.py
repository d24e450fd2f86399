"""A run killed (SIGKILL) after its view was reduced resumes sending exactly the view it would have sent."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from agentkit import Agent
from agentkit.messages import Message, ToolCall
from agentkit.models.testing import FunctionModel, Turn
from agentkit.sessions import Session
from agentkit.tooling import InProcessExecutor, ToolDefinition

CHILD = r'''
import json, os, signal, sys
from pathlib import Path
from agentkit import Agent
from agentkit.loop import Limits
from agentkit.messages import ToolCall
from agentkit.models.testing import FunctionModel, Turn
from agentkit.tooling import InProcessExecutor

session, views, kill_at = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
asked = []

def read_page(n: int) -> str:
    """Read page n."""
    return f"page {n}: " + "x" * 2000

def script(messages, tools):
    asked.append(1)
    with open(views, "a") as out:
        out.write(json.dumps([m.to_dict() for m in messages]) + "\n")
        out.flush()
        os.fsync(out.fileno())
    if len(asked) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    last = messages[-1]
    done = int(last.tool_results[0].content.split(":")[0].split()[1]) + 1 if last.role == "tool" else 0
    return Turn(calls=[ToolCall(name="read_page", arguments={"n": done})])

agent = Agent(FunctionModel(script), [read_page], system_prompt="You read pages.", session=session,
              context_window=8000, executor=InProcessExecutor(), limits=Limits(max_turns=500))
agent("Read every page.")
'''


def read_page(n: int) -> str:
    """Read page n."""
    return f"page {n}: " + "x" * 2000


def test_resume_after_sigkill_sends_the_same_view(tmp_path: Path) -> None:
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    session, views = tmp_path / "run.jsonl", tmp_path / "views.jsonl"
    done = subprocess.run([sys.executable, str(child), str(session), str(views), "70"], timeout=120)
    assert done.returncode == -signal.SIGKILL
    killed_view = json.loads(views.read_text().splitlines()[-1])
    state = Session(session).load()
    assert state.context is not None  # the view was reduced before the kill, and the record says how
    assert len(killed_view) < len(state.messages)

    seen: list[list[Message]] = []

    def script(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> Turn:
        seen.append(list(messages))
        if len(seen) > 3:
            return Turn(text="enough")
        done = int(messages[-1].tool_results[0].content.split(":")[0].split()[1]) + 1
        return Turn(calls=[ToolCall(name="read_page", arguments={"n": done})])

    agent = Agent(
        FunctionModel(script), [read_page], session=session, context_window=8000, executor=InProcessExecutor()
    )
    result = agent(None)
    assert [m.to_dict() for m in seen[0]] == killed_view
    assert result.text == "enough"
    assert sum(1 for m in agent.messages if m.role == "tool") == 69 + 3  # nothing was lost or repeated
