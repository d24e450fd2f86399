"""A token count a server reports is untrusted: NaN, infinity, a negative, absurd or non-number count is taken as
not reported (0), never a crash, and never throws the context window's estimates off."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from model_wire import Reply, ScriptedServer, chunk

from agentkit import Agent
from agentkit.loop import ContextReduced
from agentkit.messages import Message, ToolCall, Usage
from agentkit.models.base import token_count
from agentkit.models.openai import OpenAIModel
from agentkit.models.testing import FunctionModel, Turn
from agentkit.tooling import InProcessExecutor, ToolDefinition

HOSTILE = ["NaN", "Infinity", "-Infinity", "-5", "1e18", "1e400", '"abc"', "99999999999999999999999999"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_usage_count_from_an_openai_server_is_not_reported(server: ScriptedServer, value: str) -> None:
    usage = '{"prompt_tokens": ' + value + ', "completion_tokens": 7, "total_tokens": 7}'
    tail = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":' + usage + "}"
    body = f"data: {json.dumps(chunk(content='hi', finish='stop'))}\n\ndata: {tail}\n\ndata: [DONE]\n\n"
    server.replies.put(Reply(200, {"Content-Type": "text/event-stream"}, body.encode()))
    model = OpenAIModel(base_url=server.url + "/v1", api_key="sk-test", model="m")
    result = Agent(model, [], executor=InProcessExecutor(), context_window=8000)("hello")
    assert result.text == "hi"
    assert result.usage.input_tokens == 0 and result.usage.output_tokens == 7


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1, 10**18, 1e18, "x", None, True, [3]])
def test_token_count_takes_anything_but_a_sane_count_as_not_reported(value: Any) -> None:
    assert token_count(value) == 0


def test_token_count_keeps_a_sane_count() -> None:
    assert token_count(1234) == 1234 and token_count(12.0) == 12 and token_count("56") == 56


def read_page(n: int) -> str:
    """Read page n."""
    return f"page {n}: " + "x" * 2000


def _reductions(reported: int) -> int:
    def script(messages: list[Message], tools: list[ToolDefinition]) -> Turn:
        done = sum(1 for m in messages if m.role == "tool") if messages[-1].role != "tool" else 0
        if messages[-1].role == "tool":
            done = int(messages[-1].tool_results[0].content.split(":")[0].split()[1]) + 1
        usage = Usage(input_tokens=reported, output_tokens=1)
        if done >= 40:
            return Turn(text="done", usage=usage)
        return Turn(calls=[ToolCall(name="read_page", arguments={"n": done})], usage=usage)

    agent = Agent(
        FunctionModel(script), [read_page], system_prompt="s", executor=InProcessExecutor(), context_window=8000
    )

    async def run() -> int:
        return sum([isinstance(e, ContextReduced) async for e in agent.stream("Read every page.")])

    return asyncio.run(run())


def test_an_absurd_reported_usage_does_not_make_every_turn_a_reduction() -> None:
    assert _reductions(10**18) == _reductions(0) < 10


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("This model's maximum context length is " + "9" * 5000 + " tokens.", None),
        ("This model's maximum context length is 0 tokens.", None),
        ("the request exceeds the available context size", {"error": {"n_ctx": -50}}),
        ("the request exceeds the available context size", {"error": {"n_ctx": 10**30}}),
        ("the request exceeds the available context size", {"error": {"n_ctx": True}}),
    ],
)
def test_an_overflow_naming_a_window_no_window_is_has_no_limit(text: str, body: Any) -> None:
    from agentkit.errors import ContextOverflow
    from agentkit.models._overflow import overflow_error

    error = overflow_error(text, body)
    assert isinstance(error, ContextOverflow) and error.limit is None


def test_a_server_naming_a_5000_digit_window_ends_the_run_with_a_reason(server: ScriptedServer) -> None:
    message = "This model's maximum context length is " + "9" * 5000 + " tokens"
    for _ in range(3):
        server.json(400, {"error": {"message": message, "code": "context_length_exceeded"}})
    model = OpenAIModel(base_url=server.url + "/v1", api_key="sk-test", model="m")
    result = Agent(model, [], executor=InProcessExecutor())("hello")
    assert result.stop_reason == "context_overflow"
