"""What the real-server tests share: the tool, a started server, SmolLM2 prompting helpers (the fixtures that
start the servers are in conftest.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentkit import tool
from agentkit.messages import Message, StreamEvent, ToolCall, ToolResult
from agentkit.models.base import ModelSettings
from agentkit.tooling import ToolDefinition

HOW = "run `python tests/real_servers/smollm2.py` and `bash .ci/setup.d/real-servers.sh`"


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@dataclass
class Server:
    url: str  # ends in /v1
    model: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], port: int, log: Path, model: str, timeout: float) -> Server:
    url = f"http://127.0.0.1:{port}/v1"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{command[:4]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return Server(url=url, model=model, process=process, log=log)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    pytest.fail(f"{command[:4]} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


class OneCallThenAnswer:
    """Wraps a model: names `tool_name` as tool_choice until a tool result is in the conversation, then "none".
    (Strands never passes a tool_choice for ordinary turns; this is the bridge test's way to keep SmolLM2 from
    calling forever.)"""

    def __init__(self, inner: Any, tool_name: str) -> None:
        self.inner, self.tool_name = inner, tool_name
        self.name, self.text_format = inner.name, inner.text_format
        self.text_thinking = getattr(inner, "text_thinking", None)

    def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        answered = any(m.role == "tool" for m in messages)
        choice = "none" if answered or not tools else self.tool_name
        return self.inner.stream(messages, tools, replace(settings, tool_choice=choice))


def few_shot(call: Callable[[int, int], str]) -> list[Message]:
    """Two worked examples of SmolLM2's trained call form, then the answer, as plain chat turns."""
    history: list[Message] = []
    for a, b in ((2, 3), (4, 5)):
        history.append(Message.user(f"What is {a} times {b}?"))
        history.append(Message.assistant(call(a, b)))
        history.append(Message.user(f"multiply returned {a * b}"))
        history.append(Message.assistant(f"{a} times {b} is {a * b}."))
    return history


def hermes_list_call(a: int, b: int) -> str:
    call = {"name": "multiply", "arguments": {"a": a, "b": b}}
    return f"<tool_call>[{json.dumps(call)}]</tool_call>"


def worked_calls() -> list[Message]:
    """Two worked episodes as structured history (calls, results, answers), for a model whose prompt agentkit
    renders itself: a 135M model calls when it has seen the form twice."""
    history: list[Message] = []
    for a, b in ((2, 3), (4, 5)):
        call = ToolCall(name="multiply", arguments={"a": a, "b": b}, id=f"call_{a}{b}")
        history.append(Message.user(f"What is {a} times {b}?"))
        history.append(Message.assistant("", tool_calls=[call]))
        history.append(Message.tool([ToolResult(call_id=call.id, name="multiply", content=str(a * b))]))
        history.append(Message.assistant(f"{a} times {b} is {a * b}."))
    return history
