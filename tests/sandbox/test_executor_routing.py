"""The Agent's default executor routes tools by their Needs, and says clearly when it cannot isolate one."""

from __future__ import annotations

from pathlib import Path

from agentkit import Agent, Needs, ScriptedModel, Tool, ToolCall


def test_a_closure_that_asks_for_isolation_gets_a_clear_error_result() -> None:
    def secret() -> str:
        return "ran"

    tool = Tool.from_schema("secret", "d", {"type": "object", "properties": {}}, secret, needs=Needs(isolated=True))
    result = Agent(model=ScriptedModel([ToolCall(name="secret", arguments={}), "ok"]), tools=[tool])("go")
    assert result.tool_results[0].is_error
    assert "cannot be imported by a worker" in result.tool_results[0].content


def test_the_workspace_run_tool_runs_through_the_default_executor(tmp_path: Path) -> None:
    from agentkit.tools.edit import Workspace, edit_tools

    (tmp_path / "hello.txt").write_text("hi from the scratch copy\n")
    with Workspace(tmp_path) as workspace:
        model = ScriptedModel([ToolCall(name="run", arguments={"command": "cat hello.txt"}), "done"])
        result = Agent(model=model, tools=edit_tools(workspace))("go")
    assert not result.tool_results[0].is_error, result.tool_results[0].content
    assert "hi from the scratch copy" in result.tool_results[0].content
