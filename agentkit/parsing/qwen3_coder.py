"""Qwen3-Coder XML tool calls, read incrementally (reference toolcall-formats.md §1).

    <tool_call>
    <function=NAME>
    <parameter=KEY>
    value, on its own lines
    </parameter>
    </function>
    </tool_call>

One scanner serves both the streaming and the one-shot parser. It keeps a consumed cursor and holds back only
a tail that could still be (part of) a delimiter, so the work is linear in the text and the result does not
depend on where the chunks were cut. Robustness, each rule from §1.6:
- a missing `</parameter>` ends at the next `<parameter=KNOWN>` that begins a line, `</function>` or
  `</tool_call>`; output cut off mid-call still yields the call (marked incomplete). A `<parameter=NAME>` in
  the middle of a line is text the value quotes (vLLM's regex splits the value there; sglang's keeps it);
- a bare `<function=` (no `<tool_call>`) opens a call, and an orphan `</tool_call>` after it is swallowed;
- delimiters inside values are structural only when what follows says so (`</parameter>` must be followed by
  another parameter, `</function>`, `</tool_call>` or the end); literal `<parameter=` lines and literal
  `<function=…</function>` blocks nest, so a value may hold a whole example call;
- drifted close tags (`</parameter1>`, a cut `</parameter`) close the value and are not kept in it;
- a bad function name (`{{ tc.name }}`, no `>`) makes that one call invalid; later calls still parse.
String values stream as escaped JSON fragments; typed values are buffered until they close.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit.parsing._events import Emitter, ParsedCall
from agentkit.parsing._scan import BufferedMachine, Markers, skip_gap
from agentkit.parsing._values import convert_value, streams_as_string
from agentkit.tooling import ToolDefinition

__all__ = ["Qwen3CoderMachine"]

_CALL_OPEN = "<tool_call>"
_CALL_CLOSE = "</tool_call>"
_FUNCTION = "<function="
_FUNCTION_CLOSE = "</function>"
_PARAM = "<parameter="
_PARAM_CLOSE = "</parameter"
_MAX_NAME = 256

_CONTENT_MARKS = Markers(_CALL_OPEN, _FUNCTION)
_VALUE_MARKS = Markers(_PARAM_CLOSE, _PARAM, _FUNCTION_CLOSE, _CALL_CLOSE, _FUNCTION)
_SKIP_MARKS = Markers(_CALL_CLOSE, _CALL_OPEN, _FUNCTION)
# a parameter close tag, including drifted ones such as </parameter1> or </parameter_function>
_CLOSE_TAG = re.compile(r"</parameter[A-Za-z0-9_]*>?")
_NAME_TEXT = re.compile(rf"[^>\n<]{{0,{_MAX_NAME}}}")
_VALID_NAME = re.compile(r"[^\s{}<>\"']+")


class Qwen3CoderMachine(BufferedMachine):
    """Reads the body of a Qwen3-Coder turn (reasoning already split off) into events."""

    def __init__(self, out: Emitter, tools: dict[str, ToolDefinition] | None) -> None:
        super().__init__(
            out,
            {
                "content": self._content,
                "name": self._function_name,
                "params": self._params,
                "param_name": self._param_name,
                "value": self._value,
                "after_function": self._after_function,
                "skip": self._skip,
            },
        )
        self._tools = tools or {}
        # the call being read
        self._index = 0
        self._name = ""
        self._props: dict[str, Any] | None = None
        self._args: dict[str, Any] = {}
        self._skip_reason = ""
        self._count = 0
        self._started = False
        # the value being read
        self._key = ""
        self._schema: Any = None
        self._streaming = True
        self._parts: list[str] = []
        self._lead = True
        self._depth = 0
        self._nested = 0
        self._value_from = 0
        self._last_char = ""

    # ---- driving -----------------------------------------------------------------------------------

    def _rebase(self, shift: int) -> None:
        self._value_from = max(0, self._value_from - shift)

    # ---- content between calls ---------------------------------------------------------------------

    def _content(self) -> bool:
        buf, pos = self._buf, self._pos
        while True:
            match = _CONTENT_MARKS.search(buf, pos)
            if match is None:
                end = len(buf) if self._final else len(buf) - _CONTENT_MARKS.held(buf, pos)
                self._emit_content(buf[self._pos : end])
                self._pos = end
                return False
            if match.group() == _FUNCTION:  # bare <function=: an implicit <tool_call>
                self._emit_content(buf[self._pos : match.start()])
                self._begin_call(match.start(), match.end())
                return True
            after = skip_gap(buf, match.end())
            ahead = buf[after : after + len(_FUNCTION)]
            if ahead == _FUNCTION:
                self._emit_content(buf[self._pos : match.start()])
                self._begin_call(match.start(), after + len(_FUNCTION))
                return True
            if not self._final and len(ahead) < len(_FUNCTION) and _FUNCTION.startswith(ahead):
                self._emit_content(buf[self._pos : match.start()])
                self._pos = match.start()
                return False  # wait: is this <tool_call> followed by <function=?
            pos = match.end()  # prose that mentions <tool_call>

    def _begin_call(self, start: int, name_at: int) -> None:
        self._raw = []
        self._raw_from = start
        self._args = {}
        self._count = 0
        self._started = False
        self._pos = name_at
        self._state = "name"

    # ---- names ---------------------------------------------------------------------------------------

    def _read_name(self, at: int) -> tuple[str | None, int, bool]:
        """(name, index after '>', waiting): name is None when malformed."""
        match = _NAME_TEXT.match(self._buf, at)
        assert match is not None  # the pattern accepts the empty string
        end = match.end()
        if end < len(self._buf):
            if self._buf[end] == ">" and _VALID_NAME.fullmatch(match.group()):
                return match.group(), end + 1, False
            return None, end, False
        if self._final or end - at >= _MAX_NAME:
            return None, end, False
        return None, at, True

    def _function_name(self) -> bool:
        name, after, waiting = self._read_name(self._pos)
        if waiting:
            return False
        if name is None:
            self._skip_reason = "malformed function name: expected <function=NAME> with a plain name"
            self._pos = after
            self._state = "skip"
            return True
        self._name = name
        tool = self._tools.get(name)
        props = tool.parameters.get("properties") if tool is not None else None
        self._props = props if isinstance(props, dict) else None
        self._index = self._out.start(name)
        self._started = True
        self._pos = after
        self._state = "params"
        return True

    def _known_param(self, name: str | None) -> bool:
        return name is not None and (self._props is None or name in self._props)

    # ---- parameters ----------------------------------------------------------------------------------

    def _params(self) -> bool:
        buf = self._buf
        at = skip_gap(buf, self._pos)
        rest = buf[at : at + len(_CALL_CLOSE)]
        if not rest:
            if self._final:
                self._end_call(len(buf), complete=False)
            return False
        for tag, action in (
            (_PARAM, "param"),
            (_FUNCTION_CLOSE, "function_close"),
            (_CALL_CLOSE, "call_close"),
            (_CALL_OPEN, "next_call"),
            (_FUNCTION, "next_call"),
        ):
            if rest.startswith(tag):
                return self._param_step(action, at, tag)
            if not self._final and len(rest) < len(tag) and tag.startswith(rest):
                return False
        nxt = buf.find("<", at + 1)  # stray text between parameters is skipped
        self._pos = len(buf) if nxt < 0 else nxt
        return nxt >= 0 or self._final

    def _param_step(self, action: str, at: int, tag: str) -> bool:
        if action == "param":
            self._pos = at + len(tag)
            self._state = "param_name"
        elif action == "function_close":
            self._pos = at + len(tag)
            self._state = "after_function"
        elif action == "call_close":
            self._end_call(at + len(tag), complete=True)
        else:
            self._end_call(at, complete=False)
        return True

    def _param_name(self) -> bool:
        name, after, waiting = self._read_name(self._pos)
        if waiting:
            return False
        if name is None:
            self._skip_reason = "malformed parameter name: expected <parameter=NAME> with a plain name"
            self._pos = after
            self._state = "skip"
            return True
        self._key = name
        self._schema = self._props.get(name) if self._props is not None else None
        self._streaming = streams_as_string(self._schema)
        opener = ", " if self._count else "{"
        self._count += 1
        self._out.arguments(self._index, opener + json.dumps(name, ensure_ascii=False) + ": ")
        if self._streaming:
            self._out.arguments(self._index, '"')
        self._parts = []
        self._lead = True
        self._depth = 0
        self._nested = 0
        self._last_char = ""
        self._pos = after
        self._value_from = after
        self._state = "value"
        return True

    # ---- values --------------------------------------------------------------------------------------

    def _value(self) -> bool:
        buf = self._buf
        if self._lead:
            if self._pos >= len(buf) and not self._final:
                return False
            if buf.startswith("\n", self._pos):
                self._pos += 1
            self._lead = False
            self._value_from = self._pos
        pos = self._pos
        while True:
            match = _VALUE_MARKS.search(buf, pos)
            if match is None:
                if self._final:
                    self._end_value(len(buf), len(buf), complete=False)
                    return True
                end = len(buf) - _VALUE_MARKS.held(buf, pos)
                if end > self._pos and buf[end - 1] == "\n":
                    end -= 1  # might be the newline before the close tag
                self._take_value(end)
                return False
            decision = self._structural(match)
            if decision is None:
                self._take_value(match.start() - (1 if buf[match.start() - 1 : match.start()] == "\n" else 0))
                return False
            if decision:
                return True
            pos = match.end()

    def _structural(self, match: re.Match[str]) -> bool | None:
        """Ends the value and returns True when the delimiter is structural; None: wait for more text."""
        buf, tag, start = self._buf, match.group(), match.start()
        if tag == _FUNCTION:  # a literal call inside the value (a fixture, a template): all of it is text
            self._nested += 1
            return False
        if tag == _PARAM:
            name, _, waiting = self._read_name(match.end())
            if waiting:
                return None
            prev = buf[start - 1] if start > self._value_from else self._last_char
            line_start = prev in ("", "\n")  # mid-line, <parameter=NAME> is text the value quotes
            if self._nested == 0 and self._depth == 0 and line_start and self._known_param(name):
                self._end_value(start, start, complete=False)
                return True
            if self._nested or line_start:
                self._depth += 1  # a literal <parameter= line: its own close tag is literal too
            return False
        if tag == _FUNCTION_CLOSE:
            if self._nested:
                self._nested -= 1
                return False
            follow = self._follows(match.end(), (_CALL_CLOSE,))
            if follow:
                self._end_value(start, start, complete=False)
            return follow
        if tag == _CALL_CLOSE:
            follow = self._follows(match.end(), (_CALL_OPEN,))
            if follow:
                self._end_value(start, start, complete=False)
            return follow
        close = _CLOSE_TAG.match(buf, start)
        assert close is not None
        if close.end() == len(buf) and not self._final and not close.group().endswith(">"):
            return None  # </parameter may still grow into a drifted tag
        if self._depth > 0 and close.group() == "</parameter>":
            self._depth -= 1
            return False
        follow = self._follows(close.end(), (_PARAM, _FUNCTION_CLOSE, _CALL_CLOSE))
        if follow:
            self._end_value(start, close.end(), complete=True)
        return follow

    def _follows(self, at: int, tags: tuple[str, ...]) -> bool | None:
        """Whether only whitespace, then one of `tags` (a known parameter for <parameter=) or the end follows."""
        buf = self._buf
        at = skip_gap(buf, at)
        if at >= len(buf):
            return True if self._final else None
        rest = buf[at : at + 16]
        for tag in tags:
            if rest.startswith(tag):
                if tag != _PARAM:
                    return True
                name, _, waiting = self._read_name(at + len(tag))
                return None if waiting else self._known_param(name)
            if len(rest) < len(tag) and tag.startswith(rest):
                return True if self._final else None
        return False

    def _take_value(self, end: int) -> None:
        if end <= self._pos:
            return
        text = self._buf[self._pos : end]
        self._parts.append(text)
        self._last_char = text[-1]
        if self._streaming:
            self._out.arguments(self._index, json.dumps(text, ensure_ascii=False)[1:-1])
        self._pos = end

    def _end_value(self, end: int, resume: int, *, complete: bool) -> None:
        if self._buf.startswith("\n", end - 1) and end - 1 >= self._pos:
            end -= 1  # exactly one newline before the close tag belongs to the layout
        self._take_value(end)
        text = "".join(self._parts)
        value = text if self._streaming else convert_value(text, self._schema)
        self._args[self._key] = value
        self._out.arguments(self._index, '"' if self._streaming else json.dumps(value, ensure_ascii=False))
        self._pos = resume
        self._state = "params"

    # ---- the end of a call -------------------------------------------------------------------------

    def _after_function(self) -> bool:
        buf = self._buf
        at = skip_gap(buf, self._pos)
        rest = buf[at : at + len(_CALL_CLOSE)]
        if rest.startswith(_CALL_CLOSE):
            self._end_call(at + len(_CALL_CLOSE), complete=True)
            return True
        if not self._final and len(rest) < len(_CALL_CLOSE) and _CALL_CLOSE.startswith(rest):
            return False
        self._end_call(self._pos, complete=True)
        return True

    def _end_call(self, end: int, *, complete: bool) -> None:
        self._raw.append(self._buf[self._raw_from : end])
        self._out.arguments(self._index, "}" if self._count else "{}")
        call = ParsedCall(
            name=self._name, arguments=self._args, raw="".join(self._raw), index=self._index, complete=complete
        )
        self._out.finish(call)
        self._pos = end
        self._state = "content"
        self._after_call = True

    def _skip(self) -> bool:
        """Skips a call that cannot be read, up to where the next one may start."""
        buf = self._buf
        match = _SKIP_MARKS.search(buf, self._pos)
        if match is None:
            if not self._final:
                self._pos = len(buf) - _SKIP_MARKS.held(buf, self._pos)
                return False
            end = resume = len(buf)
        elif match.group() == _CALL_CLOSE:
            end = resume = match.end()
        else:
            end = resume = match.start()
        self._raw.append(buf[self._raw_from : end])
        if self._started:
            self._out.invalid("".join(self._raw), self._skip_reason, name=self._name, index=self._index)
        else:
            self._out.invalid("".join(self._raw), self._skip_reason)
        self._pos = resume
        self._state = "content"
        self._after_call = True
        return True
