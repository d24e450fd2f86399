"""Reasoning before Qwen tool calls: `<think>…</think>`, `</think>`-only output, and the Qwen3.5 implicit end.

Rules (reference §1.8 and §2.4), applied before any tool-call parsing so that a call written inside the
reasoning is never a call:
- A leading `<think>` (after optional whitespace) opens reasoning; it ends at `</think>`, or at a
  `<tool_call>` followed by `<function=` (Qwen3.5 starts calls inside an unclosed think block). Without
  an end the output was truncated and everything is reasoning.
- Without a leading `<think>`, `thinking` decides: True (the prompt opened the block, as for
  Thinking-2507, QwQ and Qwen3.5) treats the text as already inside reasoning; False passes it all on as
  the body at once; None (unknown) holds the text until a `</think>` shows it was reasoning, or the end
  shows it was not.
Reasoning is trimmed of surrounding whitespace, and whitespace right after `</think>` is dropped.
"""

from __future__ import annotations

from typing import Protocol

from agentkit.parsing._events import Emitter
from agentkit.parsing._scan import WHITESPACE, Markers, TrailingTrim, skip_gap, skip_ws

__all__ = ["TextSink", "ThinkSplitter"]

_OPEN = "<think>"
_CLOSE = "</think>"
_CALL = "<tool_call>"
_FUNCTION = "<function="
_IN_THINK = Markers(_CLOSE, _CALL)
_CLOSE_ONLY = Markers(_CLOSE)


class TextSink(Protocol):
    def feed(self, text: str) -> None: ...

    def close(self) -> None: ...


class ThinkSplitter:
    """Splits text into reasoning (to the emitter) and the body (to the tool-call machine)."""

    def __init__(self, out: Emitter, body: TextSink, thinking: bool | None) -> None:
        self._out = out
        self._body = body
        self._thinking = thinking
        self._state = "start"
        self._buf = ""
        self._trim = TrailingTrim()
        self._held: list[str] = []  # undecided text (thinking=None, no leading <think>)
        self._lead: list[str] = []  # whitespace before a possible leading <think>
        self._body_started = False

    def feed(self, delta: str) -> None:
        if self._state == "body":  # the common case after reasoning: no copying, no scanning
            self._body.feed(delta)
            return
        self._buf += delta
        self._run(final=False)

    def close(self) -> None:
        self._run(final=True)
        if self._state == "undecided":
            self._to_body("".join(self._held) + self._buf)
        elif self._state == "think":
            self._out.reasoning(self._trim.push(self._buf))
        elif self._state in ("start", "after"):
            self._to_body(self._buf if self._state == "start" else self._buf.lstrip(WHITESPACE))
        self._buf = ""
        self._body.close()

    def _run(self, final: bool) -> None:
        while True:
            state = self._state
            if state == "start":
                step = self._start(final)
            elif state == "think":
                step = self._think(final)
            elif state == "undecided":
                step = self._undecided()
            elif state == "after":
                step = self._after()
            else:
                if self._buf:
                    self._to_body(self._buf)
                    self._buf = ""
                return
            if not step:
                return

    def _start(self, final: bool) -> bool:
        buf = self._buf
        at = skip_ws(buf, 0)
        rest = buf[at : at + len(_OPEN)]
        if rest == _OPEN:
            self._lead = []
            self._buf = buf[at + len(_OPEN) :]
            self._state = "think"
            return True
        if _OPEN.startswith(rest) and not final:  # could still become <think>
            self._lead.append(buf[:at])  # set aside, so a flood of whitespace is not copied at every delta
            self._buf = buf[at:]
            return False
        self._buf = "".join(self._lead) + buf
        self._lead = []
        self._state = {True: "think", False: "body", None: "undecided"}[self._thinking]
        return True

    def _think(self, final: bool) -> bool:
        buf = self._buf
        pos = 0
        while True:
            match = _IN_THINK.search(buf, pos)
            if match is None:
                keep = _IN_THINK.held(buf, pos)
                self._out.reasoning(self._trim.push(buf[: len(buf) - keep]))
                self._buf = buf[len(buf) - keep :]
                return False
            if match.group() == _CLOSE:
                self._out.reasoning(self._trim.push(buf[: match.start()]))
                self._buf = buf[match.end() :]
                self._state = "after"
                return True
            after = skip_gap(buf, match.end())
            ahead = buf[after : after + len(_FUNCTION)]
            if ahead == _FUNCTION:  # Qwen3.5: a real call ends the reasoning
                self._out.reasoning(self._trim.push(buf[: match.start()]))
                self._buf = buf[match.start() :]
                self._state = "body"
                return True
            if len(ahead) < len(_FUNCTION) and _FUNCTION.startswith(ahead) and not final:
                self._out.reasoning(self._trim.push(buf[: match.start()]))
                self._buf = buf[match.start() :]
                return False  # wait for the lookahead to decide
            pos = match.end()

    def _undecided(self) -> bool:
        buf = self._buf
        match = _CLOSE_ONLY.search(buf, 0)
        if match is None:
            keep = _CLOSE_ONLY.held(buf)
            if len(buf) > keep:
                self._held.append(buf[: len(buf) - keep])
                self._buf = buf[len(buf) - keep :]
            return False
        self._held.append(buf[: match.start()])
        self._out.reasoning(self._trim.push("".join(self._held)))
        self._held = []
        self._buf = buf[match.end() :]
        self._state = "after"
        return True

    def _after(self) -> bool:
        stripped = self._buf.lstrip(WHITESPACE)
        if not stripped:
            self._buf = ""
            return False
        self._buf = stripped
        self._state = "body"
        return True

    def _to_body(self, text: str) -> None:
        if text:
            self._body.feed(text)
