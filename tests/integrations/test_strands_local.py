"""strands.Agent on agentkit's local Transformers backend: a tiny real Qwen3-Coder-format model, built and
trained here on one tool-calling episode, writes its call as `<tool_call><function=...>` text; the provider
recovers it into a Strands toolUse, Strands runs the tool, and the model answers from the result."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import strands

from agentkit.integrations.strands import AgentkitModelProvider, to_strands_tool
from agentkit.tooling import Tool

pytestmark = pytest.mark.integration


def _tiny_models() -> ModuleType:
    path = Path(__file__).parents[1] / "models_local" / "local_tiny_models.py"
    spec = importlib.util.spec_from_file_location("local_tiny_models", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("local_tiny_models", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny() -> ModuleType:
    return _tiny_models()


@pytest.fixture(scope="module")
def coder_model(tiny: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import torch

    from agentkit.models.transformers import TransformersModel

    threads = torch.get_num_threads()
    torch.manual_seed(0)
    torch.set_num_threads(1)  # tiny models are bound by Python overhead; threads only contend on a shared box
    try:
        folder = tmp_path_factory.mktemp("tiny-qwen3-coder")
        tiny.build_trained("qwen3_moe", folder)  # the family whose template speaks Qwen3-Coder XML
        yield TransformersModel(folder)
    finally:
        torch.set_num_threads(threads)


def test_strands_agent_runs_a_tool_the_local_model_wrote_as_text(tiny: ModuleType, coder_model: Any) -> None:
    asked: list[str] = []

    def get_weather(city: str) -> str:
        asked.append(city)
        return str(tiny.TOOL_OUTPUT)

    spec = tiny.WEATHER_TOOL["function"]
    weather = Tool(spec["name"], spec["description"], spec["parameters"], get_weather)
    agent = strands.Agent(
        model=AgentkitModelProvider(coder_model),
        tools=[to_strands_tool(weather)],
        system_prompt=tiny.SYSTEM,
        callback_handler=None,
    )

    result = agent(tiny.QUESTION)

    assert coder_model.text_format == "qwen3_coder"
    assert asked == [tiny.CITY]
    assert str(result).strip() == tiny.ANSWER
    uses = [b["toolUse"] for m in agent.messages for b in m["content"] if "toolUse" in b]
    assert [(u["name"], u["input"]) for u in uses] == [("get_weather", {"city": tiny.CITY})]
    assert "<tool_call>" not in str(agent.messages)
    assert result.metrics.accumulated_usage["outputTokens"] > 0
