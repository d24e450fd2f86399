"""OpenAIModel: the real openai client against a real chat-completions server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from model_wire import Reply, chunk, usage_chunk

from agentkit.errors import ConfigError, ModelError, ModelHTTPError, ModelTimeout, ModelUnavailable
from agentkit.messages import (
    Message,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEvent,
    ToolResult,
    TurnEnd,
    Usage,
)
from agentkit.models.base import ModelSettings
from agentkit.models.openai import OpenAIModel, to_openai_messages
from agentkit.tooling import ToolDefinition

ADD = ToolDefinition("add", "Add.", {"type": "object", "properties": {"a": {"type": "integer"}}})


def model_for(srv: Any, **kwargs: Any) -> OpenAIModel:
    kwargs.setdefault("model", "qwen3-coder")
    return OpenAIModel(base_url=srv.url + "/v1", api_key="sk-test", **kwargs)


def calls_in(events: list[Any]) -> list[ToolCall]:
    return [e.call for e in events if isinstance(e, ToolCallEvent)]


def fragment(index: int | None, *, id: str | None = None, name: str | None = None, args: str | None = None) -> dict:
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if args is not None:
        function["arguments"] = args
    out: dict[str, Any] = {"function": function, "type": "function"}
    if index is not None:
        out["index"] = index
    if id is not None:
        out["id"] = id
    return out


def test_text_stream_with_usage_and_request_shape(server: Any, collect: Any) -> None:
    server.sse([chunk(content="Hel"), chunk(content="lo"), chunk(finish="stop"), usage_chunk(12, 3)])
    settings = ModelSettings(max_tokens=50, temperature=0.1, stop=["END"])
    events = collect(model_for(server), [Message.system("sys"), Message.user("hi")], [ADD], settings)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo"]
    end = events[-1]
    assert isinstance(end, TurnEnd) and end.stop_reason == "end_turn"
    assert (end.usage.input_tokens, end.usage.output_tokens) == (12, 3)
    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    body = request.json()
    assert body["model"] == "qwen3-coder" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    assert body["tools"] == [ADD.to_openai()]
    assert body["tool_choice"] == "auto"  # a missing tool_choice reads as "none" on some servers
    assert (body["max_tokens"], body["temperature"], body["stop"]) == (50, 0.1, ["END"])


def test_tool_call_fragments_are_assembled_by_index(server: Any, collect: Any) -> None:
    server.sse(
        [
            chunk(tool_calls=[fragment(0, id="call_a", name="add", args="")]),
            chunk(tool_calls=[fragment(1, id="call_b", name="add", args='{"a"')]),
            chunk(tool_calls=[fragment(0, args='{"a": ')]),
            chunk(tool_calls=[fragment(0, args="1}")]),
            chunk(tool_calls=[fragment(1, args=": 2}")]),
            chunk(finish="tool_calls"),
        ]
    )
    events = collect(model_for(server), [Message.user("hi")], [ADD])
    calls = calls_in(events)
    assert [(c.id, c.name, c.arguments) for c in calls] == [("call_a", "add", {"a": 1}), ("call_b", "add", {"a": 2})]
    assert sum(isinstance(e, ToolCallDelta) for e in events) == 5
    assert events[-1].stop_reason == "tool_use"


def test_whole_calls_in_one_chunk_and_repeated_ids(server: Any, collect: Any) -> None:
    server.sse(
        [
            chunk(tool_calls=[fragment(0, id="c1", name="add", args='{"a": 5}')]),  # whole call at once
            chunk(tool_calls=[fragment(1, id="c2", name="add", args='{"a"')]),
            chunk(tool_calls=[fragment(1, id="c2", name="add", args=": 6}")]),  # id and name repeated
            chunk(finish="tool_calls"),
        ]
    )
    calls = calls_in(collect(model_for(server), [Message.user("hi")], [ADD]))
    assert [(c.id, c.arguments) for c in calls] == [("c1", {"a": 5}), ("c2", {"a": 6})]


def test_calls_all_numbered_zero_or_unnumbered_are_kept_apart(server: Any, collect: Any) -> None:
    server.sse(
        [
            chunk(tool_calls=[fragment(0, id="x1", name="add", args='{"a": 1}')]),
            chunk(tool_calls=[fragment(0, id="x2", name="add", args='{"a":')]),
            chunk(tool_calls=[fragment(0, args=" 2}")]),
            chunk(tool_calls=[fragment(None, id="x3", name="add", args='{"a": 3}')]),
            chunk(finish="tool_calls"),
        ]
    )
    calls = calls_in(collect(model_for(server), [Message.user("hi")], [ADD]))
    assert [(c.id, c.arguments) for c in calls] == [("x1", {"a": 1}), ("x2", {"a": 2}), ("x3", {"a": 3})]


def test_invalid_json_arguments_stay_a_raw_string(server: Any, collect: Any) -> None:
    server.sse([chunk(tool_calls=[fragment(0, id="c", name="add", args="{'a': 1}")]), chunk(finish="tool_calls")])
    (call,) = calls_in(collect(model_for(server), [Message.user("hi")], [ADD]))
    assert call.arguments == "{'a': 1}"


def test_reasoning_fields_become_reasoning_deltas(server: Any, collect: Any) -> None:
    server.sse(
        [chunk(reasoning_content="vLLM thinks"), chunk(reasoning=" ollama thinks"), chunk(content="x", finish="stop")]
    )
    events = collect(model_for(server, model="gpt-oss-20b"), [Message.user("hi")])
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["vLLM thinks", " ollama thinks"]


def test_history_translation_and_reasoning_replay_for_gpt_oss() -> None:
    assistant = Message.assistant("", tool_calls=[ToolCall(name="add", arguments={"a": 1}, id="c1")])
    assistant.reasoning = "need a tool"
    history = [Message.user("q"), assistant, Message.tool([ToolResult(call_id="c1", name="add", content="1")])]
    wire = to_openai_messages(history, replay_reasoning=True)
    assert wire[1] == {
        "role": "assistant",
        "content": "",  # never null: llama-cpp-python's server answers HTTP 500 to a null content
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}],
        "reasoning_content": "need a tool",
    }
    assert wire[2] == {"role": "tool", "tool_call_id": "c1", "content": "1"}
    assert "reasoning_content" not in to_openai_messages(history)[1]
    request = OpenAIModel("gpt-oss-120b", base_url="http://127.0.0.1:1/v1").build_request(history, [], ModelSettings())
    assert request["messages"][1]["reasoning_content"] == "need a tool"


def test_server_error_then_success_is_retried(server: Any, collect: Any) -> None:
    server.json(500, {"error": {"message": "boom"}}, headers={"retry-after-ms": "1"})
    server.sse([chunk(content="ok", finish="stop")])
    events = collect(model_for(server, max_retries=2), [Message.user("hi")])
    assert events[0] == TextDelta(text="ok")
    assert len(server.requests) == 2


def test_rate_limited_after_retries_is_unavailable(server: Any, collect: Any) -> None:
    for _ in range(2):
        server.json(429, {"error": {"message": "slow down"}}, headers={"retry-after-ms": "1"})
    with pytest.raises(ModelUnavailable, match="HTTP 429: slow down"):
        collect(model_for(server, max_retries=1), [Message.user("hi")])
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "error", "phrase"),
    [
        (401, ModelUnavailable, "OPENAI_API_KEY"),
        (403, ModelUnavailable, "credentials"),
        (404, ModelUnavailable, "check the model name"),
        (400, ModelHTTPError, "rejected the request"),
    ],
)
def test_http_errors_are_clear(server: Any, collect: Any, status: int, error: type, phrase: str) -> None:
    server.json(status, {"error": {"message": f"server says {status}"}})
    with pytest.raises(ModelError) as caught:
        collect(model_for(server, max_retries=0), [Message.user("hi")])
    assert type(caught.value) is error
    assert phrase in str(caught.value) and f"server says {status}" in str(caught.value)


def test_broken_sse_line_is_a_model_error(server: Any, collect: Any) -> None:
    server.sse([chunk(content="a"), "data: {not json"])
    with pytest.raises(ModelError, match="malformed stream chunk"):
        collect(model_for(server), [Message.user("hi")])


def test_truncated_stream_is_unavailable(server: Any, collect: Any) -> None:
    server.sse([chunk(content="partial")], done=False)  # the server hangs up mid-turn
    seen: list[Any] = []

    async def drain() -> None:
        async for event in model_for(server).stream([Message.user("hi")], [], ModelSettings()):
            seen.append(event)

    with pytest.raises(ModelUnavailable, match="closed the stream before the turn finished"):
        asyncio.run(drain())
    assert seen == [TextDelta(text="partial")]


def test_server_rejecting_stream_options_is_asked_again_without(server: Any, collect: Any) -> None:
    server.json(400, {"error": {"message": "Unrecognized request argument: stream_options"}})
    server.sse([chunk(content="fine", finish="stop")])
    model = model_for(server, max_retries=0)
    events = collect(model, [Message.user("hi")])
    assert events[0] == TextDelta(text="fine")
    assert "stream_options" in server.requests[0].json()
    assert "stream_options" not in server.requests[1].json()
    assert model.include_usage is False


def test_connection_refused_is_unavailable(collect: Any) -> None:
    model = OpenAIModel("m", base_url="http://127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(ModelUnavailable, match=r"cannot connect to http://127\.0\.0\.1:9/v1"):
        collect(model, [Message.user("hi")])


def test_slow_server_times_out(server: Any, collect: Any) -> None:
    server.replies.put(Reply(200, {"Content-Type": "text/event-stream"}, b"", delay=1.0))
    with pytest.raises(ModelTimeout, match="did not answer in time"):
        collect(model_for(server, max_retries=0, timeout=0.2), [Message.user("hi")])


def test_model_is_discovered_when_not_given(server: Any, collect: Any) -> None:
    server.json(
        200, {"object": "list", "data": [{"id": "Qwen/Qwen3-32B", "object": "model", "created": 0, "owned_by": "x"}]}
    )
    server.sse([chunk(content="hi", finish="stop")])
    model = model_for(server, model=None)
    collect(model, [Message.user("hi")])
    assert server.requests[0].path == "/v1/models"
    assert server.requests[1].json()["model"] == "Qwen/Qwen3-32B"
    assert (model.name, model.text_format) == ("openai:Qwen/Qwen3-32B", "hermes")


def test_environment_and_bedrock_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    assert OpenAIModel("m").base_url == "http://127.0.0.1:8000/v1/"
    with pytest.raises(ConfigError, match="AWS_BEARER_TOKEN_BEDROCK"):
        OpenAIModel.bedrock("openai.gpt-oss-120b-1:0")
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-key")
    model = OpenAIModel.bedrock("openai.gpt-oss-120b-1:0", region="us-east-1")
    assert model.base_url == "https://bedrock-runtime.us-east-1.amazonaws.com/openai/v1/"
    assert model.text_format == "harmony"


@pytest.mark.parametrize(
    ("name", "text_format"),
    [
        ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3_coder"),
        ("qwen3:32b", "hermes"),
        ("SmolLM2-135M", "hermes"),
        ("llama3", "auto"),
    ],
)
def test_text_format_from_the_model_name(name: str, text_format: str) -> None:
    assert OpenAIModel(name, base_url="http://127.0.0.1:1/v1").text_format == text_format


# ---- real servers' ways (shared/reference/real-servers.md), replayed on the scripted server ----------------

MUL = ToolDefinition("mul", "Multiply.", {"type": "object", "properties": {"a": {"type": "integer"}}})


def completion(*, content: str | None = None, calls: list[dict] | None = None, usage: tuple[int, int] | None = None):
    """One non-streamed chat.completion, as llama-cpp-python's server sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
    }
    if usage:
        body["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}
    return body


WHOLE_CALL = {"id": "call_0", "type": "function", "function": {"name": "add", "arguments": '{"a": 6}'}}


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        (None, "auto"),
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("mul", {"type": "function", "function": {"name": "mul"}}),
    ],
)
def test_tool_choice_is_always_sent_with_tools(server: Any, collect: Any, choice: Any, wire: Any) -> None:
    server.sse([chunk(content="x", finish="stop")])
    collect(model_for(server), [Message.user("hi")], [ADD, MUL], ModelSettings(tool_choice=choice))
    assert server.requests[0].json()["tool_choice"] == wire


