"""Typed results (`agent(prompt, output=T)`) through each backend and each text format.

Backends that can force a tool call (Bedrock Converse and ConverseStream, OpenAI-compatible servers) answer
through the `final_answer` tool: the request must offer it and force a call. A server that cannot force
(llama-cpp-python refuses "required") and the raw text formats (Qwen3-Coder XML, Hermes JSON, Harmony) are
asked for JSON text, which the loop's parser must leave intact for the output parser.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from model_wire import chunk, converse_frames
from pydantic import BaseModel

from agentkit import Agent, ScriptedModel, tool
from agentkit.errors import OutputError
from agentkit.models import FallbackModel
from agentkit.models.bedrock import BedrockModel
from agentkit.models.openai import OpenAIModel
from agentkit.output import ANSWER_TOOL
from agentkit.tooling import InProcessExecutor

QWEN = "qwen.qwen3-coder-480b-a35b-v1:0"
ANSWER = {"name": "Paris", "population": 2100000}


class City(BaseModel):
    name: str
    population: int


@tool
def lookup(city: str) -> int:
    """The population of a city.

    Args:
        city: the city's name
    """
    return 2100000


def _openai_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    function = {"name": name, "arguments": json.dumps(arguments)}
    return {"index": 0, "id": call_id, "type": "function", "function": function}


# ---- backends that force the answer tool ----------------------------------------------------------


def test_bedrock_converse_stream_answers_through_the_forced_tool_and_retries_a_bad_answer(
    server: Any, aws_env: None
) -> None:
    server.events(converse_frames({"tool": ("t1", ANSWER_TOOL, ['{"name": "Paris"}'])}, stop="tool_use"))
    server.events(converse_frames({"tool": ("t2", ANSWER_TOOL, [json.dumps(ANSWER)])}, stop="tool_use"))
    agent = Agent(model=BedrockModel(QWEN, endpoint_url=server.url), tools=[lookup])
    result = agent("Biggest city in France?", output=City)
    assert result.output == City(**ANSWER)
    first, second = (r.json() for r in server.requests)
    assert first["toolConfig"]["toolChoice"] == {"any": {}}
    offered = [t["toolSpec"]["name"] for t in first["toolConfig"]["tools"]]
    assert offered == ["lookup", ANSWER_TOOL]
    schema = first["toolConfig"]["tools"][1]["toolSpec"]["inputSchema"]["json"]
    assert schema["required"] == ["name", "population"]
    error = second["messages"][-1]["content"][0]["toolResult"]
    assert error["status"] == "error" and "'population' is a required property" in error["content"][0]["text"]
    assert ANSWER_TOOL not in agent.tools  # the answer tool is offered for that call only


def test_bedrock_converse_without_streaming_answers_through_the_forced_tool() -> None:
    client = boto3.client(
        "bedrock-runtime", region_name="us-west-2", aws_access_key_id="AKIDTEST", aws_secret_access_key="secret"
    )
    stubber = Stubber(client)
    stubber.activate()
    use = {"toolUse": {"toolUseId": "tooluse_1", "name": ANSWER_TOOL, "input": ANSWER}}
    response = {
        "output": {"message": {"role": "assistant", "content": [use]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18},
        "metrics": {"latencyMs": 30},
    }
    expected = {
        "modelId": QWEN,
        "messages": ANY,
        "toolConfig": {"tools": ANY, "toolChoice": {"any": {}}},
    }
    stubber.add_response("converse", response, expected)
    agent = Agent(model=BedrockModel(QWEN, client=client, streaming=False))
    result = agent("Biggest city in France?", output=City)
    stubber.assert_no_pending_responses()
    assert result.output == City(**ANSWER)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (11, 7)


def test_openai_compatible_server_answers_through_the_forced_tool(server: Any) -> None:
    server.sse([chunk(tool_calls=[_openai_call("call_1", ANSWER_TOOL, ANSWER)]), chunk(finish="tool_calls")])
    model = OpenAIModel("qwen3-coder", base_url=server.url + "/v1", api_key="k")
    result = Agent(model=model)("Biggest city in France?", output=City)
    assert result.output == City(**ANSWER)
    request = server.requests[0].json()
    assert request["tool_choice"] == "required"
    assert [t["function"]["name"] for t in request["tools"]] == [ANSWER_TOOL]


def test_openai_answer_call_left_in_hermes_text_is_still_the_answer(server: Any) -> None:
    """A server whose tool parser missed the call: the loop recovers it from the text, and it is the answer."""
    leaked = f'<tool_call>\n{{"name": "{ANSWER_TOOL}", "arguments": {json.dumps(ANSWER)}}}\n</tool_call>'
    server.sse([chunk(content=leaked[:25]), chunk(content=leaked[25:]), chunk(finish="stop")])
    model = OpenAIModel("Qwen/Qwen3-32B", base_url=server.url + "/v1", api_key="k")
    result = Agent(model=model)("Biggest city in France?", output=City)
    assert result.output == City(**ANSWER)
    assert [c.name for c in result.tool_calls] == [ANSWER_TOOL]


def test_a_server_that_ignores_the_forced_choice_and_answers_json_text_still_gives_the_output(server: Any) -> None:
    server.sse([chunk(content=json.dumps(ANSWER), finish="stop")])
    model = OpenAIModel("qwen3-coder", base_url=server.url + "/v1", api_key="k")
    result = Agent(model=model)("Biggest city in France?", output=City)
    assert result.output == City(**ANSWER)


def test_a_server_that_answers_neither_way_is_an_output_error_keeping_the_text(server: Any) -> None:
    server.sse([chunk(content="It is Paris, I think.", finish="stop")])
    model = OpenAIModel("qwen3-coder", base_url=server.url + "/v1", api_key="k")
    with pytest.raises(OutputError, match=f"no valid {ANSWER_TOOL}") as caught:
        Agent(model=model)("Biggest city in France?", output=City)
    assert caught.value.raw == "It is Paris, I think."


def test_a_server_that_cannot_force_a_call_is_asked_for_json_text(server: Any) -> None:
    server.sse([chunk(content=json.dumps(ANSWER), finish="stop")])
    model = OpenAIModel("qwen3-coder", base_url=server.url + "/v1", api_key="k", server="llama-cpp-python")
    result = Agent(model=model)("Biggest city in France?", output=City)
    assert result.output == City(**ANSWER)
    request = server.requests[0].json()
    assert "tools" not in request
    assert "matches this JSON schema" in request["messages"][-1]["content"]


def test_a_fallback_chain_forces_the_tool_only_when_every_backend_can(server: Any) -> None:
    forcing = OpenAIModel("m", base_url=server.url + "/v1", api_key="k")
    assert getattr(FallbackModel([forcing, forcing]), "supports_tool_choice", False)
    assert not getattr(FallbackModel([forcing, ScriptedModel(["{}"])]), "supports_tool_choice", False)


# ---- the three text formats: JSON text, read through the loop's parser ------------------------------

TEXT = json.dumps(ANSWER)
FORMATTED = {
    "qwen3_coder": f"Here is the answer.\n{TEXT}",
    "hermes": f"<think>\nParis is the biggest.\n</think>\n\n{TEXT}",
    "harmony": (
        "<|channel|>analysis<|message|>Paris is the biggest.<|end|>"
        f"<|start|>assistant<|channel|>final<|message|>{TEXT}<|return|>"
    ),
}


@pytest.mark.parametrize("text_format", sorted(FORMATTED))
def test_each_text_format_gives_the_typed_result(text_format: str) -> None:
    model = ScriptedModel([FORMATTED[text_format]], text_format=text_format)
    result = Agent(model=model, executor=InProcessExecutor())("Biggest city in France?", output=City)
    assert result.output == City(**ANSWER)
    assert result.tool_calls == []  # a JSON object with a "name" is not taken for a call


@pytest.mark.parametrize("text_format", sorted(FORMATTED))
def test_each_text_format_runs_tools_first_then_answers(text_format: str) -> None:
    calls = {
        "qwen3_coder": (
            "<tool_call>\n<function=lookup>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>"
        ),
        "hermes": '<tool_call>\n{"name": "lookup", "arguments": {"city": "Paris"}}\n</tool_call>',
        "harmony": ('<|channel|>commentary to=functions.lookup <|constrain|>json<|message|>{"city": "Paris"}<|call|>'),
    }
    model = ScriptedModel([calls[text_format], FORMATTED[text_format]], text_format=text_format)
    agent = Agent(model=model, tools=[lookup], executor=InProcessExecutor())
    result = agent("Biggest city in France?", output=City)
    assert result.output == City(**ANSWER)
    assert [r.content for r in result.tool_results] == ["2100000"]


@pytest.mark.parametrize("text_format", sorted(FORMATTED))
def test_each_text_format_sends_validation_errors_back(text_format: str) -> None:
    bad = FORMATTED[text_format].replace('"population": 2100000', '"population": "many"')
    model = ScriptedModel([bad, FORMATTED[text_format]], text_format=text_format)
    result = Agent(model=model, executor=InProcessExecutor())("Biggest city in France?", output=City)
    assert result.output == City(**ANSWER)
    assert "population: Input should be a valid integer" in model.requests[1][-1].content


def test_a_recorded_backend_still_forces_the_answer_tool(server: Any, tmp_path: Any) -> None:
    from agentkit.models.testing import RecordingModel

    server.sse([chunk(tool_calls=[_openai_call("call_1", ANSWER_TOOL, ANSWER)]), chunk(finish="tool_calls")])
    inner = OpenAIModel("qwen3-coder", base_url=server.url + "/v1", api_key="k")
    model = RecordingModel(inner, tmp_path / "t.jsonl")
    assert Agent(model=model)("Biggest city in France?", output=City).output == City(**ANSWER)
    assert server.requests[0].json()["tool_choice"] == "required"
