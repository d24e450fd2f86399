"""Real OpenAI-compatible servers on 127.0.0.1 serving the real SmolLM2 model (see smollm2.py), one process per
server for the whole session. Each fixture skips locally (fails under CI=true) when its parts are missing.

The model is 135M parameters: asked freely it calls the tool again and again, so episodes force the one call
(`tool_choice` names the tool on the first turn) and then let it answer ("none"). transformers serve renders
SmolLM2's own template, which drops tools, so its episode shows the model the call form by example instead.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import smollm2
from _requires import require
from real_server_parts import HOW, Server, free_port, start, stop


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python", HOW)
    require(importlib.util.find_spec("starlette_context") is not None, "llama-cpp-python[server]", HOW)
    require(smollm2.gguf_path().is_file(), f"the SmolLM2 GGUF at {smollm2.gguf_path()}", HOW)
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2.gguf_path())]
    command += ["--chat_format", "chatml-function-calling", "--model_alias", "smollm2"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]
    server = start(command, port, tmp_path_factory.mktemp("llama") / "server.log", "smollm2", timeout=120)
    yield server
    stop(server)


@pytest.fixture(scope="session")
def transformers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require(importlib.util.find_spec("transformers.cli.transformers") is not None, "`transformers serve`", HOW)
    require(importlib.util.find_spec("fastapi") is not None, "transformers[serving]", HOW)
    folder = smollm2.folder_path()
    require((folder / "config.json").is_file(), f"the SmolLM2 safetensors folder at {folder}", HOW)
    port = free_port()
    # the `transformers` console script, run by this interpreter (a venv may share the package, not the script)
    serve = [sys.executable, "-c", "import sys; from transformers.cli.transformers import main; sys.exit(main())"]
    command = [*serve, "serve", str(folder), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--device", "cpu", "--dtype", "float32"]
    server = start(command, port, tmp_path_factory.mktemp("tserve") / "server.log", str(folder), timeout=300)
    yield server
    stop(server)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment for `agentkit run` against a server: sessions under tmp_path."""
    env = dict(os.environ)
    env["AGENTKIT_HOME"] = str(tmp_path / "home")
    return env
