"""Agents as tools: agent.as_tool() runs a clone; its usage joins the caller's and its events nest."""

from __future__ import annotations

from pathlib import Path

import anyio

from agentkit import Agent, ScriptedModel, ToolCall, Turn, Usage, tool
from agentkit.loop import NestedEvent, RunEnd, ToolCallStarted, ToolResultEvent
from agentkit.tooling import InProcessExecutor


@tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


def test_an_agent_answers_as_a_tool_and_its_usage_and_events_join_the_callers() -> None:
    inner = Agent(
        model=ScriptedModel(
            [
                Turn(
                    calls=[ToolCall(name="add", arguments={"a": 2, "b": 3})],
                    usage=Usage(input_tokens=10, output_tokens=1),
                ),
                Turn(text="five", usage=Usage(input_tokens=20, output_tokens=3)),
            ]
        ),
        tools=[add],
        name="mathematician",
        executor=InProcessExecutor(),
    )
    outer = Agent(
        model=ScriptedModel(
            [
                Turn(
                    calls=[ToolCall(name="math", arguments={"prompt": "2+3?"})],
                    usage=Usage(input_tokens=100, output_tokens=5),
                ),
                Turn(text="the answer is five", usage=Usage(input_tokens=200, output_tokens=11)),
            ]
        ),
        tools=[inner.as_tool(name="math", description="Does arithmetic.")],
        executor=InProcessExecutor(),
    )
    assert outer.tools.get("math") is not None and outer.tools.get("math").description == "Does arithmetic."

    async def collect() -> list[object]:
        return [e async for e in outer.stream("what is 2+3?")]

    events = anyio.run(collect)
    nested = [e for e in events if isinstance(e, NestedEvent)]
    assert nested and all(e.agent == "math" for e in nested)
    assert any(isinstance(e.event, ToolResultEvent) and e.event.result.content == "5" for e in nested)
    assert nested[0].to_dict()["kind"] == "nested"
    end = events[-1]
    assert isinstance(end, RunEnd)
    assert end.result.text == "the answer is five"
    assert [r.content for r in end.result.tool_results] == ["five"]
    assert (end.result.usage.input_tokens, end.result.usage.output_tokens) == (330, 20)
    assert inner.messages == []  # each call runs a clone: the agent itself keeps no conversation from it


def test_the_live_display_shows_nested_calls() -> None:
    import io

    from agentkit.cli.display import LiveDisplay
    from agentkit.loop import ToolCallStarted

    out = io.StringIO()
    display = LiveDisplay(out=out, show_reasoning=False)
    display.handle(NestedEvent(agent="math", event=ToolCallStarted(call=ToolCall(name="add", arguments={"a": 1}))))
    display.close()
    assert "[math] → add(" in out.getvalue()


def _waiting_agent(go: anyio.Event) -> Agent:
    @tool
    async def wait_for_go() -> str:
        """Wait until the caller says go."""
        await go.wait()
        return "went"

    model = ScriptedModel([ToolCall(name="wait_for_go", arguments={}), "done waiting"])
    return Agent(model=model, tools=[wait_for_go], name="waiter", executor=InProcessExecutor())


def test_nested_events_reach_the_callers_stream_while_the_inner_agent_runs() -> None:
    """The inner tool waits for a go the consumer gives only on seeing the inner call: events must be live."""
    go = anyio.Event()
    script = [ToolCall(name="waiter", arguments={"prompt": "wait"}), "the waiter is done"]
    outer = Agent(model=ScriptedModel(script), tools=[_waiting_agent(go).as_tool()], executor=InProcessExecutor())

    async def consume() -> list[object]:
        seen: list[object] = []
        with anyio.fail_after(10):
            async for event in outer.stream("go"):
                seen.append(event)
                inner = event.event if isinstance(event, NestedEvent) else None
                if isinstance(inner, ToolCallStarted) and inner.call.name == "wait_for_go":
                    go.set()
        return seen

    events = anyio.run(consume)
    kinds = [(type(e).__name__, type(getattr(e, "event", None)).__name__) for e in events]
    started = kinds.index(("NestedEvent", "ToolCallStarted"))
    assert started < kinds.index(("ToolResultEvent", "NoneType"))  # before the outer call's result
    assert events[-1].result.text == "the waiter is done"  # type: ignore[attr-defined]


def test_a_cancelled_run_cancels_the_inner_agent_too() -> None:
    go = anyio.Event()  # never set: the inner tool waits until it is cancelled
    script = [ToolCall(name="waiter", arguments={"prompt": "wait"}), "unreached"]
    outer = Agent(model=ScriptedModel(script), tools=[_waiting_agent(go).as_tool()], executor=InProcessExecutor())

    async def consume() -> None:
        with anyio.move_on_after(0.5):
            async for _ in outer.stream("go"):
                pass

    anyio.run(consume)  # returns: the waiting inner tool did not hold the cancelled run
    assert not go.is_set()


