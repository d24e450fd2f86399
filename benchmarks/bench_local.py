"""Local Transformers backend: streaming throughput vs bare `model.generate`, and per-turn latency with and
without KV-cache reuse over a 10-turn tool conversation.

    /work/venv/bin/python benchmarks/bench_local.py [--reps 3] [--tokens 128] [--turns 10] [--threads N]
        [--model PATH ...]

Models (built here, offline, in a temporary folder): the tiny Qwen3 of tests/models_local (2 layers, hidden
64, trained on the weather episode) and a Qwen3 with 8 layers, hidden 512 and random weights; or, with
`--model` (repeatable), real models: a folder or a .gguf file, e.g. the SmolLM2-135M-Instruct GGUF that
`python tests/real_servers/smollm2.py` fetches. Each model is loaded once; the variants below share its weights.
The device is picked as the backend picks it (CUDA when present, else CPU).

Throughput: the same prompt and the same number of new tokens (stop tokens masked until then) through
  - bare:       `model.generate(max_new_tokens=N, min_new_tokens=N)`, greedy, on the backend's own weights;
  - agentkit:   `TransformersModel.stream` as shipped (worker-thread slices of `chunk_seconds`=0.05 s);
  - per-token:  the same with chunk_seconds=0 (one `anyio.to_thread.run_sync` hop per token);
  - mem-stream: the other design, one worker thread decoding and handing each token's text to an anyio
                memory stream through `anyio.from_thread.run_sync`.
Each includes the prompt's prefill; agentkit's also includes rendering the chat template. The figure is
the best of `--reps` interleaved runs (the machine is shared).

Turn latency: turn k sends the conversation so far (a call plus a ~250-token tool result per earlier turn)
and generates 8 tokens; with reuse the cache keeps every earlier turn and only the new tail is prefilled.
"""

from __future__ import annotations

import argparse
import copy
import math
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "models_local"))

from local_tiny_models import QUESTION, SYSTEM, WEATHER_TOOL, build_random, build_trained

from agentkit.messages import Message, TextDelta, ToolCall, ToolResult, TurnEnd
from agentkit.models._local_decode import Decoder, KVState
from agentkit.models.base import ModelSettings
from agentkit.models.transformers import TransformersModel
from agentkit.tooling import ToolDefinition

TOOLS = [ToolDefinition.from_any(WEATHER_TOOL)]
FIRST = [Message.system(SYSTEM), Message.user(QUESTION)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


# ---- throughput ---------------------------------------------------------------------------------------


def bare_generate(tm: TransformersModel, n: int) -> float:
    ids = torch.tensor([tm.prompt_ids(FIRST, TOOLS)], device=tm.device)
    _sync(tm.device)
    start = time.perf_counter()
    with torch.inference_mode():
        out = tm.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            pad_token_id=tm.tokenizer.pad_token_id,
        )
    _sync(tm.device)
    elapsed = time.perf_counter() - start
    assert out.shape[1] - ids.shape[1] == n
    return elapsed


async def agentkit_stream(tm: TransformersModel, n: int) -> float:
    settings = ModelSettings(max_tokens=n, extra={"min_tokens": n})
    tm.reset_cache()
    start = time.perf_counter()
    end: TurnEnd | None = None
    async for event in tm.stream(FIRST, TOOLS, settings):
        if isinstance(event, TurnEnd):
            end = event
    elapsed = time.perf_counter() - start
    assert end is not None and end.usage.output_tokens == n
    return elapsed


async def memory_stream(tm: TransformersModel, n: int) -> float:
    """The alternative design: one worker thread decodes and pushes each token's text into a memory stream."""
    settings = ModelSettings(max_tokens=n, extra={"min_tokens": n})
    start = time.perf_counter()
    prompt = tm.prompt_ids(FIRST, TOOLS, settings)
    cache, reused = KVState(tm.model).prepare(prompt, reuse=False)
    decoder = Decoder(tm.model, cache, prompt, reused, tm._options(settings), tm._decode_ids)
    send, receive = anyio.create_memory_object_stream[str](max_buffer_size=math.inf)

    def work() -> None:
        with send:
            while not decoder.done:
                text = decoder.advance(0.0)
                if text:
                    anyio.from_thread.run_sync(send.send_nowait, text)

    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, work)
        async for _text in receive:
            pass
    elapsed = time.perf_counter() - start
    assert len(decoder.generated) == n
    return elapsed


def variant(tm: TransformersModel, **changes: Any) -> TransformersModel:
    """`tm` with other settings and a cache of its own, sharing the loaded weights (a GGUF loads in minutes)."""
    twin = copy.copy(tm)
    for name, value in changes.items():
        setattr(twin, name, value)
    twin._kv = KVState(tm.model)
    twin._kv_lock = threading.Lock()
    return twin


async def throughput(loaded: TransformersModel, n: int, reps: int) -> dict[str, float]:
    tm = variant(loaded, reuse_cache=False)
    per_token = variant(loaded, reuse_cache=False, chunk_seconds=0.0)
    runs: dict[str, Callable[[], Any]] = {
        "bare generate": lambda: bare_generate(tm, n),
        "agentkit stream": lambda: agentkit_stream(tm, n),
        "agentkit, 1 token per hop": lambda: agentkit_stream(per_token, n),
        "thread + memory stream": lambda: memory_stream(tm, n),
    }
    best = {name: math.inf for name in runs}
    for fn in runs.values():  # warm-up
        result = fn()
        if hasattr(result, "__await__"):
            await result
    for _ in range(reps):
        for name, fn in runs.items():
            result = fn()
            seconds = await result if hasattr(result, "__await__") else result
            best[name] = min(best[name], seconds)
    return {name: n / seconds for name, seconds in best.items()}


