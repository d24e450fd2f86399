"""The agent loop: concurrency, call order, timeouts, error results, limits, cancellation, 10,000 turns."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import anyio
import pytest

from agentkit import Agent, FunctionModel, Limits, ScriptedModel, ToolCall, Turn, tool
from agentkit.errors import ConfigError, ModelError, RetryTool
from agentkit.messages import Message, Usage
from agentkit.models.base import ModelSettings


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def calls(*pairs: tuple[str, dict]) -> list[ToolCall]:
    return [ToolCall(name=name, arguments=args) for name, args in pairs]


def test_one_tool_turn_then_answer() -> None:
    model = ScriptedModel([ToolCall(name="add", arguments={"a": 2, "b": 3}), "The sum is 5."])
    result = Agent(model=model, tools=[add])("What is 2 + 3?")
    assert result.text == "The sum is 5."
    assert result.stop_reason == "end_turn"
    assert result.turns == 2
    assert [r.content for r in result.tool_results] == ["5"]
    # the model saw the tool result on its second turn
    second_request = model.requests[1]
    assert second_request[-1].role == "tool"
    assert second_request[-1].tool_results[0].content == "5"


def test_calls_run_concurrently_and_results_keep_call_order() -> None:
    first_started = anyio.Event()
    order: list[str] = []

    @tool
    async def slow(tag: str) -> str:
        """Wait until the fast call has started, then finish."""
        await first_started.wait()
        order.append(tag)
        return f"slow-{tag}"

    @tool
    async def fast(tag: str) -> str:
        """Finish at once and let the slow one go."""
        first_started.set()
        order.append(tag)
        return f"fast-{tag}"

    model = ScriptedModel([calls(("slow", {"tag": "1"}), ("fast", {"tag": "2"})), "done"])
    limits = Limits(tool_timeout=5)
    result = Agent(model=model, tools=[slow, fast], limits=limits)("go")
    assert order == ["2", "1"]  # the fast call finished first: they ran at the same time
    assert [r.content for r in result.tool_results] == ["slow-1", "fast-2"]  # but results keep call order
    assert [r.call_id for r in result.tool_results] == [c.id for c in result.tool_calls]


def test_concurrency_cap() -> None:
    in_flight = 0
    peak = 0

    @tool
    async def work(n: int) -> int:
        """Do some work."""
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01)
        in_flight -= 1
        return n

    model = ScriptedModel([calls(*[("work", {"n": i}) for i in range(6)]), "ok"])
    result = Agent(model=model, tools=[work], limits=Limits(max_concurrent_tools=2))("go")
    assert peak == 2
    assert [r.content for r in result.tool_results] == [str(i) for i in range(6)]


def test_every_kind_of_bad_call_becomes_an_error_result_and_the_run_goes_on() -> None:
    @tool
    def boom(x: int) -> int:
        """Always fails."""
        raise ValueError(f"cannot handle {x}")

    @tool
    def picky(x: int) -> int:
        """Asks the model to retry."""
        raise RetryTool("x must be even; call again with an even x")

    @tool
    async def sleepy() -> str:
        """Never finishes in time."""
        await anyio.sleep(10)
        return "late"

    @tool(timeout=0.05)
    def blocking_sleep() -> str:
        """A sync tool stuck in a blocking call."""
        time.sleep(1)
        return "late"

    bad = [
        ToolCall(name="nope", arguments={}),
        ToolCall(name="add", arguments=[1, 2]),
        ToolCall(name="add", arguments={"a": "two", "c": 1}),
        ToolCall(name="boom", arguments={"x": 1}),
        ToolCall(name="picky", arguments={"x": 1}),
        ToolCall(name="sleepy", arguments={}),
        ToolCall(name="blocking_sleep", arguments={}),
        ToolCall(name="", arguments="<function=add", invalid_reason="the <function= tag is not closed"),
    ]
    model = ScriptedModel([bad, "recovered"])
    agent = Agent(model=model, tools=[add, boom, picky, sleepy, blocking_sleep], limits=Limits(tool_timeout=0.1))
    result = agent("go")
    assert result.text == "recovered" and result.stop_reason == "end_turn"
    contents = [r.content for r in result.tool_results]
    assert all(r.is_error for r in result.tool_results)
    assert contents[0] == "unknown tool 'nope'; available tools: add, boom, picky, sleepy, blocking_sleep"
    assert "expected a JSON object of arguments, got array" in contents[1]
    assert '$.a: expected integer, got string "two"' in contents[2]
    assert "$: 'b' is a required property" in contents[2]
    assert "'c' was unexpected" in contents[2]
    assert contents[3] == "tool 'boom' raised ValueError: cannot handle 1"
    assert contents[4] == "x must be even; call again with an even x"
    assert contents[5] == "tool 'sleepy' timed out after 0.1 s"
    assert contents[6] == "tool 'blocking_sleep' timed out after 0.05 s"
    assert "the <function= tag is not closed" in contents[7]


def test_same_failure_three_times_stops_the_run() -> None:
    bad = ToolCall(name="add", arguments={"a": 1})
    model = ScriptedModel([bad, bad, bad, "never reached"])
    result = Agent(model=model, tools=[add])("go")
    assert result.stop_reason == "repeated_tool_error"
    assert result.turns == 3
    assert "failed the same way 3 times" in (result.detail or "")


def test_repeat_threshold_is_configurable() -> None:
    bad = ToolCall(name="add", arguments={"a": 1})
    model = ScriptedModel([bad, bad, "answer"])
    result = Agent(model=model, tools=[add], limits=Limits(max_repeated_failures=5))("go")
    assert result.stop_reason == "end_turn"


def test_max_turns_returns_a_result_with_the_work_done() -> None:
    model = FunctionModel(lambda messages, tools: ToolCall(name="add", arguments={"a": 1, "b": 1}))
    result = Agent(model=model, tools=[add], limits=Limits(max_turns=4))("loop forever")
    assert result.stop_reason == "max_turns"
    assert result.turns == 4
    assert len(result.tool_results) == 4


def test_max_tool_calls_answers_the_rest_as_not_run() -> None:
    model = ScriptedModel([calls(*[("add", {"a": i, "b": 0}) for i in range(5)]), "unreached"])
    result = Agent(model=model, tools=[add], limits=Limits(max_tool_calls=3))("go")
    assert result.stop_reason == "max_tool_calls"
    assert [r.content for r in result.tool_results[:3]] == ["0", "1", "2"]
    assert all("tool-call limit" in r.content for r in result.tool_results[3:])
    assert result.messages[-1].role == "tool" and len(result.messages[-1].tool_results) == 5


def test_token_budget() -> None:
    turn = Turn(calls=[ToolCall(name="add", arguments={"a": 1, "b": 2})], usage=Usage(input_tokens=60, output_tokens=5))
    model = ScriptedModel([turn, turn, turn, "unreached"])
    result = Agent(model=model, tools=[add], limits=Limits(max_total_tokens=100))("go")
    assert result.stop_reason == "max_tokens"
    assert result.usage.total_tokens == 130


def test_deadline_stops_a_slow_model_mid_turn() -> None:
    class SlowModel:
        name = "slow"
        text_format = None

        async def stream(self, messages, tools, settings):  # type: ignore[no-untyped-def]
            from agentkit.messages import TextDelta

            yield TextDelta(text="thinking...")
            await anyio.sleep(30)
            yield TextDelta(text="never")

    started = time.monotonic()
    result = Agent(model=SlowModel(), limits=Limits(deadline=0.2))("go")
    assert result.stop_reason == "deadline"
    assert time.monotonic() - started < 10
    assert result.text == "thinking..."


def test_cancel_stops_at_the_next_step() -> None:
    agent: Agent

    @tool
    def stop_now() -> str:
        """Ask the agent to stop."""
        agent.cancel()
        return "stopping"

    model = FunctionModel(lambda messages, tools: ToolCall(name="stop_now", arguments={}))
    agent = Agent(model=model, tools=[stop_now])
    result = agent("go")
    assert result.stop_reason == "cancelled"
    assert result.turns == 1
    assert result.tool_results[0].content == "stopping"


def test_ten_thousand_turns() -> None:
    turns = 10_000

    def script(messages, tools):  # type: ignore[no-untyped-def]
        if len(messages) >= 2 * turns:
            return "finished"
        return ToolCall(name="add", arguments={"a": 1, "b": 2})

    result = Agent(model=FunctionModel(script), tools=[add], limits=Limits(max_turns=None, max_tool_calls=None))("go")
    assert result.stop_reason == "end_turn"
    assert result.text == "finished"
    assert len(result.tool_results) == turns
    assert result.turns == turns + 1


@pytest.mark.anyio
async def test_stream_events_in_order() -> None:
    model = ScriptedModel(
        [Turn(text="Let me add.", reasoning="need add", calls=[ToolCall(name="add", arguments={"a": 1, "b": 2})]), "3"]
    )
    kinds = [event.kind async for event in Agent(model=model, tools=[add]).stream("1+2")]
    assert kinds == ["reasoning", "text", "message", "tool_call", "tool_result", "message", "text", "message", "done"]


def test_conversation_continues_across_calls_and_system_prompt_leads() -> None:
    model = ScriptedModel(["first", "second"])
    agent = Agent(model=model, system_prompt="Be brief.")
    agent("one")
    result = agent("two")
    assert [m.role for m in result.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert model.requests[1][0] == Message.system("Be brief.")


def test_sync_call_inside_a_running_event_loop() -> None:
    async def main() -> str:
        return Agent(model=ScriptedModel(["hi"]))("hello").text

    assert anyio.run(main) == "hi"


def test_sync_calls_from_the_main_thread_survive_ctrl_c_and_other_threads_get_their_own_loop() -> None:
    """The main thread keeps one event loop across agent() calls: Ctrl-C must end only the call it hit."""
    script = textwrap.dedent(
        """
        import os, signal, threading, time
        from agentkit import Agent, ScriptedModel, ToolCall, tool

        signal.signal(signal.SIGINT, signal.default_int_handler)  # even where the test runner ignores Ctrl-C

        @tool(inline=True)
        def interrupt() -> str:
            \"\"\"Press Ctrl-C.\"\"\"
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the signal lands here; the run is cancelled at its next await
            return "not interrupted"

        try:
            Agent(model=ScriptedModel([ToolCall(name="interrupt", arguments={}), "x"]), tools=[interrupt])("go")
        except KeyboardInterrupt:
            print("interrupted")
        print(Agent(model=ScriptedModel(["main again"]))("go").text)
        box = []
        thread = threading.Thread(target=lambda: box.append(Agent(model=ScriptedModel(["thread"]))("go").text))
        thread.start()
        thread.join()
        print(box[0])
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:3] == ["interrupted", "main again", "thread"]


