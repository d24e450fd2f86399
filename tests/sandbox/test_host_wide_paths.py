"""A working directory or grant of `/` (or /proc, /dev, /tmp) never shows the host's own through the sandbox."""

from __future__ import annotations

import os

import pytest

from agentkit.errors import SandboxError
from agentkit.sandbox import Policy, Sandbox
from agentkit.sandbox.detect import probe

ISOLATING = [b for b in probe().available() if b in ("bwrap", "landlock")]
COUNT_PIDS = "import os; print(sum(name.isdigit() for name in os.listdir('/proc')))"


@pytest.mark.parametrize("backend", ["bwrap"] if "bwrap" in ISOLATING else [])
def test_cwd_root_keeps_the_private_proc_and_tmp(backend: str, tmp_path: object) -> None:
    marker = f"/tmp/agentkit-host-marker-{os.getpid()}"
    open(marker, "w").close()
    try:
        sandbox = Sandbox(Policy(), backend=backend)
        pids = sandbox.run(["python3", "-S", "-I", "-c", COUNT_PIDS], cwd="/")
        tmp = sandbox.run(["ls", "/tmp"], cwd="/")
    finally:
        os.unlink(marker)
    assert pids.returncode == 0, pids.stderr
    assert int(pids.stdout) < 10  # a fresh PID namespace, not the host's process list
    assert os.path.basename(marker) not in tmp.stdout.decode()


@pytest.mark.parametrize("backend", ISOLATING)
@pytest.mark.parametrize("grant", ["/", "/proc", "/dev", "/tmp"])
def test_granting_a_host_wide_path_is_refused(backend: str, grant: str) -> None:
    sandbox = Sandbox(Policy(write_paths=(grant,)), backend=backend)
    with pytest.raises(SandboxError, match="cannot grant"):
        sandbox.run(["true"])
