"""What the parsers produce: the one-shot result, the incremental events, and the collector joining them.

Every parser is written once, as an incremental machine that emits events. `parse()` feeds the whole text
in one piece and collects the same events a stream would, so the one-shot result and the streamed result
cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
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
]


@dataclass(slots=True, kw_only=True)
class ParsedCall:
    """One tool call read from text. `complete` is False when the output was cut off inside the call."""

    name: str
    arguments: dict[str, Any]
    raw: str
    index: int = 0
    complete: bool = True

    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments, "raw": self.raw, "complete": self.complete}


@dataclass(slots=True, kw_only=True)
class InvalidCall:
    """Tool-call syntax that could not be read as a call: the text, why, and the tool name when known."""

    raw: str
    reason: str
    name: str | None = None
    index: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "reason": self.reason, "raw": self.raw}


@dataclass(slots=True, kw_only=True)
class ParseResult:
    """Calls, user-visible content and reasoning found in one model output."""

    calls: list[ParsedCall] = field(default_factory=list)
    content: str | None = None
    reasoning: str | None = None
    invalid_calls: list[InvalidCall] = field(default_factory=list)
    format: str = "hermes"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "content": self.content,
            "reasoning": self.reasoning,
            "calls": [c.to_dict() for c in self.calls],
            "invalid_calls": [c.to_dict() for c in self.invalid_calls],
        }


# ---- incremental events ---------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class ContentDelta:
    text: str
    kind: Literal["content"] = "content"


@dataclass(slots=True, kw_only=True)
class ReasoningText:
    text: str
    kind: Literal["reasoning"] = "reasoning"


@dataclass(slots=True, kw_only=True)
class CallStarted:
    index: int
    name: str
    kind: Literal["call_started"] = "call_started"


@dataclass(slots=True, kw_only=True)
class ArgumentsDelta:
    """A fragment of the call's arguments as JSON text; the fragments of one call join into valid JSON."""

    index: int
    text: str
    kind: Literal["arguments_delta"] = "arguments_delta"


@dataclass(slots=True, kw_only=True)
class CallFinished:
    index: int
    call: ParsedCall
    kind: Literal["call_finished"] = "call_finished"


@dataclass(slots=True, kw_only=True)
class CallInvalid:
    index: int
    invalid: InvalidCall
    kind: Literal["call_invalid"] = "call_invalid"


ParseEvent = ContentDelta | ReasoningText | CallStarted | ArgumentsDelta | CallFinished | CallInvalid


class Emitter:
    """Where a machine writes its events; merges adjacent text deltas and numbers the calls.

    Adjacent text is gathered in a list and joined once, when another event comes or the events are taken:
    growing one delta's string by `+=` copied it each time, which made a flood of small pieces quadratic."""

    __slots__ = ("_text", "_text_kind", "events", "next_index")

    def __init__(self) -> None:
        self.events: list[ParseEvent] = []
        self.next_index = 0
        self._text: list[str] = []
        self._text_kind = ""

    def content(self, text: str) -> None:
        self._add_text("content", text)

    def reasoning(self, text: str) -> None:
        self._add_text("reasoning", text)

    def _add_text(self, kind: str, text: str) -> None:
        if text:
            if kind != self._text_kind:
                self._flush()
                self._text_kind = kind
            self._text.append(text)

    def _flush(self) -> None:
        if self._text:
            text = "".join(self._text)
            self.events.append(ContentDelta(text=text) if self._text_kind == "content" else ReasoningText(text=text))
            self._text = []
        self._text_kind = ""

    def start(self, name: str) -> int:
        self._flush()
        index = self.next_index
        self.next_index += 1
        self.events.append(CallStarted(index=index, name=name))
        return index

    def arguments(self, index: int, text: str) -> None:
        if text:
            self._flush()
            self.events.append(ArgumentsDelta(index=index, text=text))

    def finish(self, call: ParsedCall) -> None:
        self._flush()
        self.events.append(CallFinished(index=call.index, call=call))

    def invalid(self, raw: str, reason: str, name: str | None = None, index: int | None = None) -> None:
        self._flush()
        if index is None:
            index = self.next_index
            self.next_index += 1
        invalid = InvalidCall(raw=raw, reason=reason, name=name, index=index)
        self.events.append(CallInvalid(index=index, invalid=invalid))

    def take(self) -> list[ParseEvent]:
        self._flush()
        events, self.events = self.events, []
        return events


class Collector:
    """Folds events into a ParseResult."""

    __slots__ = ("calls", "content", "invalid", "reasoning")

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[ParsedCall] = []
        self.invalid: list[InvalidCall] = []

    def add(self, events: list[ParseEvent]) -> None:
        for event in events:
            if isinstance(event, ContentDelta):
                self.content.append(event.text)
            elif isinstance(event, ReasoningText):
                self.reasoning.append(event.text)
            elif isinstance(event, CallFinished):
                self.calls.append(event.call)
            elif isinstance(event, CallInvalid):
                self.invalid.append(event.invalid)

    def result(self, format: str) -> ParseResult:
        return ParseResult(
            calls=list(self.calls),
            content="".join(self.content) or None,
            reasoning="".join(self.reasoning) or None,
            invalid_calls=list(self.invalid),
            format=format,
        )
