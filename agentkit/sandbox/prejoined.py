"""Launchers that wait inside a call's cgroup, so a sandboxed command starts without moving into one.

Moving a process into a cgroup takes the kernel's global cgroup-threadgroup lock for writing, which waits
for an RCU grace period whenever no move happened in the last one: about 10 ms on the 2-core VM we measure
on, a third of a bubblewrap cold start. A command started from a process already inside the group is born
there and moves nothing. (cgroup v2's `clone3(CLONE_INTO_CGROUP)` would do the same in the kernel, but
Python's subprocess cannot pass it, and cgroup v1 has no equivalent.)

So, where per-call cgroups are made (as root), bubblewrap calls start from a launcher: a small isolated Python
process (`python -S -I`) started in a fresh group by one background thread, holding its own stdin, stdout and
stderr pipes and one end of a SOCK_SEQPACKET socket pair. It says "ready" and waits. A call takes it and
sends, by SCM_RIGHTS, the descriptors to place and a memfd holding the command (argv, environment, working
directory, rlimits); the launcher sets the rlimits and execs the command in its own place: same pid, same
`Popen`, same pipes. The next launcher starts while the call runs. The first call of a kind, and a call that
finds none ready, start the ordinary way (fork, join, exec). A launcher is never reused: once it has exec'd,
it is the command. The price is one waiting process per kind of call (at most `_Launchers.KEEP`) and, per
call, one launcher start in the background (about a plain interpreter start of CPU).

Landlock and rlimits launches still move their child (their setup between fork and exec is agentkit's own
code, which an isolated launcher would have to import: several times its start-up cost).

The launcher runs exactly `_LAUNCHER` below, reads only its socket, whose other end only this process
holds, and gives up when that end closes. A ready launcher left at exit is killed with its group.
"""

from __future__ import annotations

import array
import atexit
import functools
import marshal
import os
import queue
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass

from agentkit.sandbox.cgroup import SandboxCgroup, cgroup_support, join

__all__ = ["ReadyLauncher", "launchers", "start_launcher"]

# Only builtin and C modules: `socket` and `json` would each double the launcher's start-up time. The
# request is marshalled (the parent is its only writer) into a memfd, the last descriptor sent: a socket
# message is capped far below what an exec may carry (a 300 KB command line would not fit in one).
_LAUNCHER = r"""
import _socket, fcntl, marshal, os, resource, sys
sock = _socket.socket(fileno=int(sys.argv[1]))
try:
    sock.send(b"ready")
    data, ancillary, _, _ = sock.recvmsg(16, _socket.CMSG_SPACE(16 * 4))
except OSError:
    os._exit(125)
fds = []
for level, kind, payload in ancillary:
    if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
        fds += memoryview(payload).cast("i").tolist()
if data != b"request" or not fds:
    os._exit(125)
sock.close()
with os.fdopen(fds.pop(), "rb") as body:
    argv, env, cwd, targets, rlimits = marshal.loads(body.read())
try:
    held = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in fds]
    for fd in fds:
        os.close(fd)
    for fd, target in zip(held, targets):
        os.dup2(fd, target)
    for which, soft, hard in rlimits:
        resource.setrlimit(which, (soft, hard))
    if cwd:
        os.chdir(cwd)
    os.execve(argv[0], argv, env)
except OSError as exc:
    os.write(2, f"agentkit launcher: could not start {argv[0]!r}: {exc}\n".encode())
os._exit(127)
"""


_START_TIMEOUT = 10.0  # seconds for a launcher to say it is ready; a slower one is dropped


