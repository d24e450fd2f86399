"""SandboxExecutor: the ToolExecutor that honours `Tool.needs`.

Tools that need nothing run in this process. Tools with `isolated=True` or `code_execution=True` run in
a warm sandboxed worker whose policy grants exactly what `Needs` declares: read-only binds for
`read_paths`, writable binds for `write_paths`, and the network only when `network_hosts` is non-empty
(network on/off: host names are not filtered). Workers are pooled per distinct policy, one per
concurrent call, and closed by `aclose()`. The sandbox is probed on the first isolated call, so
building an executor is free and costs nothing where no tool asks for isolation.
"""

from __future__ import annotations

import atexit
import inspect
import os
import threading
from typing import Any

import anyio.to_thread

from agentkit.errors import ToolError
from agentkit.sandbox.policy import Mode, Policy
from agentkit.sandbox.runner import Sandbox
from agentkit.sandbox.worker import WarmWorker
from agentkit.tooling import Needs, Tool

__all__ = ["SandboxExecutor", "default_executor"]


class SandboxExecutor:
    """Run each tool where its `Needs` say: in-process, or in a pooled sandboxed worker.

    `policy` is the base for isolated tools (limits, environment). Each worker lives in a cgroup of its
    own where cgroups can be written (see `cgroup.py`); this process never joins one.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        mode: Mode = "required",
        backend: str | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.mode = mode
        self.backend_name = backend
        self._sandbox: Sandbox | None = None
        self._idle: dict[tuple[object, ...], list[WarmWorker]] = {}
        self._busy: set[WarmWorker] = set()
        self._lock = threading.Lock()

    @staticmethod
    def needs_isolation(needs: Needs) -> bool:
        return needs.isolated or needs.code_execution

    def policy_for(self, needs: Needs) -> Policy:
        """The base policy plus exactly the grants in `needs`."""
        return self.policy.with_grants(
            read_paths=tuple(os.path.abspath(p) for p in needs.read_paths),
            write_paths=tuple(os.path.abspath(p) for p in needs.write_paths),
            network=bool(needs.network_hosts),
        )

    async def execute(self, tool: Tool, arguments: dict[str, Any]) -> Any:
        if not self.needs_isolation(tool.needs):
            return await tool.invoke(arguments)
        policy = self.policy_for(tool.needs)
        module, qualname = tool.fn.__module__, tool.fn.__qualname__
        if "<" in qualname or inspect.ismethod(tool.fn):
            raise ToolError(
                f"tool {tool.name!r} asks for isolation but its function ({qualname}) cannot be imported by a "
                "worker: define it as a module-level function, or drop isolated/code_execution from its Needs"
            )
        timeout = tool.timeout or policy.wall_seconds

        def call() -> Any:
            worker = self._checkout(policy)
            try:
                return worker.call(module, qualname, arguments, timeout=timeout)
            finally:
                self._checkin(policy, worker)

        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)

    def _checkout(self, policy: Policy) -> WarmWorker:
        with self._lock:
            if self._sandbox is None:
                self._sandbox = Sandbox(self.policy, mode=self.mode, backend=self.backend_name)
            idle = self._idle.setdefault(policy.key(), [])
            worker = idle.pop() if idle else WarmWorker(policy, sandbox=self._sandbox)
            self._busy.add(worker)
            return worker

    def _checkin(self, policy: Policy, worker: WarmWorker) -> None:
        with self._lock:
            self._busy.discard(worker)
            self._idle.setdefault(policy.key(), []).append(worker)

    def worker_count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._idle.values()) + len(self._busy)

    def close(self) -> None:
        with self._lock:
            workers = [w for ws in self._idle.values() for w in ws] + list(self._busy)
            self._idle.clear()
            self._busy.clear()
        for worker in workers:
            worker.close()

    async def aclose(self) -> None:
        """Stop every pooled worker (and remove their cgroups)."""
        await anyio.to_thread.run_sync(self.close)

    async def __aenter__(self) -> SandboxExecutor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


_default: SandboxExecutor | None = None
_default_lock = threading.Lock()


def default_executor() -> SandboxExecutor:
    """The process-wide executor the Agent uses when none is given (workers are stopped at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SandboxExecutor()
            atexit.register(_default.close)
        return _default
