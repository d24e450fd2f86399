"""Where tool code runs: confined file access, policies, isolation backends and warm workers.

- `ConfinedRoot`: open files beneath a directory without trusting path strings (openat2).
- `Policy` + `Sandbox.run(argv)`: one command under bubblewrap + seccomp + rlimits (or Landlock, or
  rlimits alone with a loud warning), chosen by a cached probe (`probe()`, `agentkit sandbox doctor`).
- `WarmWorker`: a long-lived sandboxed interpreter that runs tool functions for about the cost of a pipe
  round trip; `SandboxExecutor` routes each tool by its `Needs`; `default_executor()` is the Agent's.
- `SandboxCgroup`: one cgroup (pids + memory) per sandboxed command or worker, where cgroups can be written.

Heavier modules load on first use, so `import agentkit.sandbox` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentkit.sandbox.confined import ConfinedEntry, ConfinedPathError, ConfinedRoot, openat2_available
from agentkit.sandbox.policy import Policy, RunResult, minimal_env

__all__ = [
    "Capabilities",
    "ConfinedEntry",
    "ConfinedPathError",
    "ConfinedRoot",
    "Policy",
    "RemoteToolError",
    "RunResult",
    "Sandbox",
    "SandboxCgroup",
    "SandboxExecutor",
    "WarmWorker",
    "choose_backend",
    "default_executor",
    "minimal_env",
    "openat2_available",
    "probe",
]

_LAZY = {
    "Capabilities": "agentkit.sandbox.detect",
    "RemoteToolError": "agentkit.sandbox.worker",
    "Sandbox": "agentkit.sandbox.runner",
    "SandboxCgroup": "agentkit.sandbox.cgroup",
    "SandboxExecutor": "agentkit.sandbox.executor",
    "WarmWorker": "agentkit.sandbox.worker",
    "choose_backend": "agentkit.sandbox.detect",
    "default_executor": "agentkit.sandbox.executor",
    "probe": "agentkit.sandbox.detect",
}

if TYPE_CHECKING:
    from agentkit.sandbox.cgroup import SandboxCgroup
    from agentkit.sandbox.detect import Capabilities, choose_backend, probe
    from agentkit.sandbox.executor import SandboxExecutor, default_executor
    from agentkit.sandbox.runner import Sandbox
    from agentkit.sandbox.worker import RemoteToolError, WarmWorker


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
