"""Qwen3 / Qwen2.5 Hermes-style JSON tool calls, read incrementally (reference toolcall-formats.md §2).

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

SmolLM2 and some Hermes fine-tunes were trained on a list of calls in one block, which is read as those calls:

    <tool_call>[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": ...}]</tool_call>

The body is scanned as JSON (strings, escapes and nesting tracked with a cursor), so a `</tool_call>` inside
a string value is text, and the call ends when its object closes. Each block is decoded on its own: a
malformed block becomes an invalid call with the decoder's reason and never hides the calls around it
(vLLM drops them all). `"parameters"` is accepted for `"arguments"`; string arguments that decode to an
object are used as that object (Granite 4 does this), any other string makes the call invalid.
Where agentkit deliberately differs from vLLM's Hermes parser (tests/parsing/test_upstream_vectors.py):
vLLM sends string `arguments` on as a JSON string (a client then decodes a string, not an object) and returns
the whole text as content when a `<tool_call>`'s JSON never closes; here the first is decoded or refused and
the second is an invalid call after the content before it, so the model hears that its call was cut off.
A `</tool_call>` inside an unclosed string still ends the block when only whitespace and then another
`<tool_call>` or the end of the text follow, so a stray quote cannot swallow the rest of the output.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit.parsing._events import Emitter, ParsedCall
from agentkit.parsing._scan import BufferedMachine, Markers, skip_gap

__all__ = ["HermesMachine", "decode_call", "decode_calls"]

_OPEN = "<tool_call>"
_CLOSE = "</tool_call>"
_OPEN_MARK = Markers(_OPEN)
_CLOSE_MARK = Markers(_CLOSE)
_OUTSIDE = re.compile(r'[{}\[\]"]|</tool_call>')
_INSIDE = re.compile(r'["\\]|</tool_call>')


def decode_call(body: str) -> tuple[str | None, dict[str, Any] | None, str]:
    """(name, arguments, reason): arguments is None when the block is not a usable call."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return None, None, f"tool call is not valid JSON ({exc})"
    if not isinstance(obj, dict):
        return None, None, 'tool call must be a JSON object like {"name": ..., "arguments": {...}}'
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return None, None, 'tool call has no "name" string'
    args = obj.get("arguments", obj.get("parameters"))
    if args is None:
        return name, {}, ""
    if isinstance(args, str):
        try:
            decoded = json.loads(args)
        except (ValueError, RecursionError):
            decoded = None
        if not isinstance(decoded, dict):
            return name, None, '"arguments" is a string, not a JSON object'
        args = decoded
    if not isinstance(args, dict):
        return name, None, f'"arguments" must be a JSON object, not {type(args).__name__}'
    return name, args, ""


def decode_calls(body: str) -> list[tuple[str | None, dict[str, Any] | None, str]]:
    """Every call in one block: a JSON object is one call, a JSON list one call per item."""
    if not body.lstrip().startswith("["):
        return [decode_call(body)]
    try:
        items = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return [(None, None, f"tool call list is not valid JSON ({exc})")]
    if not items:
        return [(None, None, 'tool call list is empty; put {"name": ..., "arguments": {...}} objects in it')]
    return [decode_call(json.dumps(item)) for item in items]


class HermesMachine(BufferedMachine):
    """Reads the body of a Qwen3 turn (reasoning already split off) into events."""

    def __init__(self, out: Emitter) -> None:
        super().__init__(out, {"content": self._content, "body": self._scan_body, "after": self._after})
        self._body: list[str] = []
        self._body_from = 0
        self._in_string = False
        self._depth = 0

    def _content(self) -> bool:
        buf, pos = self._buf, self._pos
        while True:
            match = _OPEN_MARK.search(buf, pos)
            if match is None:
                end = len(buf) if self._final else len(buf) - _OPEN_MARK.held(buf, pos)
                self._emit_content(buf[self._pos : end])
                self._pos = end
                return False
            at = skip_gap(buf, match.end())
            if at < len(buf) and buf[at] in "{[":
                self._emit_content(buf[self._pos : match.start()])
                self._raw = []
                self._raw_from = match.start()
                self._body = []
                self._in_string = False
                self._depth = 0
                self._pos = at
                self._state = "body"
                return True
            if at >= len(buf) and not self._final:
                self._emit_content(buf[self._pos : match.start()])
                self._pos = match.start()
                return False  # wait: does a JSON object follow this <tool_call>?
            pos = match.end()  # prose that mentions <tool_call>

    def _scan_body(self) -> bool:
        buf = self._buf
        pos = self._pos
        while True:
            pattern = _INSIDE if self._in_string else _OUTSIDE
            match = pattern.search(buf, pos)
            if match is None:
                end = len(buf) if self._final else len(buf) - _CLOSE_MARK.held(buf, pos)
                self._body.append(buf[self._pos : end])
                self._pos = end
                if self._final:
                    self._end_body(len(buf), len(buf), "tool call was cut off before its JSON object closed")
                    return True
                return False
            char = match.group()
            if char == _CLOSE:
                ends = not self._in_string or self._close_follows(match.end())
                if ends is None:
                    self._body.append(buf[self._pos : match.start()])
                    self._pos = match.start()
                    return False
                if ends:
                    self._body.append(buf[self._pos : match.start()])
                    self._end_body(match.end(), match.end(), "tool call JSON is not complete before </tool_call>")
                    return True
                pos = match.end()
            elif char == "\\":
                if match.end() >= len(buf) and not self._final:
                    self._body.append(buf[self._pos : match.start()])
                    self._pos = match.start()
                    return False
                pos = match.end() + 1
            elif char == '"':
                self._in_string = not self._in_string
                pos = match.end()
            elif char in "{[":
                self._depth += 1
                pos = match.end()
            else:
                self._depth -= 1
                pos = match.end()
                if self._depth <= 0:
                    self._body.append(buf[self._pos : pos])
                    self._pos = pos
                    self._state = "after"
                    return True

    def _close_follows(self, at: int) -> bool | None:
        buf = self._buf
        at = skip_gap(buf, at)
        if at >= len(buf):
            return True if self._final else None
        rest = buf[at : at + len(_OPEN)]
        if rest == _OPEN:
            return True
        if len(rest) < len(_OPEN) and _OPEN.startswith(rest):
            return True if self._final else None
        return False

    def _after(self) -> bool:
        buf = self._buf
        at = skip_gap(buf, self._pos)
        rest = buf[at : at + len(_CLOSE)]
        if rest == _CLOSE:
            self._end_body(at + len(_CLOSE), at + len(_CLOSE), "")
            return True
        if len(rest) < len(_CLOSE) and _CLOSE.startswith(rest) and at + len(rest) == len(buf):
            if not self._final:
                return False
            if rest:  # the output was cut off inside the closing tag: the call is whole, the tag's start is no text
                self._end_body(len(buf), len(buf), "")
                return True
        self._end_body(self._pos, self._pos, "")
        return True

    def _end_body(self, end: int, resume: int, cut_reason: str) -> None:
        self._raw.append(self._buf[self._raw_from : end])
        raw = "".join(self._raw)
        for name, args, reason in decode_calls("".join(self._body)):
            if args is None:
                if cut_reason:
                    reason = f"{cut_reason}; {reason}"
                self._out.invalid(raw, reason, name=name)
            else:
                assert name is not None
                index = self._out.start(name)
                self._out.arguments(index, json.dumps(args, ensure_ascii=False))
                self._out.finish(ParsedCall(name=name, arguments=args, raw=raw, index=index, complete=not cut_reason))
        self._pos = resume
        self._state = "content"
        self._after_call = True