def test_no_tool_choice_without_tools(server: Any, collect: Any) -> None:
    server.sse([chunk(content="x", finish="stop")])
    collect(model_for(server), [Message.user("hi")], [], ModelSettings(tool_choice="required"))
    assert "tool_choice" not in server.requests[0].json()


def test_tool_choice_naming_no_offered_tool_is_a_config_error(server: Any, collect: Any) -> None:
    with pytest.raises(ConfigError, match=r"'sub' is not one of the offered tools \(add\)"):
        collect(model_for(server), [Message.user("hi")], [ADD], ModelSettings(tool_choice="sub"))
    assert server.requests == []


def test_required_on_a_server_that_refuses_it(server: Any, collect: Any) -> None:
    """llama-cpp-python answers 500 to "required": one tool -> that tool by name; several -> "auto"."""
    model = model_for(server, server="llama-cpp-python")
    server.sse([chunk(tool_calls=[fragment(0, id="c", name="add", args="{}")], finish="tool_calls")])
    collect(model, [Message.user("hi")], [ADD], ModelSettings(tool_choice="required"))
    assert server.requests[0].json()["tool_choice"] == {"type": "function", "function": {"name": "add"}}
    assert server.requests[0].json()["stream"] is True  # a named choice streams there
    server.json(200, completion(calls=[WHOLE_CALL]))
    collect(model, [Message.user("hi")], [ADD, MUL], ModelSettings(tool_choice="required"))
    assert server.requests[1].json()["tool_choice"] == "auto"


