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

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from agentkit.messages import Message, StreamEvent
from agentkit.tooling import ToolDefinition

__all__ = ["Model", "ModelSettings", "ReasoningEffort"]

ReasoningEffort = Literal["low", "medium", "high"]


@dataclass(slots=True, kw_only=True)
class ModelSettings:
    """Per-request options. `extra` passes backend-specific fields through untouched."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    reasoning_effort: ReasoningEffort | None = None
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
