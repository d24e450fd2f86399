"""Long runs in a context window: agentkit.context vs Strands' conversation managers, same script.

    python benchmarks/bench_context.py [--quick]

1. Per-turn overhead with reduction active: per turn of a K-turn run (each turn reads a 2 KB page) with a
   32K-token window, K=10 vs K=2,000, and the same with a 4K window (reducing every few turns at any K):
   wall ms, the main thread's CPU ms, and the CPU us spent keeping the view (ContextManager.prepare). The
   ratio K=2,000 / K=10 is the point: no whole-history work per turn, so it stays near 1.
2. Tokens sent: one fixed 300-turn script (each turn reads a 2 KB page; then an answer) against a backend
   with a 32,000-token window that refuses longer requests (ContextOverflow / Strands'
   ContextWindowOverflowException), for agentkit's default (clear old tool results, then a sliding window),
   agentkit's Summarize (alone, and after clearing), Strands' default (SlidingWindowConversationManager(40), managed at the end of a
   call), Strands' sliding window applied before every model call (`per_turn=True`), and Strands'
   SummarizingConversationManager. Tokens are counted the same way for both: characters of the text, tool
   inputs and tool results sent (system prompt included) / 4, per accepted request; refused requests are
   counted apart. "separated" counts requests in which a tool result was sent without its call or a call
   without its result.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("OTEL_SDK_DISABLED", "true")

from agentkit import Agent, FunctionModel, Limits, ToolCall
from agentkit.context import Chain, ClearToolResults, Summarize
from agentkit.errors import ContextOverflow
from agentkit.messages import Message, Usage
from agentkit.models.testing import Turn
from agentkit.tooling import InProcessExecutor

PAGE = "x" * 2000
WINDOW = 32_000
SYSTEM = "You read pages and report what they say."
TASK = "Read pages 1 to 300, one call each, then report."
SUMMARY = "Summary: pages were read one by one; each held 2,000 characters of x. " * 10  # ~700 chars


def read_page(n: int) -> str:
    """Read page n.

    Args:
        n: the page number
    """
    return f"page {n}: " + PAGE


def reader_agent(script: Any, **options: Any) -> Agent:
    """The agent both measurements run: `script` as its model, read_page as its tool, no turn limits."""
    return Agent(
        FunctionModel(script, text_format=None),
        [read_page],
        system_prompt=SYSTEM,
        limits=Limits(max_turns=None, max_tool_calls=None),
        executor=InProcessExecutor(),
        **options,
    )


# ---- counting, the same for both frameworks ------------------------------------------------------


def agentkit_chars(messages: Sequence[Message]) -> int:
    total = 0
    for m in messages:
        total += len(m.content) + sum(len(c.arguments_json()) + len(c.name) for c in m.tool_calls)
        total += sum(len(r.content) for r in m.tool_results)
    return total


def strands_chars(messages: Sequence[dict[str, Any]], system_prompt: str | None) -> int:
    total = len(system_prompt or "")
    for m in messages:
        for block in m["content"]:
            if "text" in block:
                total += len(block["text"])
            if "toolUse" in block:
                total += len(json.dumps(block["toolUse"]["input"])) + len(block["toolUse"]["name"])
            if "toolResult" in block:
                total += sum(len(c.get("text", "")) for c in block["toolResult"]["content"])
    return total


def agentkit_separated(messages: Sequence[Message]) -> bool:
    for before, message in itertools.pairwise(messages):
        calls = [c.id for c in before.tool_calls] if before.role == "assistant" else []
        results = [r.call_id for r in message.tool_results]
        if (message.role == "tool" and results != calls) or (calls and message.role != "tool"):
            return True
    return bool(messages) and messages[0].role == "tool"


def strands_separated(messages: Sequence[dict[str, Any]]) -> bool:
    previous: set[str] = set()
    for index, m in enumerate(messages):
        results = {b["toolResult"]["toolUseId"] for b in m["content"] if "toolResult" in b}
        if results != previous and (results or previous):
            return True
        previous = {b["toolUse"]["toolUseId"] for b in m["content"] if "toolUse" in b}
        if previous and index == len(messages) - 1:
            return True
    return False


class Tally:
    def __init__(self) -> None:
        self.tokens = 0
        self.requests = 0
        self.refused = 0
        self.largest = 0
        self.separated = 0
        self.summaries = 0

    def row(self, label: str) -> str:
        return (
            f"{label:<48} {self.tokens:>12,} {self.requests:>9} {self.refused:>8} {self.summaries:>10}"
            f" {self.largest:>9,} {self.separated:>10}"
        )


# ---- agentkit --------------------------------------------------------------------------------------


def agentkit_tokens(turns: int, strategy: Any = True) -> Tally:
    tally = Tally()
    state = {"turn": 0}

    def script(messages: Sequence[Message], tools: Any) -> Turn:
        tokens = (agentkit_chars(messages)) // 4
        if messages[0].content.startswith("You compress"):  # Summarize asking for its summary
            tally.tokens += tokens
            tally.summaries += 1
            return Turn(text=SUMMARY, usage=Usage(input_tokens=tokens))
        if tokens > WINDOW:
            tally.refused += 1
            raise ContextOverflow(f"This model's maximum context length is {WINDOW} tokens", limit=WINDOW)
        tally.tokens += tokens
        tally.requests += 1
        tally.largest = max(tally.largest, tokens)
        tally.separated += agentkit_separated(messages[1:])
        state["turn"] += 1
        if state["turn"] <= turns:
            return Turn(
                calls=[ToolCall(name="read_page", arguments={"n": state["turn"]})], usage=Usage(input_tokens=tokens)
            )
        return Turn(text="all pages read", usage=Usage(input_tokens=tokens))

    agent = reader_agent(script, context=strategy, context_window=WINDOW)
    result = agent(TASK)
    assert result.text == "all pages read", (result.stop_reason, result.detail)
    return tally


# ---- strands ---------------------------------------------------------------------------------------


def strands_tokens(turns: int, manager: Any) -> Tally:
    import strands
    from strands.types.exceptions import ContextWindowOverflowException
    from strands_scripted import ScriptModel

    tally = Tally()

    class WindowedScriptedModel(ScriptModel):
        def __init__(self) -> None:
            self.turn = 0

        async def stream(self, messages: Any, tool_specs: Any = None, system_prompt: Any = None, **kw: Any) -> Any:
            tokens = strands_chars(messages, system_prompt) // 4
            summarizing = system_prompt is not None and "summar" in system_prompt.lower() and not tool_specs
            if not summarizing and tokens > WINDOW:
                tally.refused += 1
                raise ContextWindowOverflowException(f"This model's maximum context length is {WINDOW} tokens")
            tally.tokens += tokens
            yield {"messageStart": {"role": "assistant"}}
            if summarizing:
                tally.summaries += 1
                yield {"contentBlockDelta": {"delta": {"text": SUMMARY}}}
                yield {"contentBlockStop": {}}
                yield {"messageStop": {"stopReason": "end_turn"}}
            else:
                tally.requests += 1
                tally.largest = max(tally.largest, tokens)
                tally.separated += strands_separated(messages)
                self.turn += 1
                if self.turn <= turns:
                    use = {"toolUseId": f"t{self.turn}", "name": "read_page"}
                    yield {"contentBlockStart": {"start": {"toolUse": use}}}
                    yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps({"n": self.turn})}}}}
                    yield {"contentBlockStop": {}}
                    yield {"messageStop": {"stopReason": "tool_use"}}
                else:
                    yield {"contentBlockDelta": {"delta": {"text": "all pages read"}}}
                    yield {"contentBlockStop": {}}
                    yield {"messageStop": {"stopReason": "end_turn"}}
            usage = {"inputTokens": tokens, "outputTokens": 1, "totalTokens": tokens + 1}
            yield {"metadata": {"usage": usage, "metrics": {"latencyMs": 0}}}

    kwargs = {} if manager is None else {"conversation_manager": manager}
    agent = strands.Agent(
        model=WindowedScriptedModel(),
        tools=[strands.tool(read_page)],
        system_prompt=SYSTEM,
        callback_handler=None,
        **kwargs,
    )
    result = agent(TASK)
    assert "all pages read" in str(result), str(result)
    return tally


# ---- per-turn overhead -----------------------------------------------------------------------------

_PREPARE = [0]  # thread CPU ns spent in ContextManager.prepare (the view kept in step, and reductions)


def _count_prepare() -> None:
    from agentkit.context import ContextManager

    original = ContextManager.prepare

    async def timed(self: Any, *args: Any) -> Any:
        started = time.thread_time_ns()
        result = await original(self, *args)
        _PREPARE[0] += time.thread_time_ns() - started
        return result

    ContextManager.prepare = timed  # type: ignore[method-assign]


def per_turn(k: int, window: int) -> tuple[float, float, float]:
    """(wall ms, main-thread CPU ms, context CPU us) per model turn of one K-turn run."""
    turn = 0

    def script(messages: Any, tools: Any) -> Any:
        nonlocal turn
        turn += 1
        return ToolCall(name="read_page", arguments={"n": turn}) if turn <= k else "done"

    agent = reader_agent(script, context_window=window)
    _PREPARE[0] = 0
    wall, cpu = time.perf_counter(), time.thread_time()
    result = asyncio.run(agent.invoke_async(TASK))
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    assert result.text == "done"
    return wall * 1000 / (k + 1), cpu * 1000 / (k + 1), _PREPARE[0] / 1000 / (k + 1)


def overhead(quick: bool) -> None:
    _count_prepare()
    print("per-turn overhead, agentkit (each turn reads a 2 KB page), median per model turn; CPU is the main")
    print("thread's (the tool runs on a worker thread), the figure least moved by other load on the machine")
    header = ("window", "K", "wall ms", "CPU ms", "context us")
    print("{:>8} {:>6} {:>9} {:>8} {:>11}".format(*header))
    for window in (32_000, 4_000):
        samples: dict[int, list[tuple[float, float, float]]] = {10: [], 2000: []}
        for _ in range(1 if quick else 5):  # interleaved, so a load change on the machine moves both alike
            samples[10] += [per_turn(10, window) for _ in range(40)]
            samples[2000].append(per_turn(2000, window))
        medians = {k: [statistics.median(s[i] for s in rows) for i in range(3)] for k, rows in samples.items()}
        for k, (wall, cpu, context) in medians.items():
            print(f"{window:>8,} {k:>6,} {wall:>9.3f} {cpu:>8.3f} {context:>11.1f}")
        ratios = [big / small for big, small in zip(medians[2000], medians[10], strict=True)]
        print(f"{'':>8} {'ratio':>6} {ratios[0]:>9.2f} {ratios[1]:>8.2f} {ratios[2]:>11.2f}  (K=2,000 / K=10)")


def tokens_sent(turns: int) -> None:
    from strands.agent.conversation_manager import (
        SlidingWindowConversationManager,
        SummarizingConversationManager,
    )

    print(f"\ninput tokens sent over a {turns}-turn script, window {WINDOW:,} tokens (characters / 4, both sides)")
    header = ("", "tokens sent", "requests", "refused", "summaries", "largest", "separated")
    print("{:<48} {:>12} {:>9} {:>8} {:>10} {:>9} {:>10}".format(*header))
    rows = {
        "agentkit default (clear results, slide)": agentkit_tokens(turns),
        "agentkit Summarize()": agentkit_tokens(turns, Summarize()),
        "agentkit Chain(ClearToolResults(), Summarize())": agentkit_tokens(
            turns, Chain(ClearToolResults(), Summarize())
        ),
        "strands default (sliding 40, end of call)": strands_tokens(turns, None),
        "strands SlidingWindow(40, per_turn=True)": strands_tokens(
            turns, SlidingWindowConversationManager(window_size=40, per_turn=True)
        ),
        "strands SummarizingConversationManager()": strands_tokens(turns, SummarizingConversationManager()),
    }
    for label, tally in rows.items():
        print(tally.row(label))
    base = rows["agentkit default (clear results, slide)"].tokens
    for label, tally in rows.items():
        if label.startswith("strands"):
            print(f"{label}: {tally.tokens / base:.2f}x agentkit default's tokens")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for a smoke run)")
    args = parser.parse_args()
    overhead(args.quick)
    tokens_sent(300)


if __name__ == "__main__":
    main()