def test_an_agent_with_a_session_records_each_call_in_a_session_of_its_own(tmp_path: Path) -> None:
    from agentkit.sessions import Session

    helper = Agent(
        model=ScriptedModel(["bonjour", "au revoir"]),
        name="translator",
        session=tmp_path / "translator.jsonl",
        executor=InProcessExecutor(),
    )
    calls = [ToolCall(name="translate", arguments={"prompt": word}) for word in ("hello", "goodbye")]
    outer = Agent(
        model=ScriptedModel([calls[0], calls[1], "done"]),
        tools=[helper.as_tool(name="translate")],
        session=tmp_path / "main.jsonl",
        executor=InProcessExecutor(),
    )
    outer("translate two words")
    inner = sorted(tmp_path.glob("translator.*.jsonl"))
    assert len(inner) == 2
    conversations = [[(m.role, m.content) for m in Session(p).load().messages] for p in inner]
    assert sorted(conversations) == [
        [("user", "goodbye"), ("assistant", "au revoir")],
        [("user", "hello"), ("assistant", "bonjour")],
    ]
    assert Session(tmp_path / "translator.jsonl").load().messages == []  # the agent's own session is untouched
    main = [m.role for m in Session(tmp_path / "main.jsonl").load().messages]
    assert main == ["user", "assistant", "tool", "assistant", "tool", "assistant"]


def test_the_inner_agents_own_limits_apply_and_the_caller_reads_why_it_stopped() -> None:
    from agentkit import Limits

    looping = ScriptedModel([ToolCall(name="add", arguments={"a": 1, "b": 1})] * 3)
    inner = Agent(model=looping, tools=[add], name="looper", limits=Limits(max_turns=2), executor=InProcessExecutor())
    outer = Agent(
        model=ScriptedModel([ToolCall(name="looper", arguments={"prompt": "loop"}), "gave up"]),
        tools=[inner.as_tool()],
        executor=InProcessExecutor(),
    )
    result = outer("go")
    (answer,) = result.tool_results
    assert answer.is_error and "the looper agent stopped (max_turns" in answer.content
    assert looping.position == 2  # the inner limit, not the caller's (100 turns), stopped it


def test_cancel_reaches_an_agent_running_as_a_tool_and_its_session_stays_resumable(tmp_path: Path) -> None:
    """agent.cancel() (the CLI's first Ctrl-C) while the inner agent runs: both stop at their next step."""
    from agentkit.sessions import Session

    outer: Agent | None = None

    @tool
    def tick() -> str:
        """Tick."""
        assert outer is not None
        outer.cancel()  # what the CLI does on Ctrl-C, while the inner agent is mid-run
        return "tick"

    ticking = ScriptedModel([ToolCall(name="tick", arguments={})] * 5 + ["ticked five times"])
    inner = Agent(
        model=ticking, tools=[tick], name="ticker", session=tmp_path / "ticker.jsonl", executor=InProcessExecutor()
    )
    caller = ScriptedModel([ToolCall(name="ticker", arguments={"prompt": "tick"}), "unreached"])
    outer = Agent(model=caller, tools=[inner.as_tool()], executor=InProcessExecutor())
    result = outer("go")
    assert result.stop_reason == "cancelled"
    assert ticking.position == 1 and caller.position == 1  # neither took another turn
    (answer,) = result.tool_results
    assert answer.is_error and "the ticker agent stopped (cancelled" in answer.content
    (path,) = tmp_path.glob("ticker.*.jsonl")
    assert f"its session {Session(path).id} can be resumed" in answer.content
    resumed = Agent(model=ScriptedModel(["resumed"]), tools=[tick], session=path, executor=InProcessExecutor())
    assert anyio.run(resumed.resume).text == "resumed"
    assert [m.role for m in resumed.messages] == ["user", "assistant", "tool", "assistant"]


def test_a_cancel_that_comes_just_before_the_inner_run_begins_still_reaches_it() -> None:
    """cancel() between the caller's decision to call the agent and the inner run's start is not lost."""
    outer: Agent | None = None
    ticking = ScriptedModel([ToolCall(name="add", arguments={"a": 1, "b": 1})] * 5 + ["done"])
    inner = Agent(model=ticking, tools=[add], name="adder", executor=InProcessExecutor())
    caller = ScriptedModel([ToolCall(name="adder", arguments={"prompt": "add"}), "unreached"])
    outer = Agent(model=caller, tools=[inner.as_tool()], executor=InProcessExecutor())

    @outer.hooks.on("before_tool_call")
    def cancel_first(call: ToolCall) -> None:
        assert outer is not None
        outer.cancel()  # the inner agent's loop does not exist yet

    result = outer("go")
    assert result.stop_reason == "cancelled" and ticking.position <= 1
    assert "the adder agent stopped (cancelled" in result.tool_results[0].content
