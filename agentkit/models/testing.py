"""Models for testing agents offline; they ship with agentkit so users can test theirs too.

- `ScriptedModel(turns)`: replays a list of turns. A turn is a string (text the loop parses, so raw
  `<tool_call>` XML or Harmony text becomes calls), a `Turn` (text, reasoning, calls), a `ToolCall`, or a
  list of `ToolCall`s. `ScriptedModel.from_transcript(path)` replays a recorded session.
- `FunctionModel(fn)`: `fn(messages, tools)` returns the next turn in any of those shapes, so a test can
  answer based on what it sees (for example, echo a tool result).
- `RecordingModel(inner, path)`: passes another model through and appends every turn it produced to a
  JSONL transcript that `ScriptedModel.from_transcript` replays. Each line also notes the request it answered
  (the tool names and the first user prompt), and a replay whose agent has other tools or whose conversation
  began with another prompt is a ModelError, not a silent answer to a different question.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentkit.errors import ModelError, clip
from agentkit.messages import (
    Message,
    ReasoningDelta,
    StopReason,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    TurnEnd,
    Usage,
    new_call_id,
)
from agentkit.models.base import ModelSettings
from agentkit.tooling import ToolDefinition

__all__ = ["FunctionModel", "RecordingModel", "ScriptedModel", "Turn"]


@dataclass(slots=True, kw_only=True)
class Turn:
    """One scripted model turn."""

    text: str = ""
    reasoning: str | None = None
    calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    stop_reason: StopReason | None = None  # default: "tool_use" with calls, else "end_turn"
    error: str | None = None  # raise a ModelError instead of answering
    tools: list[str] | None = None  # recorded: the tool names the model was offered
    prompt: str | None = None  # recorded: the conversation's first user prompt

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.reasoning is not None:
            data["reasoning"] = self.reasoning
        if self.calls:
            data["calls"] = [_call_dict(c) for c in self.calls]
        if self.usage is not None:
            data["usage"] = {"input_tokens": self.usage.input_tokens, "output_tokens": self.usage.output_tokens}
        if self.stop_reason is not None:
            data["stop_reason"] = self.stop_reason
        if self.tools is not None:
            data["tools"] = self.tools
        if self.prompt is not None:
            data["prompt"] = self.prompt
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        usage = data.get("usage")
        return cls(
            text=data.get("text", ""),
            reasoning=data.get("reasoning"),
            calls=[ToolCall(**c) for c in data.get("calls", [])],
            usage=Usage(**usage) if usage else None,
            stop_reason=data.get("stop_reason"),
            tools=data.get("tools"),
            prompt=data.get("prompt"),
        )


def _call_dict(call: ToolCall) -> dict[str, Any]:
    data: dict[str, Any] = {"name": call.name, "arguments": call.arguments, "id": call.id}
    for key in ("raw", "invalid_reason"):
        if getattr(call, key) is not None:
            data[key] = getattr(call, key)
    if call.strings_only:
        data["strings_only"] = True
    return data


TurnLike = str | Turn | ToolCall | list[ToolCall]


def as_turn(item: TurnLike) -> Turn:
    if isinstance(item, Turn):
        return item
    if isinstance(item, str):
        return Turn(text=item)
    if isinstance(item, ToolCall):
        return Turn(calls=[item])
    if isinstance(item, list) and all(isinstance(c, ToolCall) for c in item):
        return Turn(calls=list(item))
    raise TypeError(f"a scripted turn must be str, Turn, ToolCall or list[ToolCall], not {type(item).__name__}")


async def _emit(turn: Turn) -> AsyncIterator[StreamEvent]:
    if turn.error:
        raise ModelError(turn.error)
    if turn.reasoning:
        yield ReasoningDelta(text=turn.reasoning)
    if turn.text:
        yield TextDelta(text=turn.text)
    for call in turn.calls:
        # A fresh id per replay: a transcript replayed twice must not share call ids.
        yield ToolCallEvent(call=replace(call, id=new_call_id()))
    usage = turn.usage or Usage(output_tokens=max(1, len(turn.text) // 4))
    stop = turn.stop_reason or ("tool_use" if turn.calls else "end_turn")
    yield TurnEnd(stop_reason=stop, usage=usage)


class ScriptedModel:
    """Replays scripted turns in order; a run that asks for more turns than scripted gets a clear error."""

    text_format: str | None = "auto"

    def __init__(self, turns: Sequence[TurnLike], *, name: str = "scripted", text_format: str | None = "auto"):
        self.turns = [as_turn(t) for t in turns]
        self.name = name
        self.text_format = text_format
        self.position = 0
        self.requests: list[list[Message]] = []  # what the model was shown, turn by turn
        self.replay = False  # a recorded transcript: each turn must answer the request it was recorded for

    @classmethod
    def from_transcript(cls, path: str | os.PathLike[str], **kwargs: Any) -> ScriptedModel:
        turns = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                turns.append(Turn.from_dict(json.loads(line)))
        model = cls(turns, **kwargs)
        model.replay = True
        return model

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        if self.position >= len(self.turns):
            raise ModelError(
                f"ScriptedModel {self.name!r} has no turn {self.position + 1}: "
                f"only {len(self.turns)} were scripted; add more turns"
            )
        turn = self.turns[self.position]
        self.position += 1
        self.requests.append(list(messages))
        if self.replay:
            _check_request(self.name, turn, messages, tools)
        async for event in _emit(turn):
            yield event


def _first_prompt(messages: Sequence[Message]) -> str | None:
    return next((m.content for m in messages if m.role == "user"), None)


def _check_request(name: str, turn: Turn, messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> None:
    """A recorded turn answers the request it was recorded for, or the replay is an error."""
    offered = sorted(t.name for t in tools)
    if turn.tools is not None and sorted(turn.tools) != offered:
        raise ModelError(
            f"{name} was recorded for an agent with the tools {', '.join(sorted(turn.tools)) or '(none)'}, but this "
            f"agent has {', '.join(offered) or '(none)'}; replay it with the agent it was recorded with"
        )
    unknown = sorted({c.name for c in turn.calls} - set(offered))
    if unknown:
        raise ModelError(f"{name} calls {', '.join(unknown)}, which this agent does not have; replay it with its agent")
    prompt = _first_prompt(messages)
    if turn.prompt is not None and prompt != turn.prompt:
        raise ModelError(
            f"{name} was recorded for the prompt {clip(turn.prompt, 200)!r}, not {clip(prompt or '', 200)!r}; "
            "give the recorded prompt or record a new transcript"
        )


class FunctionModel:
    """Asks `fn(messages, tools)` for each turn."""

    def __init__(
        self,
        fn: Callable[[Sequence[Message], Sequence[ToolDefinition]], TurnLike],
        *,
        name: str = "function",
        text_format: str | None = "auto",
    ) -> None:
        self.fn = fn
        self.name = name
        self.text_format = text_format

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        # a snapshot: the loop appends to the live history after this turn, and fn may keep what it was given
        async for event in _emit(as_turn(self.fn(list(messages), tools))):
            yield event


class RecordingModel:
    """Wraps a model and appends each turn it produced to a JSONL transcript."""

    def __init__(self, inner: Any, path: str | os.PathLike[str]) -> None:
        self.inner = inner
        self.path = Path(path)
        self.name = f"recording({inner.name})"
        self.text_format = inner.text_format
        self.supports_tool_choice = getattr(inner, "supports_tool_choice", False)  # typed results, as unwrapped
        self.text_thinking = getattr(inner, "text_thinking", None)

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        turn = Turn(tools=sorted(t.name for t in tools), prompt=_first_prompt(messages))
        async for event in self.inner.stream(messages, tools, settings):
            if isinstance(event, TextDelta):
                turn.text += event.text
            elif isinstance(event, ReasoningDelta):
                turn.reasoning = (turn.reasoning or "") + event.text
            elif isinstance(event, ToolCallEvent):
                turn.calls.append(event.call)
            elif isinstance(event, TurnEnd):
                turn.usage, turn.stop_reason = event.usage, event.stop_reason
            yield event
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(turn.to_dict(), ensure_ascii=False) + "\n")
