"""The Agent's default executor routes tools by their Needs, and says clearly when it cannot isolate one."""

from __future__ import annotations

import asyncio
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


def _own_cgroup() -> str:
    return Path("/proc/self/cgroup").read_text()


def test_a_run_whose_tools_use_the_sandbox_enters_one_cgroup_and_leaves_it() -> None:
    from agentkit.sandbox.cgroup import cgroup_support

    supported, why = cgroup_support()
    seen: list[str] = []

    def where() -> str:
        seen.append(_own_cgroup())
        return "ok"

    needs = Needs(read_paths=("/tmp",))
    probe = Tool.from_schema("where", "d", {"type": "object", "properties": {}}, where, needs=needs)
    calls = [ToolCall(name="where", arguments={}), ToolCall(name="where", arguments={}), "done"]
    before = _own_cgroup()
    Agent(model=ScriptedModel(calls), tools=[probe])("go")
    assert _own_cgroup() == before  # left again after the run
    if supported:  # root with a writable cgroup hierarchy: CI and this machine
        assert all("agentkit-" in text for text in seen), seen
        assert seen[0] == seen[1]  # entered once per run, not per call
    else:
        assert all("agentkit-" not in text for text in seen), why


def test_invoke_async_returns_with_the_run_cgroup_already_left() -> None:
    """On a loop that lives on (a server's), nothing may wait for garbage collection to wind a run up."""
    needs = Needs(read_paths=("/tmp",))
    probe = Tool.from_schema("noop", "d", {"type": "object", "properties": {}}, lambda: "ok", needs=needs)
    before = _own_cgroup()

    async def two_runs() -> list[str]:
        seen = []
        for _ in range(2):
            agent = Agent(model=ScriptedModel([ToolCall(name="noop", arguments={}), "done"]), tools=[probe])
            await agent.invoke_async("go")
            seen.append(_own_cgroup())
        return seen

    assert asyncio.run(two_runs()) == [before, before]


def test_pure_in_process_tools_never_touch_cgroups() -> None:
    seen: list[str] = []

    def where() -> str:
        seen.append(_own_cgroup())
        return "ok"

    probe = Tool.from_schema("where", "d", {"type": "object", "properties": {}}, where)
    Agent(model=ScriptedModel([ToolCall(name="where", arguments={}), "done"]), tools=[probe])("go")
    assert "agentkit-" not in seen[0]
