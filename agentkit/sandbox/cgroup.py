"""One cgroup per sandboxed command or worker: a pids limit and a memory limit that hold for it alone.

The group is made beside the agent's own cgroup and only the sandboxed child joins it (first thing
after fork), so a fork bomb or a memory hog inside can never starve the agent process itself, nor
another sandbox. The memory limit counts what RLIMIT_DATA cannot: shared mappings
(`mmap(MAP_SHARED|MAP_ANONYMOUS)`) and tmpfs pages the sandbox writes. When the call ends, everything
still in the group is killed (a double-forked daemon too).

An emptied group is kept for the next call (a few at most, removed at exit) rather than removed and made
anew: that saves a mkdir and rmdir per call, and a memory cgroup removed while page cache is still charged to
it lingers in the kernel as an offline group, which thousands of calls would pile up on cgroup v1.
A group is only handed out again once nothing is left inside it.

Where no cgroup can be made (not root, no controller mounted, a read-only /sys/fs/cgroup, a v2 parent
without the controllers delegated) `SandboxCgroup.create` returns None and the backends fall back to
rlimits and namespaces; `agentkit sandbox doctor` says why. Works with cgroup v2 (`pids.max`,
`memory.max`) and v1 (`pids/`, `memory/` hierarchies). Nothing here writes to a group it did not make.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import os
import queue
import signal
import threading
import time

__all__ = ["SandboxCgroup", "cgroup_support"]

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


def _targets() -> list[tuple[str, str]]:
    """(controller label, parent dir to create the group under)."""
    if _v2():
        return [("v2", os.path.join(_ROOT, _own_path(None).lstrip("/")))]
    out = []
    for controller in ("pids", "memory"):
        base = os.path.join(_ROOT, controller, _own_path(controller).lstrip("/"))
        if os.path.isdir(base):
            out.append((controller, base))
    return out


@functools.cache
def cgroup_support() -> tuple[bool, str]:
    """Whether a sandbox cgroup can be made here (tried for real, once), and a sentence saying which or why not."""
    targets = _targets()
    if not targets:
        return False, f"no pids/memory controller mounted under {_ROOT}"
    for _, parent in targets:
        if not os.access(parent, os.W_OK):
            return False, f"{parent} is not writable (needs root or a delegated cgroup)"
    trial = SandboxCgroup(pids_max=8, memory_bytes=64 << 20)
    try:
        trial.make()
    except OSError as exc:
        return False, f"a cgroup could not be made under {targets[0][1]}: {exc}"
    finally:
        trial.remove()
    kind = "v2" if targets[0][0] == "v2" else "v1 " + "+".join(t[0] for t in targets)
    return True, f"cgroup {kind}: one cgroup per sandboxed command or worker (pids + memory, the agent stays outside)"


class SandboxCgroup:
    """A fresh cgroup for one sandboxed process tree; the caller never joins it.

    `SandboxCgroup.create(pids_max=64, memory_bytes=1 << 30)` gives one (or None where cgroups cannot be
    made); the child joins by writing its pid to each of `procs_files` before it drops privileges;
    `remove()` kills whatever is left inside and deletes the group.
    """

    def __init__(self, *, pids_max: int, memory_bytes: int) -> None:
        self.pids_max = pids_max
        self.memory_bytes = memory_bytes
        self.name = f"agentkit-{os.getpid()}-{next(_counter)}"
        self.dirs: list[str] = []
        self.limits: set[str] = set()  # "pids", "memory": what holds

    @classmethod
    def create(cls, *, pids_max: int, memory_bytes: int) -> SandboxCgroup | None:
        if not cgroup_support()[0]:
            return None
        group = _idle_groups().take(pids_max=pids_max, memory_bytes=memory_bytes)
        if group is not None:
            return group
        group = cls(pids_max=pids_max, memory_bytes=memory_bytes)
        try:
            group.make()
        except OSError:
            group.remove()
            return None
        return group

    def make(self) -> None:
        for label, parent in _targets():
            path = os.path.join(parent, self.name)
            os.mkdir(path)
            self.dirs.append(path)
            self._limit(label, path)

    def set_limits(self, *, pids_max: int, memory_bytes: int) -> None:
        """Give an idle group another call's limits (OSError where the kernel refuses, e.g. below its usage)."""
        if (pids_max, memory_bytes) == (self.pids_max, self.memory_bytes):
            return
        self.pids_max, self.memory_bytes = pids_max, memory_bytes
        for path in self.dirs:
            self._limit(_label(path), path)

    def _limit(self, label: str, path: str) -> None:
        if label in ("v2", "pids"):
            _write(os.path.join(path, "pids.max"), str(self.pids_max))
            self.limits.add("pids")
        if label == "v2":
            _write(os.path.join(path, "memory.max"), str(self.memory_bytes))
            _write_if_present(os.path.join(path, "memory.swap.max"), "0")
            self.limits.add("memory")
        if label == "memory":
            _write(os.path.join(path, "memory.limit_in_bytes"), str(self.memory_bytes))
            _write_if_present(os.path.join(path, "memory.memsw.limit_in_bytes"), str(self.memory_bytes))
            self.limits.add("memory")

    @property
    def procs_files(self) -> tuple[str, ...]:
        return tuple(os.path.join(path, "cgroup.procs") for path in self.dirs)

    def pids(self) -> list[int]:
        """The processes inside (one hierarchy is enough: the child joins all of them before anything else)."""
        if not self.dirs:
            return []
        try:
            with open(os.path.join(self.dirs[0], "cgroup.procs")) as fh:
                return [int(pid) for pid in fh.read().split()]
        except (OSError, ValueError):
            return []

    def drained(self, timeout: float = 1.0) -> bool:
        """Whether the group counts no process any more, waiting up to `timeout`: killed processes leave
        cgroup.procs at once but stay in pids.current until the kernel has reaped them (a PID namespace's
        teardown), and a group handed out before then would start its next call short of processes."""
        counters = [os.path.join(d, "pids.current") for d in self.dirs if _label(d) in ("pids", "v2")]
        deadline = time.monotonic() + timeout
        pause = 0.0005
        while True:
            try:
                if all(_read(path) == "0" for path in counters) and not self.pids():
                    return True
            except OSError:
                return False
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def kill(self) -> None:
        """SIGKILL every process inside, until none is left (a process forking meanwhile is caught by the
        next pass)."""
        for _ in range(100):
            if not self.signal_all():
                return
            time.sleep(0.002)

    def signal_all(self) -> bool:
        """One pass of SIGKILL to every process inside; False when there was none to signal."""
        for path in self.dirs:
            if _write_if_present(os.path.join(path, "cgroup.kill"), "1"):
                return bool(self.pids())
        pids = [pid for pid in self.pids() if pid != os.getpid()]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return bool(pids)

    def recycle(self) -> None:
        """SIGKILL everything inside now; once the kernel has let the processes go (a few milliseconds of
        tearing a PID namespace down, which a call's result need not wait for), the empty group is kept
        for a later call, or removed when enough are kept. Both happen on a background thread."""
        self.signal_all()
        _recycler().put(self)

    def remove(self) -> None:
        """Kill what is left and delete the group (rmdir succeeds once the last process is gone)."""
        if not self.dirs:
            return
        self.kill()
        for path in list(self.dirs):
            pause = 0.0002  # the kernel releases the killed processes within a millisecond or two
            for _ in range(250):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill()
                    time.sleep(pause)
                    pause = min(pause * 2, 0.004)
            self.dirs.remove(path)


