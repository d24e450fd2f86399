"""Small scanning tools shared by the machines: marker search, held-back suffixes, whitespace trimming.

A machine keeps only a short unconsumed tail between deltas: the part that might still be the start of a
delimiter. `Markers.held` says how long that tail must be, so a chunk boundary inside `<tool_call>` never
leaks half a tag into content, and no text is scanned twice except that short tail.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_GAP", "WHITESPACE", "BufferedMachine", "Markers", "TrailingTrim", "skip_gap", "skip_ws"]

WHITESPACE = " \t\r\n"


class Markers:
    """A set of literal delimiters: find the first one, and measure a suffix that may be a partial one."""

    __slots__ = ("_prefixes", "_regex", "longest")

    def __init__(self, *markers: str) -> None:
        self._regex = re.compile("|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True)))
        self._prefixes = {m[:k] for m in markers for k in range(1, len(m))}
        self.longest = max(len(m) for m in markers)

    def search(self, text: str, start: int) -> re.Match[str] | None:
        return self._regex.search(text, start)

    def held(self, text: str, start: int = 0) -> int:
        """Length of the longest suffix of text[start:] that is a proper prefix of some marker."""
        limit = min(self.longest - 1, len(text) - start)
        for k in range(limit, 0, -1):
            if text[-k:] in self._prefixes:
                return k
        return 0


_WS_RUN = re.compile(r"[ \t\r\n]*")
MAX_GAP = 256  # whitespace between a tag and the text that decides what the tag is
_GAP = re.compile(rf"[ \t\r\n]{{0,{MAX_GAP}}}")


def skip_ws(text: str, pos: int) -> int:
    """The index of the first non-whitespace character at or after pos (len(text) if none)."""
    match = _WS_RUN.match(text, pos)
    return match.end() if match else pos


def skip_gap(text: str, pos: int) -> int:
    """Like `skip_ws`, but past MAX_GAP whitespace characters it stops on whitespace, so what follows is no tag.

    A machine that waits to see what follows a tag (`<tool_call>` then `{` or `<function=`) keeps the tag and
    looks again at every delta; without this cap a flood of whitespace after the tag made streaming quadratic.
    One-shot parsing applies the same cap, so both read the same text the same way."""
    match = _GAP.match(text, pos)
    return match.end() if match else pos


class TrailingTrim:
    """Streams text with leading and trailing whitespace removed: trailing whitespace is held until more
    non-whitespace text proves it inner, and dropped at the end."""

    __slots__ = ("_held", "_started")

    def __init__(self) -> None:
        self._started = False
        self._held: list[str] = []  # a list: a flood of whitespace in small deltas stays linear

    def push(self, text: str) -> str:
        if not text:
            return ""
        if not self._started:
            text = text.lstrip(WHITESPACE)
            if not text:
                return ""
            self._started = True
        body = text.rstrip(WHITESPACE)
        if not body:
            self._held.append(text)
            return ""
        out = "".join(self._held) + body
        self._held = [text[len(body) :]]
        return out


class BufferedMachine:
    """What the Qwen3-Coder and Hermes machines share: a buffer with a consumed cursor, a state table that
    `_run` drives until a step asks for more text, the raw text of the call being read, and content that
    starts without the whitespace separating it from a call before it."""

    def __init__(self, out: Any, steps: dict[str, Callable[[], bool]]) -> None:
        self._out = out
        self._steps = steps  # state -> step; a step returns True to go on, False to wait for more text
        self._buf = ""
        self._pos = 0
        self._final = False
        self._state = "content"
        self._after_call = False
        self._raw: list[str] = []
        self._raw_from = 0

    def feed(self, delta: str) -> None:
        shift = self._pos
        self._buf = self._buf[shift:] + delta
        self._pos = 0
        self._raw_from = max(0, self._raw_from - shift)
        self._rebase(shift)
        self._run()
        if self._state != "content":
            self._raw.append(self._buf[self._raw_from : self._pos])
            self._raw_from = self._pos

    def close(self) -> None:
        self._final = True
        self._run()

    def _rebase(self, shift: int) -> None:
        """Move the machine's own buffer offsets back by `shift` after consumed text was dropped."""

    def _run(self) -> None:
        while self._steps[self._state]():
            pass

    def _emit_content(self, text: str) -> None:
        if self._after_call:
            text = text.lstrip(WHITESPACE)
            if not text:
                return
            self._after_call = False
        self._out.content(text)
