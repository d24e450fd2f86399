"""`agentkit serve` against a minimal `bedrock-agentcore` SDK app, both serving the same scripted agent.

Each server is a real process on 127.0.0.1. The agent's model awaits 50 ms per turn and answers in one
turn. The load is 100 concurrent streaming invocations (100 client connections, each sending requests back
to back), from a separate process with a small raw-socket HTTP/1.1 client so the client costs little
CPU; a second process probes GET /ping every 5 ms during the load. Reported: invocation throughput,
invocation latency p50/p99 (request sent -> last SSE byte), /ping p50/p99 idle and under load, and the
time from process start to the first 200 from /ping.

    python benchmarks/bench_serve.py [--requests-per-connection 5] [--concurrency 100]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AGENT = '''
import anyio
from agentkit import Agent
from agentkit.messages import TextDelta, TurnEnd, Usage


class SlowScripted:
    """Awaits 50 ms per turn (a network model would), then answers in one turn."""

    name = "slow-scripted"
    text_format = None

    async def stream(self, messages, tools, settings):
        await anyio.sleep(0.05)
        yield TextDelta(text="the answer is 42")
        yield TurnEnd(stop_reason="end_turn", usage=Usage(output_tokens=5))


MODEL = SlowScripted()


def build():
    return Agent(model=MODEL)
'''

SDK_APP = """
import sys
sys.path.insert(0, {folder!r})
from bedrock_agentcore.runtime import BedrockAgentCoreApp
from bench_agent import build

app = BedrockAgentCoreApp()


@app.entrypoint
async def invoke(payload):
    agent = build()
    async for event in agent.stream(payload["prompt"]):
        if event.kind != "message":
            yield event.to_dict()