def test_model_errors_propagate_with_a_clear_message() -> None:
    with pytest.raises(ModelError, match="only 1 were scripted"):
        Agent(model=ScriptedModel([ToolCall(name="add", arguments={"a": 1, "b": 1})]), tools=[add])("go")


def test_unknown_model_names_are_a_config_error() -> None:
    with pytest.raises(ConfigError):
        Agent(model="no-such-backend:whatever")


def test_override_swaps_the_model() -> None:
    agent = Agent(model=ScriptedModel(["real"]))
    with agent.override(model=ScriptedModel(["fake"])):
        assert agent("x").text == "fake"
    assert agent("y").text == "real"


def test_record_and_replay(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agentkit.models.testing import RecordingModel

    path = tmp_path / "transcript.jsonl"
    inner = ScriptedModel([Turn(text="adding", calls=[ToolCall(name="add", arguments={"a": 4, "b": 5})]), "nine"])
    first = Agent(model=RecordingModel(inner, path), tools=[add])("4+5")
    replayed = Agent(model=ScriptedModel.from_transcript(path), tools=[add])("4+5")
    assert replayed.text == first.text == "nine"
    assert [r.content for r in replayed.tool_results] == ["9"]
    assert len(path.read_text().splitlines()) == 2
    assert replayed.usage.output_tokens == first.usage.output_tokens > 0  # usage survives the transcript


QWEN_CODER_CALL = (
    "I will add them.\n<tool_call>\n<function=add>\n<parameter=a>\n2\n</parameter>\n"
    "<parameter=b>\n40\n</parameter>\n</function>\n</tool_call>"
)
HERMES_CALL = 'Adding.\n<tool_call>\n{"name": "add", "arguments": {"a": 5, "b": 6}}\n</tool_call>'
HARMONY_CALL = (
    "<|channel|>analysis<|message|>Need the add tool.<|end|><|start|>assistant<|channel|>commentary "
    'to=functions.add <|constrain|>json<|message|>{"a": 1, "b": 1}<|call|>'
)


@pytest.mark.parametrize(
    ("raw", "arguments", "content"),
    [
        (QWEN_CODER_CALL, {"a": 2, "b": 40}, "I will add them.\n"),
        (HERMES_CALL, {"a": 5, "b": 6}, "Adding.\n"),
        (HARMONY_CALL, {"a": 1, "b": 1}, ""),
    ],
)
def test_raw_text_tool_calls_are_parsed_and_executed(raw: str, arguments: dict, content: str) -> None:
    model = ScriptedModel([raw, "done"])
    result = Agent(model=model, tools=[add])("go")
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("add", arguments)]
    assert result.tool_results[0].content == str(sum(arguments.values()))
    assert result.messages[1].content.strip() == content.strip()
    assert "<tool_call>" not in result.messages[1].content and "<|call|>" not in result.messages[1].content


