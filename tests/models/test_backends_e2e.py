"""Whole runs through agentkit.Agent with real backends against loopback servers: structured tool calls,
and calls a model left in its text (Qwen3-Coder on Bedrock, a vLLM parser miss) recovered by the loop."""

from __future__ import annotations

from typing import Any

from model_wire import chunk, converse_frames

from agentkit import Agent, tool
from agentkit.models import FallbackModel
from agentkit.models.bedrock import BedrockModel
from agentkit.models.openai import OpenAIModel

LEAKED_QWEN_CALL = (
    "I will add them.\n<tool_call>\n<function=add>\n<parameter=a>\n2\n</parameter>\n"
    "<parameter=b>\n40\n</parameter>\n</function>\n</tool_call>"
)


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


def test_bedrock_qwen3_coder_call_left_in_text_is_executed(server: Any, aws_env: None) -> None:
    # ConverseStream returns the call as plain text, as Qwen3-Coder on Bedrock is known to do.
    server.events(converse_frames({"text": [LEAKED_QWEN_CALL[:30], LEAKED_QWEN_CALL[30:]]}))
    server.events(converse_frames({"text": ["The sum is 42."]}))
    model = BedrockModel("qwen.qwen3-coder-480b-a35b-v1:0", endpoint_url=server.url)
    result = Agent(model=model, tools=[add])("What is 2 + 40?")
    assert result.text == "The sum is 42."
    assert [r.content for r in result.tool_results] == ["42"]
    second = server.requests[1].json()["messages"]
    tool_use = next(b["toolUse"] for b in second[1]["content"] if "toolUse" in b)
    assert (tool_use["name"], tool_use["input"]) == ("add", {"a": 2, "b": 40})
    tool_result = second[2]["content"][0]["toolResult"]
    assert tool_result["toolUseId"] == tool_use["toolUseId"]
    assert tool_result["content"] == [{"text": "42"}]


def test_bedrock_structured_tool_use_round_trip(server: Any, aws_env: None) -> None:
    server.events(converse_frames({"tool": ("tooluse_X", "add", ['{"a": 1, ', '"b": 2}'])}, stop="tool_use"))
    server.events(converse_frames({"text": ["3"]}))
    result = Agent(model=BedrockModel("qwen.qwen3-32b-v1:0", endpoint_url=server.url), tools=[add])("1+2?")
    assert result.text == "3" and [c.id for c in result.tool_calls] == ["tooluse_X"]
    second = server.requests[1].json()["messages"]
    assert second[2]["content"][0]["toolResult"] == {
        "toolUseId": "tooluse_X",
        "status": "success",
        "content": [{"text": "3"}],
    }


def test_openai_structured_calls_and_hermes_call_left_in_text(server: Any) -> None:
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 1, "b": 1}'},
    }
    server.sse([chunk(tool_calls=[call]), chunk(finish="tool_calls")])
    leaked = '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 2}}\n</tool_call>'
    server.sse([chunk(content=leaked[:20]), chunk(content=leaked[20:]), chunk(finish="stop")])
    server.sse([chunk(content="2 and 4", finish="stop")])
    model = OpenAIModel("Qwen/Qwen3-32B", base_url=server.url + "/v1", api_key="k")
    result = Agent(model=model, tools=[add])("go")
    assert result.text == "2 and 4"
    assert [r.content for r in result.tool_results] == ["2", "4"]
    third = server.requests[2].json()["messages"]
    assert third[-1]["role"] == "tool" and third[-1]["content"] == "4"
    assert third[-2]["tool_calls"][0]["function"]["name"] == "add"


def test_fallback_serves_the_run_from_the_live_backend(server: Any) -> None:
    server.sse([chunk(content="from the live server", finish="stop")])
    dead = OpenAIModel("m", base_url="http://127.0.0.1:9/v1", max_retries=0)
    live = OpenAIModel("m2", base_url=server.url + "/v1", max_retries=0)
    chain = FallbackModel([dead, live])
    result = Agent(model=chain)("hi")
    assert result.text == "from the live server"
    assert chain.served_by == "openai:m2"
