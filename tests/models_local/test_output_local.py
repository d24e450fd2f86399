"""Typed results on a local Transformers model: no tool_choice, so the model is asked for JSON text."""

from __future__ import annotations

from pathlib import Path

import pytest
from local_tiny_models import QUESTION, SYSTEM
from pydantic import BaseModel

from agentkit import Agent
from agentkit.errors import OutputError
from agentkit.models.transformers import TransformersModel


class Weather(BaseModel):
    city: str
    sky: str


def test_a_local_model_is_asked_for_json_and_its_other_answer_is_kept_in_the_error(
    tiny_models: dict[str, Path],
) -> None:
    """The tiny model only knows its weather episode, so it never answers JSON: the run asks it again with
    the errors, then gives up with the model's own words in the error."""
    model = TransformersModel(tiny_models["qwen3"])
    assert not getattr(model, "supports_tool_choice", False)
    agent = Agent(model=model, system_prompt=SYSTEM)
    with pytest.raises(OutputError, match="did not match the output type after 3 tries") as caught:
        agent(QUESTION, output=Weather)
    assert caught.value.raw.strip()
    assert "matches this JSON schema" in agent.messages[1].content
    assert "the answer is not JSON" in agent.messages[3].content
