"""Warm workers and the SandboxExecutor: results and errors come back intact; isolation holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentkit.errors import RetryTool, SandboxError
from agentkit.sandbox import Policy, RemoteToolError, SandboxExecutor, WarmWorker, default_executor
from agentkit.sandbox.detect import probe

from . import toolmods

MOD = toolmods.__name__
BACKEND = next(b for b in probe().available() if b != "rlimits") if len(probe().available()) > 1 else "rlimits"


@pytest.fixture(scope="module")
def worker() -> WarmWorker:
    w = WarmWorker(Policy(cpu_seconds=2, wall_seconds=5))
    yield w
    w.close()


def test_results_come_back_intact(worker: WarmWorker) -> None:
    assert worker.call(MOD, "add", {"a": 2, "b": 3}) == 5
    value = {"s": "é\n", "n": [1, 2.5, None, True], "d": {"k": []}}
    assert worker.call(MOD, "echo", {"value": value}) == value
    assert worker.call(MOD, "async_add", {"a": 1, "b": 1}) == 2
    assert worker.call(MOD, "noisy", {}) == "quiet"  # a print cannot corrupt the channel


def test_worker_is_sandboxed(worker: WarmWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    info = worker.call(MOD, "whoami", {})
    assert "OPENAI_API_KEY" not in info["env"] and "AWS_SECRET_ACCESS_KEY" not in info["env"]
    if worker.backend == "bwrap":
        assert info["pid"] < 10  # a fresh PID namespace
        if __import__("os").geteuid() == 0:
            assert info["uid"] == 65534


def test_errors_come_back_with_type_and_message(worker: WarmWorker) -> None:
    with pytest.raises(RemoteToolError) as info:
        worker.call(MOD, "boom", {"message": "bad input"})
    assert info.value.type_name == "ValueError" and info.value.message == "bad input"
    with pytest.raises(RetryTool, match="try again"):
        worker.call(MOD, "retry", {"message": "try again"})
    with pytest.raises(RemoteToolError, match="AttributeError"):
        worker.call(MOD, "missing", {})


def test_timeout_and_death_restart_the_worker(worker: WarmWorker) -> None:
    starts = worker.starts
    with pytest.raises(SandboxError, match="timed out"):
        worker.call(MOD, "sleep", {"seconds": 30}, timeout=0.3)
    assert worker.call(MOD, "add", {"a": 1, "b": 1}) == 2
    with pytest.raises(SandboxError, match="died"):
        worker.call(MOD, "die", {})
    assert worker.call(MOD, "add", {"a": 1, "b": 2}) == 3
    assert worker.starts == starts + 2


def test_isolated_tool_cannot_read_a_planted_secret(tmp_path: Path) -> None:
    if BACKEND == "rlimits":
        pytest.skip("no isolating backend here: rlimits cannot hide files")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    secret.chmod(0o644)

    async def scenario() -> None:
        executor = SandboxExecutor(Policy(cpu_seconds=2, wall_seconds=10), backend=BACKEND)
        try:
            assert await executor.execute(toolmods.inprocess_read, {"path": str(secret)}) == "TOP-SECRET"
            with pytest.raises(RemoteToolError) as info:
                await executor.execute(toolmods.isolated_read, {"path": str(secret)})
            assert info.value.type_name in ("FileNotFoundError", "PermissionError")
            assert await executor.execute(toolmods.isolated_sum, {"values": [1, 2, 3]}) == 6
            with pytest.raises(RemoteToolError, match="KeyError"):
                await executor.execute(toolmods.isolated_fail, {"message": "nope"})
            assert executor.worker_count() == 1  # one policy, one pooled worker
        finally:
            await executor.aclose()
        assert executor.worker_count() == 0

    asyncio.run(scenario())


def test_read_paths_grant_exactly_that(tmp_path: Path) -> None:
    if BACKEND == "rlimits":
        pytest.skip("no isolating backend here")
    from agentkit.tooling import Needs, Tool

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data.txt").write_text("granted")
    shared.chmod(0o755)
    (shared / "data.txt").chmod(0o644)
    granted = Tool.from_function(toolmods.read_file, needs=Needs(isolated=True, read_paths=(str(shared),)))

    async def scenario() -> str:
        async with SandboxExecutor(backend=BACKEND) as executor:
            assert executor.policy_for(granted.needs).read_paths == (str(shared),)
            result: str = await executor.execute(granted, {"path": str(shared / "data.txt")})
            return result

    assert asyncio.run(scenario()) == "granted"


def test_default_executor_is_shared() -> None:
    assert default_executor() is default_executor()
    assert isinstance(default_executor(), SandboxExecutor)
