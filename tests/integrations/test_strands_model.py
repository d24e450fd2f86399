"""Strands model providers driven by agentkit.Agent through StrandsModel; import isolation."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import AsyncGenerator
from typing import Any

import pytest
import strands
from strands.models import Model as StrandsBase
from strands.types.exceptions import ModelThrottledException

from agentkit import Agent, ScriptedModel, ToolCall, Turn, Usage, tool
from agentkit.errors import ConfigError, ModelError, ModelUnavailable
from agentkit.integrations.strands import AgentkitModelProvider, StrandsModel, from_strands_tool


class ScriptedStrandsProvider(StrandsBase):
    """A Strands provider that replays StreamEvent dicts and records what it was sent."""

    def __init__(self, turns: list[list[dict[str, Any]] | Exception]) -> None:
        self.turns = list(turns)
        self.requests: list[dict[str, Any]] = []

    def update_config(self, **model_config: Any) -> None:
        pass

    def get_config(self) -> dict[str, Any]:
        return {"model_id": "scripted-provider"}

    def structured_output(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ScriptedStrandsProvider has no structured output")

    async def stream(
        self, messages: Any, tool_specs: Any = None, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[Any, None]:
        self.requests.append({"messages": copy.deepcopy(messages), "tools": tool_specs, "system": system_prompt})
        turn = self.turns.pop(0)
        if isinstance(turn, Exception):
            raise turn
        for event in turn:
            yield event


def _tool_turn(call_id: str, name: str, json_parts: list[str]) -> list[dict[str, Any]]:
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {}}},
        {"contentBlockDelta": {"delta": {"reasoningContent": {"text": "need a tool"}}}},
        {"contentBlockDelta": {"delta": {"reasoningContent": {"signature": "sig-1"}}}},
        {"contentBlockStop": {}},
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": call_id, "name": name}}}},
        *({"contentBlockDelta": {"delta": {"toolUse": {"input": part}}}} for part in json_parts),
        {"contentBlockStop": {}},
        {"messageStop": {"stopReason": "tool_use"}},
        {"metadata": {"usage": {"inputTokens": 20, "outputTokens": 6, "totalTokens": 26}, "metrics": {"latencyMs": 1}}},
    ]


def _text_turn(text: str) -> list[dict[str, Any]]:
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {}}},
        {"contentBlockDelta": {"delta": {"text": text[:3]}}},
        {"contentBlockDelta": {"delta": {"text": text[3:]}}},
        {"contentBlockStop": {}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": {"inputTokens": 30, "outputTokens": 2, "totalTokens": 32}, "metrics": {"latencyMs": 1}}},
    ]


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def test_strands_provider_drives_an_agentkit_agent() -> None:
    @strands.tool
    def greet(name: str) -> str:
        """Greet someone."""
        return f"hello {name}"

    provider = ScriptedStrandsProvider(
        [
            _tool_turn("tu-1", "multiply", ['{"a": 6, ', '"b": 7}']),
            _tool_turn("tu-2", "greet", ['{"name": "ada"}']),
            _text_turn("6*7 is 42"),
        ]
    )
    agent = Agent(model=StrandsModel(provider), tools=[multiply, from_strands_tool(greet)], system_prompt="Be exact.")

    result = agent("what is 6*7?")

    assert result.text == "6*7 is 42"
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        ("tu-1", "multiply", {"a": 6, "b": 7}),
        ("tu-2", "greet", {"name": "ada"}),
    ]
    assert [r.content for r in result.tool_results] == ["42", "hello ada"]
    assert (result.usage.input_tokens, result.usage.output_tokens) == (70, 14)
    # What the Strands provider was sent on the last turn: Converse shape, alternating roles.
    last = provider.requests[-1]
    assert last["system"] == "Be exact."
    assert [s["name"] for s in last["tools"]] == ["multiply", "greet"]
    assert last["tools"][0]["inputSchema"]["json"]["required"] == ["a", "b"]
    roles = [m["role"] for m in last["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    assistant = last["messages"][1]["content"]
    assert assistant[0] == {"reasoningContent": {"reasoningText": {"text": "need a tool", "signature": "sig-1"}}}
    assert assistant[1] == {"toolUse": {"toolUseId": "tu-1", "name": "multiply", "input": {"a": 6, "b": 7}}}
    assert last["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": "tu-1", "status": "success", "content": [{"text": "42"}]}}
    ]


def test_malformed_tool_json_is_reported_to_the_model_not_replaced_by_empty_input() -> None:
    provider = ScriptedStrandsProvider([_tool_turn("tu-1", "multiply", ['{"a": 6, "b"']), _text_turn("oops")])

    result = Agent(model=StrandsModel(provider), tools=[multiply])("go")

    (bad,) = result.tool_results
    assert bad.is_error
    assert "could not read this tool call: input is not valid JSON" in bad.content
    # The error result reaches the provider as a Strands toolResult with status "error".
    (block,) = provider.requests[1]["messages"][-1]["content"]
    assert block["toolResult"]["status"] == "error"


def test_provider_failures_become_agentkit_model_errors() -> None:
    throttled = ScriptedStrandsProvider([ModelThrottledException("slow down")])
    with pytest.raises(ModelUnavailable, match="throttled by the provider"):
        Agent(model=StrandsModel(throttled))("hi")

    in_stream = ScriptedStrandsProvider([[{"validationException": {"message": "bad request shape"}}]])
    with pytest.raises(ModelError, match="validationException: bad request shape"):
        Agent(model=StrandsModel(in_stream))("hi")


def test_round_trip_through_both_adapters() -> None:
    """agentkit.Agent -> StrandsModel -> AgentkitModelProvider -> ScriptedModel: nothing lost either way."""
    inner = ScriptedModel(
        [Turn(reasoning="plan", calls=[ToolCall(name="multiply", arguments={"a": 3, "b": 5})]), "fifteen"]
    )
    outer = StrandsModel(AgentkitModelProvider(inner))

    result = Agent(model=outer, tools=[multiply], system_prompt="sys")("3*5?")

    assert result.text == "fifteen"
    assert [r.content for r in result.tool_results] == ["15"]
    seen = inner.requests[1]
    assert [m.role for m in seen] == ["system", "user", "assistant", "tool"]
    assert seen[2].reasoning == "plan"
    assert seen[3].tool_results[0].call_id == seen[2].tool_calls[0].id == result.tool_calls[0].id
    assert outer.name == "strands:AgentkitModelProvider:scripted"


def test_usage_in_turn_end_survives_round_trip() -> None:
    inner = ScriptedModel([Turn(text="x", usage=Usage(input_tokens=9, output_tokens=2))])

    result = Agent(model=StrandsModel(AgentkitModelProvider(inner)))("q")

    assert (result.usage.input_tokens, result.usage.output_tokens) == (9, 2)


def test_strands_model_rejects_non_providers() -> None:
    with pytest.raises(ConfigError, match=r"StrandsModel wraps a strands\.models\.Model instance"):
        StrandsModel(ScriptedModel(["x"]))


def test_import_agentkit_does_not_import_strands() -> None:
    code = (
        "import sys, agentkit, agentkit.integrations\n"
        "assert agentkit.Agent and agentkit.ScriptedModel\n"
        "assert not [m for m in sys.modules if m == 'strands' or m.startswith('strands.')], 'strands imported'\n"
        "agentkit.integrations.StrandsModel\n"
        "assert 'strands' in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
