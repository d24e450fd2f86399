"""agentkit's built-in tools work inside a real strands.Agent (converted with to_strands_tool)."""

from __future__ import annotations

import json
from pathlib import Path

import strands

from agentkit import ScriptedModel, ToolCall
from agentkit.integrations.strands import AgentkitModelProvider, to_strands_tool
from agentkit.tools.calculator import calculator_tool
from agentkit.tools.repo import repo_tools


def test_calculator_and_repo_reader_run_under_strands(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("first line\nthe answer is 42\n")
    calls = [
        ToolCall(name="calculator", arguments={"expression": "sqrt(42 ^ 9)"}),
        ToolCall(name="read_file", arguments={"path": "notes.md"}),
        ToolCall(name="read_file", arguments={"path": "../etc/passwd"}),
    ]
    model = ScriptedModel([calls, "done"])
    tools = [to_strands_tool(calculator_tool()), *(to_strands_tool(t) for t in repo_tools(tmp_path))]
    agent = strands.Agent(model=AgentkitModelProvider(model), tools=tools, callback_handler=None)
    agent("use the tools")
    results = [
        block["toolResult"] for message in agent.messages for block in message["content"] if "toolResult" in block
    ]
    assert [r["status"] for r in results] == ["success", "success", "error"]
    assert json.loads(results[0]["content"][0]["text"])["exact"] == "3111696*sqrt(42)"
    assert "the answer is 42" in results[1]["content"][0]["text"]
    assert "passwd" in results[2]["content"][0]["text"]  # the confined open refused the escape, by name
