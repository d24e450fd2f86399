"""OpenTelemetry spans (agentkit.telemetry): names, GenAI attributes and parenting, read back with the SDK's
in-memory exporter; one run exported over OTLP/HTTP to a loopback receiver; nothing imported when off."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from _requires import require

from agentkit import Agent, FunctionModel, ToolCall, Turn, telemetry, tool
from agentkit.messages import Usage
from agentkit.tooling import InProcessExecutor

try:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind, StatusCode

    HAVE_SDK = True
except ImportError:  # pragma: no cover - CI installs it
    HAVE_SDK = False


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def broken() -> str:
    """Always fails."""
    raise ValueError("no")


def two_turns(messages, tools):
    if messages[-1].role == "tool":
        return Turn(text="done", usage=Usage(input_tokens=30, output_tokens=4))
    calls = [ToolCall(id="c1", name="add", arguments={"a": 1, "b": 2})]
    return Turn(calls=calls, usage=Usage(input_tokens=20, output_tokens=7))


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    require(HAVE_SDK, "opentelemetry-sdk", "pip install opentelemetry-sdk")
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    telemetry.instrument(tracer_provider=provider)
    try:
        yield memory
    finally:
        telemetry.uninstrument()


def by_name(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    named: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        named.setdefault(span.name, []).append(span)
    return named


def test_a_run_makes_an_invoke_agent_span_with_chat_and_execute_tool_children(exporter) -> None:
    agent = Agent(
        model=FunctionModel(two_turns, name="qwen-test"), tools=[add], name="calc", executor=InProcessExecutor()
    )
    result = agent("add 1 and 2")
    spans = by_name(exporter.get_finished_spans())
    assert sorted(spans) == ["chat qwen-test", "execute_tool add", "invoke_agent calc"]
    (run,) = spans["invoke_agent calc"]
    chats = spans["chat qwen-test"]
    (call,) = spans["execute_tool add"]
    assert run.parent is None
    assert all(s.parent is not None and s.parent.span_id == run.context.span_id for s in [*chats, call])
    assert {s.context.trace_id for s in [run, *chats, call]} == {run.context.trace_id}
    assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["gen_ai.agent.name"] == "calc"
    assert run.attributes["gen_ai.usage.input_tokens"] == result.usage.input_tokens == 50
    assert run.attributes["gen_ai.usage.output_tokens"] == 11
    assert run.status.status_code is StatusCode.UNSET
    first, second = sorted(chats, key=lambda s: s.start_time or 0)
    assert first.kind is SpanKind.CLIENT
    assert first.attributes["gen_ai.operation.name"] == "chat"
    assert first.attributes["gen_ai.request.model"] == "qwen-test"
    assert (first.attributes["gen_ai.usage.input_tokens"], first.attributes["gen_ai.usage.output_tokens"]) == (20, 7)
    assert tuple(first.attributes["gen_ai.response.finish_reasons"]) == ("tool_use",)
    assert (second.attributes["gen_ai.usage.input_tokens"], second.attributes["gen_ai.usage.output_tokens"]) == (30, 4)
    assert call.attributes["gen_ai.operation.name"] == "execute_tool"
    assert call.attributes["gen_ai.tool.name"] == "add"
    assert call.attributes["gen_ai.tool.call.id"] == result.tool_calls[0].id
    assert "error.type" not in call.attributes
    assert first.end_time <= call.start_time <= call.end_time <= second.start_time  # type: ignore[operator]


def test_failing_tools_and_models_set_error_type(exporter) -> None:
    def script(messages, tools):
        if messages[-1].role != "tool":
            return Turn(
                calls=[ToolCall(id="b", name="broken", arguments={}), ToolCall(id="u", name="nope", arguments={})]
            )
        raise RuntimeError("backend down")

    agent = Agent(model=FunctionModel(script), tools=[broken], executor=InProcessExecutor())
    with pytest.raises(RuntimeError):
        agent("go")
    spans = by_name(exporter.get_finished_spans())
    for span in spans["execute_tool broken"] + spans["execute_tool nope"]:
        assert span.attributes["error.type"] == "tool_error"
        assert span.status.status_code is StatusCode.ERROR
    failed_chat = [s for s in spans["chat function"] if s.status.status_code is StatusCode.ERROR]
    assert [s.attributes["error.type"] for s in failed_chat] == ["RuntimeError"]
    (run,) = spans["invoke_agent agent"]
    assert run.attributes["error.type"] == "RuntimeError"
    assert run.status.status_code is StatusCode.ERROR


def test_an_agent_run_as_a_tool_nests_under_its_execute_tool_span(exporter) -> None:
    inner = Agent(model=FunctionModel(lambda m, t: "inner answer"), name="helper", executor=InProcessExecutor())

    def outer_script(messages, tools):
        if messages[-1].role == "tool":
            return "outer answer"
        return Turn(calls=[ToolCall(id="h", name="helper", arguments={"prompt": "hi"})])

    outer = Agent(model=FunctionModel(outer_script), tools=[inner.as_tool()], name="boss", executor=InProcessExecutor())
    assert outer("ask").text == "outer answer"
    spans = by_name(exporter.get_finished_spans())
    (call,) = spans["execute_tool helper"]
    (nested,) = spans["invoke_agent helper"]
    assert nested.parent is not None and nested.parent.span_id == call.context.span_id
    assert nested.context.trace_id == spans["invoke_agent boss"][0].context.trace_id


def test_a_session_id_is_the_conversation_id(exporter, tmp_path: Path) -> None:
    agent = Agent(model=FunctionModel(lambda m, t: "ok"), session=tmp_path / "s1.jsonl")
    agent("hello")
    (run,) = exporter.get_finished_spans()[-1:]
    assert run.name == "invoke_agent agent"
    assert run.attributes["gen_ai.conversation.id"] == agent.session.id


def run_python(code: str, **env: str) -> str:
    import os

    result = subprocess.run(
        [sys.executable, "-P", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_off_by_default_imports_no_opentelemetry() -> None:
    out = run_python(
        """
        import sys
        from agentkit import Agent, FunctionModel
        Agent(model=FunctionModel(lambda m, t: "hi"))("x")
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
        """
    )
    assert out == "[]"


def test_a_process_wide_sdk_provider_turns_spans_on_and_agentkit_otel_off_turns_them_off() -> None:
    require(HAVE_SDK, "opentelemetry-sdk", "pip install opentelemetry-sdk")
    code = """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from agentkit import Agent, FunctionModel
        Agent(model=FunctionModel(lambda m, t: "hi"))("x")  # before a provider is set: no spans, no error
        memory = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(memory))
        trace.set_tracer_provider(provider)
        Agent(model=FunctionModel(lambda m, t: "hi"))("x")
        print(sorted(s.name for s in memory.get_finished_spans()))
        """
    assert run_python(code) == "['chat function', 'invoke_agent agent']"
    assert run_python(code, AGENTKIT_OTEL="off") == "[]"


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.bodies.append((self.path, self.headers["Content-Type"], self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_spans_arrive_over_otlp_http_at_a_loopback_receiver() -> None:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    except ImportError:
        OTLPSpanExporter = None
    require(HAVE_SDK and OTLPSpanExporter is not None, "the OTLP/HTTP exporter", "pip install 'agentkit[dev]'")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.bodies = []
    provider = TracerProvider()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=10)))
    telemetry.instrument(tracer_provider=provider)
    try:
        agent = Agent(model=FunctionModel(two_turns), tools=[add], name="calc", executor=InProcessExecutor())
        agent("add")
        provider.shutdown()
    finally:
        telemetry.uninstrument()
        server.shutdown()
        server.server_close()
    assert {(path, kind) for path, kind, _ in _Receiver.bodies} == {("/v1/traces", "application/x-protobuf")}
    spans = []
    for _, _, body in _Receiver.bodies:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                assert scope.scope.name == "agentkit"
                spans.extend(scope.spans)
    names = sorted(s.name for s in spans)
    assert names == ["chat function", "chat function", "execute_tool add", "invoke_agent calc"]
    run = next(s for s in spans if s.name == "invoke_agent calc")
    attributes = {a.key: a.value for a in run.attributes}
    assert attributes["gen_ai.usage.input_tokens"].int_value == 50
    assert all(s.parent_span_id == run.span_id for s in spans if s is not run)
    json.dumps(names)  # plain strings came back


def test_a_hostile_models_tool_name_and_call_id_are_cut_in_spans(exporter) -> None:
    huge = "n" * 1_000_000

    def script(messages, tools):
        if messages[-1].role == "tool":
            return Turn(text="done")
        return Turn(calls=[ToolCall(id="i" * 1_000_000, name=huge, arguments={})])

    assert Agent(FunctionModel(script), [add], executor=InProcessExecutor())("go").text == "done"
    (span,) = [s for s in exporter.get_finished_spans() if s.name.startswith("execute_tool")]
    assert len(span.name) <= 300
    assert all(len(v) <= telemetry.MAX_TEXT for v in span.attributes.values() if isinstance(v, str))
    assert span.attributes["gen_ai.tool.name"].startswith("nnn") and span.attributes["gen_ai.tool.name"].endswith("...")
