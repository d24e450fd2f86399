"""A "context" record read back from a session someone else wrote: anything in it is ignored safely (the view is
rebuilt from the transcript), never a crash, and rebuilding costs at most one entry per transcript message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent
from agentkit.context import ContextManager
from agentkit.messages import Message
from agentkit.models.base import ModelSettings
from agentkit.models.testing import FunctionModel, Turn

MESSAGES = [Message.system("s"), Message.user("task")] + [Message.user(f"m{i}") for i in range(200)]
N = len(MESSAGES)

HOSTILE: dict[str, dict[str, Any]] = {
    "a run that is an object": {"upto": N, "view": [{"a": 1}]},
    "a run that is a string": {"upto": N, "view": ["keep"]},
    "a view that is a number": {"upto": N, "view": 5},
    "tokens_per_char a string": {"upto": N, "view": [["keep", 0, N]], "tokens_per_char": "abc"},
    "tokens_per_char a list": {"upto": N, "view": [["keep", 0, N]], "tokens_per_char": [1]},
    "tokens_per_char negative": {"upto": N, "view": [["keep", 0, N]], "tokens_per_char": -5},
    "tokens_per_char huge": {"upto": N, "view": [["keep", 0, N]], "tokens_per_char": 1e308},
    "a note on a negative index": {"upto": N, "view": [["note", -1, "x"]]},
    "a clip with a negative limit": {"upto": N, "view": [["keep", 0, N - 1], ["clip", N - 1, -5]]},
    "a negative upto": {"upto": -5, "view": [["keep", 0, 1]]},
    "an empty view": {"upto": N, "view": []},
    "the same messages over and over": {"upto": N, "view": [["keep", 0, N]] * 20_000},
    "runs out of order": {"upto": N, "view": [["keep", 100, N], ["keep", 0, 100]]},
}


@pytest.mark.parametrize("record", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_context_record_is_ignored_and_the_whole_transcript_is_the_view(record: dict[str, Any]) -> None:
    manager = ContextManager(window=1_000_000)
    manager.window = 1_000_000
    manager.restore({"type": "context", **record})
    assert manager.view(MESSAGES, ModelSettings()) == MESSAGES
    assert 0.02 <= manager._counter.tokens_per_char <= 2.0


def test_a_session_with_a_hostile_context_record_resumes(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    lines = [{"type": "message", "message": m.to_dict()} for m in MESSAGES[:3]]
    lines.append({"type": "context", "upto": 3, "view": [{"x": 1}], "tokens_per_char": "NaN"})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    seen: list[int] = []

    def script(messages: list[Message], tools: object) -> Turn:
        seen.append(len(messages))
        return Turn(text="done")

    agent = Agent(FunctionModel(script), [], session=path, context_window=100_000)
    assert agent("go on").text == "done"
    assert seen == [4]


@pytest.mark.parametrize("reported", [True, 0, -5, 10**30, float("nan"), "x", 12])
def test_a_window_a_server_reports_that_no_window_is_is_not_used(reported: Any) -> None:
    import asyncio

    from agentkit.context.windows import find_window

    class Served:
        context_window = reported

    assert asyncio.run(find_window(Served())) is None