def test_unknown_server_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown OpenAI-compatible server 'llamacpp'.*llama-cpp-python"):
        OpenAIModel("m", base_url="http://127.0.0.1:1/v1", server="llamacpp")


def test_known_auto_streaming_quirk_asks_without_streaming(server: Any, collect: Any) -> None:
    server.json(200, completion(calls=[WHOLE_CALL], usage=(26, 14)))
    events = collect(model_for(server, server="llama-cpp-python"), [Message.user("hi")], [ADD])
    body = server.requests[0].json()
    assert body["stream"] is False and "stream_options" not in body and body["tool_choice"] == "auto"
    (call,) = calls_in(events)
    assert (call.id, call.name, call.arguments) == ("call_0", "add", {"a": 6})
    end = events[-1]
    assert end.stop_reason == "tool_use" and (end.usage.input_tokens, end.usage.output_tokens) == (26, 14)
    assert end.usage.estimated is False


def test_empty_stream_for_an_auto_tool_turn_is_asked_again_without_streaming(server: Any, collect: Any) -> None:
    """llama-cpp-python: `Automatic streaming tool choice is not supported` after the headers: 200, no data."""
    server.sse([], done=False)
    server.json(200, completion(calls=[WHOLE_CALL]))
    server.json(200, completion(content="42"))
    model = model_for(server)
    events = collect(model, [Message.user("hi")], [ADD])
    assert [c.name for c in calls_in(events)] == ["add"]
    assert [r.json()["stream"] for r in server.requests] == [True, False]
    assert model.quirks.streams_auto_tool_choice is False  # learned: the next turn asks without streaming at once
    events = collect(model, [Message.user("hi")], [ADD])
    assert [r.json()["stream"] for r in server.requests] == [True, False, False]
    assert events[0] == TextDelta(text="42")