app.run(port={port}, host="127.0.0.1")
"""

BODY = b'{"prompt": "what is 6 * 7?"}'
SERVER_CPUS: set[int] = set()  # --pin: the server on CPU 0, the load and the /ping probe on the others
CLIENT_CPUS: set[int] = set()
EXTRA_PATH = ""


def _pin(cpus: set[int]) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(kind: str, folder: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    if kind == "agentkit serve":
        args = [sys.executable, "-m", "agentkit", "serve", f"{folder}/bench_agent.py", "--port", str(port)]
    else:
        script = folder / "sdk_app.py"
        script.write_text(SDK_APP.format(folder=str(folder), port=port))
        args = [sys.executable, str(script)]
    env = dict(os.environ, AGENTKIT_HOME=str(folder / "home"))
    if EXTRA_PATH:
        env["PYTHONPATH"] = os.pathsep.join([EXTRA_PATH, env.get("PYTHONPATH", "")])
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, preexec_fn=lambda: _pin(SERVER_CPUS)
    )
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return proc, time.perf_counter() - started
        except OSError:
            time.sleep(0.01)
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited early")


# ---- the load: a tiny HTTP/1.1 client over asyncio streams --------------------------------------------


async def one_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> bytes:
    writer.write(
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        b"Accept: text/event-stream\r\nContent-Length: %d\r\n\r\n%s" % (port, len(BODY), BODY)
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.decode(errors="replace"))
    body = bytearray()
    if b"transfer-encoding: chunked" in head.lower():
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            body += await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body += await reader.readexactly(length)
    return bytes(body)


async def connection(port: int, count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(count):
        t0 = time.perf_counter()
        body = await one_request(reader, writer, port)
        latencies.append(time.perf_counter() - t0)
        if b'"done"' not in body and b"done" not in body:
            raise RuntimeError(f"no final event in {body[:200]!r}")
    writer.close()


async def load(port: int, concurrency: int, per_connection: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    t0 = time.perf_counter()
    await asyncio.gather(*(connection(port, per_connection, latencies) for _ in range(concurrency)))
    return latencies, time.perf_counter() - t0


def load_process(port: int, concurrency: int, per_connection: int, out: mp.Queue, cpus: set[int]) -> None:  # type: ignore[type-arg]
    _pin(cpus)
    os.nice(10)  # the /ping probe shares the client CPUs: let it run first, so it measures the server
    out.put(asyncio.run(load(port, concurrency, per_connection)))


def ping_process(port: int, stop: mp.Event, out: mp.Queue, cpus: set[int]) -> None:  # type: ignore[type-arg]
    _pin(cpus)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    samples: list[float] = []
    busy = 0
    while not stop.is_set():
        t0 = time.perf_counter()
        conn.request("GET", "/ping")
        response = conn.getresponse()
        data = response.read()
        samples.append(time.perf_counter() - t0)
        busy += b"HealthyBusy" in data
        time.sleep(0.005)
    out.put((samples, busy))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(kind: str, folder: Path, concurrency: int, per_connection: int) -> dict[str, float]:
    port = free_port()
    proc, startup = start(kind, folder, port)
    try:
        asyncio.run(load(port, 10, 2))  # warm up
        ctx = mp.get_context("spawn")
        stop, pings = ctx.Event(), ctx.Queue()
        idle = ctx.Process(target=ping_process, args=(port, stop, pings, CLIENT_CPUS))
        idle.start()
        time.sleep(1.0)
        stop.set()
        idle_samples, _ = pings.get()
        idle.join()
        stop = ctx.Event()
        prober = ctx.Process(target=ping_process, args=(port, stop, pings, CLIENT_CPUS))
        results = ctx.Queue()
        loader = ctx.Process(target=load_process, args=(port, concurrency, per_connection, results, CLIENT_CPUS))
        prober.start()
        time.sleep(0.3)
        loader.start()
        latencies, elapsed = results.get()
        loader.join()
        stop.set()
        samples, busy = pings.get()
        prober.join()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {
        "startup_s": startup,
        "throughput": len(latencies) / elapsed,
        "lat_p50_ms": pct(latencies, 0.5) * 1000,
        "lat_p99_ms": pct(latencies, 0.99) * 1000,
        "ping_idle_p99_ms": pct(idle_samples, 0.99) * 1000,
        "ping_p50_ms": pct(samples, 0.5) * 1000,
        "ping_p99_ms": pct(samples, 0.99) * 1000,
        "ping_max_ms": max(samples) * 1000,
        "pings": len(samples),
        "busy_pings": busy,
        "requests": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--requests-per-connection", type=int, default=5)
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, clients on the other CPUs")
    parser.add_argument("--extra-path", default="", help="prepended to both servers' PYTHONPATH")
    args = parser.parse_args()
    global EXTRA_PATH
    EXTRA_PATH = args.extra_path
    cpus = sorted(os.sched_getaffinity(0))
    if args.pin and len(cpus) > 1:
        SERVER_CPUS.add(cpus[0])
        CLIENT_CPUS.update(cpus[1:])
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "bench_agent.py").write_text(AGENT)
        for kind in ("agentkit serve", "bedrock-agentcore SDK app"):
            rows[kind] = measure(kind, folder, args.concurrency, args.requests_per_connection)
    ours, sdk = rows["agentkit serve"], rows["bedrock-agentcore SDK app"]
    print(
        f"{args.concurrency} concurrent streaming invocations x {args.requests_per_connection} each, "
        "model 50 ms per turn; /ping probed every 5 ms from another process"
        + (f"; server pinned to CPU {sorted(SERVER_CPUS)}, clients to {sorted(CLIENT_CPUS)}" if SERVER_CPUS else "")
        + "\n"
    )
    print("| metric | agentkit serve | SDK app | agentkit / SDK |")
    print("|---|---:|---:|---:|")
    labels = [
        ("throughput", "invocations/s", "{:.0f}"),
        ("lat_p50_ms", "invocation p50 (ms)", "{:.0f}"),
        ("lat_p99_ms", "invocation p99 (ms)", "{:.0f}"),
        ("ping_p50_ms", "/ping p50 under load (ms)", "{:.2f}"),
        ("ping_p99_ms", "/ping p99 under load (ms)", "{:.2f}"),
        ("ping_max_ms", "/ping max under load (ms)", "{:.1f}"),
        ("ping_idle_p99_ms", "/ping p99 idle (ms)", "{:.2f}"),
        ("startup_s", "start -> first /ping 200 (s)", "{:.2f}"),
    ]
    for key, label, fmt in labels:
        ratio = ours[key] / sdk[key] if sdk[key] else float("nan")
        print(f"| {label} | {fmt.format(ours[key])} | {fmt.format(sdk[key])} | {ratio:.2f} |")
    for kind, row in rows.items():
        print(f"\n{kind}: {row['requests']} invocations, {row['pings']} pings ({row['busy_pings']} said HealthyBusy)")


if __name__ == "__main__":
    main()
