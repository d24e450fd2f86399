"""Session stores side by side: the local folder (fsynced JSONL) against S3 (moto's server on loopback).

Three measurements per store:
- append latency: one record (~600 bytes, a typical tool result) appended durably, while holding the lock;
- a 100-turn run: an Agent whose scripted model calls a quick tool 99 times then answers (about 400 records),
  wall time, against the same run with no session at all;
- `agentkit serve`: one client's invocation latency (the AgentCore case: a microVM per session), and
  throughput with concurrent clients, each with its own session, invoking a one-turn agent; one server
  process per store (--sessions), the same load. Session I/O is synchronous on serve's one worker loop, so
  under concurrent sessions the S3 round trips of one run (6 per invocation: list, lock, list, 2 records,
  unlock) hold up the others.

moto runs in its own process, so its CPU is not the benchmark's; on a 2-core machine the client, the server
and moto still share the cores, and a real S3 round trip is 10-30 ms, not loopback's few: read the S3 figures
as agentkit's own cost per request plus moto's, not as S3's.

    python benchmarks/bench_sessions.py [--appends 200] [--clients 8] [--requests 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from agentkit import Agent, ScriptedModel, ToolCall, tool
from agentkit.sessions import Session
from agentkit.tooling import InProcessExecutor

AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}
SERVE_AGENT = """
from agentkit import Agent, FunctionModel

agent = Agent(model=FunctionModel(lambda messages, tools: "the answer is 42"))
"""
RECORD = {"type": "tool_result", "result": {"call_id": "c1", "name": "read_file", "content": "x" * 500}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited early")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_for(endpoint, proc)
    return proc, endpoint


@tool
def quick(n: int) -> str:
    """Answer at once."""
    return f"result {n} " + "y" * 200


def append_latency(session: Session, count: int) -> list[float]:
    samples = []
    with session.writing():
        for _ in range(count):
            t0 = time.perf_counter()
            session.append(RECORD)
            samples.append(time.perf_counter() - t0)
    session.close()
    return samples


def hundred_turns(session: Session | None) -> float:
    script: list = [ToolCall(name="quick", arguments={"n": i}) for i in range(99)] + ["done"]
    agent = Agent(model=ScriptedModel(script), tools=[quick], executor=InProcessExecutor(), session=session)
    t0 = time.perf_counter()
    result = agent("go")
    elapsed = time.perf_counter() - t0
    agent.close()
    assert result.text == "done" and len(result.messages) == 200, (result.stop_reason, len(result.messages))
    return elapsed


def serve_load(folder: Path, sessions: str, clients: int, requests: int) -> tuple[float, float]:
    """(one client's mean invocation latency in ms, requests per second with `clients` concurrent clients)"""
    port = free_port()
    env = dict(os.environ, AGENTKIT_HOME=str(folder / "home"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentkit",
            "serve",
            str(folder / "serve_agent.py"),
            "--port",
            str(port),
            "--sessions",
            sessions,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/ping", proc)

        async def client(number: int, http: httpx.AsyncClient) -> None:
            headers = {"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": f"bench-{sessions[:2]}-{number}-{port}"}
            for _ in range(requests):
                response = await http.post(url + "/invocations", json={"prompt": "6 * 7?"}, headers=headers)
                response.raise_for_status()

        async def load() -> tuple[float, float]:
            async with httpx.AsyncClient(timeout=60) as http:
                await asyncio.gather(*(client(-1 - n, http) for n in range(clients)))  # warm up
                t0 = time.perf_counter()
                await client(1000, http)
                alone = 1000 * (time.perf_counter() - t0) / requests
                t0 = time.perf_counter()
                await asyncio.gather(*(client(n, http) for n in range(clients)))
                return alone, clients * requests / (time.perf_counter() - t0)

        return asyncio.run(load())
    finally:
        proc.terminate()
        proc.wait()


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args()

    os.environ.update(AWS)
    moto, endpoint = start_moto()
    os.environ["AWS_ENDPOINT_URL_S3"] = endpoint
    try:
        import boto3

        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench-sessions")
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "serve_agent.py").write_text(SERVE_AGENT)
            stores = {"local": str(folder / "local"), "s3": "s3://bench-sessions/runs"}
            rows = {}
            for name, where in stores.items():
                appends = append_latency(Session.open("appends", where), args.appends)
                run = min(hundred_turns(Session.open(f"turns-{i}", where)) for i in range(2))
                latency, throughput = serve_load(folder, where, args.clients, args.requests)
                rows[name] = {
                    "p50": ms(appends, 0.5),
                    "p99": ms(appends, 0.99),
                    "mean": 1000 * statistics.fmean(appends),
                    "run": run,
                    "latency": latency,
                    "serve": throughput,
                }
            bare = min(hundred_turns(None) for _ in range(2))
    finally:
        moto.terminate()
        moto.wait()

    print(f"append latency ({args.appends} records of ~600 bytes, ms) and a 100-turn run (~400 records, s):")
    print("serve: one client's ms per invocation, and requests/s with --clients concurrent sessions")
    print(f"{'store':<6} {'p50':>8} {'p99':>8} {'mean':>8} {'100 turns':>10} {'serve ms':>9} {'serve req/s':>12}")
    for name, row in rows.items():
        print(
            f"{name:<6} {row['p50']:>8.3f} {row['p99']:>8.3f} {row['mean']:>8.3f} {row['run']:>10.3f}"
            f" {row['latency']:>9.1f} {row['serve']:>12.1f}"
        )
    print(f"no session: 100 turns in {bare:.3f} s")
    local, s3 = rows["local"], rows["s3"]
    print(
        f"ratios S3/local: append p50 {s3['p50'] / local['p50']:.2f}x, 100-turn run {s3['run'] / local['run']:.2f}x,"
        f" serve latency {s3['latency'] / local['latency']:.2f}x, serve throughput {s3['serve'] / local['serve']:.2f}x"
    )


if __name__ == "__main__":
    main()
