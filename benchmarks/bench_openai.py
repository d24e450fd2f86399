"""OpenAI-compatible backend: agentkit's per-turn overhead against the raw openai SDK, on the same real server
(llama-cpp-python's, serving SmolLM2-135M-Instruct Q4_1) and the same requests.

    python benchmarks/bench_openai.py [--reps 7] [--tokens 64]

Needs llama-cpp-python[server] and the GGUF (`python tests/real_servers/smollm2.py`); the server is started
here on 127.0.0.1 and stopped at the end. Each turn streams `--tokens` tokens greedily (tool_choice "none",
so the server streams; one tool offered) through
  - raw:      `AsyncOpenAI().chat.completions.create(**request)`, every chunk read, the text joined;
  - model:    `OpenAIModel.stream` (the request built by agentkit, chunks read into events), drained;
  - agent:    a whole one-turn `Agent(...)` call: messages, the loop, text-call recovery, the result.
The runs are interleaved, `--reps` of each. Wall time per turn is mostly the server's decoding (shared machine:
+-50%), so the overhead is also given as the client's own CPU time per turn (`time.process_time`, the server
being another process) as a share of the turn's wall time; the target is under 2%.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import openai

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "real_servers"))

import smollm2

from agentkit import Agent, Limits, tool
from agentkit.messages import Message
from agentkit.models.base import ModelSettings
from agentkit.models.openai import OpenAIModel

PROMPT = "Write a short poem about the sea."


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def start_server(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2.gguf_path())]
    command += ["--chat_format", "chatml-function-calling", "--model_alias", "smollm2", "--n_threads", "1"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"the server did not start:\n{log.read_text()[-2000:]}")


async def raw_turn(client: openai.AsyncOpenAI, request: dict[str, Any]) -> str:
    text: list[str] = []
    async for chunk in await client.chat.completions.create(**request):
        for choice in chunk.choices:
            if choice.delta and choice.delta.content:
                text.append(choice.delta.content)
    return "".join(text)


async def model_turn(model: OpenAIModel, settings: ModelSettings) -> None:
    async for _ in model.stream([Message.user(PROMPT)], [multiply.definition], settings):
        pass


async def agent_turn(model: OpenAIModel, settings: ModelSettings) -> None:
    agent = Agent(model=model, tools=[multiply], settings=settings, limits=Limits(max_turns=1))
    await agent.invoke_async(PROMPT)


async def measure(run: Any) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await run()
    return time.perf_counter() - wall, time.process_time() - cpu


async def bench(url: str, reps: int, tokens: int) -> dict[str, list[tuple[float, float]]]:
    settings = ModelSettings(tool_choice="none", max_tokens=tokens, temperature=0)
    model = OpenAIModel("smollm2", base_url=url, server="llama-cpp-python")
    request = model.build_request([Message.user(PROMPT)], [multiply.definition], settings)
    client = openai.AsyncOpenAI(base_url=url, api_key="not-needed")
    runs = {
        "raw": lambda: raw_turn(client, request),
        "model": lambda: model_turn(model, settings),
        "agent": lambda: agent_turn(model, settings),
    }
    for run in runs.values():  # warm up connections, the server's prompt cache and imports
        await run()
    results: dict[str, list[tuple[float, float]]] = {kind: [] for kind in runs}
    for _ in range(reps):
        for kind, run in runs.items():
            results[kind].append(await measure(run))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    if not smollm2.gguf_path().is_file():
        raise SystemExit(f"no model at {smollm2.gguf_path()}: run `python tests/real_servers/smollm2.py` first")
    with tempfile.TemporaryDirectory() as scratch:
        process, url = start_server(Path(scratch) / "server.log")
        try:
            results = asyncio.run(bench(url, args.reps, args.tokens))
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(f"# {platform.machine()}, Python {platform.python_version()}, openai {openai.__version__}")
    print(f"# llama-cpp-python server, SmolLM2-135M Q4_1, {args.tokens} tokens a turn, {args.reps} interleaved reps")
    raw_wall = statistics.median(w for w, _ in results["raw"])
    raw_cpu = statistics.median(c for _, c in results["raw"])
    print(f"{'path':8} {'wall ms (median)':>17} {'client CPU ms':>14} {'extra CPU / turn wall':>22}")
    for kind, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        share = (cpu - raw_cpu) / raw_wall * 100
        print(f"{kind:8} {wall * 1000:17.1f} {cpu * 1000:14.2f} {share:21.2f}%")


if __name__ == "__main__":
    main()
