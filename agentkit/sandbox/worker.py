"""A warm sandboxed worker: one long-lived isolated Python process that runs tool functions on request.

Starting an isolated process costs tens of milliseconds; a call to a warm worker costs a pipe round
trip. The worker is started through the same backend as `Sandbox.run` (bubblewrap + seccomp + rlimits
where available), imports each function by module and qualified name, and answers in JSON lines. If it
dies, or a call runs past its time limit (the worker is then killed), the next call starts a fresh one.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from agentkit.errors import RetryTool, SandboxError, ToolError
from agentkit.sandbox.launch import Launch, module_locations, python_import_path, python_paths
from agentkit.sandbox.policy import Policy
from agentkit.sandbox.runner import Sandbox

__all__ = ["RemoteToolError", "WarmWorker"]

_CHILD_SOURCE = (Path(__file__).with_name("_worker_child.py")).read_text(encoding="utf-8")
_START_TIMEOUT = 30.0
# a worker's total CPU may reach this many per-call budgets before it is recycled (per call, the worker
# sets its own soft limit to "used so far + cpu_seconds")
_CPU_BUDGETS_PER_WORKER = 100


class RemoteToolError(ToolError):
    """A tool raised inside the worker; `type_name` and `message` are the original exception's."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.message = message


class WarmWorker:
    """One sandboxed interpreter serving calls one at a time (thread-safe; calls are serialized)."""

    def __init__(self, policy: Policy | None = None, *, sandbox: Sandbox | None = None) -> None:
        self.policy = policy or Policy()
        self.sandbox = sandbox or Sandbox(self.policy)
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._launch: Launch | None = None  # its cgroup and private temp dir, released when the worker stops
        self._core: set[int] = set()  # the worker's own processes in its cgroup (launcher, init, interpreter)
        self._buffer = b""
        self._eof = False
        self._lock = threading.Lock()
        self._next_id = 0

    @property
    def backend(self) -> str:
        return self.sandbox.backend

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ---- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker now (otherwise the first call starts it)."""
        with self._lock:
            self._ensure_started()

    def _ensure_started(self) -> None:
        if self.alive():
            return
        self._stop()
        base, modules = python_paths(), module_locations()
        config = {
            "path": python_import_path(),
            "site_dirs": [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)],
            "modules": modules,  # imported by their exact location: the folders around them stay unreadable
            "cpu_seconds": self.policy.cpu_seconds,
        }
        paths = (*base, *modules.values())
        launch_policy = replace(self.policy, cpu_seconds=self.policy.cpu_seconds * _CPU_BUDGETS_PER_WORKER)
        python = os.path.realpath(sys.executable)
        argv = [python, "-S", "-I", "-c", _CHILD_SOURCE, json.dumps(config)]
        spec = self.sandbox.launch(argv, cwd=None, policy=launch_policy, extra_ro=paths, prejoined=True)
        self._launch = spec
        self._proc = spec.start(stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, what="the tool worker")
        self.starts += 1
        self._buffer = b""
        self._eof = False
        ready = self._read_message(time.monotonic() + _START_TIMEOUT)
        if ready is None or not ready.get("ready"):
            self._stop()
            raise SandboxError(f"the sandboxed worker ({spec.backend}) did not start; run 'agentkit sandbox doctor'")
        self._core = set(spec.cgroup.pids()) if spec.cgroup is not None else set()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        launch, self._launch = self._launch, None
        if proc is None:
            if launch is not None:
                launch.release(wait=True)
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if launch is not None:  # everything the worker started dies with it (cgroup), then its temp dir goes
            launch.release(wait=True)

    def __enter__(self) -> WarmWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- calls -----------------------------------------------------------------------------------

    def call(self, module: str, qualname: str, kwargs: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Run `module.qualname(**kwargs)` in the worker and return its (JSON) result.

        Raises RemoteToolError (or RetryTool) when the function raised, and SandboxError when the worker
        died or ran past `timeout` (default: the policy's wall_seconds); the worker is restarted next time.
        """
        limit = self.policy.wall_seconds if timeout is None else timeout
        with self._lock:
            self._ensure_started()
            assert self._proc is not None and self._proc.stdin is not None
            self._next_id += 1
            request = {"id": self._next_id, "module": module, "qualname": qualname, "kwargs": kwargs}
            request["reap"] = self._launch is not None and self._launch.cgroup is None and self._launch.private_pids
            try:
                line = json.dumps(request).encode() + b"\n"
            except (TypeError, ValueError) as exc:
                raise ToolError(f"arguments for {qualname} are not JSON-serializable: {exc}") from None
            try:
                self._proc.stdin.write(line)
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self._stop()
                message = f"the sandboxed worker died before running {qualname}; it restarts on the next call"
                raise SandboxError(message) from None
            reply = self._read_message(time.monotonic() + limit)
            self._kill_leftovers()
            if reply is None:
                died = self._eof or not self.alive()
                self._stop()
                if died:
                    raise SandboxError(f"the sandboxed worker died while running {qualname} (killed by a limit?)")
                raise SandboxError(f"{qualname} timed out after {limit:g}s in the sandbox; the worker was restarted")
        if reply.get("ok"):
            return reply.get("result")
        return _raise(reply.get("error") or {})

    def _kill_leftovers(self) -> None:
        """Kill what the call started and left running (a daemon too): everything in the worker's cgroup
        that was not there when the worker became ready. Without a cgroup, the worker does it itself in its PID
        namespace (see `_worker_child`); with neither they live until the worker stops."""
        group = self._launch.cgroup if self._launch is not None else None
        if group is None:
            return
        for pid in set(group.pids()) - self._core:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _read_message(self, deadline: float) -> dict[str, Any] | None:
        """One JSON line from the worker, or None on EOF, timeout or an oversized reply."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or len(self._buffer) > self.policy.max_output_bytes:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self._eof = True
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message


def _raise(error: dict[str, Any]) -> Any:
    type_name = str(error.get("type", "Exception"))
    message = str(error.get("message", ""))
    if type_name == "RetryTool" and error.get("module") == "agentkit.errors":
        raise RetryTool(message)
    raise RemoteToolError(type_name, message)
