"""Reads follow Needs: a sandboxed tool reads the interpreter and the modules it runs, not the folder of the
script that defined it, nor the cwd, nor any other sys.path folder its Needs do not name."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import uuid
from pathlib import Path

import pytest

from agentkit.sandbox import RemoteToolError, SandboxExecutor
from agentkit.sandbox.detect import probe
from agentkit.tooling import Needs, Tool

ISOLATING = [b for b in probe().available() if b in ("bwrap", "landlock")]

AGENT_TOOLS = """
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def hello() -> str:
    return "hello from " + __name__


def peek(name: str) -> str:
    with open(os.path.join(HERE, name)) as fh:
        return fh.read()


def peek_cwd(name: str) -> str:
    with open(name) as fh:
        return fh.read()
"""


@pytest.fixture
def agent_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """An agent script's folder, as `python my_agent.py` leaves it: on sys.path, the cwd, with a .env beside."""
    folder = tmp_path / "my-agent"
    folder.mkdir()
    folder.chmod(0o755)
    (folder / ".env").write_text("OPENAI_API_KEY=sk-must-not-leak\n")
    (folder / ".env").chmod(0o644)
    name = f"agent_tools_{uuid.uuid4().hex[:8]}"
    (folder / f"{name}.py").write_text(AGENT_TOOLS)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.chdir(folder)
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("backend", ISOLATING)
def test_a_code_execution_tool_cannot_read_the_env_beside_the_agent_script(backend: str, agent_module: object) -> None:
    needs = Needs(code_execution=True)
    hello = Tool.from_function(agent_module.hello, needs=needs)  # type: ignore[attr-defined]
    peek = Tool.from_function(agent_module.peek, needs=needs)  # type: ignore[attr-defined]
    peek_cwd = Tool.from_function(agent_module.peek_cwd, needs=needs)  # type: ignore[attr-defined]

    async def scenario() -> None:
        async with SandboxExecutor(backend=backend) as executor:
            # the tool's own module is there: the worker imports it from its exact file
            assert await executor.execute(hello, {}) == f"hello from {agent_module.__name__}"  # type: ignore[attr-defined]
            for tool in (peek, peek_cwd):
                with pytest.raises(RemoteToolError) as info:
                    await executor.execute(tool, {"name": ".env"})
                assert info.value.type_name in ("FileNotFoundError", "PermissionError"), info.value
                assert "sk-must-not-leak" not in str(info.value)

    asyncio.run(scenario())
    assert (Path(os.getcwd()) / ".env").read_text().startswith("OPENAI_API_KEY")  # it is there, outside


@pytest.mark.parametrize("backend", ISOLATING)
def test_declared_read_paths_are_still_readable(backend: str, agent_module: object, tmp_path: Path) -> None:
    folder = Path(agent_module.HERE)  # type: ignore[attr-defined]
    peek = Tool.from_function(agent_module.peek, needs=Needs(code_execution=True, read_paths=(str(folder),)))  # type: ignore[attr-defined]

    async def scenario() -> object:
        async with SandboxExecutor(backend=backend) as executor:
            return await executor.execute(peek, {"name": ".env"})

    assert asyncio.run(scenario()) == "OPENAI_API_KEY=sk-must-not-leak\n"
