"""The per-agent keeper of the view: what the next model turn is sent, kept in step with the transcript.

Each turn, `prepare` appends the transcript's new messages to the view (estimating only those), and when the
view's estimate passes the budget (the window less room for the answer) the strategy reduces it to 60% of
the budget, so reductions are rare and a turn costs the same at turn 10 and turn 10,000. After a reduction
the event `ContextReduced` carries a record of the new view, which the Agent writes to the session: a
resumed run rebuilds the same view from the transcript and that record (`restore`).

When the backend still reports an overflow (`ContextOverflow`), `overflowed` learns the window it names (or
takes 60% of what was sent) and the next `prepare` reduces to fit; the loop retries the turn once.

With no window known and no overflow seen, `prepare` sends the transcript as it is and keeps no view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agentkit.context.strategies import ContextStrategy, View, default_strategy
from agentkit.context.view import Counter, Entry, clipped, decode, encode
from agentkit.context.windows import find_window
from agentkit.errors import ConfigError, ContextOverflow
from agentkit.messages import Message, Usage
from agentkit.models.base import Model, ModelSettings, token_count

__all__ = ["ContextManager", "ContextReduced"]

_TARGET = 0.6  # a reduction aims at this share of the budget, so the next one is many turns away
_RATIO = (0.02, 2.0)  # tokens per character a record may restore (the range calibration keeps to)


@dataclass(slots=True, kw_only=True)
class ContextReduced:
    """What the model is sent was reduced to fit its window; the transcript keeps every message."""

    strategy: str
    reason: Literal["window", "overflow"]
    tokens_before: int
    tokens_after: int
    window: int | None
    sent: int  # messages sent now
    left_out: int  # transcript messages not sent
    cleared: int  # tool messages sent with their results cleared
    record: dict[str, Any] = field(repr=False)  # for the session transcript
    usage: Usage = field(default_factory=Usage)  # model calls the reduction made (a summary), added to the run's
    kind: Literal["context_reduced"] = "context_reduced"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "strategy": self.strategy,
            "reason": self.reason,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "window": self.window,
            "sent": self.sent,
            "left_out": self.left_out,
            "cleared": self.cleared,
        }


class ContextManager:
    """Keeps the view of one conversation (one per Agent); see the module docstring."""

    def __init__(
        self, strategy: ContextStrategy | None = None, *, window: int | None = None, reserve: int | None = None
    ) -> None:
        if strategy is not None and not callable(getattr(strategy, "reduce", None)):
            raise ConfigError(
                f"context={strategy!r} is not a context strategy; pass True (the default), False (send "
                "everything) or one of agentkit.context's strategies, e.g. SlidingWindow()"
            )
        if window is not None and (not isinstance(window, int) or window < 64):
            raise ConfigError(f"context_window={window!r} is not a window; give the model's window in tokens (>= 64)")
        self.strategy = strategy or default_strategy()
        self.strategy_name = str(getattr(self.strategy, "name", type(self.strategy).__name__))
        self.window_override = window
        self.reserve = reserve  # tokens kept free for the answer (default: settings.max_tokens, else window/8)
        self.window: int | None = None
        self._model: Model | None = None
        self._counter = Counter()
        self._messages: list[Message] | None = None  # the transcript the view follows
        self._entries: list[Entry] = []
        self._sent: list[Message] = []  # the entries' messages, kept beside them
        self._synced = 0
        self._record: dict[str, Any] | None = None  # the last reduction, this run's or the session's
        self._record_of: list[Message] | None = None  # the transcript it describes (None: the next one, restored)
        self._tokens = 0  # the entries' estimates, summed as they come
        self._sent_estimate = 0
        self._forced: int | None = None  # the target after an overflow
        self._passed: list[Message] | None = None  # the transcript last sent whole (no window known)
        self._clip: int | None = None  # characters a tool result may take in the view

    # ---- the loop's side ---------------------------------------------------------------------------

    async def prepare(
        self, messages: list[Message], model: Model, settings: ModelSettings
    ) -> tuple[list[Message], ContextReduced | None]:
        """The messages to send this turn, and the reduction made to fit them (None when none was needed)."""
        if model is not self._model:
            self._model = model
            self._counter = Counter(getattr(model, "count_tokens", None))
            self.window = self.window_override or await find_window(model)
            self._messages = None  # estimates change with the counter
        if self.window is None and self._forced is None:
            self._messages, self._passed = None, messages
            return messages, None
        budget = self._budget(settings)
        self._clip = budget  # a result over `budget` characters is cut in the view (about a quarter of it in tokens)
        self._sync(messages)
        total = self._total()
        event = None
        if self._forced is not None:
            event = await self._reduce(model, messages, self._forced, "overflow")
            self._forced = None
        elif budget is not None and total > budget:
            event = await self._reduce(model, messages, int(budget * _TARGET), "window")
        self._sent_estimate = self._tokens
        return self._sent, event

    def observe(self, usage: Usage) -> None:
        """The backend's report for the turn just sent: calibrates the estimates."""
        reported = token_count(usage.input_tokens)  # a custom Model may report anything
        if reported > 0 and not usage.estimated and self._messages is not None:
            self._counter.observe(reported, self._sent_estimate)

    def overflowed(self, error: ContextOverflow, settings: ModelSettings) -> None:
        """The backend refused the last request as too long: the next `prepare` reduces to fit."""
        if error.limit is not None and (self.window is None or error.limit < self.window):
            self.window = error.limit
        if self._messages is None and self._passed is not None:  # sent whole: estimate what that was
            self._sync(self._passed)
            self._sent_estimate = self._tokens
        if self._messages is not None and error.limit is not None and self._sent_estimate < error.limit:
            # what was sent is at least the limit: count it so, or the reduction would aim too high
            self._counter.offset = max(self._counter.offset, error.limit + 1 - self._sent_estimate)
        # aim below both the budget and what was just refused (when our estimate of it was too low)
        sent = self._sent_estimate + self._counter.offset if self._messages is not None else None
        budget = self._budget(settings)
        aims = [int(x * _TARGET) for x in (budget, sent) if x is not None and x > 0]
        self._forced = min(aims) if aims else 0

    # ---- the session's side ------------------------------------------------------------------------

    def restore(self, record: dict[str, Any] | None) -> None:
        """The last reduction record of a transcript being loaded; the next `prepare` rebuilds from it."""
        self._record, self._record_of = record, None
        self._messages = None
        ratio: Any = record.get("tokens_per_char") if record is not None else None
        if isinstance(ratio, int | float) and _RATIO[0] <= ratio <= _RATIO[1]:  # a record may hold anything
            self._counter.tokens_per_char = float(ratio)

    def view(self, messages: list[Message], settings: ModelSettings | None = None) -> list[Message]:
        """The messages the next turn would be sent before any new reduction (for tests and display)."""
        if self.window is None and self._record is None:
            return list(messages)
        self._clip = self._budget(settings or ModelSettings())
        self._sync(messages)
        return list(self._sent)

    # ---- internals -------------------------------------------------------------------------------

    def _budget(self, settings: ModelSettings) -> int | None:
        if self.window is None:
            return None
        reserve = self.reserve or settings.max_tokens or min(4096, self.window // 8)
        return max(self.window - reserve, self.window // 4)

    def _total(self) -> int:
        return self._tokens + self._counter.offset

    def _sync(self, messages: list[Message]) -> None:
        synced = self._synced
        if messages is not self._messages or synced > len(messages):
            self._rebuild(messages)
            return
        counter = self._counter
        for index in range(synced, len(messages)):
            entry = self._entry(index, messages[index], counter)
            self._entries.append(entry)
            self._sent.append(entry.message)
            self._tokens += entry.tokens
        self._synced = len(messages)

    def _rebuild(self, messages: list[Message]) -> None:
        entries: list[Entry] | None = None
        if self._record_of is not None and self._record_of is not messages:
            self._record = None  # a conversation put in place of the one it described
        record, self._record_of = self._record, messages
        upto = record.get("upto") if record is not None else None
        if record is not None and type(upto) is int and 0 < upto <= len(messages):
            entries = decode(record.get("view"), messages, self._counter)
            if not entries or entries[-1].source != upto - 1:  # a reduction keeps the newest message it saw
                entries = None
        start = upto if entries is not None and type(upto) is int else 0
        entries = entries or []
        counter = self._counter
        entries.extend(self._entry(i, messages[i], counter) for i in range(start, len(messages)))
        self._set(entries)
        self._messages = messages
        self._synced = len(messages)

    def _entry(self, index: int, message: Message, counter: Counter) -> Entry:
        """A new message's entry: whole, or with results too big for the window on their own cut."""
        if self._clip is not None and message.role == "tool" and message.tool_results:
            limit = max(1, self._clip // len(message.tool_results))  # many calls at once share one result's room
            cut = clipped(message, limit)
            if cut is not None:
                return Entry(index, cut, counter.tokens(cut), clip=limit)
        return Entry(index, message, counter.tokens(message))

    def _set(self, entries: list[Entry]) -> None:
        self._entries = entries
        self._sent = [e.message for e in entries]
        self._tokens = sum(e.tokens for e in entries)

    async def _reduce(
        self, model: Model, messages: Sequence[Message], target: int, reason: Literal["window", "overflow"]
    ) -> ContextReduced | None:
        before = self._total()
        view = View(entries=list(self._entries), messages=messages, counter=self._counter, model=model)
        view.offset = self._counter.offset
        entries = await self.strategy.reduce(view, target)
        if len(entries) == len(self._entries) and all(a is b for a, b in zip(entries, self._entries, strict=True)):
            return None  # nothing could go
        self._set(entries)
        self._record = {
            "type": "context",
            "upto": len(messages),
            "strategy": self.strategy_name,
            "reason": reason,
            "view": encode(entries),
            "tokens_per_char": round(self._counter.tokens_per_char, 6),
        }
        return ContextReduced(
            strategy=self.strategy_name,
            reason=reason,
            tokens_before=before,
            tokens_after=self._total(),
            window=self.window,
            sent=len(entries),
            left_out=len(messages) - len(entries),
            cleared=sum(1 for e in entries if e.cleared),
            record=self._record,
            usage=view.usage,
        )
