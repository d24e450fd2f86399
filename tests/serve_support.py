"""`agentkit serve` started by a test on 127.0.0.1, waited for until it answers /ping."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from mcp_support import free_port


def launch_serve(args: list[str], env: Mapping[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`agentkit serve ARGS --port P --log-level info` with `env`, its output in `log_path`; returns the process
    and its URL once /ping answers (RuntimeError with the log when it exits first or takes over 30 s)."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "serve", *args, "--port", str(port), "--log-level", "info"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("agentkit serve exited early:\n" + log_path.read_text())
        try:
            if httpx.get(url + "/ping", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("agentkit serve did not answer /ping within 30 s:\n" + log_path.read_text())
