"""`agentkit sandbox run` as a user types it, in a folder of the test's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def sandbox_run_rw_dot(folder: Path, script: str) -> subprocess.CompletedProcess[str]:
    """`agentkit sandbox run --rw . -- sh -c SCRIPT` in `folder`."""
    return subprocess.run(
        [sys.executable, "-m", "agentkit", "sandbox", "run", "--rw", ".", "--", "sh", "-c", script],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
