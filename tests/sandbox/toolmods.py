"""Module-level functions that the sandbox tests run inside warm workers."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from agentkit.errors import RetryTool
from agentkit.tooling import Needs, tool


def add(a: int, b: int) -> int:
    return a + b


def echo(value: Any) -> Any:
    return value


def read_file(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def write_file(path: str, text: str) -> int:
    with open(path, "w") as fh:
        return fh.write(text)


def boom(message: str) -> None:
    raise ValueError(message)


def retry(message: str) -> None:
    raise RetryTool(message)


def spin() -> None:
    while True:
        pass


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


def die() -> None:
    os._exit(3)


def whoami() -> dict[str, Any]:
    return {"uid": os.getuid(), "pid": os.getpid(), "env": sorted(os.environ)}


def noisy() -> str:
    print("this goes to stderr, not into the reply channel")
    return "quiet"


async def async_add(a: int, b: int) -> int:
    return a + b


@tool(needs=Needs(isolated=True))
def isolated_read(path: str) -> str:
    """Read a file from inside the sandbox.

    Args:
        path: the file.
    """
    with open(path) as fh:
        return fh.read()


@tool
def inprocess_read(path: str) -> str:
    """Read a file in this process.

    Args:
        path: the file.
    """
    with open(path) as fh:
        return fh.read()


@tool(needs=Needs(isolated=True))
def isolated_fail(message: str) -> str:
    """Always fails.

    Args:
        message: the error message.
    """
    raise KeyError(message)


@tool(needs=Needs(code_execution=True))
def isolated_sum(values: list[int]) -> int:
    """Sum in the sandbox.

    Args:
        values: numbers.
    """
    return sum(values)


def connect_unix(path: str) -> str:
    import socket

    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(path)
    except OSError as exc:
        return f"refused {exc.errno}"
    return "connected"


def spawn_daemon(token: str) -> str:
    """Double-fork a setsid daemon that outlives this call, unless the sandbox kills it."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-S", "-c", "import time; time.sleep(1000)", token])
        os._exit(0)
    os.wait()
    return "spawned"


def own_cgroup() -> str:
    with open("/proc/self/cgroup") as fh:
        return fh.read()


def fork_many(count: int, hold: float) -> int:
    """Fork up to `count` children that sleep `hold` seconds; how many were made."""
    made = 0
    for _ in range(count):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(hold)
            os._exit(0)
        made += 1
    return made


def touch_shared(megabytes: int) -> str:
    """Map and touch shared anonymous memory (which RLIMIT_DATA does not count)."""
    import mmap

    size = megabytes << 20
    try:
        m = mmap.mmap(-1, size, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        for offset in range(0, size, 4096):
            m[offset] = 1
    except OSError as exc:
        return f"refused {exc.errno}"
    return f"touched {megabytes}"
