"""Loop overhead: agentkit vs Strands Agents, same zero-latency scripted model, same trivial add(a, b) tool.

    python benchmarks/bench_loop.py [--quick]

For K tool turns a run makes K+1 model calls ("cycles"); the table prints milliseconds per cycle for both
frameworks and the ratio. Then: one 10,000-turn agentkit run, and the import cost of `agentkit` vs `strands`
(wall time and resident memory in a fresh interpreter).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
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
    from strands_scripted import ScriptedStrandsModel

    strands_tools = {"sync": strands.tool(add), "async": strands.tool(name="add")(add_async)}

    def run(k: int, kind: str = "sync") -> None:
        tool_ = strands_tools["async" if kind == "async" else "sync"]
        agent = strands.Agent(model=ScriptedStrandsModel(k), tools=[tool_], callback_handler=None)
        CALLS[0] = 0
        result = agent("go")
        assert CALLS[0] == k and "done" in str(result), CALLS[0]

    return run


# ---- measurement -----------------------------------------------------------------------------------


def per_cycle_ms(contenders: dict[str, tuple[Any, str, int]], k: int, rounds: int) -> dict[str, float]:
    """Median ms per cycle for each contender (run, kind, runs per round), measured in interleaved rounds so
    a machine that speeds up or slows down during the benchmark moves every column alike."""
    samples: dict[str, list[float]] = {label: [] for label in contenders}
    for run, kind, _ in contenders.values():
        run(min(k, 2), kind)  # warm up
    for _ in range(rounds):
        for label, (run, kind, per_round) in contenders.items():
            for _ in range(per_round):
                start = time.perf_counter()
                run(k, kind)
                samples[label].append((time.perf_counter() - start) * 1000 / (k + 1))
    return {label: statistics.median(values) for label, values in samples.items()}


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
    for k, rounds in plan.items():
        contenders = {"sync": (agentkit_run, "sync", 3), "inline": (agentkit_run, "inline", 3)}
        t = per_cycle_ms(contenders | {"strands": (strands_run, "sync", 1)}, k, rounds)
        rows[k] = (t["sync"], t["strands"])
        print(
            f"{k:>5} {t['sync']:>10.3f} {t['inline']:>16.3f} {t['strands']:>9.3f} "
            f"{t['strands'] / t['sync']:>16.1f}x {t['strands'] / t['inline']:>14.1f}x"
        )
    print(
        f"agentkit flatness: K=300 / K=10 = {rows[300][0] / rows[10][0]:.2f}x "
        f"(strands: {rows[300][1] / rows[10][1]:.2f}x)"
    )
    print("\nthe same with `async def add` in both frameworks (no worker-thread hop per call):")
    for k in (10, 50):
        t = per_cycle_ms({"agentkit": (agentkit_run, "async", 3), "strands": (strands_run, "async", 1)}, k, plan[k])
        print(f"{k:>5} {t['agentkit']:>18.3f} {t['strands']:>17.3f} {t['strands'] / t['agentkit']:>16.1f}x")

    start = time.perf_counter()
    agentkit_run(10_000)
    long = time.perf_counter() - start
    print(f"agentkit 10,000 tool turns: {long:.2f} s total, {long * 1000 / 10_001:.3f} ms/cycle")
    try:
        strands_run(318)
        print("strands 318 tool turns: completed")
    except Exception as exc:  # the recursion cap measured in the reference
        print(f"strands 318 tool turns: failed with {type(exc).__name__}")

    print(f"\n{'fresh interpreter (median of 7)':<52} {'wall ms':>8} {'+RSS MB':>8}")
    for label, statement in STARTUP:
        wall, rss = import_cost(statement)
        print(f"{label:<52} {wall:>8.1f} {rss:>8.1f}")


# What a program pays before its first answer: the imports, one tool, one agent, one run with one tool call.
AGENTKIT_FIRST_ANSWER = """
from agentkit import Agent, FunctionModel, ToolCall, tool
@tool
def add(a: int, b: int) -> int:
    \"\"\"Add two integers.\"\"\"
    return a + b
turns = iter([ToolCall(name="add", arguments={"a": 1, "b": 1}), "done after 1 tool calls"])
assert Agent(model=FunctionModel(lambda m, t: next(turns), text_format=None), tools=[add])("go").text.startswith("done")
"""
STRANDS_FIRST_ANSWER = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import strands
from strands_scripted import ScriptedStrandsModel
@strands.tool
def add(a: int, b: int) -> int:
    \"\"\"Add two integers.\"\"\"
    return a + b
assert "done" in str(strands.Agent(model=ScriptedStrandsModel(1), tools=[add], callback_handler=None)("go"))
"""
STARTUP = [
    ("import agentkit", "import agentkit"),
    ("from agentkit import Agent, tool", "from agentkit import Agent, tool"),
    ("import strands", "import strands"),
    ("agentkit: imports + one tool + a 1-call run", AGENTKIT_FIRST_ANSWER),
    ("strands: imports + one tool + a 1-call run", STRANDS_FIRST_ANSWER),
]


if __name__ == "__main__":
    main()