def test_empty_stream_elsewhere_is_reported_as_what_it_is(server: Any, collect: Any) -> None:
    server.sse([], done=False)
    with pytest.raises(ModelUnavailable, match=r"HTTP 200 with an empty stream.*will not help.*its log") as caught:
        collect(model_for(server), [Message.user("hi")])
    assert "retry," not in str(caught.value)


def test_stream_false_never_streams(server: Any, collect: Any) -> None:
    server.json(200, completion(content="plain", usage=(3, 1)))
    events = collect(model_for(server, stream=False), [Message.user("hi")])
    assert server.requests[0].json()["stream"] is False
    assert events[0] == TextDelta(text="plain") and events[-1].stop_reason == "end_turn"


def test_missing_usage_is_estimated_and_marked(server: Any, collect: Any) -> None:
    server.sse([chunk(content="x" * 40), chunk(finish="stop")])  # no usage chunk: stream_options ignored
    events = collect(model_for(server), [Message.user("y" * 400)])
    usage = events[-1].usage
    assert usage.estimated is True
    assert usage.output_tokens == 10 and 100 <= usage.input_tokens <= 130
    total = Usage()
    total.add(usage)
    assert total.estimated is True


def test_a_whole_answer_without_finish_reason_is_unavailable(server: Any, collect: Any) -> None:
    body = completion(content="x")
    body["choices"][0]["finish_reason"] = None
    server.json(200, body)
    with pytest.raises(ModelUnavailable, match="answered without a finish_reason"):
        collect(model_for(server, stream=False), [Message.user("hi")])


def test_streaming_switch_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_OPENAI_STREAM", "0")
    assert OpenAIModel("m", base_url="http://127.0.0.1:1/v1").streaming is False
    assert OpenAIModel("m", base_url="http://127.0.0.1:1/v1", stream=True).streaming is True
    monkeypatch.setenv("AGENTKIT_OPENAI_STREAM", "maybe")
    with pytest.raises(ConfigError, match="AGENTKIT_OPENAI_STREAM='maybe' is not a switch"):
        OpenAIModel("m", base_url="http://127.0.0.1:1/v1")


def test_a_connection_dropped_after_the_empty_stream_is_tried_once_more(server: Any, collect: Any) -> None:
    """llama-cpp-python closes the connection its failed stream left: the non-streamed retry must not fail on it."""
    server.sse([], done=False)
    server.replies.put(Reply(0))  # the server hangs up without an answer
    server.json(200, completion(calls=[WHOLE_CALL]))
    events = collect(model_for(server, max_retries=0), [Message.user("hi")], [ADD])
    assert [c.name for c in calls_in(events)] == ["add"]
    assert [r.json()["stream"] for r in server.requests] == [True, False, False]


def test_a_dropped_connection_elsewhere_is_not_retried_by_agentkit(server: Any, collect: Any) -> None:
    server.replies.put(Reply(0))
    with pytest.raises(ModelUnavailable, match="cannot connect"):
        collect(model_for(server, max_retries=0, stream=False), [Message.user("hi")])
    assert len(server.requests) == 1
