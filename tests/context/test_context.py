"""agentkit.context: what the model is sent fits its window, stays valid, and the transcript keeps everything."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent
from agentkit.context import ClearToolResults, ContextManager, SlidingWindow, Summarize
from agentkit.errors import ContextOverflow
from agentkit.loop import ContextReduced, Limits
from agentkit.messages import Message, ToolCall, Usage
from agentkit.models.base import ModelSettings
from agentkit.models.testing import FunctionModel, Turn
from agentkit.sessions import Session
from agentkit.tooling import InProcessExecutor, ToolDefinition

TASK = "Read every page and report."
PAGE = "x" * 2000  # a 2 KB tool result


def read_page(n: int) -> str:
    """Read page n."""
    return f"page {n}: " + PAGE


def check_valid(messages: Sequence[Message]) -> None:
    """System prompt first, then the task; every tool message answers the assistant turn just before it."""
    assert messages[0].role == "system"
    assert messages[1].role == "user" and messages[1].content.startswith(TASK)
    for before, message in itertools.pairwise(messages):
        if message.role == "tool":
            assert before.role == "assistant"
            assert [r.call_id for r in message.tool_results] == [c.id for c in before.tool_calls]
        if before.role == "assistant" and before.tool_calls:
            assert message.role == "tool"


def paging_model(pages: int, seen: list[list[Message]] | None = None) -> FunctionModel:
    """Reads pages 0..pages-1, one call a turn, then answers."""

    def script(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> Turn:
        if seen is not None:
            seen.append(list(messages))
        done = sum(1 for m in messages if m.role == "tool")
        last = messages[-1]
        if last.role == "tool":  # the newest result is always sent whole
            done = int(last.tool_results[0].content.split(":")[0].split()[1]) + 1
        if done >= pages:
            return Turn(text="all pages read")
        return Turn(calls=[ToolCall(name="read_page", arguments={"n": done})])

    return FunctionModel(script)


def paging_agent(pages: int, seen: list[list[Message]] | None = None, **options: Any) -> Agent:
    """An agent on `paging_model` with `read_page`, system prompt "s", tools in process, and `options`."""
    return Agent(paging_model(pages, seen), [read_page], system_prompt="s", executor=InProcessExecutor(), **options)


def chars(messages: Sequence[Message]) -> int:
    total = 0
    for m in messages:
        total += len(m.content) + sum(len(r.content) for r in m.tool_results)
        total += sum(len(c.arguments_json()) for c in m.tool_calls)
    return total


def test_a_2000_turn_run_with_2kb_results_fits_a_32k_window_and_the_transcript_keeps_every_result(
    tmp_path: Path,
) -> None:
    seen: list[list[Message]] = []
    agent = Agent(
        paging_model(2000, seen),
        [read_page],
        system_prompt="You read pages.",
        limits=Limits(max_turns=2100, max_tool_calls=2100),
        executor=InProcessExecutor(),
        session=tmp_path / "long.jsonl",
        context_window=32_000,
    )
    result = agent(TASK)  # a few seconds: the cost of a turn does not grow with the run
    assert result.stop_reason == "end_turn" and result.text == "all pages read"
    assert len(seen) == 2001
    # without reduction the last request would hold 2,000 x 2 KB = 4 MB; 32K tokens is ~107K characters
    assert max(chars(request) for request in seen) < 110_000
    for request in seen[::97]:
        check_valid(request)
    check_valid(seen[-1])
    # the durable transcript holds every result whole
    state = Session(tmp_path / "long.jsonl").load()
    results = [r for m in state.messages for r in m.tool_results]
    assert len(results) == 2000
    assert all(r.content == f"page {i}: " + PAGE for i, r in enumerate(results))
    assert state.context is not None and state.context["type"] == "context"


def test_old_results_are_cleared_with_a_note_before_turns_are_left_out() -> None:
    seen: list[list[Message]] = []
    agent = paging_agent(30, seen, context_window=8_000)
    events = asyncio.run(_events(agent, TASK))
    reduced = [e for e in events if isinstance(e, ContextReduced)]
    assert reduced and reduced[0].cleared > 0 and reduced[0].left_out == 0
    assert reduced[0].strategy == "clear_tool_results+sliding_window"
    first = reduced[0].to_dict()
    assert first["kind"] == "context_reduced" and first["tokens_after"] < first["tokens_before"]
    request = seen[-1]
    notes = [r.content for m in request for r in m.tool_results if "cleared" in r.content]
    assert notes and "Call read_page again" in notes[0]
    # the conversation the agent keeps is whole
    assert all(r.content.endswith(PAGE) for m in agent.messages for r in m.tool_results)


def test_sliding_window_leaves_out_whole_turns_and_says_so_on_the_task() -> None:
    seen: list[list[Message]] = []
    agent = paging_agent(40, seen, context=SlidingWindow(), context_window=6_000)
    assert agent(TASK).stop_reason == "end_turn"
    last = seen[-1]
    check_valid(last)
    assert "earlier messages of this conversation were left out" in last[1].content
    assert len(last) < 20 and len(agent.messages) == 83


def test_summarize_puts_the_models_summary_on_the_task_message() -> None:
    asked: list[str] = []

    def script(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> Turn:
        if messages[0].content.startswith("You compress"):
            asked.append(messages[1].content)
            return Turn(text="SUMMARY: pages read so far", usage=Usage(input_tokens=1000, output_tokens=7))
        done = sum(1 for m in messages if m.role == "tool")
        if "SUMMARY" in messages[1].content:
            done = int(messages[-1].tool_results[0].content.split(":")[0].split()[1]) + 1
        if done >= 30:
            return Turn(text="done")
        return Turn(calls=[ToolCall(name="read_page", arguments={"n": done})])

    seen: list[list[Message]] = []
    model = FunctionModel(lambda m, t: (seen.append(list(m)), script(m, t))[1])
    agent = Agent(
        model, [read_page], system_prompt="s", executor=InProcessExecutor(), context=Summarize(), context_window=6_000
    )
    result = agent(TASK)
    assert result.text == "done"
    assert asked and "read_page" in asked[0]
    assert result.usage.input_tokens >= 1000 * len(asked)  # the summaries' cost is the run's
    last = seen[-1]
    check_valid(last)
    assert "SUMMARY: pages read so far" in last[1].content


def test_a_summary_longer_than_asked_for_is_cut() -> None:
    def script(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> Turn:
        if messages[0].content.startswith("You compress"):
            return Turn(text="S" * 5_000_000)  # a server that ignores max_tokens
        if messages[-1].role == "tool" and int(messages[-1].tool_results[0].content.split(":")[0].split()[1]) >= 29:
            return Turn(text="done")
        done = sum(1 for m in messages if m.role == "tool")
        if messages[-1].role == "tool":
            done = int(messages[-1].tool_results[0].content.split(":")[0].split()[1]) + 1
        return Turn(calls=[ToolCall(name="read_page", arguments={"n": done})])

    agent = Agent(
        FunctionModel(script),
        [read_page],
        system_prompt="s",
        executor=InProcessExecutor(),
        context=Summarize(words=300),
        context_window=6_000,
    )
    assert agent(TASK).text == "done"
    manager = agent.context
    assert manager is not None and manager._record is not None
    notes = [run[2] for run in manager._record["view"] if run[0] == "note"]
    assert notes and all(len(note) <= 300 * 20 + 200 for note in notes)


def test_an_overflow_the_backend_reports_reduces_the_view_and_retries_the_turn_once() -> None:
    sizes: list[int] = []

    def script(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> Turn:
        sizes.append(len(messages))
        if chars(messages) > 12_000:  # a backend with a window it never told us about
            raise ContextOverflow("This model's maximum context length is 4000 tokens", limit=4000)
        done = sum(1 for m in messages if m.role == "tool")
        last = messages[-1]
        if last.role == "tool":
            done = int(last.tool_results[0].content.split(":")[0].split()[1]) + 1
        return Turn(text="done") if done >= 12 else Turn(calls=[ToolCall(name="read_page", arguments={"n": done})])

    agent = Agent(FunctionModel(script), [read_page], system_prompt="s", executor=InProcessExecutor())
    events = asyncio.run(_events(agent, TASK))
    reduced = [e for e in events if isinstance(e, ContextReduced)]
    assert reduced[0].reason == "overflow" and reduced[0].window == 4000
    assert events[-1].result.stop_reason == "end_turn"
    assert agent.context is not None and agent.context.window == 4000


def test_before_model_call_hooks_see_the_reduced_view_and_the_retry_after_an_overflow() -> None:
    hooked: list[int] = []  # messages each before_model_call hook was given
    sent: list[int] = []  # messages the backend was sent

    def script(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> Turn:
        sent.append(len(messages))
        if chars(messages) > 12_000:
            raise ContextOverflow("This model's maximum context length is 4000 tokens", limit=4000)
        done = sum(1 for m in messages if m.role == "tool")
        if messages[-1].role == "tool":
            done = int(messages[-1].tool_results[0].content.split(":")[0].split()[1]) + 1
        return Turn(text="done") if done >= 12 else Turn(calls=[ToolCall(name="read_page", arguments={"n": done})])

    agent = Agent(FunctionModel(script), [read_page], system_prompt="s", executor=InProcessExecutor())
    agent.hooks.add("before_model_call", lambda request: hooked.append(len(request.messages)))
    assert agent(TASK).stop_reason == "end_turn"
    # one hook call per request: the refused one and its reduced retry both went through the hooks
    assert hooked == sent
    refused = next(i for i, n in enumerate(sent) if n > sent[i + 1])
    assert hooked[refused + 1] < hooked[refused]
    # later turns hand the hooks the view, not the whole transcript
    assert hooked[-1] < len(agent.messages) - 1


def test_a_hook_that_amends_the_request_amends_the_reduced_view() -> None:
    seen: list[list[Message]] = []
    agent = paging_agent(30, seen, context_window=6_000)
    agent.hooks.add(
        "before_model_call",
        lambda request: dataclasses.replace(request, messages=[*request.messages[:-1], request.messages[-1]]),
    )
    assert agent(TASK).stop_reason == "end_turn"
    assert max(chars(request) for request in seen) < 6_000 * 4
    check_valid(seen[-1])


def test_an_overflow_that_reducing_cannot_fix_stops_the_run_with_a_clear_reason() -> None:
    def script(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> Turn:
        raise ContextOverflow("Input is too long for requested model.")

    agent = Agent(FunctionModel(script), [read_page], system_prompt="s", executor=InProcessExecutor())
    result = agent(TASK)
    assert result.stop_reason == "context_overflow"
    assert result.detail is not None and "still over the context window" in result.detail
    assert result.turns == 1


def test_without_context_management_an_overflow_is_an_error() -> None:
    def script(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> Turn:
        raise ContextOverflow("Input is too long for requested model.")

    agent = Agent(FunctionModel(script), [read_page], context=False, executor=InProcessExecutor())
    with pytest.raises(ContextOverflow):
        agent(TASK)


def test_reported_usage_calibrates_the_estimate() -> None:
    manager = ContextManager(ClearToolResults(), window=100_000)
    messages = [Message.system("s"), Message.user(TASK)]
    model = FunctionModel(lambda m, t: Turn(text="ok"))
    settings = ModelSettings()
    for n in range(20):
        sent, _ = asyncio.run(manager.prepare(messages, model, settings))
        # a backend whose tokenizer takes 1 token for 2 characters, plus 100 tokens of tool definitions
        manager.observe(Usage(input_tokens=chars(sent) // 2 + 100))
        messages.append(Message.assistant(tool_calls=[ToolCall(name="read_page", arguments={"n": n}, id=f"c{n}")]))
        messages.append(Message.tool([_result(f"c{n}", "y" * (500 + 37 * n))]))
    assert abs(manager._counter.tokens_per_char - 0.5) < 0.05


def _result(call_id: str, content: str) -> Any:
    from agentkit.messages import ToolResult

    return ToolResult(call_id=call_id, name="read_page", content=content)


async def _events(agent: Agent, prompt: str) -> list[Any]:
    return [event async for event in agent.stream(prompt)]


def huge_file(path: str) -> str:
    """Read a file."""
    return "z" * 200_000


def huge_file_agent(paths: list[str], answer: str, seen: list[list[Message]]) -> Agent:
    """One turn calling `huge_file` on each of `paths` at once, then `answer`, in an 8,000-token window."""

    def script(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> Turn:
        seen.append(list(messages))
        if messages[-1].role == "tool":
            return Turn(text=answer)
        return Turn(calls=[ToolCall(name="huge_file", arguments={"path": path}) for path in paths])

    return Agent(
        FunctionModel(script), [huge_file], system_prompt="s", executor=InProcessExecutor(), context_window=8_000
    )


def test_a_result_too_big_for_the_window_is_cut_in_the_view_with_a_note_and_kept_whole() -> None:
    seen: list[list[Message]] = []
    agent = huge_file_agent(["big.log"], "read it", seen)
    assert agent(TASK).text == "read it"
    (shown,) = seen[-1][-1].tool_results
    assert len(shown.content) < 10_000
    assert "cut to fit the context window" in shown.content and "Call huge_file again" in shown.content
    assert agent.messages[-2].tool_results[0].content == "z" * 200_000  # the conversation keeps it whole


def test_results_of_many_calls_at_once_share_the_room_of_one_in_the_view() -> None:
    seen: list[list[Message]] = []
    agent = huge_file_agent([f"big{i}.log" for i in range(20)], "read them", seen)
    assert agent(TASK).text == "read them"
    assert chars(seen[-1]) < 15_000  # 20 results cut to 7,000 characters each would be 140,000: 5x the window
    assert all("cut to fit the context window" in r.content for r in seen[-1][-1].tool_results)
    assert all(len(r.content) == 200_000 for r in agent.messages[-2].tool_results)


def test_the_displays_say_when_and_how_the_context_was_reduced() -> None:
    import io
    import json

    from agentkit.cli.display import JsonDisplay, LiveDisplay

    event = ContextReduced(
        strategy="clear_tool_results+sliding_window",
        reason="window",
        tokens_before=29_000,
        tokens_after=16_000,
        window=32_000,
        sent=40,
        left_out=12,
        cleared=9,
        record={"type": "context"},
    )
    live, lines = io.StringIO(), io.StringIO()
    LiveDisplay(out=live, show_reasoning=False).handle(event)
    JsonDisplay(out=lines).handle(event)
    assert "context reduced (clear_tool_results+sliding_window, window)" in live.getvalue()
    assert "12 messages left out, 9 tool results cleared" in live.getvalue()
    data = json.loads(lines.getvalue())
    assert data["kind"] == "context_reduced" and data["tokens_after"] == 16_000 and "record" not in data


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"context": "sliding"}, "is not a context strategy"), ({"context_window": 0}, "is not a window")],
)
def test_a_bad_context_setting_is_a_clear_config_error(kwargs: dict[str, Any], words: str) -> None:
    from agentkit.errors import ConfigError

    with pytest.raises(ConfigError, match=words):
        Agent(FunctionModel(lambda m, t: "hi"), **kwargs)


def test_a_conversation_put_in_place_of_another_is_not_read_through_the_old_reduction() -> None:
    agent = paging_agent(30, context_window=6_000)
    agent(TASK)
    assert agent.context is not None and agent.context._record is not None
    fresh = [m for m in agent.messages if m.role != "system"]  # another conversation, as long as the old one
    fresh.insert(0, Message.system("another system prompt"))
    agent.messages = fresh
    assert agent.context.view(agent.messages) == fresh  # whole until it is reduced for itself


def test_a_reduction_record_rebuilds_the_same_view_and_stays_small() -> None:
    from agentkit.context import Counter
    from agentkit.context.view import decode, encode

    agent = paging_agent(200, context_window=20_000)
    agent(TASK)
    manager = agent.context
    assert manager is not None and manager._record is not None
    runs = encode(manager._entries)
    assert len(runs) <= 6  # a stretch of cleared turns is one run, not one per message
    rebuilt = decode(runs, agent.messages, Counter())
    assert rebuilt is not None
    assert [e.message for e in rebuilt] == [e.message for e in manager._entries]
