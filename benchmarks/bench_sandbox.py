"""Sandbox costs side by side: process starts, warm worker round trips, confined reads.

Run: python benchmarks/bench_sandbox.py [N]   (N calls per row, default 100; at least 50)
Cold starts are measured round robin (plain, then each backend, n times), so load falls on each alike.
Where per-call cgroups are made (root), a bwrap call starts from a launcher that waits in its cgroup
(agentkit.sandbox.prejoined), and the next launcher starts in the background. Each timed call waits until
that background start is over, so no row pays for another's; the launcher's own start is its own row.
Targets: cold isolated <= 2.5x plain Python start; warm round trip < 1 ms median; confined read <= 3x open.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agentkit.sandbox import ConfinedRoot, Policy, Sandbox, WarmWorker
from agentkit.sandbox.detect import probe
from agentkit.sandbox.prejoined import launchers, start_launcher

PY = os.path.realpath(sys.executable)


def measure(fn: Callable[[], object], n: int) -> tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.95) - 1] * 1000


def settle() -> None:
    """Wait until no launcher is being started in the background (see the docstring)."""
    pool = launchers()
    while pool is not None and pool.starting():
        time.sleep(0.0005)


def measure_interleaved(fns: dict[str, Callable[[], object]], n: int) -> dict[str, tuple[float, float]]:
    """`measure` for several rows at once, one call of each in turn."""
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(n):
        for name, fn in fns.items():
            settle()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    out = {}
    for name, values in times.items():
        values.sort()
        out[name] = (statistics.median(values) * 1000, values[int(len(values) * 0.95) - 1] * 1000)
    return out


def add(a: int, b: int) -> int:
    return a + b


def main() -> None:
    n = max(50, int(sys.argv[1]) if len(sys.argv) > 1 else 100)
    policy = Policy(cpu_seconds=5, wall_seconds=10)
    backends = [b for b in probe().available() if b in ("bwrap", "landlock", "sandbox-exec")]
    rows: dict[str, tuple[float, float]] = {}
    plain = [PY, "-S", "-I", "-c", "pass"]
    starts: dict[str, Callable[[], object]] = {
        "plain subprocess python -S -I": lambda: subprocess.run(plain, capture_output=True)
    }
    for backend in backends:
        starts[f"cold isolated ({backend})"] = lambda sandbox=Sandbox(policy, backend=backend): sandbox.run(plain)
    rows.update(measure_interleaved(starts, n))  # round robin: a shared machine's load falls on every row alike
    if "bwrap" in backends and launchers() is not None:
        rows["launcher start, off the call's path (bwrap)"] = measure(  # until it says it is ready
            lambda: start_launcher(policy.max_processes, policy.memory_bytes).discard(wait=True),  # type: ignore[union-attr]
            max(10, n // 5),
        )
    for backend in backends:  # every isolating backend that runs here, side by side
        sandbox = Sandbox(policy, backend=backend)
        with WarmWorker(policy, sandbox=sandbox) as worker:
            worker.start()
            rows[f"warm worker round trip ({backend})"] = measure(
                lambda worker=worker: worker.call("json", "dumps", {"obj": [1, 2]}), n * 10
            )
    rows["in-process call"] = measure(lambda: add(1, 2), n * 10)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f.txt")
        with open(path, "w") as fh:
            fh.write("x" * 4096)
        root = ConfinedRoot(tmp)

        def plain_open() -> bytes:
            with open(path, "rb") as fh:
                return fh.read()

        rows["plain open+read (4 KiB)"] = measure(plain_open, n * 10)
        rows[f"confined read ({'openat2' if root.uses_openat2 else 'O_NOFOLLOW walk'})"] = measure(
            lambda: root.read_bytes("f.txt"), n * 10
        )
        root.close()
    base = rows["plain subprocess python -S -I"][0]
    print(f"n={n} (x10 for the sub-millisecond rows)")
    print(f"| {'row':<46} | median ms | p95 ms |")
    print(f"|{'-' * 48}|----------:|-------:|")
    for name, (median, p95) in rows.items():
        print(f"| {name:<46} | {median:9.4f} | {p95:6.4f} |")
    print()
    for backend in backends:
        cold, warm = rows[f"cold isolated ({backend})"][0], rows[f"warm worker round trip ({backend})"][0]
        print(f"{backend}: cold isolated / plain start {cold / base:.2f}x (target <= 2.5x); warm round trip")
        print(f"  {warm:.4f} ms (target < 1 ms)")
    confined = next(v for k, v in rows.items() if k.startswith("confined"))[0]
    print(f"confined read / plain open: {confined / rows['plain open+read (4 KiB)'][0]:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
