"""Tool call arguments from the model are recorded in the session: arguments nested too deep or holding too many
values become an invalid call the model is told about, so the session always reads back (it was damaged for good:
every resume and `sessions list` refused it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, ScriptedModel, ToolCall, tool
from agentkit.sessions import Session


@tool
def take(a: Any = None) -> str:
    """Take anything."""
    return "taken"


@pytest.mark.parametrize(
    "arguments",
    [{"a": json.loads("[" * 300 + "]" * 300)}, {"a": [0] * 1_100_000}],
    ids=["nested 300 deep", "1.1 million values"],
)
def test_hostile_arguments_are_an_invalid_call_and_the_session_reads_back(tmp_path: Path, arguments: Any) -> None:
    path = tmp_path / "s.jsonl"
    agent = Agent(model=ScriptedModel([ToolCall(name="take", arguments=arguments), "done"]), tools=[take], session=path)
    assert agent("go").text == "done"
    state = Session(path).load()
    (result,) = [r for m in state.messages for r in m.tool_results]
    assert result.is_error and "outside what agentkit accepts" in result.content


def test_ordinary_arguments_reach_the_tool(tmp_path: Path) -> None:
    call = ToolCall(name="take", arguments={"a": [[1, 2], {"b": "c"}]})
    agent = Agent(model=ScriptedModel([call, "ok"]), tools=[take])
    agent("go")
    (result,) = [r for m in agent.messages for r in m.tool_results]
    assert result.content == "taken" and not result.is_error


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), "\ud800", 10**5000], ids=["nan", "inf", "surrogate", "huge-int"]
)
def test_a_flat_call_with_a_value_no_session_can_read_back_is_still_invalid(value: Any) -> None:
    """The quick path for small flat calls must not let through what the full check refuses."""
    from agentkit.loop import _bounded

    checked = _bounded(ToolCall(name="take", arguments={"a": value, "b": "plain"}))
    assert checked.invalid_reason and "outside what agentkit accepts" in checked.invalid_reason


def test_a_plain_flat_call_passes_unchanged() -> None:
    from agentkit.loop import _bounded

    call = ToolCall(name="take", arguments={"a": 1, "b": "é", "c": None, "d": True, "e": 2.5})
    assert _bounded(call) is call
