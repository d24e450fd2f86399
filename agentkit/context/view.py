"""What the model is sent: a view of the transcript, entry by entry, with a token estimate for each.

An `Entry` is one transcript message as sent: whole, with its tool results cleared, or with a note added (the
first user message carries the note saying what was left out, or a summary of it). A view is described by
where its entries come from, so a record of one (`encode`) rebuilds the same view from the same transcript
(`decode`): ["keep", a, b] (messages a..b-1 as they are), ["clear", a, b] (messages a..b-1, tool results
cleared), ["note", i, text] (message i with a note), ["clip", i, n] (tool message i, results cut to n
characters).

Counting (`Counter`): with the model's own tokenizer where the backend has one (`count_tokens`, local
models); else characters times a tokens-per-character ratio calibrated from the input tokens the backend
reports. The view's total is the sum of its entries' estimates plus an offset (what the last report said
minus what we estimated for that request: tool definitions, template tokens, estimation error), so each turn
counts only what it adds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agentkit.messages import Message, ToolResult

__all__ = ["Counter", "Entry", "cleared", "clipped", "decode", "encode", "with_note"]

_MESSAGE_OVERHEAD = 8  # chars: role markers and separators a template adds around each message


@dataclass(slots=True, frozen=True)
class Entry:
    """One message as sent: `source` is its index in the transcript; `cleared` its tool results replaced by
    notes; `note` a text appended to it (the first user message: what was left out, or a summary); `clip` its
    tool results cut to that many characters each (a result too big for the window on its own)."""

    source: int
    message: Message
    tokens: int
    cleared: bool = False
    note: str | None = None
    clip: int | None = None  # its tool results were cut to this many characters


def cleared(message: Message) -> Message:
    """A tool message whose results are replaced by short notes saying how to get them again."""
    results = [
        ToolResult(
            call_id=r.call_id,
            name=r.name,
            content=(
                f"[result cleared to fit the context window: {r.name} returned {len(r.content):,} characters "
                f"here. Call {r.name} again if you need it.]"
            ),
            is_error=r.is_error,
        )
        for r in message.tool_results
    ]
    return dataclasses.replace(message, tool_results=results)


def clipped(message: Message, limit: int) -> Message | None:
    """A tool message whose results longer than `limit` characters are cut there, with a note saying how much
    more the transcript holds; None when none is that long."""
    if not any(len(r.content) > limit for r in message.tool_results):
        return None
    results = []
    for r in message.tool_results:
        content = r.content
        if len(content) > limit:
            content = (
                f"{content[:limit]}\n[agentkit: cut to fit the context window; {len(content) - limit:,} more "
                f"characters of this result are not shown. Call {r.name} again with narrower arguments for a part.]"
            )
        results.append(ToolResult(call_id=r.call_id, name=r.name, content=content, is_error=r.is_error))
    return dataclasses.replace(message, tool_results=results)


def with_note(message: Message, note: str) -> Message:
    return dataclasses.replace(message, content=f"{message.content}\n\n{note}")


class Counter:
    """Token estimates for messages, calibrated from what the backend reports."""

    def __init__(self, tokenizer: Callable[[str], int] | None = None, tokens_per_char: float = 0.3) -> None:
        self.tokenizer = tokenizer
        self.tokens_per_char = tokens_per_char
        self.offset = 0  # reported minus estimated, at the last report
        self._last: tuple[int, int] | None = None  # (reported tokens, estimated tokens) of the last report

    def tokens(self, message: Message) -> int:
        text = _text(message)
        if self.tokenizer is not None:
            return self.tokenizer(text) + 4
        return math.ceil((len(text) + _MESSAGE_OVERHEAD) * self.tokens_per_char)

    def observe(self, reported: int, estimated: int) -> None:
        """The backend reported `reported` input tokens for a request we estimated at `estimated`."""
        if reported <= 0:
            return
        if self.tokenizer is None and self._last is not None:
            grew_reported, grew_estimated = reported - self._last[0], estimated - self._last[1]
            if abs(grew_estimated) >= 100:  # enough text between the two to learn the ratio from
                sample = self.tokens_per_char * grew_reported / grew_estimated
                if 0.02 <= sample <= 2.0:
                    self.tokens_per_char = 0.5 * self.tokens_per_char + 0.5 * sample
        self._last = (reported, estimated)
        self.offset = reported - estimated


def _text(message: Message) -> str:
    parts = [message.content]
    if message.reasoning:
        parts.append(message.reasoning)
    for call in message.tool_calls:
        parts.append(call.name)
        parts.append(call.arguments_json())
    for result in message.tool_results:
        parts.append(result.content)
    return " ".join(parts)


# ---- records ------------------------------------------------------------------------------------


def encode(entries: Sequence[Entry]) -> list[list[Any]]:
    """The view as runs of transcript indexes (see the module docstring). A "clear" run clears the tool
    messages in it and keeps the others, so a stretch of old turns with cleared results is one run."""
    runs: list[list[Any]] = []
    for entry in entries:
        if entry.note is not None:
            runs.append(["note", entry.source, entry.note])
            continue
        if entry.clip is not None:
            runs.append(["clip", entry.source, entry.clip])
            continue
        # None: a message that has no results to clear, so it fits a run of either kind
        kind = "clear" if entry.cleared else ("keep" if entry.message.role == "tool" else None)
        last = runs[-1] if runs else None
        contiguous = last is not None and last[0] in ("keep", "clear", None) and last[2] == entry.source
        if last is not None and contiguous and (kind is None or last[0] in (None, kind)):
            last[2] = entry.source + 1
            last[0] = last[0] or kind
            continue
        runs.append([kind, entry.source, entry.source + 1])
    for run in runs:
        run[0] = run[0] or "keep"
    return runs


def decode(runs: Any, messages: Sequence[Message], counter: Counter) -> list[Entry] | None:
    """The entries a record describes, over `messages`; None when it does not fit them (a damaged record).
    A record is read from a session someone else may have written: its runs must cover increasing transcript
    indexes, each message at most once, so rebuilding costs at most one entry per message."""
    if not isinstance(runs, list):
        return None
    entries: list[Entry] = []
    after = 0  # the first transcript index the next run may describe
    for run in runs:
        if not isinstance(run, list) or len(run) != 3 or run[0] not in _RUN_KINDS:
            return None
        kind, first, last = run
        if not _index(first, after, len(messages)):
            return None
        if kind == "note":
            if not isinstance(last, str):
                return None
            message = with_note(messages[first], last)
            entries.append(Entry(first, message, counter.tokens(message), note=last))
        elif kind == "clip":
            if not _index(last, 0, None):
                return None
            message = clipped(messages[first], last) or messages[first]
            entries.append(Entry(first, message, counter.tokens(message), clip=last))
        else:
            if not _index(last - 1 if type(last) is int else None, first, len(messages)):
                return None
            for index in range(first, last):
                message = messages[index]
                clear = kind == "clear" and message.role == "tool"
                if clear:
                    message = cleared(message)
                entries.append(Entry(index, message, counter.tokens(message), cleared=clear))
        after = entries[-1].source + 1
    return entries


_RUN_KINDS = ("keep", "clear", "note", "clip")


def _index(value: Any, low: int, stop: int | None) -> bool:
    """Whether `value` is an int (not a bool) with low <= value < stop (no upper bound when stop is None)."""
    return type(value) is int and low <= value and (stop is None or value < stop)
