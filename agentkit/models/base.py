"""The one seam every backend plugs into: `Model.stream(messages, tools, settings)`.

A backend turns the conversation into its own wire shape, streams the answer back as `StreamEvent`s
(text, reasoning, tool calls, and one `TurnEnd` last), and never runs a tool.

`text_format` tells the loop how to read text that may hold tool calls: backends that return raw text
(local models, raw completions) set a format or "auto"; structured backends keep "auto" too, so a call a
server left in the text is still found; None turns text parsing off.

An optional `text_thinking` attribute refines that: False means the text never carries `</think>`-only
reasoning (structured backends return reasoning in its own field), so the parser streams content at once
instead of holding it until it knows; None (the default when absent) lets the parser decide.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from agentkit.messages import Message, StreamEvent
from agentkit.parsing.recover import recover_tool_calls
from agentkit.tooling import ToolDefinition

__all__ = [
    "MAX_TOKEN_COUNT",
    "Model",
    "ModelSettings",
    "ReasoningEffort",
    "ToolChoice",
    "token_count",
    "with_text_calls",
]

ReasoningEffort = Literal["low", "medium", "high"]

MAX_TOKEN_COUNT = 10**12  # more than any window or run: a larger reported count is a broken or hostile server


def token_count(value: Any) -> int:
    """A token count a backend reported, as an int; 0 (not reported) for anything that is not a count from 0 to
    MAX_TOKEN_COUNT (NaN, infinity, a negative or absurd number, a non-number), so no report can crash a run or
    throw the context window's estimates off."""
    if isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) <= 13:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return int(value) if 0 <= value <= MAX_TOKEN_COUNT else 0


# Whether the model may or must call a tool: "auto" (the default when tools are offered), "none", "required"
# (some tool), or the name of the one tool it must call.
ToolChoice = str


@dataclass(slots=True, kw_only=True)
class ModelSettings:
    """Per-request options. `extra` passes backend-specific fields through untouched.

    `tool_choice` (see ToolChoice) applies to every turn of a run; `Agent(...)(prompt, tool_choice=...)` sets it
    for the first model turn of one call only (so "required" cannot loop forever)."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    reasoning_effort: ReasoningEffort | None = None
    tool_choice: ToolChoice | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Model(Protocol):
    """A model backend."""

    name: str
    text_format: str | None

    def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        """Stream one model turn. The last event is a TurnEnd."""
        ...


def with_text_calls(
    stream: AsyncIterator[StreamEvent], model: Model, tools: Sequence[ToolDefinition]
) -> AsyncIterator[StreamEvent]:
    """`model`'s turn `stream`, with tool calls left in its text recovered as ToolCallEvents (when it has a
    text format), read with the model's own format, name and thinking hint."""
    if model.text_format is None:
        return stream
    return recover_tool_calls(
        stream,
        format=model.text_format,
        tools=tools,
        model_name=model.name,
        thinking=getattr(model, "text_thinking", None),
    )
