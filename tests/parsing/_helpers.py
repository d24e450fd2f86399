"""Shared helpers: run a text through StreamParser with a given chunking and check the event contract."""

from __future__ import annotations

import itertools
import json
from typing import Any

from agentkit.parsing import (
    ArgumentsDelta,
    CallFinished,
    CallInvalid,
    CallStarted,
    ParseEvent,
    ParseResult,
    StreamParser,
    parse,
)


def chunks_at(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c for c in cuts if 0 < c < len(text)})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def stream(pieces: list[str], **kwargs: Any) -> tuple[ParseResult, list[ParseEvent]]:
    parser = StreamParser(**kwargs)
    events: list[ParseEvent] = []
    for piece in pieces:
        events += parser.feed(piece)
    events += parser.finish()
    return parser.close(), events


def check_events(result: ParseResult, events: list[ParseEvent]) -> None:
    """Every finished call was started once, and its argument fragments join into its arguments as JSON."""
    started: dict[int, str] = {}
    fragments: dict[int, str] = {}
    for event in events:
        if isinstance(event, CallStarted):
            assert event.index not in started
            started[event.index] = event.name
        elif isinstance(event, ArgumentsDelta):
            assert event.index in started
            fragments[event.index] = fragments.get(event.index, "") + event.text
        elif isinstance(event, CallFinished):
            assert started[event.index] == event.call.name
            assert json.loads(fragments[event.index]) == event.call.arguments
        elif isinstance(event, CallInvalid) and event.index in started:
            assert event.invalid.name == started[event.index]
    assert [c.index for c in result.calls] == sorted(c.index for c in result.calls)


def assert_same_any_chunking(text: str, cuts: list[int], **kwargs: Any) -> ParseResult:
    whole = parse(text, **kwargs)
    for pieces in (chunks_at(text, cuts), list(text)):
        result, events = stream(pieces, **kwargs)
        assert result == whole, pieces
        check_events(result, events)
    return whole
