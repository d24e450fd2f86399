"""How a run looks in the terminal: streamed text, dimmed reasoning, tool calls summarised, a spinner
while the model thinks, and a closing summary. `--json` swaps this for one JSON object per event.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

import click

from agentkit.loop import (
    AgentEvent,
    AgentResult,
    ApprovalRequired,
    ContextReduced,
    MessageEvent,
    NestedEvent,
    ReasoningEvent,
    RunEnd,
    TextEvent,
    ToolCallStarted,
    ToolResultEvent,
)

__all__ = ["JsonDisplay", "LiveDisplay", "summarize"]

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class _Spinner:
    """A one-line spinner on stderr, only when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self._label = ""
        self._active = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, label: str) -> None:
        if not self.enabled:
            return
        self._label = label
        self._active.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._spin, daemon=True, name="agentkit-spinner")
            self._thread.start()

    def stop(self) -> None:
        if self.enabled and self._active.is_set():
            self._active.clear()
            with self._lock:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()

    def _spin(self) -> None:
        frame = 0
        while True:
            self._active.wait()
            with self._lock:
                if self._active.is_set():
                    self.stream.write(f"\r{_FRAMES[frame % len(_FRAMES)]} {self._label}")
                    self.stream.flush()
            frame += 1
            time.sleep(0.1)


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LiveDisplay:
    """Renders events for a person watching."""

    def __init__(self, *, show_reasoning: bool = True, out: TextIO | None = None, err: TextIO | None = None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.show_reasoning = show_reasoning
        self.color = self.out.isatty()
        self.spinner = _Spinner(self.err)
        self._in_reasoning = False
        self._line_open = False

    def waiting(self) -> None:
        self.spinner.start("waiting for the model")

    def handle(self, event: AgentEvent) -> None:
        self.spinner.stop()
        if isinstance(event, ReasoningEvent):
            if self.show_reasoning:
                self._write(event.text, dim=True)
                self._in_reasoning = True
        elif isinstance(event, TextEvent):
            if self._in_reasoning:
                self._newline()
                self._in_reasoning = False
            self._write(event.text)
        elif isinstance(event, ToolCallStarted):
            self._newline()
            self._echo(f"→ {event.call.name}({_short(event.call.arguments)})", fg="cyan")
        elif isinstance(event, ToolResultEvent):
            mark, colour = ("✗", "red") if event.result.is_error else ("✓", "green")
            self._echo(f"  {mark} {event.result.name}: {_short(event.result.content)}", fg=colour)
        elif isinstance(event, MessageEvent):
            self._newline()
            self._in_reasoning = False
            if event.message.role == "tool":
                self.waiting()
        elif isinstance(event, NestedEvent):
            inner = event.event
            if isinstance(inner, ToolCallStarted):
                self._echo(f"  [{event.agent}] → {inner.call.name}({_short(inner.call.arguments)})", fg="cyan")
            elif isinstance(inner, ToolResultEvent):
                mark, colour = ("✗", "red") if inner.result.is_error else ("✓", "green")
                self._echo(f"  [{event.agent}] {mark} {inner.result.name}: {_short(inner.result.content)}", fg=colour)
        elif isinstance(event, ContextReduced):
            self._newline()
            what = f"{event.left_out:,} messages left out" if event.left_out else "nothing left out"
            if event.cleared:
                what += f", {event.cleared:,} tool results cleared"
            self._echo(
                f"⇣ context reduced ({event.strategy}, {event.reason}): about {event.tokens_before:,} → "
                f"{event.tokens_after:,} tokens; {what} (the session keeps everything)",
                fg="yellow",
            )
        elif isinstance(event, ApprovalRequired):
            self._newline()
            self._echo(f"⏸ waiting for approval: {', '.join(c.name for c in event.calls)}", fg="yellow")
        elif isinstance(event, RunEnd):
            self._newline()

    def close(self) -> None:
        self.spinner.stop()
        self._newline()

    def _write(self, text: str, *, dim: bool = False) -> None:
        if not text:
            return
        self.out.write(click.style(text, dim=True) if dim and self.color else text)
        self.out.flush()
        self._line_open = not text.endswith("\n")

    def _echo(self, line: str, *, fg: str) -> None:
        self.out.write((click.style(line, fg=fg) if self.color else line) + "\n")
        self.out.flush()

    def _newline(self) -> None:
        if self._line_open:
            self.out.write("\n")
            self.out.flush()
            self._line_open = False


class JsonDisplay:
    """One JSON object per line and per event, for scripts."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def waiting(self) -> None:
        pass

    def handle(self, event: AgentEvent) -> None:
        self.out.write(json.dumps(event.to_dict(), ensure_ascii=False, default=str) + "\n")
        self.out.flush()

    def close(self) -> None:
        pass


def summarize(result: AgentResult, *, session: str | None, elapsed: float) -> str:
    usage = result.usage
    parts = [
        f"{result.turns} turns",
        f"{len(result.tool_calls)} tool call{'' if len(result.tool_calls) == 1 else 's'}",
        f"{usage.input_tokens} in / {usage.output_tokens} out tokens" + (" (estimated)" if usage.estimated else ""),
        f"{elapsed:.1f} s",
        f"stop: {result.stop_reason}" + (f" ({result.detail})" if result.detail else ""),
    ]
    line = "— " + ", ".join(parts)
    if session:
        line += f"\n— transcript: {session}"
    return line