def _label(path: str) -> str:
    """The controller a group directory belongs to ("pids", "memory", or "v2")."""
    if _v2():
        return "v2"
    return os.path.relpath(path, _ROOT).split(os.sep, 1)[0]


class _IdleGroups:
    """Emptied groups waiting for their next call: at most `KEEP`, the rest removed."""

    KEEP = 4

    def __init__(self) -> None:
        self._groups: list[SandboxCgroup] = []
        self._lock = threading.Lock()
        self._closed = False  # at exit: nothing more is kept

    def take(self, *, pids_max: int, memory_bytes: int) -> SandboxCgroup | None:
        with self._lock:
            group = self._groups.pop() if self._groups else None
        if group is None:
            return None
        try:
            group.set_limits(pids_max=pids_max, memory_bytes=memory_bytes)
        except OSError:
            group.remove()
            return None
        return group

    def keep(self, group: SandboxCgroup) -> None:
        """Keep an empty group, or remove it when enough are kept."""
        with self._lock:
            if group in self._groups:  # handed back twice: keep it once
                return
            if len(self._groups) < self.KEEP and not self._closed:
                self._groups.append(group)
                return
        group.remove()

    def remove_all(self) -> None:
        with self._lock:
            groups, self._groups, self._closed = self._groups, [], True
        for group in groups:
            group.remove()


@functools.cache
def _idle_groups() -> _IdleGroups:
    return _IdleGroups()


@functools.cache
def _recycler() -> queue.SimpleQueue[SandboxCgroup | None]:
    """The queue of groups `recycle` handed to a daemon thread, which empties each (killing what is left)
    and keeps or removes it. At exit the thread finishes the group in hand, then what is still queued and
    every kept group are removed."""
    pending: queue.SimpleQueue[SandboxCgroup | None] = queue.SimpleQueue()

    def recycle(group: SandboxCgroup) -> None:
        group.kill()
        if group.dirs and group.drained():
            _idle_groups().keep(group)
        else:
            group.remove()

    def work() -> None:
        while (group := pending.get()) is not None:
            recycle(group)

    thread = threading.Thread(target=work, name="agentkit-cgroup-recycler", daemon=True)
    thread.start()

    def at_exit() -> None:
        pending.put(None)
        thread.join(5)
        while True:
            try:
                group = pending.get_nowait()
            except queue.Empty:
                break
            if group is not None:
                group.remove()
        _idle_groups().remove_all()

    atexit.register(at_exit)
    return pending


def join(procs_files: tuple[str, ...]) -> None:
    """Move the calling process into a group (used in the child, between fork and exec)."""
    pid = str(os.getpid()).encode()
    for procs in procs_files:
        fd = os.open(procs, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read().strip()


def _write(path: str, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _write_if_present(path: str, value: str) -> bool:
    if not os.path.exists(path):  # cgroupfs refuses to create files (EACCES), so look first
        return False
    _write(path, value)
    return True
