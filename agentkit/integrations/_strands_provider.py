"""An agentkit backend as a Strands model provider: `strands.Agent(model=AgentkitModelProvider(model))`.

Strands sends Converse-shaped messages and tool specs; they become agentkit Messages and ToolDefinitions,
the agentkit backend streams its turn, tool calls left in its text are recovered (so a Qwen3-Coder
`<tool_call>` from a local model becomes a Strands toolUse), and the events go back as Strands
StreamEvent dicts: messageStart, content blocks (text, reasoningContent, toolUse with JSON input),
messageStop with the stop reason, metadata with usage.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, TypeVar

import pydantic
from strands.models import Model as StrandsModelBase

from agentkit.errors import ConfigError
from agentkit.integrations._strands_convert import (
    INVALID_CALL_KEY,
    UNREADABLE_CALL_NAME,
    messages_from_strands,
    spec_schema,
    spec_to_definition,
    stop_to_strands,
    system_text,
    usage_to_strands,
)
from agentkit.integrations._strands_structured import structured_output
from agentkit.messages import ReasoningDelta, StreamEvent, TextDelta, ToolCall, ToolCallEvent, TurnEnd
from agentkit.models.base import Model, ModelSettings
from agentkit.parsing import recover_tool_calls
from agentkit.tooling import coerce_arguments

__all__ = ["AgentkitModelProvider"]

T = TypeVar("T", bound=pydantic.BaseModel)

_SETTINGS_KEYS = ("max_tokens", "temperature", "top_p", "stop", "reasoning_effort")


class AgentkitModelProvider(StrandsModelBase):
    """Any agentkit Model (Bedrock, OpenAI-compatible, local Transformers, ScriptedModel...) as a Strands Model.

    Config keys: `max_tokens`, `temperature`, `top_p`, `stop`, `reasoning_effort` (agentkit ModelSettings),
    `text_format` (how the backend's text is searched for tool calls; default: the backend's own),
    `structured_output_retries` (how often an answer that does not validate is sent back; default 2), and
    anything else, which reaches the backend as `ModelSettings.extra`.
    """

    def __init__(self, model: Model, **config: Any) -> None:
        if not hasattr(model, "stream") or not hasattr(model, "name"):
            raise ConfigError(
                f"AgentkitModelProvider wraps an agentkit Model (with .name and .stream), got {type(model).__name__}"
            )
        self.model = model
        self.config: dict[str, Any] = {"text_format": getattr(model, "text_format", "auto")}
        self.update_config(**config)

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        return {"model_id": self.model.name, **self.config}

    def _settings(self, tool_choice: Any) -> ModelSettings:
        settings = ModelSettings(**{k: self.config[k] for k in _SETTINGS_KEYS if self.config.get(k) is not None})
        skip = {*_SETTINGS_KEYS, "text_format", "context_window_limit", "structured_output_retries"}
        settings.extra = {k: v for k, v in self.config.items() if k not in skip}
        settings.tool_choice = _tool_choice(tool_choice)
        return settings

    async def stream(
        self,
        messages: Any,
        tool_specs: list[Any] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: Any = None,
        system_prompt_content: list[Any] | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[Any, None]:
        """One model turn as Strands StreamEvents. Extra keyword arguments from the SDK are accepted and unused."""
        history = messages_from_strands(messages, system_text(system_prompt, system_prompt_content))
        specs = [dict(s) for s in tool_specs or []]
        definitions = [spec_to_definition(s) for s in specs]
        schemas = {s["name"]: spec_schema(s) for s in specs}
        events = self.model.stream(history, definitions, self._settings(tool_choice))
        text_format = self.config.get("text_format")
        if text_format is not None:
            events = recover_tool_calls(
                events,
                format=text_format,
                tools=definitions,
                model_name=self.model.name,
                thinking=getattr(self.model, "text_thinking", None),
            )
        async for event in _to_strands_events(events, schemas):
            yield event

    async def structured_output(
        self, output_model: type[T], prompt: Any, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Ask for `output_model` through agentkit's typed results (agentkit.output): one tool call, forced where
        the backend can force it, else that call or the JSON as text; the errors of an answer that does not
        validate go back to the model (config `structured_output_retries`, default 2). The last event is
        `{"output": instance}`; OutputError (keeping the raw answer) when no answer validates."""
        events = structured_output(
            self.stream,
            f"{type(self).__name__}: model {self.model.name!r}",
            output_model,
            prompt,
            system_prompt,
            forcing=bool(getattr(self.model, "supports_tool_choice", False)),
            retries=int(self.config.get("structured_output_retries", 2)),
        )
        async for event in events:
            yield event