# ---- turn latency -------------------------------------------------------------------------------------


def conversation(turns: int) -> list[list[Message]]:
    """The message lists for turns 1..turns of a tool conversation that grows by ~270 tokens a turn."""
    messages = list(FIRST)
    out = [list(messages)]
    for i in range(1, turns):
        call = ToolCall(name="get_weather", arguments={"city": f"City {i}"}, id=f"call_{i}")
        lines = [f"{h:02d}:00 sunny {15 + (h + i) % 9} C wind {h % 5} m/s" for h in range(12)]
        result = ToolResult(call_id=call.id, name=call.name, content="\n".join(lines))
        messages += [Message.assistant("", tool_calls=[call]), Message.tool([result])]
        out.append(list(messages))
    return out


async def turn_latencies(tm: TransformersModel, turns: int, new_tokens: int) -> tuple[list[float], list[int], str]:
    settings = ModelSettings(max_tokens=new_tokens, extra={"min_tokens": new_tokens})
    tm.reset_cache()
    times: list[float] = []
    contexts: list[int] = []
    texts: list[str] = []
    for messages in conversation(turns):
        start = time.perf_counter()
        chunks: list[str] = []
        async for event in tm.stream(messages, TOOLS, settings):
            if isinstance(event, TextDelta):
                chunks.append(event.text)
            elif isinstance(event, TurnEnd):
                contexts.append(event.usage.input_tokens)
        times.append(time.perf_counter() - start)
        texts.append("".join(chunks))
    return times, contexts, "\x00".join(texts)


async def latency(loaded: TransformersModel, turns: int, reps: int, new_tokens: int = 8) -> dict[str, Any]:
    with_reuse = variant(loaded, reuse_cache=True)
    without = variant(loaded, reuse_cache=False)
    best = {"reuse": [math.inf] * turns, "no reuse": [math.inf] * turns}
    outputs: dict[str, str] = {}
    contexts: list[int] = []
    await turn_latencies(with_reuse, 2, new_tokens)  # warm-up
    for _ in range(reps):
        for name, tm in (("no reuse", without), ("reuse", with_reuse)):
            times, contexts, text = await turn_latencies(tm, turns, new_tokens)
            best[name] = [min(a, b) for a, b in zip(best[name], times, strict=True)]
            outputs[name] = text
    return {"best": best, "contexts": contexts, "identical": outputs["reuse"] == outputs["no reuse"]}


# ---- report -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128, help="new tokens per throughput run")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--model", action="append", default=[], help="a real model folder or .gguf (repeatable)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.model:
        models = {Path(p).name: TransformersModel(p) for p in args.model}
    else:
        root = Path(tempfile.mkdtemp(prefix="bench_local_"))
        tiny = build_trained("qwen3", root / "tiny")["path"]
        big = build_random(root / "qwen3_8l", layers=8, hidden=512)
        models = {
            "Qwen3 2L h64 (tiny, trained)": TransformersModel(tiny),
            "Qwen3 8L h512 (random)": TransformersModel(big),
        }

    probe = next(iter(models.values()))
    print(f"# bench_local  device={probe.device} dtype={probe.dtype} torch threads={torch.get_num_threads()}")
    print(f"# {platform.machine()} {platform.system()}, Python {platform.python_version()}, torch {torch.__version__}")
    print()
    print(f"## Throughput: {args.tokens} new tokens after a ~180-token prompt (best of {args.reps}), tokens/s")
    print()
    print(
        "| model | bare generate | agentkit stream | ratio | 1 token per hop | ratio | thread + memory stream | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, path in models.items():
        tps = anyio.run(throughput, path, args.tokens, args.reps)
        bare = tps["bare generate"]
        cells = [f"{bare:.0f}"]
        for name in ("agentkit stream", "agentkit, 1 token per hop", "thread + memory stream"):
            cells += [f"{tps[name]:.0f}", f"{tps[name] / bare:.2f}"]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    print(f"## Turn latency: {args.turns}-turn tool conversation, 8 new tokens a turn (best of {args.reps}), ms")
    for label, path in models.items():
        result = anyio.run(latency, path, args.turns, args.reps)
        best, contexts = result["best"], result["contexts"]
        print()
        print(f"### {label}: greedy output identical with and without reuse: {result['identical']}")
        print()
        print("| turn | context tokens | no reuse | reuse | speedup |")
        print("|---|---|---|---|---|")
        for i in range(args.turns):
            a, b = best["no reuse"][i] * 1000, best["reuse"][i] * 1000
            print(f"| {i + 1} | {contexts[i]} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
        total_a, total_b = sum(best["no reuse"]) * 1000, sum(best["reuse"]) * 1000
        print(f"| total | | {total_a:.1f} | {total_b:.1f} | {total_a / total_b:.2f}x |")


if __name__ == "__main__":
    main()
