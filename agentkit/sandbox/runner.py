"""`Sandbox.run`: one command, isolated, with capped output and a wall clock that kills everything.

The command starts in a new session (its own process group) and, where cgroups can be written, in a
cgroup of its own. The call ends when the command exits (or at the wall limit): then everything it left
behind is killed (the cgroup; under bubblewrap also the PID namespace, whose init dies with the
launcher), so a daemon that escaped the process group with setsid dies too, and the command's own exit
status is reported, not a timeout. Without a cgroup or a PID namespace such a daemon can survive; its
output is then no longer read.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import anyio.to_thread

from agentkit.errors import SandboxError
from agentkit.sandbox.detect import choose_backend, probe
from agentkit.sandbox.identity import grant_owner, hand_over
from agentkit.sandbox.launch import Launch, build_launch, python_paths
from agentkit.sandbox.policy import Mode, Policy, RunResult

__all__ = ["TIMEOUT_RETURNCODE", "Sandbox"]

TIMEOUT_RETURNCODE = 124


class Sandbox:
    """Runs commands under a Policy with the strongest backend this machine offers.

    `mode="required"` (the default) raises SandboxError when nothing isolates; `"best_effort"` warns and
    falls back to rlimits. `backend=` forces one ("bwrap", "landlock", "rlimits"). On Windows nothing
    isolates, so code runs only with `allow_unsandboxed=True`.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        mode: Mode = "required",
        backend: str | None = None,
        allow_unsandboxed: bool = False,
    ) -> None:
        self.policy = policy or Policy()
        self.mode = mode
        self.unsandboxed = False
        try:
            self.backend = choose_backend(mode, backend)
        except SandboxError:
            if not (allow_unsandboxed and sys.platform == "win32"):
                raise
            self.backend, self.unsandboxed = "none", True

    def __repr__(self) -> str:
        return f"Sandbox(backend={self.backend!r}, mode={self.mode!r})"

    def hand_over(self, path: str) -> None:
        """Let the sandboxed user write a folder that agentkit itself created for it (a scratch copy): as root,
        the owner of the policy's other writable folders when they are another user's (see
        `identity.grant_owner`), else under bwrap `Policy.sandbox_uid`, gets the folder; elsewhere it needs
        nothing. Never call this on a user's folder: host paths are never chowned."""
        if os.geteuid() != 0 or self.backend not in ("bwrap", "landlock", "rlimits"):
            return
        others = replace(self.policy, write_paths=tuple(p for p in self.policy.write_paths if p != path))
        owner = grant_owner(others)
        if owner is not None:
            hand_over(path, *owner)
        elif _runs_as_sandbox_uid(self.backend):
            hand_over(path, self.policy.sandbox_uid)

    def launch(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None,
        policy: Policy,
        extra_ro: Sequence[str] = (),
        prejoined: bool = False,
    ) -> Launch:
        """The launch of one command (see `build_launch`; `prejoined` only where `Launch.start` starts it)."""
        if not argv:
            raise ValueError("sandbox command is empty: give the program and its arguments")
        if self.unsandboxed:
            return Launch("none", list(argv), policy.environment(), None, cwd=cwd)
        if cwd is not None and not os.path.isdir(cwd):
            raise ValueError(f"sandbox cwd {cwd!r} is not a directory")
        # the running interpreter and its packages are always visible (read-only), so `python ...` works in
        # every backend; the script's folder and the caller's cwd are not
        paths = (*python_paths(), *extra_ro)
        return build_launch(self.backend, policy, argv, cwd=cwd, extra_ro=paths, prejoined=prejoined)

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        stdin: bytes | None = None,
        policy: Policy | None = None,
    ) -> RunResult:
        """Run `argv` to completion (or to the wall limit) and return its capped output."""
        pol = policy or self.policy
        spec = self.launch(argv, cwd=cwd, policy=pol, prejoined=True)
        started = time.monotonic()
        proc = spec.start(
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            what=repr(argv[0]),
        )

        def leftovers() -> None:
            _kill_group(proc)
            spec.release()

        try:
            deadline = started + pol.wall_seconds
            out, err, truncated, timed_out = _communicate(proc, stdin, pol.max_output_bytes, deadline, leftovers)
        finally:
            leftovers()
        code = TIMEOUT_RETURNCODE if timed_out else proc.returncode
        if spec.backend == "bwrap" and 128 < code < 128 + 65:
            code = -(code - 128)  # bubblewrap reports a child killed by signal N as exit 128+N
        return RunResult(code, out, err, timed_out, truncated, time.monotonic() - started, spec.backend)

    async def run_async(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        stdin: bytes | None = None,
        policy: Policy | None = None,
    ) -> RunResult:
        """`run` in a worker thread, so the event loop keeps going."""
        return await anyio.to_thread.run_sync(lambda: self.run(argv, cwd=cwd, stdin=stdin, policy=policy))


