"""The wire-neutral data every room shares: messages, tool calls and results, usage, stream events.

Backends translate these shapes to and from their own at the edge. Everything here is a plain dataclass
that round-trips through `to_dict` / `from_dict` (used by sessions and transcripts).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "Message",
    "ReasoningDelta",
    "Role",
    "StopReason",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEvent",
    "ToolResult",
    "TurnEnd",
    "Usage",
    "new_call_id",
]

Role = Literal["system", "user", "assistant", "tool"]

# Why a model turn ended (from the backend) or why a run ended (from the loop).
StopReason = Literal[
    "end_turn",  # the model answered without calling tools
    "tool_use",  # the model turn ended with tool calls
    "max_tokens",  # the backend's output budget ran out
    "stop_sequence",
    "max_turns",
    "max_tool_calls",
    "deadline",
    "cancelled",
    "approval_required",  # a call waits for a person's decision (Agent.resume(approve=...))
    "repeated_tool_error",
    "context_overflow",  # the conversation stayed over the model's window after reducing it (agentkit.context)
    "content_filtered",
    "error",
]


def new_call_id() -> str:
    return "call_" + os.urandom(12).hex()  # 96 random bits, like a uuid4 cut to 24 hex digits, at a quarter the cost


@dataclass(slots=True, kw_only=True)
class ToolCall:
    """One call the model asked for.

    `arguments` is the decoded JSON object, or the raw string when the model sent something that
    does not decode (validation then reports it). `strings_only` marks calls from formats whose
    values are all strings (Qwen3-Coder parameters); only those get schema-driven coercion.
    `invalid_reason` is set when a parser found a call it could not read: the loop answers it with an
    error result carrying that reason, so the model can correct itself.
    """

    name: str
    arguments: Any
    id: str = field(default_factory=new_call_id)
    raw: str | None = None
    strings_only: bool = False
    invalid_reason: str | None = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(slots=True, kw_only=True)
class ToolResult:
    """The outcome of one call: text the model reads, and whether it is an error to correct."""

    call_id: str
    name: str
    content: str
    is_error: bool = False


@dataclass(slots=True, kw_only=True)
class Usage:
    """Tokens one turn (or a run, summed) used. `estimated` is True when any part was counted on our side
    because the backend reported none (a server that ignores `stream_options.include_usage`)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.estimated = self.estimated or other.estimated


@dataclass(slots=True, kw_only=True)
class Message:
    """One conversation entry.

    - system / user: `content`.
    - assistant: `content`, optional `reasoning` (with `reasoning_signature` where a backend signs it,
      as Bedrock does), and `tool_calls`.
    - tool: `tool_results`, in the order of the calls they answer.
    `meta` carries backend-specific extras that must survive a round trip (never needed to read it).
    """

    role: Role
    content: str = ""
    reasoning: str | None = None
    reasoning_signature: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def system(cls, text: str) -> Message:
        return cls(role="system", content=text)

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(role="user", content=text)

    @classmethod
    def assistant(cls, text: str = "", *, tool_calls: list[ToolCall] | None = None) -> Message:
        return cls(role="assistant", content=text, tool_calls=list(tool_calls or []))

    @classmethod
    def tool(cls, results: list[ToolResult]) -> Message:
        return cls(role="tool", tool_results=list(results))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: v for k, v in data.items() if v not in (None, "", [], {})} | {"role": self.role}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            role=data["role"],
            content=data.get("content", ""),
            reasoning=data.get("reasoning"),
            reasoning_signature=data.get("reasoning_signature"),
            tool_calls=[ToolCall(**c) for c in data.get("tool_calls", [])],
            tool_results=[ToolResult(**r) for r in data.get("tool_results", [])],
            meta=dict(data.get("meta", {})),
        )


# ---- stream events: what a Model yields -------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class TextDelta:
    """User-visible text (or raw text that may hold tool calls for the parser)."""

    text: str
    kind: Literal["text"] = "text"


@dataclass(slots=True, kw_only=True)
class ReasoningDelta:
    text: str
    signature: str | None = None
    kind: Literal["reasoning"] = "reasoning"


@dataclass(slots=True, kw_only=True)
class ToolCallDelta:
    """A fragment of a call being streamed (for UIs); the complete call follows as ToolCallEvent."""

    index: int
    name: str | None = None
    arguments_delta: str = ""
    kind: Literal["tool_call_delta"] = "tool_call_delta"


@dataclass(slots=True, kw_only=True)
class ToolCallEvent:
    """A complete tool call."""

    call: ToolCall
    kind: Literal["tool_call"] = "tool_call"


@dataclass(slots=True, kw_only=True)
class TurnEnd:
    """The model's turn is over: why, and what it cost."""

    stop_reason: StopReason = "end_turn"
    usage: Usage = field(default_factory=Usage)
    meta: dict[str, Any] = field(default_factory=dict)
    kind: Literal["turn_end"] = "turn_end"


StreamEvent = TextDelta | ReasoningDelta | ToolCallDelta | ToolCallEvent | TurnEnd
