"""Stdio MCP servers started under agentkit's sandbox (`MCPServer.stdio(..., sandbox=Policy(...))`): a Python SDK
server and npm's server-filesystem read only what their policy grants, see none of our environment, reach no
network unless granted, and a confined server that crashes is restarted confined."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from _requires import require
from mcp_support import NPM_PREFIX, PY_SERVER, npm_bin, py_server_args, require_sdk

from agentkit.errors import RetryTool
from agentkit.sandbox import Policy, Sandbox
from agentkit.sandbox.detect import probe

pytestmark = pytest.mark.integration

ISOLATING = [b for b in probe().available() if b in ("bwrap", "landlock")]
# bubblewrap is installed wherever the tests run (CI installs it); Landlock is the kernel's, tested where it is on
BACKENDS = ["bwrap", *(["landlock"] if "landlock" in ISOLATING else [])]


def isolating(backend: str) -> None:
    require(backend in ISOLATING, f"the {backend} sandbox backend", "run 'agentkit sandbox doctor' to see why not")


def call(tool: Any, arguments: dict[str, Any]) -> Any:
    return asyncio.run(tool.invoke(tool.validate(arguments)))


@pytest.fixture
def granted(tmp_path: Path) -> tuple[Path, Path]:
    """A folder the server is granted (with a file in it) and a file beside it that it is not."""
    inside = tmp_path / "granted"
    inside.mkdir()
    (inside / "ok.txt").write_text("inside text")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside text")
    for path in (tmp_path, inside, inside / "ok.txt", outside):
        path.chmod(0o755 if path.is_dir() else 0o644)  # our own files: readable to the sandbox uid by mode alone
    return inside, outside


def confined_py_server(backend: str, *read: Path, network: bool = False, mode: str = "") -> Any:
    require_sdk()
    from agentkit.integrations.mcp import MCPServer

    command, args = py_server_args(mode)
    policy = Policy(read_paths=(str(PY_SERVER.parent), *map(str, read)), network=network, memory_bytes=2 << 30)
    return MCPServer.stdio(command, args, name="boxed", sandbox=Sandbox(policy, backend=backend), timeout=30)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_confined_python_server_reads_its_grant_and_nothing_else(backend: str, granted: tuple[Path, Path]) -> None:
    isolating(backend)
    inside, outside = granted
    server = confined_py_server(backend, inside)
    try:
        read = {t.name: t for t in server.tools()}["read"]
        assert call(read, {"path": str(inside / "ok.txt")}) == "inside text"
        assert outside.read_text() == "outside text"  # there, and readable to us
        with pytest.raises(RetryTool, match=r"'boxed' reported an error: .*(Permission denied|No such file)"):
            call(read, {"path": str(outside)})
        with pytest.raises(RetryTool, match="reported an error"):
            call(read, {"path": "/etc/shadow"})
    finally:
        server.close()


def test_a_confined_server_sees_the_policy_environment_not_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    isolating("bwrap")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-servers")
    require_sdk()
    from agentkit.integrations.mcp import MCPServer

    command, args = py_server_args()
    policy = Policy(read_paths=(str(PY_SERVER.parent),), memory_bytes=2 << 30)
    server = MCPServer.stdio(command, args, env={"GREETING": "hi"}, sandbox=Sandbox(policy, backend="bwrap"))
    try:
        names = call({t.name: t for t in server.tools()}["environment"], {}).split("\n")
        assert "GREETING" in names and "PATH" in names
        assert "AWS_SECRET_ACCESS_KEY" not in names
    finally:
        server.close()


def test_without_sandbox_the_server_runs_as_the_sdk_starts_it(granted: tuple[Path, Path]) -> None:
    """The contrast that makes the test above meaningful: the same read succeeds unconfined."""
    require_sdk()
    from agentkit.integrations.mcp import MCPServer

    command, args = py_server_args()
    server = MCPServer.stdio(command, args)
    try:
        assert call({t.name: t for t in server.tools()}["read"], {"path": str(granted[1])}) == "outside text"
    finally:
        server.close()


def test_a_confined_server_has_no_network_unless_the_policy_grants_it() -> None:
    """The "server" tries to connect to a listener of ours, then exits; with network=True it does connect."""
    isolating("bwrap")
    require_sdk()
    from agentkit.integrations.mcp import MCPServer, MCPServerError

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(3)
        port = listener.getsockname()[1]
        code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2).close()"
        python = os.path.realpath(py_server_args()[0])
        sandbox = Sandbox(Policy(network=False), backend="bwrap")
        server = MCPServer.stdio(python, ["-c", code], name="netprobe", sandbox=sandbox, startup_timeout=5)
        with pytest.raises(MCPServerError, match="netprobe"):
            server.tools()
        server.close()
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing reached us


def test_a_confined_server_that_crashes_is_restarted_confined(granted: tuple[Path, Path]) -> None:
    isolating("bwrap")
    server = confined_py_server("bwrap", mode="crash")
    try:
        tools = {t.name: t for t in server.tools()}
        first = call(tools["pid"], {})
        with pytest.raises(RetryTool, match="restarted on the next call"):
            call(tools["divide"], {"a": 1, "b": 0})
        assert call(tools["pid"], {}) != first
        with pytest.raises(RetryTool, match="reported an error"):
            call(tools["read"], {"path": str(granted[1])})  # still confined after the restart
    finally:
        server.close()


def test_npm_filesystem_server_confined_to_its_root(granted: tuple[Path, Path]) -> None:
    """server-filesystem is told a root wider than its grant: its own path check lets the read through, and the
    sandbox refuses it."""
    isolating("bwrap")
    from agentkit.integrations.mcp import MCPServer

    inside, outside = granted
    binary = npm_bin("mcp-server-filesystem")
    policy = Policy(read_paths=(str(NPM_PREFIX), str(inside)), memory_bytes=4 << 30)
    server = MCPServer.stdio(
        binary, [str(outside.parent)], name="fs", sandbox=Sandbox(policy, backend="bwrap"), startup_timeout=60
    )
    try:
        tools = {t.name: t for t in server.tools()}
        read = tools["read_text_file"] if "read_text_file" in tools else tools["read_file"]
        assert "inside text" in call(read, {"path": str(inside / "ok.txt")})
        with pytest.raises(RetryTool, match="reported an error"):
            call(read, {"path": str(outside)})
    finally:
        server.close()


def test_a_confined_server_that_hangs_times_out_and_is_restarted() -> None:
    isolating("bwrap")
    server = confined_py_server("bwrap", mode="hang")
    server.timeout = 1.0
    try:
        tools = {t.name: t for t in server.tools()}
        first = call(tools["pid"], {})
        started = time.monotonic()
        with pytest.raises(RetryTool, match=r"MCP server 'boxed' did not answer 'divide' within 1 s"):
            call(tools["divide"], {"a": 1, "b": 0})
        assert time.monotonic() - started < 15
        assert call(tools["pid"], {}) != first
    finally:
        server.close()


def test_a_confined_program_that_is_missing_or_out_of_sight_is_a_clear_error(tmp_path: Path) -> None:
    isolating("bwrap")
    require_sdk()
    from agentkit.integrations.mcp import MCPServer, MCPServerError

    sandbox = Sandbox(Policy(), backend="bwrap")
    missing = MCPServer.stdio(str(tmp_path / "nope"), sandbox=sandbox, name="missing")
    with pytest.raises(MCPServerError, match=r"'missing' could not start: FileNotFoundError: no program .*nope"):
        missing.tools()
    missing.close()
    hidden = tmp_path / "server.sh"  # ours and ungranted: the sandbox cannot see it
    hidden.write_text("#!/bin/sh\nexec cat\n")
    hidden.chmod(0o755)
    server = MCPServer.stdio(str(hidden), sandbox=sandbox, name="hidden", startup_timeout=10)
    with pytest.raises(MCPServerError, match=r"'hidden' could not start: .*grant that file's folder"):
        server.tools()
    server.close()
