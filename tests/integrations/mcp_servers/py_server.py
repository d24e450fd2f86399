"""A small MCP server written with the official Python SDK, for tests and benchmarks: `python py_server.py [MODE]`.

MODE `crash` exits on the first `divide` by zero; `hang` never answers `divide`; otherwise it behaves (over stdio;
`http PORT` serves streamable HTTP on 127.0.0.1:PORT/mcp)."""

from __future__ import annotations

import base64
import os
import sys
import time

from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

STARTED = os.urandom(4).hex()
MODE = sys.argv[1] if len(sys.argv) > 1 else ""
server = MCPServer("pytest-server")


@server.tool()
def divide(a: float, b: float) -> float:
    """Divide a by b."""
    if b == 0:
        if MODE == "crash":
            os._exit(3)
        if MODE == "hang":
            time.sleep(3600)
        raise ValueError("division by zero")
    return a / b


@server.tool()
def pid() -> str:
    """This server's process id, with a token of this start (in a PID namespace every start is the same pid)."""
    return f"{os.getpid()}-{STARTED}"


@server.tool()
def repeat(text: str, times: int) -> str:
    """`text` repeated `times` times."""
    return text * times


@server.tool()
def read(path: str) -> str:
    """The text of the file at `path` (a sandboxed server may read only what its policy grants)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise ToolError(f"{type(exc).__name__}: {exc.strerror}") from None


@server.tool()
def environment() -> str:
    """This server's environment variable names, one a line."""
    return "\n".join(sorted(os.environ))


@server.tool()
def pixel() -> Image:
    """A one-pixel PNG."""
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    return Image(data=png, format="png")


if __name__ == "__main__":
    if MODE == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
