"""Where the tests find MCP servers and clients we did not write: the npm packages `.ci/setup.d/mcp-servers.sh` installs
under $AGENTKIT_TEST_NPM (default ~/.cache/agentkit-test-npm)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from _requires import require

NPM_PREFIX = Path(os.environ.get("AGENTKIT_TEST_NPM", Path.home() / ".cache" / "agentkit-test-npm"))
PY_SERVER = Path(__file__).parent / "integrations" / "mcp_servers" / "py_server.py"
HOW_NPM = "run .ci/setup.d/mcp-servers.sh (node, npm and the @modelcontextprotocol servers)"


def require_sdk() -> None:
    require(importlib.util.find_spec("mcp") is not None, "the mcp SDK", "pip install 'agentkit[mcp]'")


def npm_bin(name: str) -> str:
    """The path of an npm launcher (mcp-server-everything, mcp-server-filesystem, mcp-inspector), or a skip."""
    require_sdk()
    path = NPM_PREFIX / "node_modules" / ".bin" / name
    require(path.exists() and shutil.which("node") is not None, f"the npm MCP server {name}", HOW_NPM)
    return str(path)


def py_server_args(mode: str = "") -> tuple[str, list[str]]:
    require_sdk()
    return sys.executable, [str(PY_SERVER), *([mode] if mode else [])]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Until the server `proc` started accepts on 127.0.0.1:`port`; fails naming why (it exited, or took too long)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                exited = f"the server exited with {proc.returncode} before listening: {err[-2000:]}"
                raise AssertionError(exited) from None
            time.sleep(0.1)
    raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")