def test_a_malformed_text_call_becomes_an_error_result_next_to_the_valid_one() -> None:
    raw = (
        '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>\n'
        '<tool_call>\n{"name": "add", "arguments": {"a": 1,, }\n</tool_call>'
    )
    result = Agent(model=ScriptedModel([raw, "ok"]), tools=[add])("go")
    assert [r.is_error for r in result.tool_results] == [False, True]
    assert result.tool_results[0].content == "3"
    assert "could not read this tool call" in result.tool_results[1].content


def test_qwen3_coder_string_values_are_typed_from_the_schema() -> None:
    @tool
    def configure(count: int, ratio: float, enabled: bool, tags: list[str]) -> dict:
        """Echo the typed arguments."""
        return {"count": count, "ratio": ratio, "enabled": enabled, "tags": tags}

    raw = (
        "<tool_call>\n<function=configure>\n<parameter=count>\n3\n</parameter>\n<parameter=ratio>\n0.5\n</parameter>\n"
        '<parameter=enabled>\ntrue\n</parameter>\n<parameter=tags>\n["a", "b"]\n</parameter>\n</function>\n</tool_call>'
    )
    result = Agent(model=ScriptedModel([raw, "ok"]), tools=[configure])("go")
    assert not result.tool_results[0].is_error, result.tool_results[0].content
    assert result.tool_results[0].content == '{"count": 3, "ratio": 0.5, "enabled": true, "tags": ["a", "b"]}'


