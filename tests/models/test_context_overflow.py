"""Each backend's real "prompt too long" answer becomes ContextOverflow, and an agent recovers from it: the view
is reduced and the turn is sent again (loopback servers speaking OpenAI's and Bedrock's wire formats)."""

from __future__ import annotations

from typing import Any

import pytest
from model_wire import ScriptedServer, chunk, converse_frames, usage_chunk

from agentkit import Agent
from agentkit.context import find_window
from agentkit.errors import ContextOverflow, ModelError, ModelHTTPError
from agentkit.loop import ContextReduced
from agentkit.messages import Message, ToolCall, ToolResult
from agentkit.models._overflow import overflow_error
from agentkit.models.bedrock import BedrockModel
from agentkit.models.openai import OpenAIModel
from agentkit.tooling import InProcessExecutor

OPENAI_BODY = {
    "error": {
        "message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 30512 "
        "tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}
VLLM_BODY = {
    "object": "error",
    "message": "This model's maximum context length is 8192 tokens. However, you requested 31024 tokens (30000 in "
    "the messages, 1024 in the completion). Please reduce the length of the messages or completion.",
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}
LLAMA_CPP_BODY = {
    "error": {
        "code": 400,
        "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 30512,
        "n_ctx": 8192,
    }
}


def long_history() -> list[Message]:
    """A conversation of 30 tool turns with 2 KB results: about 60 KB, far over an 8K window."""
    messages = [Message.system("You read pages."), Message.user("Read the pages.")]
    for n in range(30):
        call = ToolCall(name="read_page", arguments={"n": n}, id=f"c{n}")
        messages.append(Message.assistant(tool_calls=[call]))
        messages.append(Message.tool([ToolResult(call_id=f"c{n}", name="read_page", content="y" * 2000)]))
    return messages


def read_page(n: int) -> str:
    """Read page n."""
    return "y" * 2000


def run_agent(model: Any) -> tuple[Any, list[Any]]:
    agent = Agent(model, [read_page], executor=InProcessExecutor())
    agent.messages = long_history()

    async def drain() -> list[Any]:
        return [e async for e in agent.stream(None)]

    import asyncio

    events = asyncio.run(drain())
    return agent, events


@pytest.mark.parametrize(
    ("body", "server_name"),
    [(OPENAI_BODY, "openai"), (VLLM_BODY, "vllm"), (LLAMA_CPP_BODY, "llama.cpp")],
)
def test_openai_compatible_overflow_is_reduced_and_retried(server: ScriptedServer, body: Any, server_name: str) -> None:
    server.json(400, body)
    server.sse([chunk(content="all read", finish="stop"), usage_chunk(2000, 3)])
    agent, events = run_agent(OpenAIModel("m", base_url=server.url + "/v1", api_key="sk-test", max_retries=0))
    result = events[-1].result
    assert result.stop_reason == "end_turn" and result.text == "all read", server_name
    (reduced,) = [e for e in events if isinstance(e, ContextReduced)]
    assert reduced.reason == "overflow" and reduced.window == 8192
    first, second = server.requests[0].body, server.requests[1].body
    assert len(second) < 8192 * 3 < len(first)  # what was sent again fits the window the error named
    assert len(agent.messages) == 63  # the conversation itself is whole


@pytest.mark.parametrize(
    "message",
    [
        "Input is too long for requested model.",
        "The model returned the following errors: too many input tokens",
    ],
)
def test_bedrock_overflow_is_reduced_and_retried(server: ScriptedServer, aws_env: None, message: str) -> None:
    server.aws_error(400, "ValidationException", message)
    server.events(converse_frames({"text": ["all read"]}, usage=(3000, 3)))
    model = BedrockModel("qwen.qwen3-32b-v1:0", endpoint_url=server.url, retry_delay=0.0, max_attempts=1)
    _, events = run_agent(model)
    result = events[-1].result
    assert result.stop_reason == "end_turn" and result.text == "all read"
    # the history (~18K tokens by our estimate) fits the table's 32,000 for this model, so the first request went
    # whole; Bedrock's answer says it did not fit, and the view is reduced below the table's budget
    reductions = [e for e in events if isinstance(e, ContextReduced)]
    assert [e.reason for e in reductions] == ["overflow"] and reductions[0].window == 32_000
    assert len(server.requests[1].body) < len(server.requests[0].body)


def test_a_plain_bad_request_is_not_an_overflow(server: ScriptedServer, collect: Any) -> None:
    server.json(400, {"error": {"message": "tools[0].function.name is invalid", "code": "invalid_value"}})
    model = OpenAIModel("m", base_url=server.url + "/v1", api_key="sk-test", max_retries=0)
    with pytest.raises(ModelHTTPError) as caught:
        collect(model, [Message.user("hi")])
    assert not isinstance(caught.value, ContextOverflow)


@pytest.mark.parametrize(
    ("text", "body", "limit"),
    [
        ("This model's maximum context length is 131072 tokens.", None, 131072),
        ("The decoder prompt (length 9000) is longer than the maximum model length of 8192.", None, 8192),
        ("the request exceeds the available context size, try increasing it", LLAMA_CPP_BODY, 8192),
        ("Requested tokens (9000) exceed context window of 4096", None, 4096),
        ("Input is too long for requested model.", None, None),
    ],
)
def test_each_servers_wording_is_recognised_with_its_limit(text: str, body: Any, limit: int | None) -> None:
    error = overflow_error(text, body)
    assert isinstance(error, ContextOverflow) and isinstance(error, ModelError)
    assert error.limit == limit


def test_vllm_reports_its_window_in_v1_models(server: ScriptedServer) -> None:
    server.json(200, {"object": "list", "data": [{"id": "m", "object": "model", "max_model_len": 4096}]})
    model = OpenAIModel("m", base_url=server.url + "/v1", api_key="sk-test", server="vllm")
    import asyncio

    assert asyncio.run(find_window(model)) == 4096
    assert server.requests[0].path == "/v1/models"


LLAMA_SERVER_PROPS = {  # llama-server's GET /props, trimmed (the window it runs with is n_ctx, per slot)
    "default_generation_settings": {"id": 0, "n_ctx": 2048, "params": {"n_predict": -1, "temperature": 0.8}},
    "total_slots": 1,
    "model_path": "models/smollm2.gguf",
    "chat_template": "{{ messages }}",
}


def test_llama_cpp_reports_its_running_window_in_props(server: ScriptedServer) -> None:
    import asyncio

    server.json(200, LLAMA_SERVER_PROPS)
    model = OpenAIModel("m", base_url=server.url + "/v1", api_key="sk-test", server="llama.cpp")
    assert asyncio.run(find_window(model)) == 2048
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/props")]  # beside /v1, not under it
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"  # llama-server --api-key covers it


@pytest.mark.parametrize("reply", [(404, {"error": {"code": 404, "message": "File Not Found"}}), (200, {"x": 1})])
def test_a_llama_cpp_server_without_a_window_in_props_leaves_it_unknown(
    server: ScriptedServer, reply: tuple[int, Any]
) -> None:
    import asyncio

    server.json(*reply)
    model = OpenAIModel("m", base_url=server.url + "/v1/", api_key="sk-test", server="llama.cpp", max_retries=0)
    assert asyncio.run(find_window(model)) is None


@pytest.mark.parametrize("declared", [None, "openai", "llama-cpp-python", "ollama"])
def test_servers_not_declared_as_saying_their_window_are_not_asked(
    server: ScriptedServer, declared: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.delenv("AGENTKIT_OPENAI_SERVER", raising=False)
    model = OpenAIModel("m", base_url=server.url + "/v1", api_key="sk-test", server=declared)
    assert asyncio.run(find_window(model)) is None
    assert server.requests == []  # llama-cpp-python 0.3.36 has no /props and no window in /v1/models


def test_an_agent_on_llama_cpp_fits_the_window_props_reports(server: ScriptedServer) -> None:
    server.json(200, LLAMA_SERVER_PROPS)
    server.sse([chunk(content="all read", finish="stop"), usage_chunk(1500, 3)])
    model = OpenAIModel("m", base_url=server.url + "/v1", api_key="sk-test", server="llama.cpp")
    _, events = run_agent(model)
    assert events[-1].result.text == "all read"
    (reduced,) = [e for e in events if isinstance(e, ContextReduced)]
    assert reduced.reason == "window" and reduced.window == 2048
    assert [r.path for r in server.requests] == ["/props", "/v1/chat/completions"]  # no overflow on the way
    assert len(server.requests[1].body) < 2048 * 4


def test_bedrock_ids_have_a_window_from_the_table() -> None:
    import asyncio

    model = BedrockModel("us.qwen.qwen3-coder-480b-a35b-v1:0")
    assert asyncio.run(find_window(model)) == 128_000


def test_bedrocks_openai_endpoint_uses_the_bedrock_table_without_asking_the_server() -> None:
    import asyncio

    import httpx
    import openai

    asked: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:  # no request may leave this machine
        asked.append(str(request.url))
        return httpx.Response(500)

    url = "https://bedrock-runtime.us-east-1.amazonaws.com/openai/v1"
    client = openai.AsyncOpenAI(
        base_url=url, api_key="k", http_client=httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    )
    for model_id, window in [("openai.gpt-oss-120b-1:0", 128_000), ("us.qwen.qwen3-32b-v1:0", 32_000)]:
        model = OpenAIModel(model_id, client=client)
        assert asyncio.run(find_window(model)) == window, model_id
    assert asyncio.run(find_window(OpenAIModel("no.such-model", client=client))) is None
    assert asked == []
    # the constructor Bedrock users call targets that endpoint
    made = OpenAIModel.bedrock("openai.gpt-oss-20b-1:0", region="eu-west-1", api_key="k")
    assert asyncio.run(find_window(made)) == 128_000


def test_a_fallback_chain_takes_the_smallest_window_its_backends_know() -> None:
    import asyncio

    from agentkit.models import FallbackModel, FunctionModel

    big, small = BedrockModel("openai.gpt-oss-120b-1:0"), BedrockModel("us.qwen.qwen3-32b-v1:0")
    unknown = FunctionModel(lambda m, t: "ok")
    assert asyncio.run(find_window(FallbackModel([big, small]))) == 32_000
    assert asyncio.run(find_window(FallbackModel([unknown, big]))) == 128_000  # an unknown window is left out
    assert asyncio.run(find_window(FallbackModel([unknown]))) is None
    assert asyncio.run(find_window(FallbackModel([FallbackModel([big, small]), big]))) == 32_000


def test_an_agent_on_a_fallback_chain_fits_the_smaller_backends_window() -> None:
    from agentkit.models import FallbackModel, FunctionModel

    sent: list[int] = []

    def script(messages: Any, tools: Any) -> str:
        sent.append(sum(len(m.content) + sum(len(r.content) for r in m.tool_results) for m in messages))
        return "all read"

    primary = FunctionModel(script)
    backup = FunctionModel(script)
    backup.context_window = 4000  # type: ignore[attr-defined]  # a window only the backup knows
    agent, events = run_agent(FallbackModel([primary, backup]))
    assert events[-1].result.text == "all read"
    assert agent.context is not None and agent.context.window == 4000
    (reduced,) = [e for e in events if isinstance(e, ContextReduced)]
    assert reduced.reason == "window" and sent[0] < 4000 * 4
