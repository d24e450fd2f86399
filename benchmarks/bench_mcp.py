"""MCP client per-call overhead: agentkit's `MCPServer` tool against the official SDK's bare `mcp.Client` and
Strands' `MCPClient`, on the same server (tests/integrations/mcp_servers/py_server.py, its trivial `pid` tool,
no arguments), over stdio and streamable HTTP, in one run; plus agentkit's stdio client with the server in the
sandbox (`sandbox=Policy(...)`: agentkit's own pipe transport instead of the SDK's, the server confined).

    .venv/bin/python benchmarks/bench_mcp.py [--rounds 100] [--block 10]

Every client's session is up (and has made one call) before timing starts. Then, per transport, `--rounds`
rounds: in each, every client makes `--block` sequential calls in turn, the order rotating from round to
round, so that a noisy spell on the shared machine falls on all clients alike. Each round gives each client a
time per call and a ratio to the bare SDK's in the same round; the table shows the medians over rounds and,
for the ratios, their spread (25th-75th percentile), so one noisy period does not decide. "CPU us" is this
process's CPU time per call, all threads (the servers' processes are not counted): less noisy than wall time,
it shows what each client's layer costs. The clients are awaited from one event loop, as their agents call
them: agentkit's figure includes validating the arguments and mapping the result, as in a run; Strands' is
`call_tool_async`, which its agent's MCP tools use, and the target compares with it. "strands sync" is
`call_tool_sync`, for a caller without an event loop: its wait is a lock, cheaper than waking a loop, so it is
shown too. HTTP clients share one server process; stdio clients each start their own, all alike (python
py_server.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import mcp

from agentkit.integrations.mcp import MCPServer

SERVER = Path(__file__).resolve().parents[1] / "tests" / "integrations" / "mcp_servers" / "py_server.py"
TARGET = 1.2  # agentkit at most this many times the bare SDK per call, and below Strands

Call = Callable[[], Awaitable[Any]]


async def bare_sdk(stack: contextlib.AsyncExitStack, target: Any) -> Call:
    client = await stack.enter_async_context(mcp.Client(target))

    async def call() -> None:
        result = await client.call_tool("pid", {})
        assert not result.is_error

    return call


async def agentkit(stack: contextlib.AsyncExitStack, server: MCPServer) -> Call:
    stack.callback(server.close)
    (pid,) = [t for t in await asyncio.to_thread(server.tools) if t.name == "pid"]

    async def call() -> None:
        await pid.invoke(pid.validate({}))

    return call


async def strands(stack: contextlib.AsyncExitStack, make: Callable[[], Any], *, sync: bool = False) -> Call | None:
    """Strands' MCPClient, through `call_tool_async` (as its agent's MCP tools call it) or `call_tool_sync`."""
    try:
        from strands.tools.mcp import MCPClient
    except ImportError:
        return None
    client = stack.enter_context(MCPClient(make))

    async def call() -> None:
        if sync:  # blocks this loop's thread on the call's concurrent Future, as a plain thread would
            result = client.call_tool_sync("bench", "pid", {})
        else:
            result = await client.call_tool_async("bench", "pid", {})
        assert result["status"] == "success", result

    return call


class Times:
    """Per round, each client's wall time per call and its process's CPU time per call (all its threads)."""

    def __init__(self, names: list[str]) -> None:
        self.wall: dict[str, list[float]] = {name: [] for name in names}
        self.cpu: dict[str, list[float]] = {name: [] for name in names}


async def measure(clients: dict[str, Call], rounds: int, block: int) -> Times:
    for call in clients.values():
        await call()  # the first call is not timed
    names = list(clients)
    times = Times(names)
    for r in range(rounds):
        turn = r % len(names)
        for name in names[turn:] + names[:turn]:
            call = clients[name]
            cpu, started = time.process_time(), time.perf_counter()
            for _ in range(block):
                await call()
            times.wall[name].append((time.perf_counter() - started) / block)
            times.cpu[name].append((time.process_time() - cpu) / block)
    return times


async def run_stdio(rounds: int, block: int) -> Times:
    from mcp.client.stdio import stdio_client

    from agentkit.sandbox import Policy

    params = mcp.StdioServerParameters(command=sys.executable, args=[str(SERVER)])
    confined = Policy(read_paths=(str(SERVER.parent),), memory_bytes=2 << 30)
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, Call | None] = {
            "bare SDK": await bare_sdk(stack, params),
            "agentkit": await agentkit(stack, MCPServer.stdio(sys.executable, [str(SERVER)])),
            "agentkit+sandbox": await agentkit(stack, MCPServer.stdio(sys.executable, [str(SERVER)], sandbox=confined)),
            "strands": await strands(stack, lambda: stdio_client(params)),
            "strands sync": await strands(stack, lambda: stdio_client(params), sync=True),
        }
        return await measure({k: v for k, v in clients.items() if v}, rounds, block)


async def run_http(url: str, rounds: int, block: int) -> Times:
    from mcp.client.streamable_http import streamable_http_client

    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, Call | None] = {
            "bare SDK": await bare_sdk(stack, url),
            "agentkit": await agentkit(stack, MCPServer.http(url)),
            "strands": await strands(stack, lambda: streamable_http_client(url)),
            "strands sync": await strands(stack, lambda: streamable_http_client(url), sync=True),
        }
        return await measure({k: v for k, v in clients.items() if v}, rounds, block)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_server(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, str(SERVER), "http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"the HTTP server on port {port} did not start within 30 s")


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def ratios(times: dict[str, list[float]], base: str) -> dict[str, list[float]]:
    """Each client's time over `base`'s, round by round."""
    return {name: [t / b for t, b in zip(values, times[base], strict=True)] for name, values in times.items()}


def verdict(wall: dict[str, list[float]]) -> bool:
    """The target: the median over rounds of agentkit / bare SDK is at most TARGET, and of agentkit / Strands
    below 1 (when Strands is installed)."""
    if statistics.median(ratios(wall, "bare SDK")["agentkit"]) > TARGET:
        return False
    return "strands" not in wall or statistics.median(ratios(wall, "strands")["agentkit"]) < 1


def report(transport: str, times: Times) -> None:
    to_sdk = ratios(times.wall, "bare SDK")
    for name, values in times.wall.items():
        q1, q2, q3 = quartiles(to_sdk[name])
        spread = f"{q1:.2f}-{q3:.2f}" if name != "bare SDK" else ""
        cpu = statistics.median(times.cpu[name]) * 1e6
        print(f"{transport:<7}{name:<22}{statistics.median(values) * 1000:>9.3f}{q2:>9.2f}x{spread:>12}{cpu:>10.0f}")
    for other in ("strands", "strands sync"):
        if other in times.wall:
            q1, q2, q3 = quartiles(ratios(times.wall, other)["agentkit"])
            print(f"{'':<7}{'agentkit/' + other:<22}{'':>9}{q2:>9.2f}x{f'{q1:.2f}-{q3:.2f}':>12}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--block", type=int, default=10, help="calls per client per round")
    args = parser.parse_args()
    results = {"stdio": asyncio.run(run_stdio(args.rounds, args.block))}
    port = free_port()
    server = http_server(port)
    try:
        results["http"] = asyncio.run(run_http(f"http://127.0.0.1:{port}/mcp", args.rounds, args.block))
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"MCP per-call time of a trivial tool: {args.rounds} interleaved rounds of {args.block} sequential calls "
        "per client; medians over rounds (IQR: 25th-75th percentile of the per-round ratios)"
    )
    print(f"{'':<7}{'client':<22}{'ms/call':>9}{'vs SDK':>10}{'IQR':>12}{'CPU us':>10}")
    for transport, times in results.items():
        report(transport, times)
    for transport, times in results.items():
        said = "holds" if verdict(times.wall) else "does NOT hold"
        print(f"target (agentkit <= {TARGET}x the bare SDK and below Strands) over {transport}: {said}")


if __name__ == "__main__":
    main()
