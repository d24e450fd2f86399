"""`agentkit tools list|call`, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _agentkit(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "agentkit", "tools", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def test_list_prints_every_builtin_with_a_one_line_description() -> None:
    proc = _agentkit("list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    names = [line.split()[0] for line in lines]
    for name in ("calculator", "weather", "list_files", "read_file", "search", "file_info"):
        assert name in names
    calc = next(line for line in lines if line.startswith("calculator"))
    assert "Evaluate one arithmetic expression" in calc


def test_call_runs_a_tool_and_prints_json() -> None:
    proc = _agentkit("call", "calculator", "--args", '{"expression": "sqrt(42 ^ 9)"}')
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["exact"] == "3111696*sqrt(42)"
    assert result["approx"].startswith("20166094.908272945")


def test_call_reads_files_under_the_repo_root(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi there\n")
    proc = _agentkit("call", "read_file", "--args", '{"path": "hello.txt"}', env={"AGENTKIT_REPO_ROOT": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["content"] == "     1\thi there\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["call", "nope"], "error: unknown tool 'nope'; registered tools: calculator"),
        (["call", "calculator", "--args", "{bad"], "error: --args is not valid JSON"),
        (["call", "calculator", "--args", '{"expr": 1}'], "error: invalid arguments for calculator: $:"),
        (["call", "calculator", "--args", '{"expression": "9**9**9**9"}'], "error: calculator failed: the result"),
        (["call", "read_file", "--args", '{"path": "../../etc/passwd"}'], "error: read_file failed: refused path"),
    ],
)
def test_errors_are_one_readable_line_and_a_nonzero_exit(args: list[str], message: str) -> None:
    proc = _agentkit(*args)
    assert proc.returncode == 1
    assert proc.stderr.startswith(message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_invalid_arguments_list_each_violation() -> None:
    proc = _agentkit("call", "weather", "--args", '{"days": 40, "units": "kelvin"}')
    assert proc.returncode == 1
    assert "$.days: 40 is greater than the maximum of 16" in proc.stderr
    assert "$.units: expected one of" in proc.stderr
