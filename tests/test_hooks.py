"""Hooks before and after each model call and tool call: they read, amend or answer (agentkit.hooks)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from agentkit import Agent, ConfigError, FunctionModel, Hooks, Message, ModelRequest, ScriptedModel, ToolCall, tool
from agentkit.messages import ToolResult
from agentkit.sessions import Session
from agentkit.tooling import InProcessExecutor, ToolDefinition


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def make(model: object, **kwargs: object) -> Agent:
    return Agent(model=model, tools=[add], executor=InProcessExecutor(), **kwargs)  # type: ignore[arg-type]


def test_before_model_call_amends_what_the_model_sees_but_not_the_conversation() -> None:
    seen: list[list[str]] = []

    def model(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> str:
        seen.append([m.content for m in messages])
        return f"{len(tools)} tools"

    agent = make(FunctionModel(model))

    @agent.hooks.on("before_model_call")
    def redact(request: ModelRequest) -> ModelRequest:
        messages = [dataclasses.replace(m, content=m.content.replace("secret", "***")) for m in request.messages]
        return dataclasses.replace(request, messages=messages, tools=[])

    result = agent("my secret is 7")
    assert seen == [["my *** is 7"]]
    assert result.text == "0 tools"
    assert agent.messages[0].content == "my secret is 7"


def test_after_model_call_replaces_the_turn() -> None:
    agent = make(ScriptedModel(["draft"]))
    agent.hooks.add("after_model_call", lambda m: dataclasses.replace(m, content=m.content.upper()))
    assert agent("go").text == "DRAFT"
    assert agent.messages[-1].content == "DRAFT"


def test_before_tool_call_amends_arguments_and_after_tool_call_the_result(tmp_path: Path) -> None:
    transcript = tmp_path / "s.jsonl"
    agent = make(ScriptedModel([ToolCall(name="add", arguments={"a": 1, "b": 2}), "done"]), session=transcript)

    async def double_b(call: ToolCall) -> ToolCall:  # async hooks work too
        return dataclasses.replace(call, arguments={**call.arguments, "b": call.arguments["b"] * 10})

    agent.hooks.add("before_tool_call", double_b)
    agent.hooks.add("after_tool_call", lambda call, r: dataclasses.replace(r, content=f"sum={r.content}"))
    result = agent("go")
    assert [r.content for r in result.tool_results] == ["sum=21"]
    recorded = Session(transcript).load().messages  # the session holds the amended result
    assert [r.content for m in recorded for r in m.tool_results] == ["sum=21"]


def test_before_tool_call_can_answer_without_running() -> None:
    ran: list[int] = []

    @tool
    def launch(n: int) -> int:
        """Launch."""
        ran.append(n)
        return n

    agent = Agent(
        model=ScriptedModel([ToolCall(name="launch", arguments={"n": 1}), "ok"]),
        tools=[launch],
        executor=InProcessExecutor(),
    )
    agent.hooks.add(
        "before_tool_call", lambda c: ToolResult(call_id="x", name="x", content="refused by policy", is_error=True)
    )
    result = agent("go")
    assert ran == []
    assert result.tool_results[0].content == "refused by policy"
    assert result.tool_results[0].call_id == result.tool_calls[0].id


def test_a_hook_returning_the_wrong_type_and_an_unknown_hook_name_are_config_errors() -> None:
    hooks = Hooks()
    with pytest.raises(ConfigError, match="unknown hook 'before_everything'"):
        hooks.add("before_everything", print)  # type: ignore[arg-type]
    agent = make(ScriptedModel(["x"]), hooks=hooks)
    agent.hooks.add("after_model_call", lambda m: "not a message")
    with pytest.raises(ConfigError, match="after_model_call hook returned str; return None or a Message"):
        agent("go")


def test_on_tool_result_is_a_hook_that_sees_each_final_result_after_the_session_recorded_it(tmp_path: Path) -> None:
    """The Agent's own on_tool_result (the session's recording) is the first on_tool_result hook of each run; a
    registered one sees the amended, final result once it is durable, denied and unrun calls included."""
    transcript = tmp_path / "s.jsonl"
    calls = [ToolCall(name="add", arguments={"a": 1, "b": 2}), ToolCall(name="add", arguments={"a": "x", "b": 2})]
    agent = make(ScriptedModel([calls, "done"]), session=transcript)
    agent.hooks.add("after_tool_call", lambda call, r: dataclasses.replace(r, content=f"sum={r.content}"))
    seen: list[tuple[str, bool, bool]] = []

    @agent.hooks.on("on_tool_result")
    def watch(result: ToolResult) -> None:
        state = Session(transcript).load()
        in_messages = any(r.call_id == result.call_id for m in state.messages for r in m.tool_results)
        seen.append((result.content, result.is_error, in_messages or result.call_id in state.completed))

    agent("go")  # the two calls run concurrently: their results may come in either order
    ok = [entry for entry in seen if not entry[1]]
    failed = [entry for entry in seen if entry[1]]
    assert ok == [("sum=3", False, True)]
    assert len(failed) == 1 and failed[0][0].startswith("sum=") and failed[0][2]  # the invalid call's error, amended
    # each was on disk (durable) before the hook saw it


def test_an_on_tool_result_hook_must_be_a_plain_function() -> None:
    async def later(result: ToolResult) -> None:
        return None

    with pytest.raises(ConfigError, match="on_tool_result hook must be a plain function"):
        Hooks().add("on_tool_result", later)


def test_agents_sharing_one_hooks_object_record_only_their_own_sessions(tmp_path: Path) -> None:
    hooks = Hooks()
    first = make(ScriptedModel([ToolCall(name="add", arguments={"a": 1, "b": 1}), "one"]), hooks=hooks)
    second = make(ScriptedModel([ToolCall(name="add", arguments={"a": 2, "b": 2}), "two"]), hooks=hooks)
    first.attach_session(Session(tmp_path / "first.jsonl"))
    second.attach_session(Session(tmp_path / "second.jsonl"))
    first("go")
    second("go")
    for name, want in (("first", "2"), ("second", "4")):
        recorded = Session(tmp_path / f"{name}.jsonl").load().messages
        assert [r.content for m in recorded for r in m.tool_results] == [want]
