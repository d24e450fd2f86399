"""Ways to make the view fit: one small interface, `ContextStrategy.reduce(view, target) -> entries`.

Every strategy keeps the conversation valid: system messages and the first user message (the task) stay, a
tool call is never separated from its result (an assistant turn with calls and the tool message answering it
go or stay together), and the newest turn always stays.

- `ClearToolResults(keep=3)`: every tool result but the newest `keep` tool messages' is replaced by a note
  naming the tool and saying to call it again for the result.
- `SlidingWindow()`: the oldest turns are left out (down to half the target); the task message notes how many.
- `Summarize()`: the oldest turns are replaced by a summary the model writes, carried on the task message.
- `Chain(a, b, ...)`: each in turn until the view fits. The default, `default_strategy()`, is
  `Chain(ClearToolResults(), SlidingWindow())`: it keeps a run going with no setup and no extra model calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from agentkit.context.view import Counter, Entry, cleared, with_note
from agentkit.errors import AgentkitError
from agentkit.messages import Message, TextDelta, TurnEnd, Usage
from agentkit.models.base import Model, ModelSettings

__all__ = ["Chain", "ClearToolResults", "ContextStrategy", "SlidingWindow", "Summarize", "View", "default_strategy"]


@dataclass(slots=True, kw_only=True)
class View:
    """The entries about to be sent, with what a strategy needs to make new ones."""

    entries: list[Entry]
    messages: Sequence[Message]  # the whole transcript the entries come from
    counter: Counter
    model: Model
    offset: int = 0  # tokens the backend counts beyond the entries (tool definitions, template)
    usage: Usage = field(default_factory=Usage)  # what strategies' own model calls cost (Summarize)

    @property
    def tokens(self) -> int:
        return sum(e.tokens for e in self.entries) + self.offset

    def entry(self, old: Entry, message: Message, *, cleared: bool = False, note: str | None = None) -> Entry:
        return Entry(old.source, message, self.counter.tokens(message), cleared=cleared, note=note)


@runtime_checkable
class ContextStrategy(Protocol):
    """Makes a view fit `target` tokens (or comes as close as it can) and returns its entries."""

    name: str

    async def reduce(self, view: View, target: int) -> list[Entry]: ...


def _pinned(entries: Sequence[Entry]) -> set[int]:
    """Positions that always stay: system messages, the first user message, the newest turn."""
    keep = {i for i, e in enumerate(entries) if e.message.role == "system"}
    first_user = next((i for i, e in enumerate(entries) if e.message.role == "user"), None)
    if first_user is not None:
        keep.add(first_user)
    if entries:
        last = len(entries) - 1
        keep.add(last)
        if entries[last].message.role == "tool" and last > 0:
            keep.add(last - 1)  # the calls the newest results answer
    return keep


@dataclass(slots=True)
class ClearToolResults:
    """Replace every tool result but the newest `keep` tool messages' by a note. All at once rather than just
    enough to fit: what was read long ago is rarely needed word for word, and the next reduction is then
    far away (fewer tokens sent over a run; see benchmarks/bench_context.py)."""

    keep: int = 3
    name: str = "clear_tool_results"

    async def reduce(self, view: View, target: int) -> list[Entry]:
        entries = list(view.entries)
        tool_positions = [i for i, e in enumerate(entries) if e.message.role == "tool" and not e.cleared]
        for i in tool_positions[: max(0, len(tool_positions) - self.keep)]:
            old = entries[i]
            entries[i] = view.entry(old, cleared(view.messages[old.source]), cleared=True)
        return entries


def _units(entries: Sequence[Entry], pinned: set[int]) -> list[list[int]]:
    """Droppable positions grouped so a call and its result go together, oldest first."""
    units: list[list[int]] = []
    for i, entry in enumerate(entries):
        if i in pinned:
            continue
        if entry.message.role == "tool" and units and entries[units[-1][-1]].message.tool_calls:
            units[-1].append(i)
        else:
            units.append([i])
    return units


def _left_out(entries: Sequence[Entry], target: int, total: int) -> tuple[set[int], int]:
    """The oldest droppable positions to leave out so the rest fits `target`, and their token sum."""
    pinned = _pinned(entries)
    dropped: set[int] = set()
    saved = 0
    for unit in _units(entries, pinned):
        if total - saved <= target:
            break
        dropped.update(unit)
        saved += sum(entries[i].tokens for i in unit)
    return dropped, saved


def _with_gap_note(view: View, entries: list[Entry], dropped: set[int], note: str) -> list[Entry]:
    """`entries` without `dropped`, the note on the first user message (in place of an earlier note)."""
    kept: list[Entry] = []
    noted = False
    for i, entry in enumerate(entries):
        if i in dropped:
            continue
        if not noted and entry.message.role == "user":
            entry = view.entry(entry, with_note(view.messages[entry.source], note), note=note)
            noted = True
        kept.append(entry)
    return kept


def _gap(entries: Sequence[Entry], dropped: set[int]) -> int:
    """How many transcript messages the view leaves out once `dropped` goes (this time and earlier ones)."""
    covered = entries[-1].source + 1 if entries else 0
    return covered - (len(entries) - len(dropped))


@dataclass(slots=True)
class SlidingWindow:
    """Leave out the oldest turns (never a call without its result) until the view fits `share` of the target:
    what is left out is gone from the view for good, so going well below the target at once makes the next
    reduction many turns away rather than every few turns."""

    share: float = 0.5
    name: str = "sliding_window"

    async def reduce(self, view: View, target: int) -> list[Entry]:
        entries = view.entries
        dropped, _ = _left_out(entries, int(target * self.share), view.tokens)
        if not dropped:
            return list(entries)
        gap = _gap(entries, dropped)
        note = (
            f"[agentkit: {gap:,} earlier messages of this conversation were left out here to fit the context "
            "window; the full transcript is kept. Call tools again for anything you need from them.]"
        )
        return _with_gap_note(view, list(entries), dropped, note)


_SUMMARY_PROMPT = (
    "You compress the history of an agent's work so it can go on within its context window. Summarise the "
    "messages below in at most {words} words: the task, what was done and found (file names, numbers, "
    "decisions, errors), and what remains. Answer with the summary only."
)


@dataclass(slots=True)
class Summarize:
    """Replace the oldest turns by a summary the model writes (the task message carries it). When the model
    call fails, the turns are left out as SlidingWindow does, with a note saying so."""

    words: int = 300
    share: float = 0.5  # as SlidingWindow's: how far below the target the turns left go
    name: str = "summarize"

    async def reduce(self, view: View, target: int) -> list[Entry]:
        entries = view.entries
        dropped, _ = _left_out(entries, int(target * self.share), view.tokens + self.words * 2)
        if not dropped:
            return list(entries)
        first_user = next((e for e in entries if e.message.role == "user"), None)
        earlier = first_user.note if first_user is not None and first_user.note else ""
        shown = [earlier] + [_render(entries[i].message) for i in sorted(dropped)]
        budget_chars = max(2000, int(target / max(view.counter.tokens_per_char, 0.05)) // 2)
        summary = await self._ask(view, "\n".join(shown)[-budget_chars:])
        gap = _gap(entries, dropped)
        note = f"[agentkit: summary of {gap:,} earlier messages, left out to fit the context window]\n{summary}"
        return _with_gap_note(view, list(entries), dropped, note)

    async def _ask(self, view: View, history: str) -> str:
        request = [Message.system(_SUMMARY_PROMPT.format(words=self.words)), Message.user(history)]
        parts: list[str] = []
        room = self.words * 20  # characters: a server that ignores max_tokens cannot make the summary any size
        try:
            async for event in view.model.stream(request, [], ModelSettings(max_tokens=self.words * 2)):
                if isinstance(event, TextDelta) and room > 0:
                    parts.append(event.text[:room])
                    room -= len(parts[-1])
                elif isinstance(event, TurnEnd):
                    view.usage.add(event.usage)
        except AgentkitError as exc:
            return f"(no summary: the model could not write one: {str(exc)[:200]})"
        return "".join(parts).strip() or "(the model wrote an empty summary)"


def _render(message: Message) -> str:
    lines = [f"{message.role}: {message.content}"] if message.content else []
    lines += [f"call {c.name}({c.arguments_json()[:500]})" for c in message.tool_calls]
    lines += [f"result of {r.name}: {r.content[:1500]}" for r in message.tool_results]
    return "\n".join(lines)


class Chain:
    """Each strategy in turn, until the view fits."""

    def __init__(self, *strategies: ContextStrategy) -> None:
        self.strategies = strategies
        self.name = "+".join(str(getattr(s, "name", type(s).__name__)) for s in strategies)

    async def reduce(self, view: View, target: int) -> list[Entry]:
        for strategy in self.strategies:
            view.entries = await strategy.reduce(view, target)
            if view.tokens <= target:
                break
        return view.entries


def default_strategy() -> ContextStrategy:
    return Chain(ClearToolResults(), SlidingWindow())
