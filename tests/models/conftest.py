"""Fixtures for the backend tests: a scripted loopback server, fake AWS credentials, a stream drainer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from model_wire import ScriptedServer

from agentkit.messages import Message, StreamEvent
from agentkit.models.base import ModelSettings


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    yield srv
    srv.close()


Collect = Callable[..., list[StreamEvent]]


@pytest.fixture
def collect() -> Collect:
    """Drain one model turn: collect(model, messages, tools=(), settings=None) -> events."""

    def run(model: Any, messages: Sequence[Message], tools: Sequence[Any] = (), settings: Any = None) -> list[Any]:
        async def drain() -> list[Any]:
            return [e async for e in model.stream(list(messages), list(tools), settings or ModelSettings())]

        return asyncio.run(drain())

    return run


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake but well-formed AWS credentials: requests get signed, nothing leaves 127.0.0.1."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