@pytest.mark.anyio
async def test_structured_backends_stream_text_at_once() -> None:
    """A backend that says its text has no </think>-only reasoning gets content as it arrives."""

    class Structured:
        name = "qwen.qwen3-235b-a22b-2507-v1:0"
        text_format = "hermes"
        text_thinking = False

        async def stream(self, messages, tools, settings):  # type: ignore[no-untyped-def]
            from agentkit.messages import TextDelta, TurnEnd

            yield TextDelta(text="Hello ")
            await gate.wait()
            yield TextDelta(text="world")
            yield TurnEnd()

    gate = anyio.Event()
    seen: list[str] = []
    with anyio.fail_after(10):  # held-back text would leave the gate shut: fail fast instead of hanging
        async for event in Agent(model=Structured()).stream("hi"):
            if event.kind == "text":
                seen.append(event.text)
                gate.set()  # the first delta arrived before the model finished: it streamed
    assert seen == ["Hello ", "world"]


def test_clone_shares_configuration_not_conversation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    agent = Agent(model=ScriptedModel(["a", "b"]), tools=[add], system_prompt="sys")
    agent("first")
    twin = agent.clone(session=tmp_path / "s.jsonl")
    assert twin.tools is agent.tools and twin.model is agent.model
    assert [m.role for m in twin.messages] == ["system"]
    assert twin("second").text == "b"
    assert [m.role for m in agent.messages] == ["system", "user", "assistant"]  # the original is untouched
    assert twin.session is not None and twin.session.path == tmp_path / "s.jsonl"


@pytest.mark.parametrize("tool_timeout", [None, 30.0])
def test_a_tools_own_timeout_error_is_its_failure_not_a_timeout(tool_timeout: float | None) -> None:
    @tool
    def fetch() -> str:
        """Fails at once with a socket-style timeout."""
        raise TimeoutError("upstream did not answer")

    model = ScriptedModel([ToolCall(name="fetch", arguments={}), "ok"])
    result = Agent(model=model, tools=[fetch], limits=Limits(tool_timeout=tool_timeout))("go")
    assert result.tool_results[0].content == "tool 'fetch' raised TimeoutError: upstream did not answer"


