"""Typed results: agent(prompt, output=T) -> result.output, by a forced answer tool or by JSON text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel

from agentkit import Agent, FunctionModel, ScriptedModel, ToolCall
from agentkit.errors import ConfigError, OutputError
from agentkit.messages import Message
from agentkit.output import ANSWER_TOOL
from agentkit.tooling import InProcessExecutor, ToolDefinition


class City(BaseModel):
    name: str
    population: int


@dataclass
class Point:
    x: float
    y: float


def text_agent(turns: list[str]) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(turns)
    return Agent(model=model, executor=InProcessExecutor()), model


def test_json_text_becomes_a_pydantic_instance() -> None:
    agent, model = text_agent(['```json\n{"name": "Paris", "population": 2100000}\n```'])
    result = agent("Biggest city in France?", output=City)
    assert result.output == City(name="Paris", population=2100000)
    assert "matches this JSON schema" in model.requests[0][-1].content


def test_a_dataclass_and_a_json_schema_work_too() -> None:
    agent, _ = text_agent(['{"x": 1, "y": 2.5}'])
    assert agent("where?", output=Point).output == Point(x=1.0, y=2.5)
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    agent, _ = text_agent(['{"ok": true}'])
    assert agent("fine?", output=schema).output == {"ok": True}


def test_validation_errors_go_back_to_the_model_then_a_clear_error_keeps_the_raw_answer() -> None:
    agent, model = text_agent(['{"name": "Paris"}', '{"name": "Paris", "population": 5}'])
    result = agent("city?", output=City)
    assert result.output.population == 5
    assert "population: Field required" in model.requests[1][-1].content
    agent, _ = text_agent(["no idea", "still no idea", "nope"])
    with pytest.raises(OutputError, match="after 3 tries") as caught:
        agent("city?", output=City)
    assert caught.value.raw == "nope"


def test_a_backend_that_can_force_a_tool_call_answers_through_the_answer_tool() -> None:
    seen: list[tuple[list[str], object]] = []

    def answer(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> ToolCall:
        seen.append(([t.name for t in tools], None))
        errors = [r for m in messages for r in m.tool_results if r.is_error]
        arguments = {"name": "Paris", "population": 7} if errors else {"name": "Paris"}
        return ToolCall(name=ANSWER_TOOL, arguments=arguments)

    model = FunctionModel(answer)
    model.supports_tool_choice = True  # type: ignore[attr-defined]
    agent = Agent(model=model, executor=InProcessExecutor())
    result = agent("city?", output=City)
    assert result.output == City(name="Paris", population=7)
    assert seen[0][0] == [ANSWER_TOOL]
    assert result.stop_reason == "end_turn" and result.turns == 2
    assert "population" in result.tool_results[0].content  # the first try's error, as the model read it
    assert ANSWER_TOOL not in agent.tools and agent.settings.tool_choice is None


def test_an_output_type_agentkit_cannot_validate_is_a_config_error() -> None:
    agent, _ = text_agent(["{}"])
    with pytest.raises(ConfigError, match="not a valid JSON schema"):
        agent("x", output={"type": 5})


def test_answer_tool_retries_are_bounded_then_a_clear_error_keeps_the_raw_arguments() -> None:
    def answer(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> ToolCall:
        return ToolCall(name=ANSWER_TOOL, arguments={"name": "Paris"})  # never the population

    model = FunctionModel(answer)
    model.supports_tool_choice = True  # type: ignore[attr-defined]
    agent = Agent(model=model, executor=InProcessExecutor())
    with pytest.raises(OutputError, match=f"no valid {ANSWER_TOOL} \\(repeated_tool_error") as caught:
        agent("city?", output=City)
    assert caught.value.raw == '{"name": "Paris"}'
    assert len([m for m in agent.messages if m.role == "assistant"]) == agent.limits.max_repeated_failures


def test_a_run_stopped_before_its_answer_says_why_on_both_paths() -> None:
    from agentkit import Limits, tool

    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    looping = [ToolCall(name="ping", arguments={})] * 3
    agent = Agent(model=ScriptedModel(looping), tools=[ping], limits=Limits(max_turns=1), executor=InProcessExecutor())
    with pytest.raises(OutputError, match=r"the run stopped before a typed answer \(max_turns: the limit of 1"):
        agent("city?", output=City)
    forcing = ScriptedModel(looping)
    forcing.supports_tool_choice = True  # type: ignore[attr-defined]
    agent = Agent(model=forcing, tools=[ping], limits=Limits(max_turns=1), executor=InProcessExecutor())
    with pytest.raises(OutputError, match=f"no valid {ANSWER_TOOL} \\(max_turns: the limit of 1"):
        agent("city?", output=City)


launched: list[int] = []


def _launch_tool() -> object:
    from agentkit import tool

    @tool(requires_approval=True)
    def launch(n: int) -> str:
        """Launch n rockets."""
        launched.append(n)
        return f"launched {n}"

    return launch


def test_a_typed_run_paused_for_approval_returns_paused_and_resume_fills_the_output() -> None:
    """The answer-tool path, one process: the type is remembered on the agent across the pause."""
    seen_tools: list[list[str]] = []

    def answer(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> ToolCall:
        seen_tools.append(sorted(t.name for t in tools))
        if not any(m.tool_results for m in messages):
            return ToolCall(name="launch", arguments={"n": 3})
        return ToolCall(name=ANSWER_TOOL, arguments={"name": "Paris", "population": 7})

    model = FunctionModel(answer)
    model.supports_tool_choice = True  # type: ignore[attr-defined]
    launched.clear()
    agent = Agent(model=model, tools=[_launch_tool()], executor=InProcessExecutor())
    paused = agent("launch, then name a city", output=City)  # no OutputError
    assert paused.stop_reason == "approval_required" and paused.output is None
    assert "waiting for approval of launch" in (paused.detail or "")
    assert launched == [] and ANSWER_TOOL not in agent.tools
    import anyio

    result = anyio.run(lambda: agent.resume(approve=True))
    assert launched == [3]
    assert result.output == City(name="Paris", population=7) and result.stop_reason == "end_turn"
    assert seen_tools == [[ANSWER_TOOL, "launch"]] * 2  # the resumed turn was offered the answer tool too
    assert ANSWER_TOOL not in agent.tools and agent.settings.tool_choice is None


def test_a_paused_typed_run_resumes_in_a_new_process_from_its_session(tmp_path: Path) -> None:
    """The JSON-text path, a new Agent on the transcript (a restarted process's view)."""
    import anyio

    transcript = tmp_path / "s.jsonl"
    launch = _launch_tool()

    def fresh(turns: list[object]) -> Agent:
        return Agent(model=ScriptedModel(turns), tools=[launch], session=transcript, executor=InProcessExecutor())

    paused = fresh([ToolCall(name="launch", arguments={"n": 1})])("launch, then a city", output=City)
    assert paused.stop_reason == "approval_required" and paused.output is None
    city = '{"name": "Oslo", "population": 1}'
    agent = fresh([city])
    with pytest.raises(ConfigError, match=r"typed result \(City\).*output=City"):
        anyio.run(lambda: agent.resume(approve=True))
    with pytest.raises(ConfigError, match=r"output=Point\) does not match .*\(City\)"):
        anyio.run(lambda: agent.resume(approve=True, output=Point))
    result = anyio.run(lambda: agent.resume(approve=True, output=City))
    assert result.output == City(name="Oslo", population=1)

    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    transcript.unlink()
    fresh([ToolCall(name="launch", arguments={"n": 2})])("launch, then a city", output=schema)
    result = anyio.run(lambda: fresh(['{"name": "Rome"}']).resume(approve=True))  # a schema is kept whole
    assert result.output == {"name": "Rome"}