class _BlockWriter:
    """Opens and closes Strands content blocks as the kind of agentkit event changes."""

    def __init__(self) -> None:
        self.open: str | None = None

    def switch(self, kind: str | None) -> list[dict[str, Any]]:
        if kind == self.open:
            return []
        out: list[dict[str, Any]] = []
        if self.open is not None:
            out.append({"contentBlockStop": {}})
        if kind is not None:
            out.append({"contentBlockStart": {"start": {}}})
        self.open = kind
        return out


async def _to_strands_events(
    events: AsyncIterator[StreamEvent], schemas: dict[str, dict[str, Any]]
) -> AsyncIterator[dict[str, Any]]:
    started = time.perf_counter()
    yield {"messageStart": {"role": "assistant"}}
    blocks = _BlockWriter()
    called = False
    end: TurnEnd | None = None
    async for event in events:
        if isinstance(event, TextDelta):
            if event.text:
                for item in blocks.switch("text"):
                    yield item
                yield {"contentBlockDelta": {"delta": {"text": event.text}}}
        elif isinstance(event, ReasoningDelta):
            for item in blocks.switch("reasoning"):
                yield item
            if event.text:
                yield {"contentBlockDelta": {"delta": {"reasoningContent": {"text": event.text}}}}
            if event.signature:
                yield {"contentBlockDelta": {"delta": {"reasoningContent": {"signature": event.signature}}}}
        elif isinstance(event, ToolCallEvent):
            for item in blocks.switch(None):
                yield item
            called = True
            for item in _tool_use_events(event.call, schemas):
                yield item
        elif isinstance(event, TurnEnd):
            end = event
    for item in blocks.switch(None):
        yield item
    end = end or TurnEnd()
    reason = "tool_use" if called and end.stop_reason == "end_turn" else stop_to_strands(end.stop_reason)
    yield {"messageStop": {"stopReason": reason}}
    latency = int((time.perf_counter() - started) * 1000)
    yield {"metadata": {"usage": usage_to_strands(end.usage), "metrics": {"latencyMs": latency}}}


def _tool_use_events(call: ToolCall, schemas: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    arguments = call.arguments
    name = call.name
    if call.invalid_reason:
        arguments, name = {INVALID_CALL_KEY: call.invalid_reason}, name or UNREADABLE_CALL_NAME
    elif call.strings_only and isinstance(arguments, dict) and call.name in schemas:
        # Qwen3-Coder parameters are all strings; Strands tools expect the schema's types.
        arguments = coerce_arguments(arguments, schemas[call.name])
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return [
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": call.id, "name": name}}}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": text}}}},
        {"contentBlockStop": {}},
    ]


def _tool_choice(choice: Any) -> str | None:
    """Strands' tool_choice (`{"auto": {}}`, `{"any": {}}`, `{"tool": {"name": N}}`) -> agentkit's ("auto",
    "required", N), which each backend puts in its own wire shape."""
    if not choice:
        return None
    if isinstance(choice, str):
        return choice
    if isinstance(choice, dict):
        if "auto" in choice:
            return "auto"
        if "any" in choice:
            return "required"
        tool = choice.get("tool")
        if isinstance(tool, dict) and isinstance(tool.get("name"), str):
            return str(tool["name"])
    raise ConfigError(
        f"unknown Strands tool_choice {choice!r}; expected "
        '{"auto": {}}, {"any": {}} or {"tool": {"name": ...}}'
    )
