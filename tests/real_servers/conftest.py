"""Real OpenAI-compatible servers on 127.0.0.1 serving the real SmolLM2 model (see smollm2.py), one process per
server for the whole session. Each fixture skips locally (fails under CI=true) when its parts are missing.

The model is 135M parameters: asked freely it calls the tool again and again, so episodes force the one call
(`tool_choice` names the tool on the first turn) and then let it answer ("none"). transformers serve renders
SmolLM2's own template, which drops tools, so its episode shows the model the call form by example instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import smollm2
from _requires import require

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(command: list[str], port: int, log: Path, model: str, timeout: float) -> Server:
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


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python", HOW)
    require(importlib.util.find_spec("starlette_context") is not None, "llama-cpp-python[server]", HOW)
    require(smollm2.gguf_path().is_file(), f"the SmolLM2 GGUF at {smollm2.gguf_path()}", HOW)
    port = _free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2.gguf_path())]
    command += ["--chat_format", "chatml-function-calling", "--model_alias", "smollm2"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]
    server = _start(command, port, tmp_path_factory.mktemp("llama") / "server.log", "smollm2", timeout=120)
    yield server
    _stop(server)


@pytest.fixture(scope="session")
def transformers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require(importlib.util.find_spec("transformers.cli.transformers") is not None, "`transformers serve`", HOW)
    require(importlib.util.find_spec("fastapi") is not None, "transformers[serving]", HOW)
    folder = smollm2.folder_path()
    require((folder / "config.json").is_file(), f"the SmolLM2 safetensors folder at {folder}", HOW)
    port = _free_port()
    # the `transformers` console script, run by this interpreter (a venv may share the package, not the script)
    serve = [sys.executable, "-c", "import sys; from transformers.cli.transformers import main; sys.exit(main())"]
    command = [*serve, "serve", str(folder), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--device", "cpu", "--dtype", "float32"]
    server = _start(command, port, tmp_path_factory.mktemp("tserve") / "server.log", str(folder), timeout=300)
    yield server
    _stop(server)


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


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment for `agentkit run` against a server: sessions under tmp_path."""
    env = dict(os.environ)
    env["AGENTKIT_HOME"] = str(tmp_path / "home")
    return env


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
