from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from serve_support import launch_serve

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


def start_server(args: list[str], home: Path, log_path: Path) -> Server:
    process, url = launch_serve(args, dict(os.environ, AGENTKIT_HOME=str(home), PYTHONUNBUFFERED="1"), log_path)
    return Server(url, home, process, log_path)


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
