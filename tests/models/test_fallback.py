"""FallbackModel: which errors move the chain on, and who served each turn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from model_wire import chunk

from agentkit.errors import ConfigError, ModelError, ModelTimeout, ModelUnavailable
from agentkit.messages import Message, StreamEvent, TextDelta, TurnEnd
from agentkit.models import FallbackModel, FunctionModel, ScriptedModel
from agentkit.models.base import ModelSettings
from agentkit.models.openai import OpenAIModel


class FailingGen:
    """A backend that raises `error`, optionally after yielding some text first."""

    text_format = "auto"

    def __init__(self, name: str, error: Exception, *, after_text: str | None = None) -> None:
        self.name = name
        self.error = error
        self.after_text = after_text
        self.calls = 0

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[Any], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        self.calls += 1
        if self.after_text is not None:
            yield TextDelta(text=self.after_text)
        raise self.error


def drain(model: Any) -> list[Any]:
    async def go() -> list[Any]:
        return [e async for e in model.stream([Message.user("hi")], [], ModelSettings())]

    return asyncio.run(go())


def test_unavailable_primary_falls_through_to_secondary() -> None:
    primary = FailingGen("primary", ModelUnavailable("no credentials"))
    secondary = ScriptedModel(["from the backup"], name="backup")
    chain = FallbackModel([primary, secondary])
    events = drain(chain)
    assert events[0] == TextDelta(text="from the backup")
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert end.meta["served_by"] == "backup" and chain.served_by == "backup"
    assert end.meta["skipped"] == [{"model": "primary", "error": "no credentials"}]
    assert primary.calls == 1


def test_timeouts_fall_through_too() -> None:
    chain = FallbackModel([FailingGen("slow", ModelTimeout("too slow")), ScriptedModel(["ok"], name="b")])
    assert drain(chain)[-1].meta["served_by"] == "b"


def test_validation_error_is_raised_without_trying_the_next() -> None:
    backup = ScriptedModel(["never"], name="backup")
    chain = FallbackModel([FailingGen("primary", ModelError("bad tool schema")), backup])
    with pytest.raises(ModelError, match="bad tool schema"):
        drain(chain)
    assert backup.position == 0


def test_failure_after_output_is_raised_not_stitched() -> None:
    backup = ScriptedModel(["never"], name="backup")
    chain = FallbackModel([FailingGen("primary", ModelUnavailable("dropped"), after_text="half"), backup])
    with pytest.raises(ModelUnavailable, match="dropped"):
        drain(chain)
    assert backup.position == 0


def test_every_backend_failing_lists_each_error() -> None:
    chain = FallbackModel([FailingGen("a", ModelUnavailable("throttled")), FunctionModel(_raise_unavailable, name="b")])
    with pytest.raises(ModelUnavailable) as caught:
        drain(chain)
    message = str(caught.value)
    assert "- a: throttled" in message and "- b: region down" in message
    assert [name for name, _ in chain.last_errors] == ["a", "b"]


def _raise_unavailable(messages: Sequence[Message], tools: Sequence[Any]) -> Any:
    raise ModelUnavailable("region down")


def test_each_turn_starts_again_from_the_primary() -> None:
    flaky_calls = {"n": 0}

    def flaky(messages: Sequence[Message], tools: Sequence[Any]) -> str:
        flaky_calls["n"] += 1
        if flaky_calls["n"] == 1:
            raise ModelUnavailable("blip")
        return "primary back"

    chain = FallbackModel([FunctionModel(flaky, name="primary"), ScriptedModel(["backup"], name="backup")])
    assert drain(chain)[-1].meta["served_by"] == "backup"
    assert drain(chain)[-1].meta["served_by"] == "primary"


def test_real_openai_backend_on_a_closed_port_falls_through(server: Any) -> None:
    dead = OpenAIModel("m", base_url="http://127.0.0.1:9/v1", max_retries=0)
    server.sse([chunk(content="served live", finish="stop")])
    live = OpenAIModel("live-model", base_url=server.url + "/v1", max_retries=0)
    chain = FallbackModel([dead, live])
    events = drain(chain)
    assert events[0] == TextDelta(text="served live")
    assert events[-1].meta["served_by"] == "openai:live-model"
    assert "cannot connect" in events[-1].meta["skipped"][0]["error"]


def test_chain_needs_a_backend_and_takes_names() -> None:
    with pytest.raises(ConfigError, match="at least one backend"):
        FallbackModel([])
    chain = FallbackModel(["qwen.qwen3-32b-v1:0", ScriptedModel(["x"], name="s", text_format="hermes")])
    assert [m.name for m in chain.models] == ["bedrock:qwen.qwen3-32b-v1:0", "s"]
    # each backend's text is parsed with its own format as it serves, so the loop parses nothing more
    assert chain.text_format is None
