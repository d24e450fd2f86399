"""A real agentkit.Agent on tiny local models: the model calls the tool, agentkit runs it, the model answers."""

from __future__ import annotations

from pathlib import Path

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