def test_repeated_call_ids_in_one_turn_keep_both_results() -> None:
    from agentkit.messages import ToolCallEvent, TurnEnd

    @tool
    def echo(text: str) -> str:
        """Echo."""
        return text

    class RepeatsIds:  # a backend that sends the same call id twice in one turn
        name = "repeats"
        text_format = None
        turns = 0

        async def stream(self, messages, tools, settings):  # type: ignore[no-untyped-def]
            self.turns += 1
            if self.turns == 1:
                for text in ("first", "second"):
                    yield ToolCallEvent(call=ToolCall(name="echo", arguments={"text": text}, id="dup"))
                yield TurnEnd(stop_reason="tool_use")
            else:
                yield TurnEnd()

    result = Agent(model=RepeatsIds(), tools=[echo])("go")
    assert [r.content for r in result.tool_results] == ["first", "second"]
    assert len({c.id for c in result.tool_calls}) == 2


def test_the_run_deadline_also_bounds_tool_execution() -> None:
    @tool
    async def slow() -> str:
        """Takes far longer than the run may."""
        await anyio.sleep(20)
        return "late"

    started = time.monotonic()
    model = ScriptedModel([ToolCall(name="slow", arguments={}), "unreached"])
    result = Agent(model=model, tools=[slow], limits=Limits(deadline=0.3, tool_timeout=60))("go")
    assert time.monotonic() - started < 10
    assert result.stop_reason == "deadline"
    assert "deadline passed" in result.tool_results[0].content


def test_a_call_cut_off_by_the_token_limit_is_not_run() -> None:
    ran: list[str] = []

    @tool
    def write_file(path: str, content: str) -> str:
        """Write a file."""
        ran.append(content)
        return "written"

    cut = (
        "<tool_call>\n<function=write_file>\n<parameter=path>\nmain.py\n</parameter>\n"
        "<parameter=content>\ndef main():\n    retur"
    )
    result = Agent(model=ScriptedModel([Turn(text=cut, stop_reason="max_tokens"), "ok"]), tools=[write_file])("go")
    assert ran == []
    assert result.tool_results[0].is_error
    assert "arguments are incomplete" in result.tool_results[0].content


def test_a_fallback_chain_reads_each_backends_text_in_its_own_format() -> None:
    from agentkit.errors import ModelUnavailable
    from agentkit.models.fallback import FallbackModel

    class Down:
        name = "openai.gpt-oss-120b-1:0"
        text_format = "harmony"

        async def stream(self, messages, tools, settings):  # type: ignore[no-untyped-def]
            raise ModelUnavailable("down")
            yield  # pragma: no cover

    qwen = ScriptedModel([QWEN_CODER_CALL, "done"], name="qwen.qwen3-coder-480b-a35b-v1:0", text_format="qwen3_coder")
    result = Agent(model=FallbackModel([Down(), qwen]), tools=[add])("go")
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("add", {"a": 2, "b": 40})]
    assert result.text == "done"


def test_text_thinking_survives_wrappers() -> None:
    from agentkit.messages import TextDelta, TurnEnd
    from agentkit.models.fallback import FallbackModel
    from agentkit.models.testing import RecordingModel

    class Structured:
        name = "qwen.qwen3-235b-a22b-thinking-2507-v1:0"  # the name alone would suggest </think>-only reasoning
        text_format = "hermes"
        text_thinking = False

        async def stream(self, messages, tools, settings):  # type: ignore[no-untyped-def]
            yield TextDelta(text="let me think")
            yield TextDelta(text="The answer is 42.")
            yield TurnEnd()

    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for model in (FallbackModel([Structured()]), RecordingModel(Structured(), f"{folder}/t.jsonl")):
            result = Agent(model=model)("q")
            assert result.text == "let me thinkThe answer is 42.", type(model).__name__
            assert result.messages[-1].reasoning is None


def test_tool_choice_per_agent_and_for_one_call_first_turn() -> None:
    seen: list[str | None] = []

    class Recorder(ScriptedModel):
        async def stream(self, messages, tools, settings):  # type: ignore[no-untyped-def,override]
            seen.append(settings.tool_choice)
            async for event in super().stream(messages, tools, settings):
                yield event

    script = [ToolCall(name="add", arguments={"a": 1, "b": 2}), "3"]
    script += [ToolCall(name="add", arguments={"a": 1, "b": 1}), "2"]
    agent = Agent(model=Recorder(script), tools=[add], settings=ModelSettings(tool_choice="auto"))
    agent("1+2?", tool_choice="required")
    assert seen == ["required", "auto"]  # only the first turn is forced: a forced answer turn would never end
    anyio.run(lambda: agent.invoke_async("1+1?", tool_choice="add"))
    assert seen == ["required", "auto", "add", "auto"]
