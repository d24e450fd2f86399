"""What a sandboxed process may do: limits, filesystem view, network and environment.

A `Policy` is plain data; the backends (see `launch.py`) turn it into bubblewrap flags, Landlock rules,
a seccomp filter and rlimits. Defaults are tight: no network, a private scratch folder as the only
writable place, and a minimal environment that never carries the parent's API keys or cloud credentials.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = ["MINIMAL_PATH", "Mode", "Policy", "RunResult", "minimal_env"]

Mode = Literal["required", "best_effort"]

MINIMAL_PATH = "/usr/local/bin:/usr/bin:/bin"
_MIB = 1024 * 1024


def minimal_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: PATH, a C.UTF-8 locale, HOME=/tmp, plus exactly what `extra` adds."""
    env = {"PATH": MINIMAL_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}
    env.update(extra or {})
    return env


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Limits and grants for one sandboxed process (or one warm worker).

    - `cpu_seconds`: RLIMIT_CPU (SIGXCPU when spent); `wall_seconds`: the parent kills the whole process
      tree after this long (a sleeping process uses no CPU, so both are needed).
    - `memory_bytes`: the memory limit of the sandbox's own cgroup where one can be made (it counts shared
      memory and tmpfs; see `cgroup.py`), plus RLIMIT_DATA per process; without a cgroup, RLIMIT_AS at 4x
      this (RLIMIT_AS at 1x would break programs that start many threads). bubblewrap's private /tmp
      holds at most this much.
    - `max_processes`: tasks (processes and threads) at once: pids.max of the sandbox's own cgroup; without
      one, as root, the pid_max of its own PID namespace (Linux 6.14+; at least 2); as an ordinary user,
      RLIMIT_NPROC in a user namespace of its own. Where none of these can be made, RLIMIT_NPROC of the
      uid (shared by every sandbox of that uid, and ignored by the kernel for root). `sandbox doctor` says
      which holds here. Under bwrap, its own two processes count too.
    - `max_output_bytes`: stdout and stderr are each cut at this many bytes (the rest is drained and dropped).
    - `max_file_bytes`: RLIMIT_FSIZE (writes past it fail with EFBIG); `max_open_files`: RLIMIT_NOFILE.
    - `network`: off by default (a private network namespace, plus seccomp refusing internet sockets).
    - `read_paths` / `write_paths`: host paths made visible read-only / writable at the same place.
    - `env`: the whole environment of the process; None means `minimal_env()`. The parent's
      environment is never inherited.
    """

    cpu_seconds: int = 30
    wall_seconds: float = 60.0
    memory_bytes: int = 1024 * _MIB
    max_processes: int = 64
    max_output_bytes: int = 1 * _MIB
    max_file_bytes: int = 64 * _MIB
    max_open_files: int = 256
    network: bool = False
    read_paths: tuple[str, ...] = ()
    write_paths: tuple[str, ...] = ()
    env: dict[str, str] | None = field(default=None, hash=False, compare=False)
    sandbox_uid: int = 65534  # the unprivileged uid/gid root drops to (nobody)

    def __post_init__(self) -> None:
        problems = []
        for name in ("cpu_seconds", "memory_bytes", "max_processes", "max_output_bytes", "max_file_bytes"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.wall_seconds <= 0:
            problems.append(f"wall_seconds must be positive, got {self.wall_seconds!r}")
        if self.max_open_files < 16:
            problems.append(f"max_open_files must be at least 16, got {self.max_open_files}")
        for path in (*self.read_paths, *self.write_paths):
            if not os.path.isabs(path):
                problems.append(f"sandbox paths must be absolute, got {path!r}")
        if problems:
            raise ValueError("invalid sandbox policy: " + "; ".join(problems))

    def environment(self) -> dict[str, str]:
        return dict(self.env) if self.env is not None else minimal_env()

    def key(self) -> tuple[object, ...]:
        """A hashable identity (workers are pooled per distinct policy)."""
        env = tuple(sorted(self.environment().items()))
        return (
            self.cpu_seconds,
            self.wall_seconds,
            self.memory_bytes,
            self.max_processes,
            self.max_output_bytes,
            self.max_file_bytes,
            self.max_open_files,
            self.network,
            tuple(sorted(self.read_paths)),
            tuple(sorted(self.write_paths)),
            env,
            self.sandbox_uid,
        )

    def with_grants(
        self, *, read_paths: tuple[str, ...] = (), write_paths: tuple[str, ...] = (), network: bool | None = None
    ) -> Policy:
        """A copy with more paths granted (and the network switched, if given)."""
        return replace(
            self,
            read_paths=tuple(dict.fromkeys((*self.read_paths, *read_paths))),
            write_paths=tuple(dict.fromkeys((*self.write_paths, *write_paths))),
            network=self.network if network is None else network,
        )


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of one sandboxed command.

    `returncode` is negative for a signal (as in subprocess); 124 stands for a wall-clock timeout, with
    `timed_out` set. `truncated` says that stdout or stderr went past `max_output_bytes`.
    """

    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: bool
    truncated: bool
    duration: float
    backend: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def text(self, errors: str = "replace") -> str:
        return self.stdout.decode("utf-8", errors)
