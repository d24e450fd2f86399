"""Cost of the Strands bridges: each loop on its native model vs on the other framework's model.

    python benchmarks/bench_strands_interop.py [--quick]

Four set-ups run the same episode (K tool turns of a trivial add(a, b), then a final answer) with a
zero-latency scripted model:

- strands native:   strands.Agent + a Strands Model subclass that yields StreamEvent dicts
- strands+provider: strands.Agent + AgentkitModelProvider(agentkit ScriptedModel) (history translated per turn)
- agentkit native:  agentkit.Agent + ScriptedModel
- agentkit+strands: agentkit.Agent + StrandsModel(the Strands scripted Model) + an @strands.tool via
                    from_strands_tool

The table prints milliseconds per model call ("cycle") and each bridge's ratio to its host's native run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import strands
from strands.models import Model as StrandsBase

from agentkit import Agent, Limits, ScriptedModel, ToolCall, tool
from agentkit.integrations.strands import AgentkitModelProvider, StrandsModel, from_strands_tool

CALLS = [0]


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first
        b: second
    """
    CALLS[0] += 1
    return a + b


agentkit_add = tool(add)
strands_add = strands.tool(add)


class _ScriptedStrands(StrandsBase):
    """Stateless: the number of tool results already in the history decides the next turn."""

    def __init__(self, k: int) -> None:
        self.k = k

    def update_config(self, **model_config: Any) -> None:
        pass

    def get_config(self) -> dict[str, Any]:
        return {"model_id": "bench"}

    def structured_output(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("_ScriptedStrands has no structured output")

    async def stream(self, messages: Any, tool_specs: Any = None, system_prompt: Any = None, **kw: Any) -> Any:
        done = sum(1 for m in messages for b in m["content"] if "toolResult" in b)
        for event in _turn(done, self.k):
            yield event


def _turn(done: int, k: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    if done < k:
        start = {"toolUse": {"toolUseId": f"t{done}", "name": "add"}}
        events += [
            {"contentBlockStart": {"start": start}},
            {"contentBlockDelta": {"delta": {"toolUse": {"input": f'{{"a": {done}, "b": 1}}'}}}},
            {"contentBlockStop": {}},
            {"messageStop": {"stopReason": "tool_use"}},
        ]
    else:
        events += [
            {"contentBlockStart": {"start": {}}},
            {"contentBlockDelta": {"delta": {"text": f"done after {k} tool calls"}}},
            {"contentBlockStop": {}},
            {"messageStop": {"stopReason": "end_turn"}},
        ]
    usage = {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}
    return [*events, {"metadata": {"usage": usage, "metrics": {"latencyMs": 0}}}]


def _scripted(k: int) -> ScriptedModel:
    turns: list[Any] = [ToolCall(name="add", arguments={"a": i, "b": 1}) for i in range(k)]
    return ScriptedModel([*turns, f"done after {k} tool calls"], text_format=None)


def strands_native(k: int) -> str:
    agent = strands.Agent(model=_ScriptedStrands(k), tools=[strands_add], callback_handler=None)
    return str(agent("go")).strip()


def strands_provider(k: int) -> str:
    agent = strands.Agent(model=AgentkitModelProvider(_scripted(k)), tools=[strands_add], callback_handler=None)
    return str(agent("go")).strip()


_LIMITS = Limits(max_turns=None, max_tool_calls=None)


def agentkit_native(k: int) -> str:
    return Agent(model=_scripted(k), tools=[agentkit_add], limits=_LIMITS)("go").text


def agentkit_strands(k: int) -> str:
    model = StrandsModel(_ScriptedStrands(k), text_format=None)
    return Agent(model=model, tools=[from_strands_tool(strands_add)], limits=_LIMITS)("go").text


def _timed_ms(fn: Callable[[int], str], k: int) -> float:
    CALLS[0] = 0
    started = time.perf_counter()
    text = fn(k)
    elapsed = (time.perf_counter() - started) * 1000
    assert CALLS[0] == k and text == f"done after {k} tool calls", (fn.__name__, CALLS[0], text)
    return elapsed


def _medians_ms(setups: list[Callable[[int], str]], k: int, runs: int) -> list[float]:
    """Round-robin over the set-ups, so load from other processes hits them all alike."""
    times: list[list[float]] = [[] for _ in setups]
    for _ in range(runs):
        for index, fn in enumerate(setups):
            times[index].append(_timed_ms(fn, k))
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    plan = [(1, 5 if args.quick else 60), (10, 3 if args.quick else 25), (50, 2 if args.quick else 9)]
    setups = [strands_native, strands_provider, agentkit_native, agentkit_strands]
    _medians_ms(setups, 1, 3)  # warm imports and caches
    header = "| K | runs | " + " | ".join(f"{fn.__name__} ms/cycle" for fn in setups)
    print(header + " | provider / strands | StrandsModel / agentkit |")
    print("|" + "---|" * (len(setups) + 4))
    for k, runs in plan:
        per_cycle = [ms / (k + 1) for ms in _medians_ms(setups, k, runs)]
        cells = " | ".join(f"{v:.2f}" for v in per_cycle)
        ratios = f"{per_cycle[1] / per_cycle[0]:.2f}x | {per_cycle[3] / per_cycle[2]:.2f}x"
        print(f"| {k} | {runs} | {cells} | {ratios} |")


if __name__ == "__main__":
    main()