@dataclass
class ReadyLauncher:
    """A launcher waiting in `group` (its own, fresh): `exec` makes it the command."""

    group: SandboxCgroup
    proc: subprocess.Popen[bytes]
    sock: socket.socket

    def exec(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: str | None,
        pass_fds: tuple[int, ...],
        rlimits: dict[int, tuple[int, int]],
        stdin_devnull: bool,
        stderr_devnull: bool,
    ) -> subprocess.Popen[bytes]:
        """Hand the command over; the launcher's pipes are the command's (stdin and stderr may be /dev/null
        instead, as with `subprocess.DEVNULL`). Raises OSError when the launcher is gone."""
        send = list(pass_fds)
        targets = list(pass_fds)
        null = os.open(os.devnull, os.O_RDWR) if stdin_devnull or stderr_devnull else -1
        for wanted, target in ((stdin_devnull, 0), (stderr_devnull, 2)):
            if wanted:
                send.append(null)
                targets.append(target)
        limits = [(which, soft, hard) for which, (soft, hard) in rlimits.items()]
        body = _memfd(marshal.dumps((list(argv), dict(env), cwd, targets, limits)))
        try:
            self.sock.sendmsg([b"request"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [*send, body]))])
        finally:
            self.sock.close()
            os.close(body)
            if null >= 0:
                os.close(null)
        for wanted, stream in ((stdin_devnull, "stdin"), (stderr_devnull, "stderr")):
            pipe = getattr(self.proc, stream)
            if wanted and pipe is not None:
                pipe.close()
                setattr(self.proc, stream, None)
        return self.proc

    def discard(self, *, wait: bool = False) -> None:
        """Kill the launcher and hand its group back (a launcher nobody took); `wait`: remove the group now."""
        self.sock.close()
        if wait:
            self.group.remove()
        else:
            self.group.recycle()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        self.proc.wait()


def _memfd(data: bytes) -> int:
    """A descriptor of an anonymous file holding `data`, read from its start."""
    fd = os.memfd_create("agentkit-launch", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class _Launchers:
    """At most one ready launcher per (pids_max, memory_bytes), and at most `KEEP` in all (the least recently
    wanted goes first). One daemon thread starts them all and lives
    as long as the process: bubblewrap's `--die-with-parent` follows the thread that started a process, so
    a launcher started from a short-lived thread would outlive its guard."""

    KEEP = 4

    def __init__(self) -> None:
        self._ready: dict[tuple[int, int], ReadyLauncher] = {}  # oldest first
        self._wanted: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
        self._starting: set[tuple[int, int]] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._start_wanted, name="agentkit-sandbox-launchers", daemon=True).start()

    def take(self, *, pids_max: int, memory_bytes: int) -> ReadyLauncher | None:
        """The ready launcher for these limits, if one waits; either way the next one is on its way."""
        key = (pids_max, memory_bytes)
        with self._lock:
            ready = self._ready.pop(key, None)
            if not self._closed and key not in self._starting:
                self._starting.add(key)
                self._wanted.put(key)
        if ready is not None and ready.proc.poll() is not None:
            ready.discard()
            return None
        return ready

    def _start_wanted(self) -> None:
        while True:
            key = self._wanted.get()
            ready = start_launcher(*key)
            evicted = []
            with self._lock:
                self._starting.discard(key)
                if ready is not None and not self._closed and key not in self._ready:
                    self._ready[key], ready = ready, None
                while len(self._ready) > self.KEEP:
                    evicted.append(self._ready.pop(next(iter(self._ready))))
            for launcher in [*evicted, *([ready] if ready is not None else [])]:
                launcher.discard()

    def starting(self) -> bool:
        """Whether a launcher is being started now (in the background)."""
        with self._lock:
            return bool(self._starting)

    def waiting(self) -> dict[tuple[int, int], int]:
        """The launchers waiting now (each alone in a cgroup of its own): (pids_max, memory_bytes) -> pid."""
        with self._lock:
            return {key: launcher.proc.pid for key, launcher in self._ready.items()}

    def close(self) -> None:
        with self._lock:
            ready, self._ready, self._closed = list(self._ready.values()), {}, True
        for launcher in ready:
            launcher.discard(wait=True)


def start_launcher(pids_max: int, memory_bytes: int) -> ReadyLauncher | None:
    group = SandboxCgroup.create(pids_max=pids_max, memory_bytes=memory_bytes)
    if group is None:
        return None
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    procs = group.procs_files
    try:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-I", "-c", _LAUNCHER, str(theirs.fileno())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": os.defpath},
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
            preexec_fn=lambda: join(procs),
        )
    except (OSError, subprocess.SubprocessError):
        ours.close()
        group.recycle()
        return None
    finally:
        theirs.close()
    ready = ReadyLauncher(group, proc, ours)
    try:
        ours.settimeout(_START_TIMEOUT)
        if ours.recv(16) != b"ready":
            raise OSError("the launcher ended before it was ready")
        ours.settimeout(None)
    except OSError:
        ready.discard()
        return None
    return ready


@functools.cache
def launchers() -> _Launchers | None:
    """The process-wide launchers, where per-call cgroups are made (else None: nothing to move into)."""
    if not cgroup_support()[0]:
        return None
    pool = _Launchers()
    atexit.register(pool.close)
    return pool
