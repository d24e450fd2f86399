"""The MCP client stays optional: `import agentkit` never loads the SDK, and a missing SDK is a clear error."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from agentkit.messages import ToolCall
from agentkit.models.testing import ScriptedModel
from agentkit.tooling import Tool, ToolRegistry


def test_importing_agentkit_and_its_integrations_does_not_import_the_sdk() -> None:
    code = "import sys, agentkit, agentkit.integrations; assert 'mcp' not in sys.modules, 'mcp was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_the_sdk_the_error_names_the_extra() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["mcp"] = None  # as if it were not installed
        from agentkit.integrations import MCPServer
        try:
            MCPServer.stdio("x")
        except Exception as exc:
            print(type(exc).__name__, exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "MissingExtra the MCP SDK (mcp) is not installed; run: pip install 'agentkit[mcp]'"


class FakeSource:
    """A tool source as the registry sees one: lists on demand, renames around taken names."""

    def __init__(self) -> None:
        self.listed = 0
        self.closed = 0

    def tools(self, taken: object) -> list[Tool]:
        self.listed += 1
        name = "fake_echo" if "echo" in taken else "echo"  # type: ignore[operator]
        return [Tool.from_schema(name, "", {"properties": {"x": {"type": "string"}}}, lambda x: x)]

    def close(self) -> None:
        self.closed += 1


def test_a_tool_source_is_listed_on_first_lookup_once_and_closed_with_the_registry() -> None:
    source = FakeSource()
    echo = Tool.from_schema("echo", "", {"properties": {}}, lambda: "mine")
    registry = ToolRegistry([echo, source])
    assert source.listed == 0 and registry.pending
    assert registry.names() == ["echo", "fake_echo"]
    assert registry.get("fake_echo") is not None and source.listed == 1 and not registry.pending
    registry.close()
    assert source.closed == 1 and "fake_echo" in registry


def test_an_agent_with_a_tool_source_lists_it_when_the_run_starts() -> None:
    from agentkit import Agent

    source = FakeSource()
    model = ScriptedModel([[ToolCall(id="c1", name="echo", arguments={"x": "hi"})], "ok"])
    agent = Agent(model=model, tools=[source])
    assert source.listed == 0
    assert agent("go").text == "ok"
    assert [r.content for m in agent.messages for r in m.tool_results] == ["hi"]
    agent.close()
    assert source.closed == 1
