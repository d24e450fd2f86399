"""A real agentkit.Agent on tiny local models: the model calls the tool, agentkit runs it, the model answers."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from local_tiny_models import ANSWER, CITY, QUESTION, SYSTEM, TOOL_OUTPUT, WEATHER_SCHEMA, WEATHER_TOOL

from agentkit import Agent
from agentkit.models.transformers import TransformersModel
from agentkit.tooling import Tool


def weather_tool(calls: list[str]) -> Tool:
    def get_weather(city: str) -> str:
        calls.append(city)
        return TOOL_OUTPUT

    return Tool.from_schema("get_weather", WEATHER_TOOL["function"]["description"], WEATHER_SCHEMA, get_weather)


@pytest.mark.parametrize("reuse", [True, False], ids=["reuse", "no-reuse"])
def test_agent_runs_the_tool_the_local_model_calls(tiny_models: dict[str, Path], family_name: str, reuse: bool) -> None:
    calls: list[str] = []
    model = TransformersModel(tiny_models[family_name], reuse_cache=reuse)
    agent = Agent(model=model, tools=[weather_tool(calls)], system_prompt=SYSTEM)

    result = agent(QUESTION)

    assert calls == [CITY]  # parsed from the model's own text and executed by agentkit
    assert [c.arguments for c in result.tool_calls] == [{"city": CITY}]
    assert [r.content for r in result.tool_results] == [TOOL_OUTPUT]
    assert result.text.strip() == ANSWER
    assert result.turns == 2 and result.stop_reason == "end_turn"
    cached = result.usage.cache_read_tokens
    assert cached > 0 if reuse else cached == 0


def test_a_model_folder_name_resolves_to_the_local_backend(tiny_models: dict[str, Path]) -> None:
    agent = Agent(model=str(tiny_models["qwen3_moe"]), tools=[weather_tool([])], system_prompt=SYSTEM)
    assert isinstance(agent.model, TransformersModel)
    assert agent.model.text_format == "qwen3_coder"


@pytest.mark.parametrize("name", ["qwen3", "qwen3_moe"])
def test_the_answer_streams_as_it_is_generated(tiny_models: dict[str, Path], name: str) -> None:
    """The template opens no <think>, so the backend says so and the parser passes text on at once; unsure,
    it would hold every word until the turn ended to see whether a </think> follows."""
    model = TransformersModel(tiny_models[name], chunk_seconds=0)  # hand text over token by token
    assert model.text_thinking is False
    agent = Agent(model=model, tools=[weather_tool([])], system_prompt=SYSTEM)

    async def answer_deltas() -> list[str]:
        deltas: list[str] = []
        async for event in agent.stream(QUESTION):
            if event.kind == "text":
                deltas.append(event.text)
            elif event.kind == "tool_result":
                deltas.clear()  # keep the answer turn's only
        return deltas

    deltas = anyio.run(answer_deltas)
    assert "".join(deltas).strip() == ANSWER
    assert len(deltas) > 1


def test_a_template_that_opens_think_marks_the_text_as_reasoning_first(tiny_models: dict[str, Path]) -> None:
    model = TransformersModel(tiny_models["qwen3"])
    template = model.tokenizer.chat_template
    assert template.rstrip().endswith("{% endif %}")
    model.tokenizer.chat_template = template.replace(
        "<|im_start|>assistant\n{% endif %}", "<|im_start|>assistant\n<think>\n{% endif %}"
    )
    assert model._prompt_opens_think() is True
    assert TransformersModel(tiny_models["gpt_oss"]).text_thinking is None  # Harmony marks reasoning by channel
