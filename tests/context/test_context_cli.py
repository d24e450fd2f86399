"""`agentkit run` with a long run: --context-window, the context_reduced JSON event, exit 3 when nothing fits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

AGENT_FILE = '''
from agentkit import Agent, FunctionModel, ToolCall
from agentkit.errors import ContextOverflow

def read_page(n: int) -> str:
    """Read page n."""
    return f"page {n}: " + "x" * 2000

def script(messages, tools):
    if OVERFLOW:
        raise ContextOverflow("Input is too long for requested model.")
    last = messages[-1]
    done = int(last.tool_results[0].content.split(":")[0].split()[1]) + 1 if last.role == "tool" else 0
    return "all read" if done >= 30 else ToolCall(name="read_page", arguments={"n": done})

agent = Agent(FunctionModel(script), [read_page], system_prompt="You read pages.")
'''


def run_cli(tmp_path: Path, *args: str, overflow: bool = False) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "pages.py"
    path.write_text(f"OVERFLOW = {overflow}\n" + AGENT_FILE)
    return subprocess.run(
        [sys.executable, "-m", "agentkit", "run", str(path), "Read the pages.", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_json_events_say_when_the_context_was_reduced(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--context-window", "6000", "--json", "--session", "pages-1")
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    reduced = [e for e in events if e["kind"] == "context_reduced"]
    assert reduced and reduced[0]["window"] == 6000 and reduced[0]["strategy"] == "clear_tool_results+sliding_window"
    assert events[-1]["stop_reason"] == "end_turn" and events[-1]["text"] == "all read"
    sessions = Path(os.environ["AGENTKIT_HOME"]) / "sessions"
    records = [json.loads(line) for line in (sessions / "pages-1.jsonl").read_text().splitlines()]
    assert records[0]["type"] == "meta" and records[0]["context_window"] == 6000  # a resume uses the same window
    assert sum(1 for r in records if r["type"] == "context") == len(reduced)


def test_the_live_display_shows_reductions(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--context-window", "6000")
    assert run.returncode == 0, run.stderr
    assert "⇣ context reduced (clear_tool_results+sliding_window, window)" in run.stdout


def test_a_conversation_that_cannot_be_made_to_fit_exits_3(tmp_path: Path) -> None:
    run = run_cli(tmp_path, overflow=True)
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr
    assert "stopped by a limit (context_overflow); exit status 3" in run.stderr
