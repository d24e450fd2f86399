"""A real local model with a 256-token window (a tiny Qwen3 built here, `max_position_embeddings=256`): a
conversation many times that long keeps running, counted with the model's own tokenizer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import torch
from local_tiny_models import build_random

from agentkit import Agent
from agentkit.errors import ContextOverflow
from agentkit.loop import ContextReduced, Limits
from agentkit.messages import Message
from agentkit.models.base import ModelSettings
from agentkit.models.transformers import TransformersModel
from agentkit.tooling import InProcessExecutor

WINDOW = 256


@pytest.fixture(scope="module")
def small_window_model(tmp_path_factory: pytest.TempPathFactory) -> TransformersModel:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = build_random(tmp_path_factory.mktemp("small_window"), layers=1, hidden=64)
    config = json.loads((folder / "config.json").read_text())
    config["max_position_embeddings"] = WINDOW
    (folder / "config.json").write_text(json.dumps(config))
    model = TransformersModel(folder, max_new_tokens=6)
    torch.set_num_threads(threads)
    return model


def test_the_window_comes_from_the_config_and_a_longer_prompt_is_an_overflow(
    small_window_model: TransformersModel,
) -> None:
    assert small_window_model.context_window == WINDOW

    async def send() -> None:
        async for _ in small_window_model.stream([Message.user("weather " * 400)], [], ModelSettings()):
            pass

    with pytest.raises(ContextOverflow) as caught:
        asyncio.run(send())
    assert caught.value.limit == WINDOW and "max_position_embeddings" in str(caught.value)


def test_a_conversation_far_past_the_window_keeps_running(small_window_model: TransformersModel) -> None:
    agent = Agent(
        small_window_model,
        system_prompt="You are a weather bot.",
        limits=Limits(max_turns=2),
        executor=InProcessExecutor(),
    )
    reductions: list[ContextReduced] = []
    sent_tokens: list[int] = []

    async def ask(prompt: str) -> Any:
        result = None
        async for event in agent.stream(prompt):
            if isinstance(event, ContextReduced):
                reductions.append(event)
            elif getattr(event, "kind", None) == "message" and event.message.role == "assistant":
                sent_tokens.append(event.usage.input_tokens)
            result = getattr(event, "result", result)
        return result

    for day in range(25):
        result = asyncio.run(ask(f"What is the weather in Paris on day {day}? Answer with the city name and a number."))
        assert result.stop_reason in ("end_turn", "max_tokens", "max_turns"), result.detail
    total = sum(small_window_model.count_tokens(m.content) for m in agent.messages)
    assert total > 3 * WINDOW  # the conversation is several windows long ...
    assert max(sent_tokens) < WINDOW  # ... and every prompt the model read fit its window
    assert reductions and all(r.window == WINDOW for r in reductions)
    assert sum(1 for m in agent.messages if m.role == "user") == 25  # the conversation itself is whole
