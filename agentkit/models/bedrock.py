"""Amazon Bedrock through the Converse API (ConverseStream, or Converse with `streaming=False`).

Configuration, in order: constructor arguments, then the environment.

- region: `region=`, then `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `us-west-2` (where every model in
  `BEDROCK_MODELS` is offered).
- credentials: boto3's usual chain (environment, `profile=` or `AWS_PROFILE`, `~/.aws`, SSO, instance roles),
  or a ready `client=`.
- retries: botocore retries throttling and 5xx answers to the request itself (`retry_mode`, and
  `max_attempts` counting the first try);
  errors that arrive inside the event stream are retried here, but only before this turn yielded anything.

Reasoning (gpt-oss) is surfaced as `ReasoningDelta` and sent back with the assistant message on the next
request, signature included, as Bedrock requires during a tool loop.
"""

from __future__ import annotations

import functools
import json
import os
import random
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from agentkit.errors import MissingExtra, ModelError, ModelTimeout, ModelUnavailable

try:
    import boto3
    import botocore.loaders
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtra("boto3", "bedrock") from exc

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
from agentkit.models._overflow import overflow_error
from agentkit.models.base import ModelSettings, token_count
from agentkit.models.converse import converse_tool_choice, to_converse_messages
from agentkit.tooling import TOOL_NAME, ToolDefinition

__all__ = ["BEDROCK_MODELS", "DEFAULT_REGION", "BedrockModel", "bedrock_family", "strip_region_prefix"]

DEFAULT_REGION = "us-west-2"

# Short names accepted as "bedrock:<alias>"; values are the Bedrock model ids.
BEDROCK_MODELS: dict[str, str] = {
    "gpt-oss-120b": "openai.gpt-oss-120b-1:0",
    "gpt-oss-20b": "openai.gpt-oss-20b-1:0",
    "qwen3-235b": "qwen.qwen3-235b-a22b-2507-v1:0",
    "qwen3-32b": "qwen.qwen3-32b-v1:0",
    "qwen3-coder-30b": "qwen.qwen3-coder-30b-a3b-v1:0",
    "qwen3-coder-480b": "qwen.qwen3-coder-480b-a35b-v1:0",
}

# Cross-region inference profiles prefix the model id with a geography.
_REGION_PREFIXES = ("us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov.")
_RETRYABLE_CODES = {
    "ThrottlingException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelStreamErrorException",
    "ModelNotReadyException",
}
_CREDENTIAL_CODES = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidClientTokenId",
    "MissingAuthenticationTokenException",
}
_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "content_filtered": "content_filtered",
    "guardrail_intervened": "content_filtered",
}


@functools.cache
def _shared_loader() -> Any:
    """botocore's loader of service-model JSON, shared: the files are read-only, and parsing them per client
    costs more than the rest of building one."""
    return botocore.loaders.create_loader()


def strip_region_prefix(model_id: str) -> str:
    """`us.qwen.qwen3-32b-v1:0` -> `qwen.qwen3-32b-v1:0`."""
    for prefix in _REGION_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :]
    return model_id


@dataclass(slots=True, frozen=True)
class _Family:
    text_format: str
    reasoning_effort: bool  # accepts additionalModelRequestFields.reasoning_effort
    replay_reasoning: bool  # reasoning blocks go back with assistant messages


def bedrock_family(model_id: str) -> _Family:
    """What a model id says about its tool-call text format and reasoning."""
    base = strip_region_prefix(model_id)
    if base.startswith("qwen.qwen3-coder"):
        return _Family("qwen3_coder", reasoning_effort=False, replay_reasoning=False)
    if base.startswith("qwen."):
        return _Family("hermes", reasoning_effort=False, replay_reasoning=False)
    if base.startswith("openai.gpt-oss"):
        return _Family("harmony", reasoning_effort=True, replay_reasoning=True)
    return _Family("auto", reasoning_effort=False, replay_reasoning=True)


