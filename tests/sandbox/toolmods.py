"""Module-level functions that the sandbox tests run inside warm workers."""

from __future__ import annotations

import os
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
