"""MCP client per-call overhead: agentkit's `MCPServer` tool against the official SDK's bare `mcp.Client` and
Strands' `MCPClient`, on the same server (tests/integrations/mcp_servers/py_server.py, its trivial `pid` tool),
over stdio and streamable HTTP, in one run; plus agentkit's stdio client with the server in the sandbox
(`sandbox=Policy(...)`: agentkit's own pipe transport instead of the SDK's, the server confined).

    .venv/bin/python benchmarks/bench_mcp.py [--calls 300] [--reps 3]

Each figure is the mean time per sequential call, best of `--reps` interleaved runs, after the session is up
(startup is not counted). agentkit's includes validating the arguments and mapping the result, as in a run.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mcp

from agentkit.integrations.mcp import MCPServer

SERVER = Path(__file__).resolve().parents[1] / "tests" / "integrations" / "mcp_servers" / "py_server.py"


def bare_sdk(target: Callable[[], Any], calls: int) -> float:
    async def main() -> float:
        async with mcp.Client(target()) as client:
            await client.call_tool("pid", {})
            started = time.perf_counter()
            for _ in range(calls):
                await client.call_tool("pid", {})
            return (time.perf_counter() - started) / calls

    return asyncio.run(main())


def agentkit(server: MCPServer, calls: int) -> float:
    (pid,) = [t for t in server.tools() if t.name == "pid"]

    async def main() -> float:
        await pid.invoke(pid.validate({}))
        started = time.perf_counter()
        for _ in range(calls):
            await pid.invoke(pid.validate({}))
        return (time.perf_counter() - started) / calls

    try:
        return asyncio.run(main())
    finally:
        server.close()


def strands(make: Callable[[], Any], calls: int) -> float | None:
    try:
        from strands.tools.mcp import MCPClient
    except ImportError:
        return None
    with MCPClient(make) as client:
        client.call_tool_sync("warm", "pid", {})
        started = time.perf_counter()
        for i in range(calls):
            client.call_tool_sync(f"c{i}", "pid", {})
        return (time.perf_counter() - started) / calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    params = mcp.StdioServerParameters(command=sys.executable, args=[str(SERVER)])
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    http_server = subprocess.Popen([sys.executable, str(SERVER), "http", str(port)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        from mcp.client.stdio import stdio_client

        from agentkit.sandbox import Policy

        confined = Policy(read_paths=(str(SERVER.parent),), memory_bytes=2 << 30)
        from mcp.client.streamable_http import streamable_http_client

        cases: dict[str, dict[str, Callable[[], float | None]]] = {
            "stdio": {
                "bare SDK": lambda: bare_sdk(lambda: params, args.calls),
                "agentkit": lambda: agentkit(MCPServer.stdio(sys.executable, [str(SERVER)]), args.calls),
                "agentkit+sandbox": lambda: agentkit(
                    MCPServer.stdio(sys.executable, [str(SERVER)], sandbox=confined), args.calls
                ),
                "strands": lambda: strands(lambda: stdio_client(params), args.calls),
            },
            "http": {
                "bare SDK": lambda: bare_sdk(lambda: url, args.calls),
                "agentkit": lambda: agentkit(MCPServer.http(url), args.calls),
                "strands": lambda: strands(lambda: streamable_http_client(url), args.calls),
            },
        }
        best: dict[tuple[str, str], float] = {}
        for _ in range(args.reps):
            for transport, runners in cases.items():
                for name, run in runners.items():
                    value = run()
                    if value is not None:
                        key = (transport, name)
                        best[key] = min(best.get(key, float("inf")), value)
    finally:
        http_server.terminate()
        http_server.wait(10)
    print(f"MCP per-call time, {args.calls} sequential calls of a trivial tool, best of {args.reps}")
    print(f"{'transport':<10}{'client':<18}{'ms/call':>10}{'vs bare SDK':>14}")
    for (transport, name), value in best.items():
        ratio = value / best[(transport, "bare SDK")]
        print(f"{transport:<10}{name:<18}{value * 1000:>10.3f}{ratio:>13.2f}x")


if __name__ == "__main__":
    main()
