"""The public face of parsing: `parse()` for a whole text and `StreamParser` for deltas.

Both run the same incremental machines, so the streamed result equals the one-shot result for any chunking.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentkit.parsing._events import Collector, Emitter, ParseEvent, ParseResult
from agentkit.parsing._think import TextSink, ThinkSplitter
from agentkit.parsing.detect import FORMATS, FormatDetector, format_for_model, thinking_for_model
from agentkit.parsing.harmony import HarmonyMachine
from agentkit.parsing.hermes import HermesMachine
from agentkit.parsing.qwen3_coder import Qwen3CoderMachine
from agentkit.tooling import ToolDefinition

__all__ = ["StreamParser", "parse", "tool_map"]


def tool_map(tools: Iterable[Any] | None) -> dict[str, ToolDefinition] | None:
    """Tools given in any accepted shape (OpenAI or Bedrock dicts, Tools, ToolDefinitions), by name."""
    if tools is None:
        return None
    if isinstance(tools, dict | str | bytes):
        raise ValueError("tools must be a list of tool definitions (OpenAI tool dicts, Bedrock toolSpecs or Tools)")
    return {d.name: d for d in (ToolDefinition.from_any(t) for t in tools)}


class StreamParser:
    """Parses model output fed in deltas of any size.

    `feed(delta)` returns the events the new text completes (content and reasoning deltas, call started,
    argument fragments, call finished, invalid call); `close()` ends the text and returns the ParseResult.
    `thinking` says whether the prompt opened a `<think>` block (None: decide from the text; see `_think`).
    """

    def __init__(
        self,
        format: str = "auto",
        tools: Iterable[Any] | None = None,
        *,
        model_name: str | None = None,
        thinking: bool | None = None,
    ) -> None:
        if format not in FORMATS:
            raise ValueError(f"unknown tool-call format {format!r}; use one of: {', '.join(FORMATS)}")
        self._tools = tool_map(tools)
        self._thinking = thinking if thinking is not None else thinking_for_model(model_name)
        self._out = Emitter()
        self._collector = Collector()
        self._machine: TextSink | None = None
        self._detector: FormatDetector | None = None
        self._result: ParseResult | None = None
        chosen = format if format != "auto" else format_for_model(model_name)
        self.format = chosen or "auto"
        if chosen is None:
            self._detector = FormatDetector()
        else:
            self._machine = self._build(chosen)

    def _build(self, format: str) -> TextSink:
        if format == "harmony":
            return HarmonyMachine(self._out)
        body: TextSink = HermesMachine(self._out) if format == "hermes" else Qwen3CoderMachine(self._out, self._tools)
        return ThinkSplitter(self._out, body, self._thinking)

    def feed(self, delta: str) -> list[ParseEvent]:
        if self._result is not None:
            raise ValueError("feed() after close(): start a new StreamParser for the next text")
        if not delta:
            return []
        if self._machine is None:
            assert self._detector is not None
            if self._detector.feed(delta) is None:
                return []
            self._start_detected()
        else:
            self._machine.feed(delta)
        return self._take()

    def finish(self) -> list[ParseEvent]:
        """Ends the text and returns its last events (`close()` then returns the result)."""
        if self._result is not None:
            return []
        if self._machine is None:
            assert self._detector is not None
            self._detector.feed("", final=True)
            self._start_detected()
        assert self._machine is not None
        self._machine.close()
        events = self._take()
        self._result = self._collector.result(self.format)
        return events

    def close(self) -> ParseResult:
        self.finish()
        assert self._result is not None
        return self._result

    def _start_detected(self) -> None:
        assert self._detector is not None and self._detector.format is not None
        self.format = self._detector.format
        self._machine = self._build(self.format)
        self._machine.feed(self._detector.text())
        self._detector = None

    def _take(self) -> list[ParseEvent]:
        events = self._out.take()
        self._collector.add(events)
        return events


def parse(
    text: str,
    format: str = "auto",
    tools: Iterable[Any] | None = None,
    *,
    model_name: str | None = None,
    thinking: bool | None = None,
) -> ParseResult:
    """Tool calls, content and reasoning in one complete model output; never raises on any text."""
    parser = StreamParser(format, tools, model_name=model_name, thinking=thinking)
    parser.feed(text)
    return parser.close()
