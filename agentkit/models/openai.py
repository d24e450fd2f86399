"""Any OpenAI-compatible chat-completions server: vLLM, Ollama, DashScope, Bedrock's OpenAI endpoint.

Configuration, in order: constructor arguments, then the environment.

- base URL: `base_url=`, then `OPENAI_BASE_URL`, then the SDK's default (api.openai.com).
- key: `api_key=`, then `OPENAI_API_KEY`; local servers that need none get a placeholder.
- model: `model=`; None asks the server's `/models` on first use and takes the first it lists (vLLM and
  Ollama serve one or a few).
- `OpenAIModel.bedrock(model, region=...)` targets https://bedrock-runtime.REGION.amazonaws.com/openai/v1
  with the Bedrock API key in `AWS_BEARER_TOKEN_BEDROCK`.

- server: `server=` (a name from `_openai_servers.KNOWN_SERVERS`, e.g. "llama-cpp-python"), then
  `AGENTKIT_OPENAI_SERVER`; it selects the server's quirks (data, not branches here), among them where the
  server says the model's context window (`fetch_context_window`).
- streaming: `stream=`, then `AGENTKIT_OPENAI_STREAM` ("0" or "false": off), default on. On, every turn the
  server can stream is streamed (an "auto" tool turn on a server that cannot is asked without streaming, which
  is also learned from an empty stream); off, no turn is.

Tools go out with `tool_choice` ("auto" unless the settings say otherwise). Tool calls stream as fragments keyed
by index; they are assembled here and emitted complete when the turn ends; a non-streamed answer goes through
the same reader. Arguments that are not valid JSON stay a raw string, which the loop reports to the model.
Usage the server does not report is estimated and marked so.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from agentkit.context.windows import bedrock_window
from agentkit.errors import ConfigError, MissingExtra, ModelError, ModelHTTPError, ModelTimeout, ModelUnavailable

try:
    import httpx
    import openai
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtra("openai", "openai") from exc

from agentkit.messages import (
    Message,
    ReasoningDelta,
    StopReason,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEvent,
    TurnEnd,
    Usage,
)
from agentkit.models._openai_servers import ServerQuirks, estimate_tokens, quirks_for
from agentkit.models._overflow import overflow_error
from agentkit.models.base import ModelSettings, token_count
from agentkit.tooling import ToolDefinition

__all__ = ["OpenAIModel", "to_openai_messages"]

_PLACEHOLDER_KEY = "not-needed"
_FINISH_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "content_filtered",
}


def _format_for(model: str) -> str:
    lowered = model.lower()
    if "gpt-oss" in lowered:
        return "harmony"
    if "qwen3-coder" in lowered or "qwen3_coder" in lowered:
        return "qwen3_coder"
    if "qwen" in lowered or "smollm" in lowered:  # SmolLM2 was trained on a Hermes-like list form
        return "hermes"
    return "auto"


class OpenAIModel:
    """A model served over the OpenAI chat-completions protocol."""

    text_thinking = False  # servers return reasoning in reasoning_content; a leading <think> still parses
    supports_tool_choice = True  # a final answer can be a forced tool call (agentkit.output)

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: Any = None,
        max_retries: int = 2,
        timeout: float = 120.0,
        include_usage: bool = True,
        replay_reasoning: bool | None = None,
        text_format: str | None = None,
        default_headers: dict[str, str] | None = None,
        server: str | ServerQuirks | None = None,
        stream: bool | None = None,
    ) -> None:
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self._default_endpoint = self.base_url is None and client is None
        if self._default_endpoint:
            warnings.warn(
                "OPENAI_BASE_URL is not set, so this model goes to api.openai.com; set OPENAI_BASE_URL (or "
                "base_url=) to use your own OpenAI-compatible server",
                stacklevel=2,
            )
        self.include_usage = include_usage
        self.quirks = quirks_for(server)
        self.supports_tool_choice = self.quirks.accepts_required  # else typed results ask for JSON text
        self.streaming = stream if stream is not None else _stream_from_env()
        self._explicit_format = text_format
        self._replay_reasoning = replay_reasoning
        self.name = "openai:?"
        self.text_format: str | None = text_format if text_format is not None else "auto"
        self.model: str | None = None
        if model:
            self._set_model(model)
        self._client = client or openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or _PLACEHOLDER_KEY,
            max_retries=max_retries,
            timeout=timeout,
            default_headers=default_headers,
        )
        self.base_url = str(self._client.base_url)

    @classmethod
    def bedrock(
        cls, model: str, *, region: str | None = None, api_key: str | None = None, **kwargs: Any
    ) -> OpenAIModel:
        """Bedrock's OpenAI-compatible endpoint, authenticated with a Bedrock API key."""
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-west-2"
        key = api_key or os.environ.get("AWS_BEARER_TOKEN_BEDROCK")
        if not key:
            raise ConfigError(
                "Bedrock's OpenAI endpoint needs a Bedrock API key: set AWS_BEARER_TOKEN_BEDROCK "
                "(create one in the Bedrock console under API keys) or pass api_key="
            )
        url = f"https://bedrock-runtime.{region}.amazonaws.com/openai/v1"
        return cls(model, base_url=url, api_key=key, **kwargs)

    def _set_model(self, model: str) -> None:
        self.model = model
        self.name = f"openai:{model}"
        if self._explicit_format is None:
            self.text_format = _format_for(model)

    def __repr__(self) -> str:
        return f"OpenAIModel({self.model!r}, base_url={self.base_url!r})"

    # ---- requests -----------------------------------------------------------------------------

    def build_request(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> dict[str, Any]:
        """The keyword arguments for `chat.completions.create` for one turn (streamed when it can be)."""
        replay = self._replay_reasoning
        if replay is None:
            replay = "gpt-oss" in (self.model or "")
        request: dict[str, Any] = {
            "model": self.model,
            "messages": to_openai_messages(messages, replay_reasoning=replay),
        }
        if tools:
            request["tools"] = [tool.to_openai() for tool in tools]
            request["tool_choice"] = self._tool_choice(settings.tool_choice, tools)
        request["stream"] = self.streaming and (
            self.quirks.streams_auto_tool_choice or request.get("tool_choice") != "auto"
        )
        if request["stream"] and self.include_usage:
            request["stream_options"] = {"include_usage": True}
        if settings.max_tokens is not None:
            request["max_tokens"] = settings.max_tokens
        if settings.temperature is not None:
            request["temperature"] = settings.temperature
        if settings.top_p is not None:
            request["top_p"] = settings.top_p
        if settings.stop:
            request["stop"] = list(settings.stop)
        if settings.reasoning_effort:
            request["reasoning_effort"] = settings.reasoning_effort
        if settings.extra:
            request["extra_body"] = dict(settings.extra)
        return request

    def _tool_choice(self, choice: str | None, tools: Sequence[ToolDefinition]) -> str | dict[str, Any]:
        """agentkit's tool_choice -> the wire's: "auto", "none", "required", or the named-function object."""
        if choice in (None, "auto", "none"):
            return choice or "auto"
        if choice == "required":
            if self.quirks.accepts_required:
                return "required"
            if len(tools) != 1:
                return "auto"
            choice = tools[0].name
        names = [tool.name for tool in tools]
        if choice not in names:
            raise ConfigError(
                f"tool_choice {choice!r} is not one of the offered tools ({', '.join(names)}); "
                'use "auto", "none", "required" or one of those names'
            )
        return {"type": "function", "function": {"name": choice}}

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        if self.model is None:
            self._set_model(await self._discover_model())
        request = self.build_request(messages, tools, settings)
        reader = _ChunkReader()
        fell_back = False
        if request["stream"]:
            async for event in self._read_stream(request, reader):
                yield event
            if reader.chunks == 0 and request.get("tool_choice") == "auto":
                # An empty stream for an "auto" tool turn: this server cannot stream those. Ask again without
                # streaming, and from now on ask such turns that way.
                self.quirks = dataclasses.replace(self.quirks, streams_auto_tool_choice=False)
                request, reader, fell_back = _unstreamed(request), _ChunkReader(), True
        if not request["stream"]:
            for event in reader.feed_completion(await self._open(request, reconnect=fell_back)):
                yield event
        for event in self._finish(reader, request):
            yield event

    async def _read_stream(self, request: dict[str, Any], reader: _ChunkReader) -> AsyncIterator[StreamEvent]:
        response = await self._open(request)
        try:
            async for chunk in response:
                for event in reader.feed(chunk):
                    yield event
        except openai.APIError as exc:
            raise self._translate(exc) from exc
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise ModelUnavailable(
                f"the connection to {self.base_url} broke while streaming ({exc!r}); retry, or check the server"
            ) from exc
        except ValueError as exc:  # a data: line that is not JSON
            raise ModelError(f"{self.base_url} sent a malformed stream chunk ({exc}); check the server's logs") from exc
        finally:
            await response.close()

    def _finish(self, reader: _ChunkReader, request: dict[str, Any]) -> list[StreamEvent]:
        events = reader.finish(f"{self.base_url} (model {self.model!r})", streamed=request["stream"])
        end = events[-1]
        if isinstance(end, TurnEnd) and not reader.usage_reported:
            end.usage = Usage(
                input_tokens=estimate_tokens(request["messages"], request.get("tools", "")),
                output_tokens=reader.output_tokens_estimate(),
                estimated=True,
            )
        return events

    async def _open(self, request: dict[str, Any], *, reconnect: bool = False) -> Any:
        """`reconnect`: the server may drop the connection its failed stream left (llama-cpp-python does),
        so a broken connection is tried once more on a new one."""
        try:
            return await self._client.chat.completions.create(**request)
        except openai.APIConnectionError as exc:
            if reconnect and not isinstance(exc, openai.APITimeoutError):
                return await self._open(request)
            raise self._translate(exc) from exc
        except openai.BadRequestError as exc:
            if "stream_options" in request and "stream_options" in str(exc):
                # Some servers refuse stream_options; ask again without it, and stop sending it.
                self.include_usage = False
                request = {k: v for k, v in request.items() if k != "stream_options"}
                return await self._open(request)
            raise self._translate(exc) from exc
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc

    async def _discover_model(self) -> str:
        try:
            page = await self._client.models.list()
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        ids = [m.id for m in page.data]
        if not ids:
            raise ConfigError(f"{self.base_url} lists no models; pass model= or set OPENAI_MODEL")
        return str(ids[0])

    async def fetch_context_window(self) -> int | None:
        """The served model's window, where the server says it (`ServerQuirks.window_from`): vLLM's and
        SGLang's `max_model_len` in `/v1/models`, llama.cpp's `n_ctx` in `/props`; on Bedrock's OpenAI
        endpoint, the Bedrock table's figure for the model (no request). None when the server is not declared
        as one that says (`server="vllm"`, "sglang", "llama.cpp": other servers are not asked, so no request is
        spent), says nothing, or cannot be asked."""
        if _is_bedrock(self.base_url):
            return bedrock_window(self.model)
        try:
            if self.quirks.window_from == "models":
                return self._window_in_models(await self._client.models.list())
            if self.quirks.window_from == "props":
                return _window_in_props(await self._client.get(_root(self.base_url) + "/props", cast_to=object))
        except openai.OpenAIError:
            return None
        return None

    def _window_in_models(self, page: Any) -> int | None:
        for entry in page.data:
            if self.model is not None and entry.id != self.model:
                continue
            value = (entry.model_extra or {}).get("max_model_len")
            if isinstance(value, int) and value > 0:
                return value
        return None

    # ---- errors -------------------------------------------------------------------------------

    def _translate(self, exc: Exception) -> ModelError:
        where = f"{self.base_url} (model {self.model!r})"
        if isinstance(exc, openai.APITimeoutError):
            return ModelTimeout(f"{where} did not answer in time; retry, or raise timeout=")
        if isinstance(exc, openai.APIConnectionError):
            hint = " (OPENAI_BASE_URL is not set, so this went to api.openai.com)" if self._default_endpoint else ""
            return ModelUnavailable(f"cannot connect to {where}{hint}: {exc.__cause__ or exc}; is the server running?")
        if not isinstance(exc, openai.APIStatusError):
            return ModelError(f"{where} failed: {exc}")
        status = exc.status_code
        detail = _error_detail(exc)
        if status in (401, 403):
            error: ModelError = ModelUnavailable(
                f"{where} rejected the credentials (HTTP {status}: {detail}); set OPENAI_API_KEY "
                "(AWS_BEARER_TOKEN_BEDROCK for Bedrock) to a valid key"
            )
        elif status == 404:
            error = ModelUnavailable(
                f"{where} answered 404 ({detail}); check the model name and that the base URL ends in /v1"
            )
        elif status == 429 or status >= 500:
            error = ModelUnavailable(f"{where} is unavailable after retries (HTTP {status}: {detail}); try later")
        elif status in (400, 413, 422) and (
            overflow := overflow_error(detail, exc.body, code=getattr(exc, "code", None))
        ):
            overflow.args = (f"{where} rejected a request longer than the model's context window: {detail}",)
            error = overflow
        elif status in (400, 422):
            error = ModelHTTPError(
                status, f"{where} rejected the request: {detail}. Check the messages, tool schemas and settings"
            )
        else:
            error = ModelHTTPError(status, f"{where} failed: {detail}")
        error.status = status  # type: ignore[attr-defined]
        return error


def _window_in_props(props: Any) -> int | None:
    """llama-server's `/props`: `default_generation_settings.n_ctx` is the window each request gets."""
    settings = props.get("default_generation_settings") if isinstance(props, dict) else None
    value = settings.get("n_ctx") if isinstance(settings, dict) else None
    return value if isinstance(value, int) and value > 0 else None


def _root(base_url: str | None) -> str:
    """The server's root: `/props` sits beside `/v1`, not under it."""
    root = (base_url or "").rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def _is_bedrock(base_url: str | None) -> bool:
    """Whether `base_url` is Bedrock's OpenAI-compatible endpoint (bedrock-runtime.REGION.amazonaws.com)."""
    host = urlsplit(base_url or "").hostname or ""
    return host.startswith("bedrock-runtime.") and host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def _stream_from_env() -> bool:
    value = os.environ.get("AGENTKIT_OPENAI_STREAM", "1").strip().lower()
    if value not in ("0", "1", "false", "true", "no", "yes", "off", "on"):
        raise ConfigError(f"AGENTKIT_OPENAI_STREAM={value!r} is not a switch; set it to 0 or 1")
    return value in ("1", "true", "yes", "on")


def _unstreamed(request: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in request.items() if k != "stream_options"} | {"stream": False}


def _error_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message


# ---- message translation ---------------------------------------------------------------------


def to_openai_messages(messages: Sequence[Message], *, replay_reasoning: bool = False) -> list[dict[str, Any]]:
    """agentkit messages -> chat-completions messages (one `tool` message per result)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            for result in message.tool_results:
                out.append({"role": "tool", "tool_call_id": result.call_id, "content": result.content})
        elif message.role == "assistant":
            # "" rather than null: llama-cpp-python's server refuses null (HTTP 500) and its template needs the key
            entry: dict[str, Any] = {"role": "assistant", "content": message.content}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments_json()},
                    }
                    for call in message.tool_calls
                ]
            if replay_reasoning and message.reasoning:
                entry["reasoning_content"] = message.reasoning
            out.append(entry)
        else:
            out.append({"role": message.role, "content": message.content})
    return out


# ---- responses -------------------------------------------------------------------------------


@dataclass(slots=True)
class _WholeChoice:
    index: int | None
    delta: Any
    finish_reason: str | None


@dataclass(slots=True)
class _WholeChunk:
    usage: Any
    choices: list[_WholeChoice]


@dataclass(slots=True)
class _PendingCall:
    id: str | None = None
    name: str = ""
    parts: list[str] = field(default_factory=list)


class _ChunkReader:
    """Chat-completion chunks, or one whole completion, -> agentkit stream events (one instance per turn)."""

    def __init__(self) -> None:
        self.calls: dict[int, _PendingCall] = {}
        self._aliases: dict[int, int] = {}  # the server's index -> our key
        self._last: int | None = None
        self.finish_reason: str | None = None
        self.usage = Usage()
        self.usage_reported = False
        self.chunks = 0
        self._output_chars = 0

    def feed(self, chunk: Any) -> list[StreamEvent]:
        self.chunks += 1
        if getattr(chunk, "usage", None) is not None:
            self.usage, self.usage_reported = _usage(chunk.usage), True
        events: list[StreamEvent] = []
        for choice in chunk.choices or []:
            if choice.index not in (0, None):
                continue
            delta = choice.delta
            if delta is not None:
                events.extend(self._delta(delta))
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return events

    def feed_completion(self, completion: Any) -> list[StreamEvent]:
        """A non-streamed answer: its message is read as one delta holding everything."""
        choices = [
            _WholeChoice(index=c.index, delta=c.message, finish_reason=c.finish_reason)
            for c in completion.choices or []
        ]
        return self.feed(_WholeChunk(usage=completion.usage, choices=choices))

    def output_tokens_estimate(self) -> int:
        return estimate_tokens("x" * self._output_chars)

    def _delta(self, delta: Any) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        extra = delta.model_extra or {}
        reasoning = extra.get("reasoning_content") or extra.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            self._output_chars += len(reasoning)
            events.append(ReasoningDelta(text=reasoning))
        if delta.content:
            self._output_chars += len(delta.content)
            events.append(TextDelta(text=delta.content))
        for fragment in delta.tool_calls or []:
            events.append(self._call_fragment(fragment))
        return events

    def _call_fragment(self, fragment: Any) -> ToolCallDelta:
        index = self._index_for(fragment)
        pending = self.calls.setdefault(index, _PendingCall())
        if fragment.id and not pending.id:
            pending.id = fragment.id
        function = getattr(fragment, "function", None)
        name = function.name if function is not None else None
        if name and not pending.name:
            pending.name = name
            self._output_chars += len(name)
        arguments = (function.arguments if function is not None else None) or ""
        self._output_chars += len(arguments)
        pending.parts.append(arguments)
        return ToolCallDelta(index=index, name=name, arguments_delta=arguments)

    def _index_for(self, fragment: Any) -> int:
        """Our key for a fragment: servers may repeat ids, omit indexes, or number every call 0."""
        index = getattr(fragment, "index", None)  # a whole completion's calls carry none
        if fragment.id:
            for known, pending in self.calls.items():
                if pending.id == fragment.id:
                    return self._remember(index, known)
        if index is None:
            if fragment.id or self._last is None:
                return self._remember(None, self._next_key())
            return self._last
        key = self._aliases.get(index, index)
        current = self.calls.get(key)
        if current is not None and fragment.id and current.id and fragment.id != current.id:
            key = self._next_key()
        return self._remember(index, key)

    def _next_key(self) -> int:
        return max(self.calls, default=-1) + 1

    def _remember(self, index: int | None, key: int) -> int:
        if index is not None:
            self._aliases[index] = key
        self._last = key
        return key

    def finish(self, where: str, *, streamed: bool = True) -> list[StreamEvent]:
        if streamed and self.chunks == 0:
            raise ModelUnavailable(
                f"{where} answered HTTP 200 with an empty stream (no data, no [DONE]): the server failed after "
                "sending its headers, so retrying the same request will not help; its log names the error "
                "(a server that cannot stream this kind of turn works with OpenAIModel(stream=False))"
            )
        if self.finish_reason is None:
            what = "closed the stream before the turn finished" if streamed else "answered without a finish_reason"
            raise ModelUnavailable(f"{where} {what}; retry, or check the server")
        events: list[StreamEvent] = []
        for index in sorted(self.calls):
            events.append(ToolCallEvent(call=_complete(self.calls[index])))
        stop = _FINISH_REASONS.get(self.finish_reason, "end_turn")
        if self.calls and stop == "end_turn":
            stop = "tool_use"
        events.append(TurnEnd(stop_reason=stop, usage=self.usage))
        return events


def _complete(pending: _PendingCall) -> ToolCall:
    raw = "".join(pending.parts)
    arguments: Any
    if not raw.strip():
        arguments = {}
    else:
        try:
            arguments = json.loads(raw)
        except ValueError:
            arguments = raw  # the loop tells the model its arguments were not JSON
    call = ToolCall(name=pending.name, arguments=arguments, raw=raw or None)
    if pending.id:
        call.id = pending.id
    return call


def _usage(usage: Any) -> Usage:
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return Usage(
        input_tokens=token_count(usage.prompt_tokens),
        output_tokens=token_count(usage.completion_tokens),
        cache_read_tokens=token_count(cached),
    )
