"""Errors quote what they were given through one helper, `agentkit.errors.clip` (issue 13, break 8).

A 6,001-character calculator expression produced a 6,227-character error for the model to read back.
"""

from __future__ import annotations

import pytest

from agentkit import Agent, ScriptedModel, ToolCall, tool
from agentkit.errors import RetryTool, ToolArgumentsError, clip
from agentkit.tools import builtin_tools
from agentkit.tools.calculator import calculate
from agentkit.tools.repo import RepoReader

MARKER = "more characters]"


def _calculator_result(arguments: dict) -> str:
    calculator = next(t for t in builtin_tools() if t.name == "calculator")
    model = ScriptedModel([ToolCall(name="calculator", arguments=arguments), "done"])
    result = Agent(model=model, tools=[calculator])("go")
    (only,) = result.tool_results
    assert only.is_error
    return only.content


def test_clip_marks_how_much_it_left_out() -> None:
    assert clip("short") == "short"
    assert clip("x" * 6001) == "x" * 200 + "… [5,801 more characters]"
    assert clip("abcdef", 3) == "abc… [3 more characters]"


def test_a_6001_character_expression_gives_a_short_error() -> None:
    content = _calculator_result({"expression": "1+" * 3000 + "1"})
    assert len(content) < 600 and MARKER in content
    assert "6,001 characters long; at most 1,000 allowed" in content


def test_a_huge_unexpected_key_and_many_violations_stay_short() -> None:
    assert len(content := _calculator_result({"expression": "1", "k" * 6000: 1})) < 600 and MARKER in content
    add = ScriptedModel([ToolCall(name="total", arguments={"values": ["x"] * 5000}), "done"])

    @tool
    def total(values: list[int]) -> int:
        """Add the values."""
        return sum(values)

    result = Agent(model=add, tools=[total])("go")
    content = result.tool_results[0].content
    assert len(content) < 3000 and "and 4,980 more problems" in content


def test_arguments_that_nest_too_deeply_are_an_error_not_a_crash() -> None:
    calculator = next(t for t in builtin_tools() if t.name == "calculator")
    with pytest.raises(ToolArgumentsError, match="nest too deeply"):
        calculator.validate('{"expression": ' + "[" * 100_000)


@pytest.mark.parametrize("expression", ["x" * 999, "__" + "a" * 990, "1e" + "9" * 990, "(" * 99 + "j" * 800])
def test_calculator_errors_quote_a_clipped_expression(expression: str) -> None:
    with pytest.raises(RetryTool) as info:
        calculate(expression)
    assert len(str(info.value)) < 600


def test_a_tool_error_and_an_unknown_tool_name_are_clipped_too(tmp_path) -> None:
    @tool
    def loud() -> str:
        """Fails with a long message."""
        raise RetryTool("no: " + "y" * 100_000)

    model = ScriptedModel([[ToolCall(name="loud", arguments={}), ToolCall(name="n" * 10_000, arguments={})], "ok"])
    results = Agent(model=model, tools=[loud])("go").tool_results
    assert [len(r.content) < 4100 and MARKER in r.content for r in results] == [True, True]
    with pytest.raises(RetryTool) as info:
        RepoReader(tmp_path).search("(" * 999, is_regex=True)
    assert len(str(info.value)) < 600 and MARKER in str(info.value)
