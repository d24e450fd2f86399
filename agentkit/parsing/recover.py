"""Tool calls left in model text, recovered inside a model's event stream (for the agent loop).

Backends that return text (local Transformers, raw completions, a server whose own parser failed) emit calls
as text. `recover_tool_calls` wraps any Model stream: text goes through a StreamParser, everything else
passes through untouched, and each call found becomes a ToolCallEvent before the turn's TurnEnd.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

from agentkit.messages import ReasoningDelta, StreamEvent, TextDelta, ToolCall, ToolCallEvent, TurnEnd
from agentkit.parsing._events import CallFinished, CallInvalid, ContentDelta, ParseEvent, ReasoningText
from agentkit.parsing.stream import StreamParser

__all__ = ["recover_tool_calls"]


async def recover_tool_calls(
    events: AsyncIterable[StreamEvent],
    format: str = "auto",
    tools: Iterable[Any] | None = None,
    *,
    model_name: str | None = None,
    thinking: bool | None = None,
) -> AsyncIterator[StreamEvent]:
    """Yields `events` with the TextDeltas parsed: content -> TextDelta, reasoning -> ReasoningDelta, each
    call -> ToolCallEvent (an unreadable one carries `invalid_reason`). When a call was recovered, the
    TurnEnd's stop_reason becomes "tool_use". `thinking=False` says the text carries no `</think>`-only
    reasoning (structured backends return reasoning apart), so content streams at once."""
    parser: StreamParser | None = None
    strings_only = False
    recovered = False
    async for event in events:
        if isinstance(event, TextDelta):
            if parser is None:
                parser = StreamParser(format, tools, model_name=model_name, thinking=thinking)
            parsed = parser.feed(event.text)
            if len(parsed) == 1 and isinstance(parsed[0], ContentDelta) and parsed[0].text == event.text:
                yield event  # plain text: pass the original event on
                continue
            strings_only = parser.format == "qwen3_coder"
            for out in _convert(parsed, strings_only):
                recovered = recovered or isinstance(out, ToolCallEvent)
                yield out
        elif isinstance(event, TurnEnd):
            if parser is not None:
                tail = parser.finish()
                strings_only = parser.format == "qwen3_coder"
                parser = None
                cut_off = event.stop_reason == "max_tokens"
                for out in _convert(tail, strings_only, cut_off=cut_off):
                    recovered = recovered or isinstance(out, ToolCallEvent)
                    yield out
            if recovered and event.stop_reason != "tool_use":
                event = dataclasses.replace(event, stop_reason="tool_use")
            recovered = False
            yield event
        else:
            yield event
    if parser is not None:  # a stream that ended without a TurnEnd
        for out in _convert(parser.finish(), parser.format == "qwen3_coder"):
            yield out


def _convert(events: list[ParseEvent], strings_only: bool, *, cut_off: bool = False) -> Iterable[StreamEvent]:
    """Parser events as stream events. With `cut_off` (the turn hit its token limit), a call the output ended
    inside becomes an invalid call: its last argument may be half written, so it must not run. A call that
    only lacks its closing tags after a normal stop is salvaged, as the reference parsers do."""
    for event in events:
        if isinstance(event, ContentDelta):
            yield TextDelta(text=event.text)
        elif isinstance(event, ReasoningText):
            yield ReasoningDelta(text=event.text)
        elif isinstance(event, CallFinished):
            call = event.call
            if cut_off and not call.complete:
                reason = "the token limit cut the output inside this call, so its arguments are incomplete; nothing ran"
                yield ToolCallEvent(
                    call=ToolCall(name=call.name, arguments=call.raw, raw=call.raw, invalid_reason=reason)
                )
                continue
            yield ToolCallEvent(
                call=ToolCall(name=call.name, arguments=call.arguments, raw=call.raw, strings_only=strings_only)
            )
        elif isinstance(event, CallInvalid):
            bad = event.invalid
            yield ToolCallEvent(
                call=ToolCall(name=bad.name or "", arguments=bad.raw, raw=bad.raw, invalid_reason=bad.reason)
            )