class BedrockModel:
    """A Bedrock model behind the agentkit Model protocol."""

    text_thinking = False  # reasoning arrives as reasoningContent, never as </think> in the text
    supports_tool_choice = True  # a final answer can be a forced tool call (agentkit.output)

    def __init__(
        self,
        model_id: str,
        *,
        region: str | None = None,
        profile: str | None = None,
        client: Any = None,
        streaming: bool = True,
        retry_mode: str = "adaptive",
        max_attempts: int = 4,
        stream_retries: int = 2,
        retry_delay: float = 0.5,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        endpoint_url: str | None = None,
        additional_request_fields: dict[str, Any] | None = None,
        text_format: str | None = None,
    ) -> None:
        self.model_id = BEDROCK_MODELS.get(model_id, model_id)
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        self.profile = profile
        self.name = f"bedrock:{self.model_id}"
        self.family = bedrock_family(self.model_id)
        self.text_format = text_format if text_format is not None else self.family.text_format
        self.streaming = streaming
        self.stream_retries = stream_retries
        self.retry_delay = retry_delay
        self.additional_request_fields = dict(additional_request_fields or {})
        self._client = client
        self._client_options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "config": Config(
                retries={"mode": retry_mode, "total_max_attempts": max_attempts},
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                user_agent_extra="agentkit",
            ),
        }

    def __repr__(self) -> str:
        return f"BedrockModel({self.model_id!r}, region={self.region!r})"

    @property
    def client(self) -> Any:
        """The boto3 bedrock-runtime client, made on first use."""
        if self._client is None:
            # A session of our own: boto3's default session would cache credentials across models.
            core = botocore.session.get_session()
            core.register_component("data_loader", _shared_loader())
            session = boto3.session.Session(botocore_session=core, profile_name=self.profile)
            self._client = session.client("bedrock-runtime", region_name=self.region, **self._client_options)
        return self._client

    # ---- requests -----------------------------------------------------------------------------

    def build_request(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> dict[str, Any]:
        """The Converse / ConverseStream keyword arguments for one turn."""
        system, conversation = to_converse_messages(messages, replay_reasoning=self.family.replay_reasoning)
        request: dict[str, Any] = {"modelId": self.model_id, "messages": conversation}
        if system:
            request["system"] = system
        inference = _inference_config(settings)
        if inference:
            request["inferenceConfig"] = inference
        if tools:
            request["toolConfig"] = {"tools": [tool.to_bedrock() for tool in tools]}
            if choice := converse_tool_choice(settings.tool_choice):
                request["toolConfig"]["toolChoice"] = choice
        elif history_tools := _history_tools(messages):
            # Converse refuses toolUse/toolResult history without a toolConfig: declare the tools it names.
            request["toolConfig"] = {"tools": history_tools}
        extra = dict(self.additional_request_fields)
        if settings.reasoning_effort and self.family.reasoning_effort:
            extra["reasoning_effort"] = settings.reasoning_effort
        extra.update(settings.extra)
        if extra:
            request["additionalModelRequestFields"] = extra
        return request

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        request = self.build_request(messages, tools, settings)
        if not self.streaming:
            response = await self._call(lambda: self.client.converse(**request))
            for event in events_from_converse(response):
                yield event
            return
        attempt = 0
        while True:
            yielded = False
            try:
                async for event in self._stream_once(request):
                    yielded = True
                    yield event
                return
            except ClientError as exc:
                code = _error_code(exc)
                if yielded or code not in _RETRYABLE_CODES or attempt >= self.stream_retries:
                    raise self._translate(exc) from exc
            attempt += 1
            # Full jitter, as botocore does for the request itself.
            await anyio.sleep(random.uniform(0, self.retry_delay * 2**attempt))

    async def _stream_once(self, request: dict[str, Any]) -> AsyncIterator[StreamEvent]:
        # The client is made on first use, in the worker thread: building a boto3 session blocks.
        response = await self._call(lambda: self.client.converse_stream(**request))
        events: Iterator[dict[str, Any]] = iter(response["stream"])
        reader = _StreamReader()
        try:
            while True:
                raw = await self._call(functools.partial(next, events, None), mid_stream=True)
                if raw is None:
                    break
                for event in reader.feed(raw):
                    yield event
        finally:
            close = getattr(response["stream"], "close", None)
            if close is not None:
                close()
        yield reader.finish()

    async def _call(self, fn: Callable[[], Any], *, mid_stream: bool = False) -> Any:
        """Run a blocking boto3 call in a worker thread; botocore errors leave as agentkit errors."""
        try:
            return await anyio.to_thread.run_sync(fn)
        except ClientError as exc:
            if mid_stream and _error_code(exc) in _RETRYABLE_CODES:
                raise  # stream() decides whether nothing was yielded yet, so a retry is safe
            raise self._translate(exc) from exc
        except BotoCoreError as exc:
            raise self._translate(exc) from exc

    # ---- errors -------------------------------------------------------------------------------

    def _translate(self, exc: Exception) -> ModelError:
        where = f"Bedrock model {self.model_id!r} in region {self.region!r}"
        if isinstance(exc, NoCredentialsError):
            return ModelUnavailable(
                f"no AWS credentials found for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "set AWS_PROFILE, or run `aws configure` / `aws sso login`"
            )
        if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
            return ModelTimeout(f"{where} did not answer in time ({exc}); retry, or raise read_timeout")
        if isinstance(exc, EndpointConnectionError):
            return ModelUnavailable(
                f"cannot reach bedrock-runtime for {where} ({exc}); check the network and that "
                f"{self.region!r} is a Bedrock region (for example us-west-2, us-east-1)"
            )
        if not isinstance(exc, ClientError):
            return ModelUnavailable(f"{where} failed: {exc}")
        code = _error_code(exc)
        detail = exc.response.get("Error", {}).get("Message", str(exc))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _CREDENTIAL_CODES:
            return ModelUnavailable(
                f"AWS rejected the credentials for {where} ({code}: {detail}); refresh them "
                "(`aws sso login`, new keys) or check AWS_PROFILE"
            )
        if code == "AccessDeniedException":
            return ModelUnavailable(
                f"access denied to {where} ({detail}); enable the model under Bedrock > Model access "
                "in that region and allow bedrock:InvokeModel / bedrock:InvokeModelWithResponseStream"
            )
        if code == "ResourceNotFoundException" or "model identifier is invalid" in detail:
            return ModelUnavailable(
                f"{where} does not exist or is not offered there ({detail}); check the id "
                f"(known: {', '.join(sorted(BEDROCK_MODELS.values()))}) and the region"
            )
        if code == "ValidationException" and "on-demand throughput" in detail:
            return ModelUnavailable(
                f"{where} needs an inference profile ({detail}); use a prefixed id such as "
                f"'us.{strip_region_prefix(self.model_id)}'"
            )
        if code == "ModelTimeoutException":
            return ModelTimeout(f"{where} timed out ({detail}); retry or shorten the request")
        if code in _RETRYABLE_CODES or (status is not None and status >= 500):
            return ModelUnavailable(f"{where} is unavailable after retries ({code}: {detail}); try again later")
        if code == "ValidationException" and (overflow := overflow_error(detail)):
            overflow.args = (f"{where} rejected a request longer than the model's context window: {detail}",)
            return overflow
        if code == "ValidationException":
            return ModelError(
                f"Bedrock rejected the request to {where}: {detail}. Check the messages, the tool schemas "
                "and the settings (max_tokens, temperature, extra fields) sent with it"
            )
        return ModelError(f"{where} failed ({code}: {detail})")


def _history_tools(messages: Sequence[Message]) -> list[dict[str, Any]]:
    names = dict.fromkeys(call.name for m in messages for call in m.tool_calls if TOOL_NAME.match(call.name))
    schema = {"type": "object"}
    return [ToolDefinition(name, f"{name} (used earlier in this conversation)", schema).to_bedrock() for name in names]


def _inference_config(settings: ModelSettings) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if settings.max_tokens is not None:
        config["maxTokens"] = settings.max_tokens
    if settings.temperature is not None:
        config["temperature"] = settings.temperature
    if settings.top_p is not None:
        config["topP"] = settings.top_p
    if settings.stop:
        config["stopSequences"] = list(settings.stop)
    return config


def _error_code(exc: ClientError) -> str:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code[:1].upper() + code[1:]  # in-stream exceptions arrive as "throttlingException"


def _usage(data: dict[str, Any] | None) -> Usage:
    data = data or {}
    return Usage(
        input_tokens=token_count(data.get("inputTokens")),
        output_tokens=token_count(data.get("outputTokens")),
        cache_read_tokens=token_count(data.get("cacheReadInputTokens")),
    )


def _decode_input(raw: str) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # the loop reports undecodable arguments back to the model


# ---- responses -------------------------------------------------------------------------------


@dataclass(slots=True)
class _PendingCall:
    index: int
    id: str
    name: str
    parts: list[str] = field(default_factory=list)


class _StreamReader:
    """ConverseStream events -> agentkit stream events (one instance per turn)."""

    def __init__(self) -> None:
        self.calls: dict[int, _PendingCall] = {}
        self.made_calls = 0
        self.stop_reason: StopReason = "end_turn"
        self.usage = Usage()
        self.metrics: dict[str, Any] = {}

    def feed(self, event: dict[str, Any]) -> list[StreamEvent]:
        if "contentBlockStart" in event:
            return self._start(event["contentBlockStart"])
        if "contentBlockDelta" in event:
            return self._delta(event["contentBlockDelta"])
        if "contentBlockStop" in event:
            return self._stop(event["contentBlockStop"])
        if "messageStop" in event:
            self.stop_reason = _STOP_REASONS.get(event["messageStop"].get("stopReason", ""), "end_turn")
        elif "metadata" in event:
            self.usage = _usage(event["metadata"].get("usage"))
            self.metrics = dict(event["metadata"].get("metrics", {}))
        return []

    def _start(self, data: dict[str, Any]) -> list[StreamEvent]:
        tool_use = data.get("start", {}).get("toolUse")
        if not tool_use:
            return []
        index = int(data.get("contentBlockIndex", len(self.calls)))
        self.calls[index] = _PendingCall(index, tool_use.get("toolUseId", ""), tool_use.get("name", ""))
        return [ToolCallDelta(index=index, name=tool_use.get("name"))]

    def _delta(self, data: dict[str, Any]) -> list[StreamEvent]:
        delta = data.get("delta", {})
        if "text" in delta:
            return [TextDelta(text=delta["text"])] if delta["text"] else []
        if "reasoningContent" in delta:
            reasoning = delta["reasoningContent"]
            if "text" in reasoning or "signature" in reasoning:
                return [ReasoningDelta(text=reasoning.get("text", ""), signature=reasoning.get("signature"))]
            return []
        if "toolUse" in delta:
            index = int(data.get("contentBlockIndex", max(self.calls, default=0)))
            pending = self.calls.get(index)
            if pending is None:
                return []
            fragment = str(delta["toolUse"].get("input", ""))
            pending.parts.append(fragment)
            return [ToolCallDelta(index=index, arguments_delta=fragment)]
        return []

    def _stop(self, data: dict[str, Any]) -> list[StreamEvent]:
        index = data.get("contentBlockIndex")
        if index is None:
            index = max(self.calls, default=-1)
        pending = self.calls.pop(int(index), None)
        if pending is None:
            return []
        return [self._complete(pending)]

    def _complete(self, pending: _PendingCall) -> ToolCallEvent:
        self.made_calls += 1
        raw = "".join(pending.parts)
        call = ToolCall(name=pending.name, arguments=_decode_input(raw), raw=raw or None)
        if pending.id:
            call.id = pending.id
        return ToolCallEvent(call=call)

    def finish(self) -> TurnEnd:
        stop = self.stop_reason
        if self.made_calls and stop == "end_turn":
            stop = "tool_use"
        meta = {"metrics": self.metrics} if self.metrics else {}
        return TurnEnd(stop_reason=stop, usage=self.usage, meta=meta)


def events_from_converse(response: dict[str, Any]) -> list[StreamEvent]:
    """A (non-streaming) Converse response -> the same events ConverseStream would have produced."""
    events: list[StreamEvent] = []
    calls = 0
    for block in response.get("output", {}).get("message", {}).get("content", []):
        if "reasoningContent" in block:
            text = block["reasoningContent"].get("reasoningText", {})
            if text.get("text") or text.get("signature"):
                events.append(ReasoningDelta(text=text.get("text", ""), signature=text.get("signature")))
        elif block.get("text"):
            events.append(TextDelta(text=block["text"]))
        elif "toolUse" in block:
            use = block["toolUse"]
            call = ToolCall(name=use["name"], arguments=use.get("input", {}), id=use["toolUseId"])
            events.append(ToolCallEvent(call=call))
            calls += 1
    stop = _STOP_REASONS.get(response.get("stopReason", ""), "end_turn")
    if calls and stop == "end_turn":
        stop = "tool_use"
    meta = {"metrics": dict(response["metrics"])} if response.get("metrics") else {}
    events.append(TurnEnd(stop_reason=stop, usage=_usage(response.get("usage")), meta=meta))
    return events
