"""Real Strands tools inside agentkit.Agent: @strands.tool functions and TOOL_SPEC modules, validated by agentkit."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Annotated, Any

import pydantic
import pytest
import strands
from strands_tools import calculator, file_read

from agentkit import Agent, ScriptedModel, ToolCall
from agentkit.errors import ConfigError, RetryTool, ToolArgumentsError
from agentkit.integrations.strands import from_strands_tool

pytestmark = pytest.mark.filterwarnings("ignore:calculator is deprecated:DeprecationWarning")


@pytest.fixture
def counted() -> list[int]:
    return []


@pytest.fixture
def repeat_tool(counted: list[int]) -> Any:
    @strands.tool
    def repeat(word: str, times: int) -> str:
        """Repeat a word.

        Args:
            word: The word to repeat.
            times: How many times.
        """
        counted.append(times)
        return " ".join([word] * times)

    return repeat


def test_strands_tools_run_inside_an_agentkit_agent(tmp_path: Path, repeat_tool: Any, counted: list[int]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("agentkit meets strands\n", encoding="utf-8")
    model = ScriptedModel(
        [
            [
                ToolCall(name="calculator", arguments={"expression": "2**10"}),
                ToolCall(name="repeat", arguments={"word": "hi", "times": 3}),
                ToolCall(name="file_read", arguments={"path": str(notes), "mode": "view"}),
            ],
            "All three tools ran.",
        ]
    )
    tools = [from_strands_tool(calculator), from_strands_tool(repeat_tool), from_strands_tool(file_read)]

    result = Agent(model=model, tools=tools)("use the tools")

    assert result.text == "All three tools ran."
    assert counted == [3]
    by_name = {r.name: r for r in result.tool_results}
    assert not any(r.is_error for r in result.tool_results)
    assert by_name["calculator"].content == "Result: 1024"
    assert by_name["repeat"].content == "hi hi hi"
    assert "agentkit meets strands" in by_name["file_read"].content


def test_invalid_calls_never_reach_the_strands_tool(tmp_path: Path, repeat_tool: Any, counted: list[int]) -> None:
    model = ScriptedModel(
        [
            [
                ToolCall(name="repeat", arguments={"word": "hi", "times": "three"}),
                # Strands passes module tools their input unvalidated; agentkit checks TOOL_SPEC's schema.
                ToolCall(name="file_read", arguments={"path": str(tmp_path)}),
            ],
            "gave up",
        ]
    )
    tools = [from_strands_tool(repeat_tool), from_strands_tool(file_read)]

    result = Agent(model=model, tools=tools)("go")

    assert counted == []
    repeat_result, read_result = result.tool_results
    assert repeat_result.is_error and "$.times: expected integer, got string" in repeat_result.content
    assert read_result.is_error and "'mode' is a required property" in read_result.content


def test_strands_error_status_becomes_an_agentkit_error_result(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    model = ScriptedModel([ToolCall(name="file_read", arguments={"path": str(missing), "mode": "view"}), "ok"])

    result = Agent(model=model, tools=[from_strands_tool("strands_tools.file_read")])("read it")

    (read_result,) = result.tool_results
    assert read_result.is_error
    assert "No files found matching pattern(s)" in read_result.content


def test_converted_tool_keeps_the_strands_spec_and_validates(repeat_tool: Any) -> None:
    converted = from_strands_tool(repeat_tool)

    assert converted.name == "repeat"
    assert converted.description.startswith("Repeat a word.")
    assert converted.parameters["properties"]["times"]["type"] == "integer"
    assert converted.parameters["required"] == ["word", "times"]
    assert converted.validate({"word": "a", "times": 2}) == {"word": "a", "times": 2}
    with pytest.raises(ToolArgumentsError, match=r"\$: 'word' is a required property"):
        converted.validate({"times": 2})


def test_module_style_tool_from_a_module_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shout_tool.py").write_text(
        "TOOL_SPEC = {'name': 'shout_tool', 'description': 'Shout.', 'inputSchema': {'json': {\n"
        "    'type': 'object', 'properties': {'text': {'type': 'string'}}, 'required': ['text']}}}\n"
        "def shout_tool(tool, **kwargs):\n"
        "    if tool['input']['text'] == 'json':\n"
        "        return {'toolUseId': tool['toolUseId'], 'status': 'success', 'content': [{'json': {'k': 1}}]}\n"
        "    return {'toolUseId': tool['toolUseId'], 'status': 'success',\n"
        "            'content': [{'text': tool['input']['text'].upper()}, {'text': '!'}]}\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    converted = from_strands_tool("shout_tool")
    model = ScriptedModel(
        [
            [
                ToolCall(name="shout_tool", arguments={"text": "hey"}),
                ToolCall(name="shout_tool", arguments={"text": "json"}),
            ],
            "done",
        ]
    )

    result = Agent(model=model, tools=[converted])("go")

    assert [r.content for r in result.tool_results] == ["HEY\n!", '{"k": 1}']


@pytest.mark.anyio
async def test_strands_error_raises_retry_tool_directly(tmp_path: Path) -> None:
    converted = from_strands_tool(file_read)

    with pytest.raises(RetryTool, match="No files found"):
        await converted.invoke({"path": str(tmp_path / "nope"), "mode": "view"})


def test_bad_objects_get_clear_errors() -> None:
    with pytest.raises(ConfigError, match="from_strands_tool takes a Strands AgentTool"):
        from_strands_tool(42)
    with pytest.raises(ConfigError, match="cannot import the Strands tool module 'no_such_tool_module'"):
        from_strands_tool("no_such_tool_module")
    with pytest.raises(ConfigError, match="is not a Strands tool"):
        from_strands_tool(types.ModuleType("empty_module"))

    def first() -> str:
        """One."""
        return "1"

    def second() -> str:
        """Two."""
        return "2"

    two = types.ModuleType("two_tools")
    two.first = strands.tool(first)  # type: ignore[attr-defined]
    two.second = strands.tool(second)  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="holds several Strands tools"):
        from_strands_tool(two)


def test_a_tool_with_an_invalid_schema_is_refused_when_handed_to_strands() -> None:
    from agentkit import tool
    from agentkit.integrations.strands import to_strands_tool

    @tool
    def pick(n: Annotated[int, pydantic.Field(json_schema_extra={"minimum": "zero"})]) -> int:
        """Pick."""
        return n

    with pytest.raises(ConfigError, match="invalid JSON schema"):
        to_strands_tool(pick)
