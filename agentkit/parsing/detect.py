"""Which wire format a text is in: from the model's name when given, else from the first decisive marker.

Markers, in the order they appear in the text: any Harmony token (`<|start|>`, `<|channel|>`, `<|message|>`,
`<|end|>`, `<|call|>`, `<|return|>`, `<|constrain|>`) means harmony; `<function=` or `<parameter=` means
qwen3_coder; `<tool_call>` followed by `{` or `[` means hermes and by `<function=` qwen3_coder (other text after it
is prose that mentions the tag). Text with no marker is read as hermes (plain content either way).
`FormatDetector` does this incrementally: it holds the text it has seen and scans each character once.
"""

from __future__ import annotations

import re

from agentkit.parsing._scan import Markers, skip_gap

__all__ = ["FORMATS", "FormatDetector", "detect_format", "format_for_model", "thinking_for_model"]

FORMATS = ("auto", "qwen3_coder", "hermes", "harmony")
DEFAULT_FORMAT = "hermes"

_HARMONY = ("<|start|>", "<|channel|>", "<|message|>", "<|end|>", "<|call|>", "<|return|>", "<|constrain|>")
_CALL_OPEN = "<tool_call>"
_MARKS = Markers(*_HARMONY, "<function=", "<parameter=", _CALL_OPEN)
_LOOKAHEAD = len("<function=")
_QWEN35 = re.compile(r"qwen3[._][5-9](?![0-9])")


def format_for_model(model_name: str | None) -> str | None:
    """qwen3-coder (and Qwen3.5+, which write the same XML) -> qwen3_coder, gpt-oss -> harmony, other
    Qwen -> hermes; None when the name says nothing."""
    if not model_name:
        return None
    name = model_name.lower()
    if "gpt-oss" in name or "gpt_oss" in name:
        return "harmony"
    if any(tag in name for tag in ("qwen3-coder", "qwen3_coder", "qwen3coder")) or _QWEN35.search(name):
        return "qwen3_coder"
    if "qwen" in name or "qwq" in name:
        return "hermes"
    return None


def thinking_for_model(model_name: str | None) -> bool | None:
    """Whether the model's prompt opens a think block: True for Thinking-2507 and QwQ, False for Coder and
    Instruct models, None (decide from the text) otherwise."""
    if not model_name:
        return None
    name = model_name.lower()
    if "thinking" in name or "qwq" in name:
        return True
    if "coder" in name or "instruct" in name:
        return False
    return None


class FormatDetector:
    """Feeds text until a marker decides the format; `text()` then returns everything held."""

    def __init__(self) -> None:
        self._held: list[str] = []
        self._tail = ""
        self.format: str | None = None

    def feed(self, delta: str, *, final: bool = False) -> str | None:
        text = self._tail + delta
        pos = 0
        while True:
            match = _MARKS.search(text, pos)
            if match is None:
                keep = 0 if final else _MARKS.held(text, pos)
                break
            if match.group() != _CALL_OPEN:
                self.format = "harmony" if match.group().startswith("<|") else "qwen3_coder"
                break
            at = skip_gap(text, match.end())
            ahead = text[at : at + _LOOKAHEAD]
            if ahead.startswith(("{", "[")):
                self.format = "hermes"
                break
            if ahead.startswith("<function="):
                self.format = "qwen3_coder"
                break
            if not final and (at >= len(text) or "<function=".startswith(ahead)):
                keep = len(text) - match.start()
                break
            pos = match.end()
        if self.format is not None:
            keep = 0
        self._held.append(text[: len(text) - keep])
        self._tail = text[len(text) - keep :]
        if final and self.format is None:
            self.format = DEFAULT_FORMAT
        return self.format

    def text(self) -> str:
        held = "".join(self._held) + self._tail
        self._held, self._tail = [], ""
        return held


def detect_format(text: str, model_name: str | None = None) -> str:
    """The format of a complete text (see the module docstring)."""
    named = format_for_model(model_name)
    if named is not None:
        return named
    detector = FormatDetector()
    detector.feed(text, final=True)
    assert detector.format is not None
    return detector.format
