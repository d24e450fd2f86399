from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).parent
MAX_PAYLOAD = 4096


@dataclass
class Server:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    max_payload: int = MAX_PAYLOAD

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(args: list[str], home: Path, log_path: Path) -> Server:
    port = free_port()
    env = dict(os.environ, AGENTKIT_HOME=str(home), PYTHONUNBUFFERED="1")
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "serve", *args, "--port", str(port), "--log-level", "info"],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("agentkit serve exited early:\n" + log_path.read_text())
        try:
            if httpx.get(url + "/ping", timeout=1).status_code == 200:
                return Server(url, home, process, log_path)
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("agentkit serve did not answer /ping within 30 s:\n" + log_path.read_text())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("serve")
    srv = start_server(
        [str(HERE / "agent_fixture.py"), "--max-payload-bytes", str(MAX_PAYLOAD)], root / "home", root / "server.log"
    )
    yield srv
    srv.process.terminate()
    try:
        srv.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        srv.process.kill()
