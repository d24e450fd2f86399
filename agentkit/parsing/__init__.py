"""Raw model text -> tool calls, content and reasoning, for Qwen3-Coder XML, Qwen3/Hermes JSON and gpt-oss
Harmony; one-shot (`parse`) and incremental (`StreamParser`), with the same result for any chunking.

    result = parse(text, tools=[read_file], model_name="qwen3-coder")
    result.calls[0].name, result.calls[0].arguments, result.content, result.reasoning, result.invalid_calls

`recover_tool_calls` (in `agentkit.parsing.recover`) runs a model's event stream through the parser, so tool
calls left in text become ToolCallEvents.
"""

from __future__ import annotations

from agentkit.parsing._events import (
    ArgumentsDelta,
    CallFinished,
    CallInvalid,
    CallStarted,
    ContentDelta,
    InvalidCall,
    ParsedCall,
    ParseEvent,
    ParseResult,
    ReasoningText,
)
from agentkit.parsing.detect import FORMATS, detect_format, format_for_model
from agentkit.parsing.recover import recover_tool_calls
from agentkit.parsing.stream import StreamParser, parse

__all__ = [
    "FORMATS",
    "ArgumentsDelta",
    "CallFinished",
    "CallInvalid",
    "CallStarted",
    "ContentDelta",
    "InvalidCall",
    "ParseEvent",
    "ParseResult",
    "ParsedCall",
    "ReasoningText",
    "StreamParser",
    "detect_format",
    "format_for_model",
    "parse",
    "recover_tool_calls",
]
