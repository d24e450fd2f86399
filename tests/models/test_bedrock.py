"""BedrockModel against botocore's own machinery.

- Converse (streaming=False): botocore's Stubber on a real bedrock-runtime client, so every request is
  checked against the real service model and compared with the exact parameters we expect.
- ConverseStream: Stubber cannot return an event stream, so a real client talks HTTP to a loopback server
  that answers with AWS event-stream frames; botocore validates the request, signs it, retries it and
  parses the frames exactly as it would against Bedrock.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from model_wire import converse_frames, event_frame, exception_frame

from agentkit.errors import ModelError, ModelTimeout, ModelUnavailable
from agentkit.messages import (
    Message,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEvent,
    ToolResult,
    TurnEnd,
)
from agentkit.models.base import ModelSettings
from agentkit.models.bedrock import BedrockModel, bedrock_family
from agentkit.tooling import ToolDefinition

ADD = ToolDefinition("add", "Add two integers.", {"type": "object", "properties": {"a": {"type": "integer"}}})
QWEN = "qwen.qwen3-coder-480b-a35b-v1:0"
GPT_OSS = "openai.gpt-oss-120b-1:0"


def stubbed(model_id: str = QWEN, **kwargs: Any) -> tuple[BedrockModel, Stubber]:
    client = boto3.client(
        "bedrock-runtime", region_name="us-west-2", aws_access_key_id="AKIDTEST", aws_secret_access_key="secret"
    )
    stubber = Stubber(client)
    stubber.activate()
    return BedrockModel(model_id, client=client, streaming=False, **kwargs), stubber


def converse_response(*content: dict[str, Any], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": list(content)}},
        "stopReason": stop,
        "usage": {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18},
        "metrics": {"latencyMs": 30},
    }


# ---- Converse, through the Stubber ------------------------------------------------------------


def test_text_turn_sends_system_inference_and_tools(collect: Any) -> None:
    model, stubber = stubbed()
    expected = {
        "modelId": QWEN,
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "system": [{"text": "be brief"}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.2, "stopSequences": ["END"]},
        "toolConfig": {"tools": [ADD.to_bedrock()]},
    }
    stubber.add_response("converse", converse_response({"text": "Hello"}), expected)
    settings = ModelSettings(max_tokens=64, temperature=0.2, stop=["END"])
    events = collect(model, [Message.system("be brief"), Message.user("hi")], [ADD], settings)
    stubber.assert_no_pending_responses()
    assert [type(e) for e in events] == [TextDelta, TurnEnd]
    assert events[0].text == "Hello"
    assert events[1].stop_reason == "end_turn"
    assert (events[1].usage.input_tokens, events[1].usage.output_tokens) == (11, 7)


def test_tool_use_becomes_a_tool_call_event(collect: Any) -> None:
    model, stubber = stubbed()
    use = {"toolUse": {"toolUseId": "tooluse_1", "name": "add", "input": {"a": 2}}}
    stubber.add_response("converse", converse_response({"text": "Adding."}, use, stop="tool_use"))
    events = collect(model, [Message.user("2+?")], [ADD])
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert len(calls) == 1
    assert (calls[0].id, calls[0].name, calls[0].arguments) == ("tooluse_1", "add", {"a": 2})
    assert events[-1].stop_reason == "tool_use"


def test_multi_turn_with_results_is_sent_in_converse_shape(collect: Any) -> None:
    model, stubber = stubbed()
    call_ok = ToolCall(name="add", arguments={"a": 1}, id="tooluse_a")
    call_bad = ToolCall(name="add", arguments='{"a": 1', id="tooluse_b")  # the model's broken JSON
    history = [
        Message.user("add things"),
        Message.assistant("On it.", tool_calls=[call_ok, call_bad]),
        Message.tool(
            [
                ToolResult(call_id="tooluse_a", name="add", content="1"),
                ToolResult(call_id="tooluse_b", name="add", content="arguments are not JSON", is_error=True),
            ]
        ),
        Message.user("and now?"),
    ]
    expected = {
        "modelId": QWEN,
        "messages": [
            {"role": "user", "content": [{"text": "add things"}]},
            {
                "role": "assistant",
                "content": [
                    {"text": "On it."},
                    {"toolUse": {"toolUseId": "tooluse_a", "name": "add", "input": {"a": 1}}},
                    {"toolUse": {"toolUseId": "tooluse_b", "name": "add", "input": {"raw_arguments": '{"a": 1'}}},
                ],
            },
            {
                "role": "user",  # the results and the next question merge: Converse alternates roles
                "content": [
                    {"toolResult": {"toolUseId": "tooluse_a", "status": "success", "content": [{"text": "1"}]}},
                    {
                        "toolResult": {
                            "toolUseId": "tooluse_b",
                            "content": [{"text": "arguments are not JSON"}],
                            "status": "error",
                        }
                    },
                    {"text": "and now?"},
                ],
            },
        ],
        "toolConfig": {"tools": [ADD.to_bedrock()]},
    }
    stubber.add_response("converse", converse_response({"text": "Done."}), expected)
    events = collect(model, history, [ADD])
    stubber.assert_no_pending_responses()
    assert events[0] == TextDelta(text="Done.")


def test_gpt_oss_reasoning_is_surfaced_and_replayed_with_its_signature(collect: Any) -> None:
    model, stubber = stubbed(GPT_OSS)
    previous = Message.assistant("", tool_calls=[ToolCall(name="add", arguments={"a": 1}, id="t1")])
    previous.reasoning, previous.reasoning_signature = "I should add.", "sig-1"
    history = [Message.user("q"), previous, Message.tool([ToolResult(call_id="t1", name="add", content="1")])]
    expected = {
        "modelId": GPT_OSS,
        "messages": [
            {"role": "user", "content": [{"text": "q"}]},
            {
                "role": "assistant",
                "content": [
                    {"reasoningContent": {"reasoningText": {"text": "I should add.", "signature": "sig-1"}}},
                    {"toolUse": {"toolUseId": "t1", "name": "add", "input": {"a": 1}}},
                ],
            },
            {
                "role": "user",
                "content": [{"toolResult": {"toolUseId": "t1", "status": "success", "content": [{"text": "1"}]}}],
            },
        ],
        "toolConfig": {"tools": [ADD.to_bedrock()]},
        "additionalModelRequestFields": {"reasoning_effort": "high"},
    }
    reasoning = {"reasoningContent": {"reasoningText": {"text": "It is 1.", "signature": "sig-2"}}}
    stubber.add_response("converse", converse_response(reasoning, {"text": "1"}), expected)
    events = collect(model, history, [ADD], ModelSettings(reasoning_effort="high"))
    stubber.assert_no_pending_responses()
    assert events[0] == ReasoningDelta(text="It is 1.", signature="sig-2")
    assert events[1] == TextDelta(text="1")


def test_qwen_gets_no_reasoning_blocks_or_effort_field() -> None:
    model = BedrockModel("qwen.qwen3-235b-a22b-2507-v1:0", region="us-east-1")
    message = Message.assistant("x")
    message.reasoning = "thinking"
    request = model.build_request([Message.user("q"), message], [], ModelSettings(reasoning_effort="low"))
    assert request["messages"][1]["content"] == [{"text": "x"}]
    assert "additionalModelRequestFields" not in request


def test_tool_history_without_tools_still_declares_them(collect: Any) -> None:
    model, stubber = stubbed()
    history = [
        Message.user("q"),
        Message.assistant(tool_calls=[ToolCall(name="add", arguments={"a": 1}, id="t1")]),
        Message.tool([ToolResult(call_id="t1", name="add", content="1")]),
    ]
    stubber.add_response("converse", converse_response({"text": "ok"}))
    collect(model, history, [])
    request = model.build_request(history, [], ModelSettings())
    assert [t["toolSpec"]["name"] for t in request["toolConfig"]["tools"]] == ["add"]


def test_unreadable_calls_travel_as_text_and_the_request_stays_valid(collect: Any) -> None:
    """A call the parser could not read has no valid name: Converse would refuse it as a toolUse block."""
    model, stubber = stubbed()
    bad = ToolCall(name="", arguments="<function=add", raw="<function=add", id="t1", invalid_reason="unclosed")
    odd = ToolCall(name="browser.search", arguments={"q": "x"}, id="t2")
    history = [
        Message.user("q"),
        Message.assistant(tool_calls=[bad, odd]),
        Message.tool(
            [
                ToolResult(call_id="t1", name="", content="could not read this tool call", is_error=True),
                ToolResult(call_id="t2", name="browser.search", content="unknown tool", is_error=True),
            ]
        ),
    ]
    stubber.add_response("converse", converse_response({"text": "ok"}))  # Stubber validates the real request
    events = collect(model, history, [])
    assert events[-1].stop_reason == "end_turn"
    request = model.build_request(history, [], ModelSettings())
    assert "toolConfig" not in request
    assistant, results = request["messages"][1]["content"], request["messages"][2]["content"]
    assert assistant == [
        {"text": "[unreadable tool call: <function=add]"},
        {"text": '[unreadable tool call: {"q": "x"}]'},
    ]
    assert all("text" in block and "unreadable tool call" in block["text"] for block in results)


@pytest.mark.parametrize(
    ("code", "message", "error", "phrase"),
    [
        ("AccessDeniedException", "not authorized", ModelUnavailable, "Model access"),
        ("ValidationException", "The provided model identifier is invalid.", ModelUnavailable, "check the id"),
        ("ResourceNotFoundException", "Model not found", ModelUnavailable, "check the id"),
        ("ThrottlingException", "Too many requests", ModelUnavailable, "try again later"),
        ("UnrecognizedClientException", "The security token is invalid", ModelUnavailable, "aws sso login"),
        ("ValidationException", "maxTokens must be positive", ModelError, "Check the messages"),
        ("ModelTimeoutException", "took too long", ModelTimeout, "timed out"),
    ],
)
def test_service_errors_map_to_agentkit_errors(
    collect: Any, code: str, message: str, error: type[Exception], phrase: str
) -> None:
    model, stubber = stubbed()
    status = 429 if code == "ThrottlingException" else 400
    stubber.add_client_error("converse", service_error_code=code, service_message=message, http_status_code=status)
    with pytest.raises(ModelError) as caught:
        collect(model, [Message.user("hi")])
    assert type(caught.value) is error
    assert phrase in str(caught.value)
    assert message in str(caught.value)


# ---- ConverseStream, over HTTP on 127.0.0.1 ---------------------------------------------------


def streaming(server: Any, model_id: str = QWEN, **kwargs: Any) -> BedrockModel:
    return BedrockModel(model_id, endpoint_url=server.url, retry_delay=0.0, **kwargs)


def test_stream_text_and_tool_call(server: Any, aws_env: None, collect: Any) -> None:
    server.events(converse_frames({"text": ["Let me ", "add."]}, {"tool": ("t9", "add", ['{"a"', ": 41}"])}))
    events = collect(streaming(server), [Message.system("sys"), Message.user("hi")], [ADD])
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Let me ", "add."]
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0].name == "add" and "".join(d.arguments_delta for d in deltas) == '{"a": 41}'
    (call,) = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert (call.id, call.name, call.arguments) == ("t9", "add", {"a": 41})
    end = events[-1]
    assert isinstance(end, TurnEnd) and end.stop_reason == "tool_use"  # end_turn with calls means tool_use
    assert (end.usage.input_tokens, end.usage.output_tokens) == (10, 5)
    request = server.requests[0]
    assert request.path == "/model/qwen.qwen3-coder-480b-a35b-v1%3A0/converse-stream"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTESTTESTTEST/")
    body = request.json()
    assert body["system"] == [{"text": "sys"}]
    assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "add"


def test_stream_reasoning_with_signature(server: Any, aws_env: None, collect: Any) -> None:
    server.events(converse_frames({"reasoning": ["Think", "ing"], "signature": "sig"}, {"text": ["ok"]}))
    events = collect(streaming(server, GPT_OSS), [Message.user("hi")], [], ModelSettings(reasoning_effort="low"))
    reasoning = [e for e in events if isinstance(e, ReasoningDelta)]
    assert "".join(r.text for r in reasoning) == "Thinking"
    assert reasoning[-1].signature == "sig"
    assert server.requests[0].json()["additionalModelRequestFields"] == {"reasoning_effort": "low"}


def test_undecodable_tool_input_stays_a_raw_string(server: Any, aws_env: None, collect: Any) -> None:
    server.events(converse_frames({"tool": ("t1", "add", ['{"a": 1,,'])}, stop="tool_use"))
    events = collect(streaming(server), [Message.user("hi")], [ADD])
    (call,) = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert call.arguments == '{"a": 1,,'


def test_throttled_request_is_retried_by_botocore(server: Any, aws_env: None, collect: Any) -> None:
    server.aws_error(429, "ThrottlingException", "Too many requests, please wait")
    server.events(converse_frames({"text": ["after retry"]}))
    model = streaming(server, retry_mode="standard", max_attempts=3)
    events = collect(model, [Message.user("hi")])
    assert len(server.requests) == 2
    assert events[0] == TextDelta(text="after retry")
    assert model.client.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_throttling_inside_the_stream_is_retried_before_any_output(server: Any, aws_env: None, collect: Any) -> None:
    server.events([event_frame("messageStart", {"role": "assistant"}), exception_frame("throttlingException", "slow")])
    server.events(converse_frames({"text": ["second try"]}))
    events = collect(streaming(server), [Message.user("hi")])
    assert len(server.requests) == 2
    assert [type(e) for e in events] == [TextDelta, TurnEnd]


def test_stream_error_after_output_is_not_retried(server: Any, aws_env: None, collect: Any) -> None:
    frames = converse_frames({"text": ["partial"]})[:2]  # messageStart + one text delta
    server.events([*frames, exception_frame("modelStreamErrorException", "the model broke")])
    server.events(converse_frames({"text": ["never sent"]}))
    seen: list[Any] = []

    async def drain() -> None:
        async for event in streaming(server).stream([Message.user("hi")], [], ModelSettings()):
            seen.append(event)

    import asyncio

    with pytest.raises(ModelUnavailable, match="the model broke"):
        asyncio.run(drain())
    assert seen == [TextDelta(text="partial")]
    assert len(server.requests) == 1


def test_in_stream_validation_error_is_a_model_error(server: Any, aws_env: None, collect: Any) -> None:
    server.events([exception_frame("validationException", "input is too long")])
    with pytest.raises(ModelError, match="input is too long") as caught:
        collect(streaming(server), [Message.user("hi")])
    assert not isinstance(caught.value, ModelUnavailable)


def test_missing_credentials_say_what_to_do(monkeypatch: pytest.MonkeyPatch, server: Any, collect: Any) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ModelUnavailable, match=r"no AWS credentials found.*aws configure"):
        collect(streaming(server), [Message.user("hi")])
    assert server.requests == []


def test_unreachable_endpoint_is_unavailable(aws_env: None, collect: Any) -> None:
    model = BedrockModel(QWEN, endpoint_url="http://127.0.0.1:9", max_attempts=1, connect_timeout=2)
    with pytest.raises(ModelUnavailable, match=r"cannot reach bedrock-runtime.*us-west-2"):
        collect(model, [Message.user("hi")])


# ---- configuration ----------------------------------------------------------------------------


def test_region_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert BedrockModel(QWEN).region == "us-west-2"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert BedrockModel(QWEN).region == "eu-central-1"
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert BedrockModel(QWEN).region == "us-east-1"
    assert BedrockModel(QWEN, region="ap-northeast-1").region == "ap-northeast-1"


@pytest.mark.parametrize(
    ("model_id", "text_format"),
    [
        ("qwen.qwen3-coder-480b-a35b-v1:0", "qwen3_coder"),
        ("us.qwen.qwen3-coder-30b-a3b-v1:0", "qwen3_coder"),
        ("qwen.qwen3-235b-a22b-2507-v1:0", "hermes"),
        ("qwen.qwen3-32b-v1:0", "hermes"),
        ("openai.gpt-oss-20b-1:0", "harmony"),
        ("anthropic.claude-x", "auto"),
    ],
)
def test_text_format_follows_the_family(model_id: str, text_format: str) -> None:
    assert bedrock_family(model_id).text_format == text_format
    assert BedrockModel(model_id, region="us-west-2").text_format == text_format


def test_short_names_expand() -> None:
    assert BedrockModel("gpt-oss-20b").model_id == "openai.gpt-oss-20b-1:0"
    assert BedrockModel("qwen3-coder-480b").name == "bedrock:qwen.qwen3-coder-480b-a35b-v1:0"


@pytest.mark.parametrize(
    ("choice", "wire"),
    [(None, None), ("auto", None), ("none", None), ("required", {"any": {}}), ("add", {"tool": {"name": "add"}})],
)
def test_tool_choice_becomes_converse_tool_choice(collect: Any, choice: Any, wire: Any) -> None:
    model, stubber = stubbed()
    request = model.build_request([Message.user("q")], [ADD], ModelSettings(tool_choice=choice))
    assert request["toolConfig"].get("toolChoice") == wire
    stubber.add_response("converse", converse_response({"text": "ok"}))  # the Stubber checks the shape is valid
    collect(model, [Message.user("q")], [ADD], ModelSettings(tool_choice=choice))
