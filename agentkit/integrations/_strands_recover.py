"""Text tool-call recovery for the Strands provider.

Uses `agentkit.parsing.recover_tool_calls` when the parsing room provides it. Until then a small local
stand-in reads Qwen3-Coder (`<tool_call><function=...><parameter=...>`) and Hermes JSON (`<tool_call>{...}`)
calls out of a turn's text; it buffers the text of the turn, which the real parser does not need to.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agentkit.messages import StreamEvent, TextDelta, ToolCall, ToolCallEvent, TurnEnd
from agentkit.tooling import ToolDefinition

__all__ = ["recover"]

_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_FUNCTION = re.compile(r"<function=([^>\s]+)>(.*?)(?:</function>|$)", re.DOTALL)
_PARAMETER = re.compile(r"<parameter=([^>\s]+)>(.*?)(?:</parameter>|(?=<parameter=)|$)", re.DOTALL)


def recover(
    events: AsyncIterator[StreamEvent], text_format: str | None, tools: Sequence[ToolDefinition]
) -> AsyncIterator[StreamEvent]:
    if text_format is None:
        return events
    parser = getattr(importlib.import_module("agentkit.parsing"), "recover_tool_calls", None)
    if parser is None:
        return _local_recover(events)
    recovered: AsyncIterator[StreamEvent] = parser(events, format=text_format, tools=list(tools))
    return recovered


async def _local_recover(events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    text: list[str] = []
    async for event in events:
        if isinstance(event, TextDelta):
            text.append(event.text)
            continue
        if isinstance(event, TurnEnd):
            remainder, calls = _split("".join(text))
            if remainder:
                yield TextDelta(text=remainder)
            for call in calls:
                yield ToolCallEvent(call=call)
            if calls and event.stop_reason == "end_turn":
                event = TurnEnd(stop_reason="tool_use", usage=event.usage, meta=event.meta)
        yield event


def _split(text: str) -> tuple[str, list[ToolCall]]:
    if "<tool_call>" not in text:
        return text, []
    calls = [_read_call(match.group(1)) for match in _BLOCK.finditer(text)]
    remainder = _BLOCK.sub("", text).strip()
    return remainder, calls


def _read_call(body: str) -> ToolCall:
    function = _FUNCTION.search(body)
    if function:
        arguments = {m.group(1): _strip_newline(m.group(2)) for m in _PARAMETER.finditer(function.group(2))}
        return ToolCall(name=function.group(1), arguments=arguments, raw=body, strings_only=True)
    try:
        data: Any = json.loads(body)
        return ToolCall(name=str(data["name"]), arguments=data.get("arguments", {}), raw=body)
    except (ValueError, KeyError, TypeError) as exc:
        return ToolCall(name="", arguments=body, raw=body, invalid_reason=f"unreadable <tool_call> ({exc})")


def _strip_newline(value: str) -> str:
    # Qwen3-Coder puts each parameter value on its own lines; only those framing newlines go.
    if value.startswith("\n"):
        value = value[1:]
    if value.endswith("\n"):
        value = value[:-1]
    return value
