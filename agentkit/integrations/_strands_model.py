"""Any Strands model provider as an agentkit Model: `agentkit.Agent(model=StrandsModel(BedrockModel(...)))`.

agentkit Messages and ToolDefinitions become Strands messages and tool specs; the provider's StreamEvent
dicts come back as agentkit events: text, reasoning, one complete ToolCallEvent per toolUse block (input
decoded from its streamed JSON text), and a TurnEnd with the stop reason and usage. The agentkit loop then
validates and runs the calls, as for any backend.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from strands.models import Model as StrandsModelBase
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

from agentkit.errors import ConfigError, ModelError, ModelUnavailable
from agentkit.integrations._strands_convert import (
    definition_to_spec,
    messages_to_strands,
    stop_from_strands,
    usage_from_strands,
)
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
from agentkit.models.base import ModelSettings
from agentkit.models.converse import converse_tool_choice
from agentkit.tooling import ToolDefinition

__all__ = ["StrandsModel"]

# Stream keys Strands uses to report a failure inside the stream (Bedrock ConverseStream exceptions).
_STREAM_ERRORS = (
    "internalServerException",
    "modelStreamErrorException",
    "serviceUnavailableException",
    "throttlingException",
    "validationException",
)
_UNAVAILABLE = {"serviceUnavailableException", "throttlingException", "internalServerException"}


@dataclass(slots=True)
class _Call:
    index: int
    id: str
    name: str
    input: list[str] = field(default_factory=list)


class StrandsModel:
    """Wraps a `strands.models.Model` instance so the agentkit loop can drive it.

    `settings` are not sent per request, save `tool_choice`: Strands providers take their options (max_tokens,
    temperature...) in their own constructor or `update_config`. Text is still searched for leaked tool calls
    (`text_format="auto"`), since servers sometimes leave a `<tool_call>` in the content.
    """

    text_thinking = False  # Strands providers stream reasoning as reasoningContent
    supports_tool_choice = True  # Strands passes tool_choice on to every provider (typed results force their tool)

    def __init__(self, model: Any, *, name: str | None = None, text_format: str | None = "auto") -> None:
        if not isinstance(model, StrandsModelBase):
            raise ConfigError(
                f"StrandsModel wraps a strands.models.Model instance (such as BedrockModel(...)), "
                f"got {type(model).__name__}"
            )
        self.strands_model = model
        self.text_format = text_format
        self.name = name or _default_name(model)

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        history, system = messages_to_strands(messages)
        specs: Any = [definition_to_spec(d) for d in tools] or None
        reader = _EventReader()
        choice = converse_tool_choice(settings.tool_choice) if specs else None  # Strands' ToolChoice: Converse's shape
        options: dict[str, Any] = {"tool_choice": choice} if choice else {}
        try:
            async for chunk in self.strands_model.stream(cast(Any, history), specs, system, **options):
                for event in reader.read(cast(dict[str, Any], chunk)):
                    yield event
        except ModelThrottledException as exc:
            raise ModelUnavailable(f"{self.name}: throttled by the provider ({exc}); retry later") from exc
        except ContextWindowOverflowException as exc:
            raise ModelError(f"{self.name}: the conversation exceeds the context window ({exc})") from exc
        for event in reader.finish():
            yield event


class _EventReader:
    """Folds Strands StreamEvent dicts into agentkit events."""

    def __init__(self) -> None:
        self.call: _Call | None = None
        self.calls = 0
        self.stop: str | None = None
        self.usage = Usage()
        self.meta: dict[str, Any] = {}

    def read(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        for key in _STREAM_ERRORS:
            if key in chunk:
                detail = chunk[key].get("message", chunk[key]) if isinstance(chunk[key], dict) else chunk[key]
                error = ModelUnavailable if key in _UNAVAILABLE else ModelError
                raise error(f"Strands provider reported {key}: {detail}")
        if "contentBlockStart" in chunk:
            return self._start(chunk["contentBlockStart"].get("start") or {})
        if "contentBlockDelta" in chunk:
            return self._delta(chunk["contentBlockDelta"].get("delta") or {})
        if "contentBlockStop" in chunk:
            return self._close()
        if "messageStop" in chunk:
            self.stop = chunk["messageStop"].get("stopReason")
        elif "metadata" in chunk:
            self.usage = usage_from_strands(chunk["metadata"].get("usage"))
            if "metrics" in chunk["metadata"]:
                self.meta["metrics"] = chunk["metadata"]["metrics"]
        return []

    def _start(self, start: dict[str, Any]) -> list[StreamEvent]:
        out = self._close()
        if "toolUse" in start:
            use = start["toolUse"]
            self.call = _Call(self.calls, use.get("toolUseId", ""), use.get("name", ""))
            self.calls += 1
            out.append(ToolCallDelta(index=self.call.index, name=self.call.name))
        return out

    def _delta(self, delta: dict[str, Any]) -> list[StreamEvent]:
        if "text" in delta:
            return [TextDelta(text=delta["text"])] if delta["text"] else []
        if "reasoningContent" in delta:
            part = delta["reasoningContent"]
            if part.get("text") or part.get("signature"):
                return [ReasoningDelta(text=part.get("text", ""), signature=part.get("signature"))]
            return []
        if "toolUse" in delta:
            return self._tool_delta(delta["toolUse"])
        return []

    def _tool_delta(self, use: dict[str, Any]) -> list[StreamEvent]:
        if self.call is None:  # a provider that names the call in its first delta instead of the block start
            self.call = _Call(self.calls, use.get("toolUseId", ""), use.get("name", ""))
            self.calls += 1
        self.call.id = self.call.id or use.get("toolUseId", "")
        self.call.name = self.call.name or use.get("name", "")
        piece = use.get("input", "")
        if not isinstance(piece, str):
            piece = json.dumps(piece)
        self.call.input.append(piece)
        return [ToolCallDelta(index=self.call.index, arguments_delta=piece)]

    def _close(self) -> list[StreamEvent]:
        call, self.call = self.call, None
        if call is None:
            return []
        return [ToolCallEvent(call=_complete(call))]

    def finish(self) -> list[StreamEvent]:
        out = self._close()
        reason: StopReason = stop_from_strands(self.stop)
        if self.calls and reason == "end_turn":
            reason = "tool_use"
        out.append(TurnEnd(stop_reason=reason, usage=self.usage, meta=self.meta))
        return out


def _complete(call: _Call) -> ToolCall:
    text = "".join(call.input)
    kwargs: dict[str, Any] = {"id": call.id} if call.id else {}
    if not text.strip():
        return ToolCall(name=call.name, arguments={}, **kwargs)
    try:
        return ToolCall(name=call.name, arguments=json.loads(text), raw=text, **kwargs)
    except ValueError as exc:
        # Unlike Strands (which silently substitutes {}), keep the text so validation can tell the model.
        return ToolCall(name=call.name, arguments=text, raw=text, invalid_reason=f"input is not valid JSON ({exc})")


def _default_name(model: StrandsModelBase) -> str:
    try:
        config = model.get_config()
    except Exception:
        config = None
    model_id = config.get("model_id") if isinstance(config, dict) else getattr(config, "model_id", None)
    return f"strands:{type(model).__name__}" + (f":{model_id}" if model_id else "")
