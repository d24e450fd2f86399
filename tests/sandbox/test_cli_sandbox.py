"""`agentkit sandbox doctor` and `agentkit sandbox run`, through the real command entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agentkit.sandbox import Policy, minimal_env
from agentkit.sandbox.detect import BACKEND_ENV, probe

AGENTKIT = [sys.executable, "-m", "agentkit"]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AGENTKIT, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False)


def test_doctor_reports_every_layer_and_the_backend() -> None:
    done = cli("sandbox", "doctor")
    for name in ("bwrap", "landlock", "seccomp", "cgroup", "openat2"):
        assert name in done.stdout
    chosen = os.environ.get(BACKEND_ENV) or probe().available()[0]
    assert f"backend: {chosen}" in done.stdout or "backend: none" in done.stdout


def test_run_prints_output_and_exits_with_the_code(tmp_path: Path) -> None:
    done = cli("sandbox", "run", "--", "sh", "-c", "echo hello; echo oops >&2; exit 7", cwd=tmp_path)
    assert done.returncode == 7
    assert done.stdout == "hello\n" and "oops" in done.stderr


def test_run_timeout_exits_124() -> None:
    done = cli("sandbox", "run", "--timeout", "0.5", "--", "sleep", "30")
    assert done.returncode == 124 and "timed out" in done.stderr


def test_run_rw_dir_is_writable(tmp_path: Path) -> None:
    rw = tmp_path / "rw"
    rw.mkdir()
    rw.chmod(0o777)
    done = cli("sandbox", "run", "--rw", str(rw), "--", "sh", "-c", f"echo data > {rw}/out")
    assert done.returncode == 0, done.stderr
    assert (rw / "out").read_text() == "data\n"


def test_bad_options_one_line_nonzero() -> None:
    done = cli("sandbox", "run", "--memory", "lots", "--", "true")
    assert done.returncode != 0 and "not a size" in done.stderr
    done = cli("sandbox", "run", "--timeout", "-1", "--", "true")
    assert done.returncode != 0 and "timeout" in done.stderr.lower()


def test_non_finite_negative_and_huge_memory_sizes_are_one_line_each() -> None:
    for size in ("inf", "nan", "-inf", "-5M", "1e30G", "99999999999999999999999"):
        done = cli("sandbox", "run", "--memory", size, "--", "true")
        assert done.returncode == 2, (size, done.stderr)
        assert "Traceback" not in done.stderr, (size, done.stderr)
        assert done.stderr.strip().splitlines()[-1].startswith("error: Invalid value"), (size, done.stderr)


def test_policy_validation_and_clean_env() -> None:
    import pytest

    with pytest.raises(ValueError, match="cpu_seconds must be positive"):
        Policy(cpu_seconds=0)
    with pytest.raises(ValueError, match="must be absolute"):
        Policy(read_paths=("relative/dir",))
    env = Policy().environment()
    assert env == minimal_env() and set(env) == {"PATH", "LANG", "LC_ALL", "HOME", "PYTHONDONTWRITEBYTECODE"}
