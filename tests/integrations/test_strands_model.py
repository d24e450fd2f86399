"""Strands model providers driven by agentkit.Agent through StrandsModel; import isolation."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
from collections.abc import AsyncGenerator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pydantic
import pytest
import strands
from strands.models import Model as StrandsBase
from strands.types.exceptions import ModelThrottledException

from agentkit import Agent, ScriptedModel, ToolCall, Turn, Usage, tool
from agentkit.errors import ConfigError, ModelError, ModelUnavailable
from agentkit.integrations.strands import AgentkitModelProvider, StrandsModel, from_strands_tool
from agentkit.output import ANSWER_TOOL


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
        self.requests.append(
            {
                "messages": copy.deepcopy(messages),
                "tools": tool_specs,
                "system": system_prompt,
                "tool_choice": kwargs.get("tool_choice"),
            }
        )
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


class City(pydantic.BaseModel):
    name: str
    population: int


def test_typed_results_through_a_strands_provider_force_the_answer_tool() -> None:
    provider = ScriptedStrandsProvider(
        [
            _tool_turn("tu-1", ANSWER_TOOL, ['{"name": "Paris"}']),
            _tool_turn("tu-2", ANSWER_TOOL, ['{"name": "Paris", ', '"population": 2100000}']),
        ]
    )
    result = Agent(model=StrandsModel(provider), tools=[multiply])("Biggest city in France?", output=City)
    assert result.output == City(name="Paris", population=2100000)
    assert [r["tool_choice"] for r in provider.requests] == [{"any": {}}, {"any": {}}]
    assert [s["name"] for s in provider.requests[0]["tools"]] == ["multiply", ANSWER_TOOL]
    error = provider.requests[1]["messages"][-1]["content"][0]["toolResult"]
    assert error["status"] == "error" and "'population' is a required property" in error["content"][0]["text"]


@pytest.mark.parametrize(("ours", "theirs"), [(None, None), ("auto", None), ("none", None), ("multiply", "multiply")])
def test_tool_choice_reaches_the_strands_provider_in_its_shape(ours: Any, theirs: Any) -> None:
    provider = ScriptedStrandsProvider([_text_turn("ok")])
    Agent(model=StrandsModel(provider), tools=[multiply])("x", tool_choice=ours)
    expected = {"tool": {"name": theirs}} if theirs else None
    assert provider.requests[0]["tool_choice"] == expected


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


# ---- a real Strands provider (OpenAIModel) over HTTP on 127.0.0.1 ------------------------------------


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [choice]}


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [], "usage": usage}


class _ChatServer:
    """An OpenAI-compatible streaming endpoint that replays scripted chunks and records request bodies."""

    def __init__(self, turns: list[list[dict[str, Any]]]) -> None:
        self.turns = turns
        self.bodies: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                server.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in server.turns[len(server.bodies) - 1]:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def __enter__(self) -> _ChatServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.integration
def test_strands_openai_provider_over_http_drives_an_agentkit_agent() -> None:
    from strands.models.openai import OpenAIModel

    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "multiply", "arguments": ""}}
    turns = [
        [
            _chunk({"role": "assistant", "tool_calls": [call]}),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 6, '}}]}),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"b": 7}'}}]}),
            _chunk({}, "tool_calls"),
            _usage(10, 5),
        ],
        [
            _chunk({"role": "assistant", "content": "It is "}),
            _chunk({"content": "42."}),
            _chunk({}, "stop"),
            _usage(20, 3),
        ],
    ]
    with _ChatServer(turns) as server:
        provider = OpenAIModel(client_args={"base_url": server.url, "api_key": "test"}, model_id="qwen3-coder")
        result = Agent(model=StrandsModel(provider), tools=[multiply], system_prompt="sys")("6*7?")

    assert result.text == "It is 42."
    assert [(r.call_id, r.content, r.is_error) for r in result.tool_results] == [("call_1", "42", False)]
    assert (result.usage.input_tokens, result.usage.output_tokens) == (30, 8)
    sent = server.bodies[1]
    assert sent["model"] == "qwen3-coder"
    assert [t["function"]["name"] for t in sent["tools"]] == ["multiply"]
    system, user, assistant, tool_message = sent["messages"]
    assert (system["role"], system["content"]) == ("system", "sys")
    assert user["content"] == [{"type": "text", "text": "6*7?"}]
    assert assistant["tool_calls"][0]["function"] == {"name": "multiply", "arguments": '{"a": 6, "b": 7}'}
    assert tool_message == {"role": "tool", "tool_call_id": "call_1", "content": "42"}


@pytest.mark.integration
def test_call_a_server_left_in_text_still_runs_under_agentkit() -> None:
    """Strands alone would show this text as the answer (harness-sdk #3882); agentkit's loop recovers the call."""
    from strands.models.openai import OpenAIModel

    leaked = "<tool_call>\n<function=multiply>\n<parameter=a>\n6\n</parameter>\n<parameter=b>\n7\n</parameter>\n"
    first = [_chunk({"role": "assistant", "content": leaked}), _chunk({"content": "</function>\n</tool_call>"})]
    turns = [
        [*first, _chunk({}, "stop"), _usage(10, 20)],
        [_chunk({"role": "assistant", "content": "42"}), _chunk({}, "stop"), _usage(30, 1)],
    ]
    with _ChatServer(turns) as server:
        provider = OpenAIModel(client_args={"base_url": server.url, "api_key": "test"}, model_id="qwen3-coder")
        result = Agent(model=StrandsModel(provider), tools=[multiply])("6*7?")

    assert result.text == "42"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("multiply", {"a": 6, "b": 7})]
    assert [(r.content, r.is_error) for r in result.tool_results] == [("42", False)]
    # The provider is sent a structured call on the next turn, not the leaked XML.
    assistant = server.bodies[1]["messages"][1]
    assert assistant["tool_calls"][0]["function"]["name"] == "multiply"
    assert "<tool_call>" not in json.dumps(server.bodies[1])