# after the command exits, how long its pipes may stay open (held by a process nothing could kill)
_DRAIN_AFTER_EXIT = 0.5


def _runs_as_sandbox_uid(backend: str) -> bool:
    """Whether, as root, `backend` runs commands as the sandbox uid itself (which needs a scratch folder
    handed over) rather than as root mapped to that uid in a user namespace (which writes root's folders)."""
    caps = probe()
    if backend == "bwrap":
        return caps.setpriv is not None
    return backend in ("landlock", "rlimits") and not caps.root_userns


def _communicate(
    proc: subprocess.Popen[bytes], stdin: bytes | None, cap: int, deadline: float, leftovers: Callable[[], None]
) -> tuple[bytes, bytes, bool, bool]:
    """Feed stdin, read both pipes up to `cap` bytes each (draining the rest), until exit or deadline.

    When the command itself exits, `leftovers()` kills what it left running, and reading stops at the
    pipes' end or shortly after."""
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    bufs = {out_fd: bytearray(), err_fd: bytearray()}
    truncated = False
    sel = selectors.DefaultSelector()
    for fd in bufs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    exit_fd = _pidfd(proc.pid)
    if exit_fd is not None:
        sel.register(exit_fd, selectors.EVENT_READ)
    pending = memoryview(stdin or b"")
    in_fd = -1
    if proc.stdin is not None:
        in_fd = proc.stdin.fileno()
        os.set_blocking(in_fd, False)
        sel.register(in_fd, selectors.EVENT_WRITE)
    exited = False
    try:
        while set(sel.get_map()) & set(bufs):
            left = deadline - time.monotonic()
            if left <= 0 and not exited:
                return bytes(bufs[out_fd]), bytes(bufs[err_fd]), truncated, True
            if left <= 0:
                break
            events = sel.select(timeout=min(left, 0.05 if exit_fd is None else 0.5))
            if not exited and (proc.poll() is not None):
                exited = True
                proc.wait()
                leftovers()
                deadline = min(deadline, time.monotonic() + _DRAIN_AFTER_EXIT)
            for key, _ in events:
                fd = int(key.fd)
                if fd == exit_fd:
                    sel.unregister(fd)
                    continue
                if fd == in_fd:
                    pending = _feed(sel, proc, pending)
                    continue
                chunk = _read(fd)
                if chunk is None:
                    continue
                if not chunk:
                    sel.unregister(fd)
                    continue
                buf = bufs[fd]
                room = cap - len(buf)
                if len(chunk) > room:
                    truncated = True
                buf += chunk[: max(room, 0)]
    finally:
        sel.close()
        if exit_fd is not None:
            os.close(exit_fd)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
    try:
        proc.wait(timeout=max(deadline - time.monotonic(), 0.001))
    except subprocess.TimeoutExpired:
        return bytes(bufs[out_fd]), bytes(bufs[err_fd]), truncated, True
    return bytes(bufs[out_fd]), bytes(bufs[err_fd]), truncated, False


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when `pid` exits (Linux 5.3+), else None (then we poll)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _feed(sel: selectors.BaseSelector, proc: subprocess.Popen[bytes], pending: memoryview) -> memoryview:
    assert proc.stdin is not None
    try:
        pending = pending[os.write(proc.stdin.fileno(), pending[:65536]) :]
    except BlockingIOError:
        return pending
    except BrokenPipeError:
        pending = pending[:0]  # the command stopped reading
    if not pending:
        sel.unregister(proc.stdin.fileno())
        proc.stdin.close()
    return pending


def _read(fd: int) -> bytes | None:
    """A chunk, b"" at end of file, or None when nothing is ready yet."""
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole process group (harmless when it already exited), then reap the launcher."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
