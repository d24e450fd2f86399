"""Loop overhead: agentkit vs Strands Agents, same zero-latency scripted model, same trivial add(a, b) tool.

    python benchmarks/bench_loop.py [--quick]

For K tool turns a run makes K+1 model calls ("cycles"); the table prints milliseconds per cycle for both
frameworks and the ratio. Then: one 10,000-turn agentkit run, and the import cost of `agentkit` vs `strands`
(wall time and resident memory in a fresh interpreter).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

os.environ.setdefault("OTEL_SDK_DISABLED", "true")

from agentkit import Agent, FunctionModel, Limits, ToolCall, tool

CALLS = [0]  # tool executions, counted by the tool itself in both frameworks


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first
        b: second
    """
    CALLS[0] += 1
    return a + b


async def add_async(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first
        b: second
    """
    CALLS[0] += 1
    return a + b


# ---- agentkit --------------------------------------------------------------------------------------

AGENTKIT_TOOLS = {"sync": tool(add), "inline": tool(add, inline=True), "async": tool(add_async, name="add")}


def agentkit_run(k: int, kind: str = "sync") -> None:
    turn = 0

    def script(messages: Any, tools: Any) -> Any:
        nonlocal turn
        turn += 1
        if turn <= k:
            return ToolCall(name="add", arguments={"a": turn, "b": 1})
        return f"done after {k} tool calls"

    limits = Limits(max_turns=None, max_tool_calls=None)
    agent = Agent(model=FunctionModel(script, text_format=None), tools=[AGENTKIT_TOOLS[kind]], limits=limits)
    CALLS[0] = 0
    result = agent("go")
    assert CALLS[0] == k and result.text.startswith("done"), result.stop_reason


# ---- strands ---------------------------------------------------------------------------------------


def strands_run_factory() -> Any:
    import strands
    from strands.models.model import Model

    class Scripted(Model):
        def __init__(self, k: int) -> None:
            self.k = k
            self.turn = 0

        def update_config(self, **config: Any) -> None:
            pass

        def get_config(self) -> Any:
            return {}

        async def structured_output(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError
            yield  # pragma: no cover

        async def stream(self, messages: Any, tool_specs: Any = None, system_prompt: Any = None, **kw: Any) -> Any:
            self.turn += 1
            yield {"messageStart": {"role": "assistant"}}
            if self.turn <= self.k:
                use = {"toolUseId": f"t{self.turn}", "name": "add"}
                yield {"contentBlockStart": {"start": {"toolUse": use}}}
                yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps({"a": self.turn, "b": 1})}}}}
                yield {"contentBlockStop": {}}
                yield {"messageStop": {"stopReason": "tool_use"}}
            else:
                yield {"contentBlockDelta": {"delta": {"text": f"done after {self.k} tool calls"}}}
                yield {"contentBlockStop": {}}
                yield {"messageStop": {"stopReason": "end_turn"}}
            yield {
                "metadata": {
                    "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                    "metrics": {"latencyMs": 0},
                }
            }

    strands_tools = {"sync": strands.tool(add), "async": strands.tool(name="add")(add_async)}

    def run(k: int, kind: str = "sync") -> None:
        tool_ = strands_tools["async" if kind == "async" else "sync"]
        agent = strands.Agent(model=Scripted(k), tools=[tool_], callback_handler=None)
        CALLS[0] = 0
        result = agent("go")
        assert CALLS[0] == k and "done" in str(result), CALLS[0]

    return run


# ---- measurement -----------------------------------------------------------------------------------


def per_cycle_ms(run: Any, k: int, repeats: int, kind: str = "sync") -> float:
    run(min(k, 2), kind)  # warm up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(k, kind)
        samples.append((time.perf_counter() - start) * 1000 / (k + 1))
    return statistics.median(samples)


def import_cost(statement: str, repeats: int = 7) -> tuple[float, float]:
    """Median wall ms of `python -c statement` minus bare startup, and RSS growth in MB."""
    probe = (
        "import time, resource, sys\n"
        "def rss():\n"
        "    return int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]) / 1024\n"
        "r0 = rss(); t0 = time.perf_counter()\n"
        f"{statement}\n"
        "print((time.perf_counter() - t0) * 1000, rss() - r0)\n"
    )
    walls, rsss = [], []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        wall, rss = map(float, out.stdout.split())
        walls.append(wall)
        rsss.append(rss)
    return statistics.median(walls), statistics.median(rsss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for a smoke run)")
    args = parser.parse_args()
    strands_run = strands_run_factory()
    plan = {1: 30, 10: 15, 50: 5, 300: 1} if not args.quick else {1: 3, 10: 2, 50: 1, 300: 1}

    print("sync add(a, b); agentkit's default runs it on a worker thread, `@tool(inline=True)` on the loop")
    header = ("K", "agentkit", "agentkit inline", "strands", "strands/agentkit", "strands/inline")
    print("{:>5} {:>10} {:>16} {:>9} {:>17} {:>15}".format(*header))
    rows = {}
    for k, repeats in plan.items():
        ours = per_cycle_ms(agentkit_run, k, repeats * 3)
        inline = per_cycle_ms(agentkit_run, k, repeats * 3, "inline")
        theirs = per_cycle_ms(strands_run, k, repeats)
        rows[k] = (ours, theirs)
        print(f"{k:>5} {ours:>10.3f} {inline:>16.3f} {theirs:>9.3f} {theirs / ours:>16.1f}x {theirs / inline:>14.1f}x")
    print(
        f"agentkit flatness: K=300 / K=10 = {rows[300][0] / rows[10][0]:.2f}x "
        f"(strands: {rows[300][1] / rows[10][1]:.2f}x)"
    )
    print("\nthe same with `async def add` in both frameworks (no worker-thread hop per call):")
    for k in (10, 50):
        ours = per_cycle_ms(agentkit_run, k, plan[k] * 3, "async")
        theirs = per_cycle_ms(strands_run, k, plan[k], "async")
        print(f"{k:>5} {ours:>18.3f} {theirs:>17.3f} {theirs / ours:>16.1f}x")

    start = time.perf_counter()
    agentkit_run(10_000)
    long = time.perf_counter() - start
    print(f"agentkit 10,000 tool turns: {long:.2f} s total, {long * 1000 / 10_001:.3f} ms/cycle")
    try:
        strands_run(318)
        print("strands 318 tool turns: completed")
    except Exception as exc:  # the recursion cap measured in the reference
        print(f"strands 318 tool turns: failed with {type(exc).__name__}")

    print(f"\n{'import':<40} {'wall ms':>8} {'+RSS MB':>8}")
    for label, statement in [
        ("import agentkit", "import agentkit"),
        ("from agentkit import Agent, tool", "from agentkit import Agent, tool"),
        ("import strands", "import strands"),
    ]:
        wall, rss = import_cost(statement)
        print(f"{label:<40} {wall:>8.1f} {rss:>8.1f}")


if __name__ == "__main__":
    main()
