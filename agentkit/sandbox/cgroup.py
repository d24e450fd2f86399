"""One cgroup per agent run: a pids limit (fork bombs, also as root) and a memory limit.

Entering a cgroup costs 0.25 ms, or several ms while mount namespaces are being torn down, so the
*run* enters once and every sandboxed command and worker started inside inherits it; nothing
migrates per call. Where no cgroup can be written (not root, no controller mounted, a read-only
/sys/fs/cgroup) `RunCgroup` does nothing, silently; `agentkit sandbox doctor` says why.

Works with cgroup v2 (`pids.max`, `memory.max`) and v1 (`pids/`, `memory/` hierarchies).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

__all__ = ["RunCgroup", "cgroup_support", "run_cgroup"]

_ROOT = "/sys/fs/cgroup"
_counter = itertools.count()


def _v2() -> bool:
    return os.path.exists(os.path.join(_ROOT, "cgroup.controllers"))


def _own_path(controller: str | None) -> str:
    """This process's cgroup directory for a v1 controller (or the v2 one when None)."""
    try:
        with open("/proc/self/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return "/"
    for line in lines:
        _, names, path = line.split(":", 2)
        if (controller is None and names == "") or (controller is not None and controller in names.split(",")):
            return path
    return "/"


def _targets() -> list[tuple[str, str, str]]:
    """(controller label, parent dir to create under, dir whose cgroup.procs we return to)."""
    if _v2():
        base = os.path.join(_ROOT, _own_path(None).lstrip("/"))
        return [("v2", base, base)]
    out = []
    for controller in ("pids", "memory"):
        base = os.path.join(_ROOT, controller, _own_path(controller).lstrip("/"))
        if os.path.isdir(base):
            out.append((controller, base, base))
    return out


def cgroup_support() -> tuple[bool, str]:
    """Whether a cgroup can be created here, and a sentence saying which or why not."""
    targets = _targets()
    if not targets:
        return False, f"no pids/memory controller mounted under {_ROOT}"
    for _, parent, _ in targets:
        if not os.access(parent, os.W_OK):
            return False, f"{parent} is not writable (needs root or a delegated cgroup)"
    kind = "v2" if targets[0][0] == "v2" else "v1 " + "+".join(t[0] for t in targets)
    return True, f"cgroup {kind}: one cgroup per agent run (pids + memory limits)"


class RunCgroup:
    """Move this process (and so every child started later) into a fresh cgroup for one run.

    `with RunCgroup(pids_max=256, memory_bytes=4 << 30): agent(...)`. On exit the process moves back and
    the cgroup is removed. `active` says whether the limits are in force.
    """

    def __init__(self, *, pids_max: int = 512, memory_bytes: int | None = None, name: str | None = None) -> None:
        self.pids_max = pids_max
        self.memory_bytes = memory_bytes
        self.name = name or f"agentkit-{os.getpid()}-{next(_counter)}"
        self.active = False
        self.reason = ""
        self._made: list[tuple[str, str]] = []  # (new dir, dir to return to)

    def __enter__(self) -> RunCgroup:
        ok, self.reason = cgroup_support()
        if not ok:
            return self
        try:
            for label, parent, back in _targets():
                path = os.path.join(parent, self.name)
                os.mkdir(path)
                self._made.append((path, back))
                self._limit(label, path)
            for path, _ in self._made:
                _write(os.path.join(path, "cgroup.procs"), str(os.getpid()))
            self.active = True
        except OSError as exc:
            self.reason = f"cgroup set-up failed: {exc}"
            self._undo()
        return self

    def _limit(self, label: str, path: str) -> None:
        if label in ("v2", "pids"):
            _write(os.path.join(path, "pids.max"), str(self.pids_max))
        if self.memory_bytes is not None and label == "v2":
            _write(os.path.join(path, "memory.max"), str(self.memory_bytes))
        if self.memory_bytes is not None and label == "memory":
            _write(os.path.join(path, "memory.limit_in_bytes"), str(self.memory_bytes))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._undo()

    def _undo(self) -> None:
        for path, back in reversed(self._made):
            try:
                _write(os.path.join(back, "cgroup.procs"), str(os.getpid()))
            except OSError:
                pass
            _remove_when_empty(path)
        self._made.clear()
        self.active = False


def _write(path: str, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _remove_when_empty(path: str) -> None:
    """rmdir fails while processes remain; kill the leftovers (they are ours) and retry briefly."""
    import signal
    import time

    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except OSError:
            pass
        try:
            with open(os.path.join(path, "cgroup.procs")) as fh:
                for pid in fh.read().split():
                    if int(pid) != os.getpid():
                        os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
        time.sleep(0.01)


_shared_lock = threading.Lock()
_shared: RunCgroup | None = None
_shared_users = 0


@contextmanager
def run_cgroup(*, pids_max: int = 512, memory_bytes: int | None = None) -> Iterator[RunCgroup]:
    """The cgroup of the agent runs in flight in this process: the first run in creates and enters it,
    the last one out leaves and removes it (a process lives in one cgroup, so concurrent runs share it)."""
    global _shared, _shared_users
    with _shared_lock:
        if _shared is None:
            _shared = RunCgroup(pids_max=pids_max, memory_bytes=memory_bytes).__enter__()
        _shared_users += 1
        group = _shared
    try:
        yield group
    finally:
        with _shared_lock:
            _shared_users -= 1
            if _shared_users == 0 and _shared is not None:
                _shared.__exit__(None, None, None)
                _shared = None
