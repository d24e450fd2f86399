"""OpenTelemetry spans for agent runs, following the GenAI semantic conventions.

    invoke_agent {agent}        one per run (gen_ai.agent.name, gen_ai.conversation.id, summed token usage)
    ├── chat {model}            one per model call (gen_ai.request.model, gen_ai.usage.input_tokens/output_tokens,
    │                           gen_ai.response.finish_reasons; error.type when the call fails)
    └── execute_tool {tool}     one per tool call (gen_ai.tool.name, gen_ai.tool.call.id; error.type and an
                                ERROR status when the result is an error); current while the tool runs, so
                                an agent run as a tool, or an instrumented client a tool uses, nests under it

When spans are made (decided once per run, by `run_trace`):
- after `instrument()` (optionally with a `tracer_provider`), until `uninstrument()`;
- otherwise when the process already imported opentelemetry and set a real global tracer provider, as
  `opentelemetry-instrument` (ADOT on AgentCore) or an application's own SDK setup does. agentkit never
  imports opentelemetry itself in this case, so a process that does not use it pays one dict lookup per run.
  `AGENTKIT_OTEL=off` turns this automatic mode off.

Message and tool contents are never recorded (the conventions make them opt-in; they may hold secrets). What
the model wrote that is recorded (a call's tool name and id) and the run's detail are cut to `MAX_TEXT`
characters, so a hostile model cannot make spans (and an exporter's queue of them) any size. The
optional extra is `pip install 'agentkit[otel]'` (opentelemetry-api); exporting needs an SDK.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from agentkit.errors import MissingExtra

if TYPE_CHECKING:
    from agentkit.messages import StreamEvent, ToolCall, ToolResult
    from agentkit.models.base import Model, ModelSettings

__all__ = ["MAX_TEXT", "RunTrace", "instrument", "run_trace", "uninstrument"]

_SCOPE = "agentkit"
MAX_TEXT = 256  # characters of a text from the model (tool name, call id) or a run's detail in a span
_instrumented: list[Any] = []  # [tracer provider or None] while instrument() is in force
# agentkit's module -> gen_ai.provider.name (the conventions' well-known values where one exists)
_PROVIDERS = {"bedrock": "aws.bedrock", "converse": "aws.bedrock", "openai": "openai"}


def instrument(tracer_provider: Any = None) -> None:
    """Make spans for every agent run in this process, with `tracer_provider` (default: the global one)."""
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        raise MissingExtra("opentelemetry-api", "otel") from None
    _instrumented[:] = [tracer_provider]


def uninstrument() -> None:
    """Stop what `instrument()` started (the automatic mode still applies)."""
    _instrumented.clear()


def run_trace(agent_name: str, model: Model, conversation_id: str | None = None) -> RunTrace | None:
    """The tracing of one run, or None when spans are off (see the module docstring)."""
    if _instrumented:
        provider = _instrumented[0]
    elif "opentelemetry.trace" in sys.modules and os.environ.get("AGENTKIT_OTEL", "").lower() != "off":
        provider = _configured_provider()
        if provider is None:
            return None
    else:
        return None
    from opentelemetry import trace

    tracer = trace.get_tracer(_SCOPE, tracer_provider=provider)
    return RunTrace(tracer, agent_name, model, conversation_id)


def _configured_provider() -> Any:
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return provider


class RunTrace:
    """The spans of one run: the invoke_agent span and its children."""

    def __init__(self, tracer: Any, agent_name: str, model: Model, conversation_id: str | None) -> None:
        self._tracer = tracer
        self._agent_name = agent_name
        self._model = model
        self._conversation_id = conversation_id
        self._span: Any = None
        self._context: Any = None

    async def agent_run(self, events: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
        """`events` (an AgentLoop run) inside the invoke_agent span; the span ends with the run."""
        from opentelemetry import trace

        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": self._agent_name,
            "gen_ai.request.model": self._model.name,
            "gen_ai.provider.name": _provider_name(self._model),
        }
        if self._conversation_id:
            attributes["gen_ai.conversation.id"] = self._conversation_id
        span = self._tracer.start_span(f"invoke_agent {self._agent_name}", attributes=attributes)
        self._span, self._context = span, trace.set_span_in_context(span)
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    if getattr(event, "kind", None) == "done":  # RunEnd (loop imports this module)
                        _end_run(span, event.result)
                    yield event
        except BaseException as exc:
            _fail(span, exc)
            raise
        finally:
            span.end()

    async def chat(
        self, stream: AsyncIterator[StreamEvent], model: Model, settings: ModelSettings
    ) -> AsyncGenerator[StreamEvent, None]:
        """One model call's `stream` inside a chat span, child of the run's span."""
        from agentkit.messages import TurnEnd

        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model.name,
            "gen_ai.provider.name": _provider_name(model),
        }
        for key, value in (("max_tokens", settings.max_tokens), ("temperature", settings.temperature)):
            if value is not None:
                attributes[f"gen_ai.request.{key}"] = value
        span = self._tracer.start_span(f"chat {model.name}", context=self._context, kind=_client_kind())
        span.set_attributes(attributes)
        try:
            async for event in stream:
                if isinstance(event, TurnEnd):
                    span.set_attributes(
                        {
                            "gen_ai.usage.input_tokens": event.usage.input_tokens,
                            "gen_ai.usage.output_tokens": event.usage.output_tokens,
                            "gen_ai.response.finish_reasons": [event.stop_reason],
                        }
                    )
                yield event
        except BaseException as exc:
            _fail(span, exc)
            raise
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            span.end()

    @contextlib.contextmanager
    def tool(self, call: ToolCall) -> Iterator[ToolSpan]:
        """An execute_tool span, current while the call runs; `ToolSpan.result` records its outcome."""
        from opentelemetry import trace

        name = _short(call.name)
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": _short(call.id),
            "gen_ai.tool.type": "function",
        }
        span = self._tracer.start_span(f"execute_tool {name}", context=self._context, attributes=attributes)
        with trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            try:
                yield ToolSpan(span)
            except BaseException as exc:
                _fail(span, exc)
                raise


class ToolSpan:
    def __init__(self, span: Any) -> None:
        self._span = span

    def result(self, result: ToolResult) -> ToolResult:
        if result.is_error:
            from opentelemetry.trace import Status, StatusCode

            self._span.set_attribute("error.type", "tool_error")
            self._span.set_status(Status(StatusCode.ERROR, result.content[:200]))
        return result


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _provider_name(model: Model) -> str:
    module = type(model).__module__.rpartition(".")[2]
    return _PROVIDERS.get(module, module)


def _client_kind() -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind.CLIENT


def _end_run(span: Any, result: Any) -> None:
    span.set_attributes(
        {
            "gen_ai.usage.input_tokens": result.usage.input_tokens,
            "gen_ai.usage.output_tokens": result.usage.output_tokens,
            "agentkit.stop_reason": result.stop_reason,
            "agentkit.turns": result.turns,
        }
    )
    if result.stop_reason not in ("end_turn", "max_tokens", "approval_required"):
        from opentelemetry.trace import Status, StatusCode

        span.set_attribute("error.type", result.stop_reason)
        span.set_status(Status(StatusCode.ERROR, _short(result.detail or result.stop_reason)))


def _fail(span: Any, exc: BaseException) -> None:
    from opentelemetry.trace import Status, StatusCode

    if isinstance(exc, GeneratorExit):  # the consumer stopped early: not an error of the run
        return
    span.set_attribute("error.type", type(exc).__qualname__)
    span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
    span.record_exception(exc)
