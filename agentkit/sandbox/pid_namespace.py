"""The PID namespace a sandboxed command starts in, where no cgroup finds its processes for us.

Its init is the command: when it exits, the kernel kills whatever it left (setsid daemons too). As root, on
Linux 6.14 and later, the namespace also holds the sandbox's process limit: a pid_max of its own, with the
next pid set past the range the kernel reserves, leaves exactly `Policy.max_processes` pids to it, whatever the
uid of the processes that take them (RLIMIT_NPROC exempts root and is shared by every sandbox of a uid).
`agentkit.sandbox.detect` tries this once before it is used: before 6.14 pid_max is the machine's own.

Everything here runs in the child between fork and exec: plain system calls through ctypes.
"""

from __future__ import annotations

import ctypes
import os
import resource

from agentkit.sandbox.identity import libc_handle, map_ids

__all__ = ["PID_MAX", "enter_pid_namespace", "pid_max_for"]


def _check(rc: int, what: str) -> None:
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


_CLONE_NEWPID = 0x20000000
_CLONE_NEWUSER = 0x10000000
_PR_SET_PDEATHSIG = 1
PID_MAX = "/proc/sys/kernel/pid_max"
_NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"
_RESERVED_PIDS = 300  # past this pid, every PID namespace allocates from 300 up: kernel/pid.c


def pid_max_for(max_processes: int) -> int:
    """pid_max that leaves `max_processes` tasks to a namespace whose next pid is past `_RESERVED_PIDS`: its
    init (pid 1) and pids 300 to pid_max - 1 (the kernel's floor is 301, so at least 2)."""
    return max(_RESERVED_PIDS + 1, _RESERVED_PIDS - 1 + max_processes)


def _bound_pid_namespace(max_processes: int) -> None:
    """In the init of a new PID namespace: at most `max_processes` tasks (processes and threads, as pids.max
    counts them) may live in it, its init included, whatever their uid; RLIMIT_NPROC cannot do that for
    root, who is exempt from it, nor for a uid that several sandboxes share."""
    for path, value in ((PID_MAX, pid_max_for(max_processes)), (_NS_LAST_PID, _RESERVED_PIDS)):
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)


_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT = 0x1, 0x2, 0x4, 0x8, 0x20
_MS_BIND, _MS_REC, _MS_PRIVATE = 0x1000, 0x4000, 0x40000


def _private_mounts() -> None:
    """A mount namespace of its own (nothing propagates back to the host's)."""
    libc = libc_handle()
    _check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "making / private")


def _mount_own_proc() -> None:
    """Show the new PID namespace's own /proc: bubblewrap started in it looks its children up there by the pids
    it sees. (Left whole: bubblewrap, mapping root in a user namespace, may mount a proc only where every proc
    mount it can see is uncovered.)"""
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    _check(libc_handle().mount(b"proc", b"/proc", b"proc", flags, None), "mounting /proc")


def _seal_proc_sys() -> None:
    """Make /proc/sys read-only, once `_bound_pid_namespace` wrote it: from 6.14 a process of host uid 0 may raise
    its namespace's pid_max with no capability (root mapped into a user namespace is such a process), and the
    mount, made before the command's user namespace, is locked for it."""
    libc = libc_handle()
    _check(libc.mount(b"/proc/sys", b"/proc/sys", None, _MS_BIND | _MS_REC, None), "binding /proc/sys")
    flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    _check(libc.mount(None, b"/proc/sys", None, flags, None), "making /proc/sys read-only")


def enter_pid_namespace(
    own_user: bool, pid_limit: int | None = None, own_proc: bool = False, read_only_sysctl: bool = False
) -> None:
    """Make the command pid 1 of a new PID namespace, so that when it exits the kernel kills everything it
    left behind, setsid daemons included. Root makes it directly; an ordinary user (`own_user`) makes a user
    namespace of its own first, mapped to itself, which also makes RLIMIT_NPROC count this sandbox's
    processes only (the kernel counts processes per user namespace).

    unshare(CLONE_NEWPID) only moves the children of the caller, so this forks: the parent stays outside
    as a monitor that closes every descriptor (the agent's and the output pipes), waits, and exits with
    the command's status; the child is the namespace's init, dies with the monitor, and goes on to exec.
    Where the namespace cannot be made, nothing changes. With `pid_limit` (root only, after `detect.pid_limit_error`
    said yes) the namespace holds no more than that many tasks, and is required: without it, the call fails.
    With `own_proc` (root only), /proc shows the new namespace (see `_mount_own_proc`); with `read_only_sysctl`
    (root only), /proc/sys is read-only (see `_seal_proc_sys`). Both in a mount namespace of its own."""
    libc = libc_handle()
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(_CLONE_NEWPID | (_CLONE_NEWUSER if own_user else 0)) != 0:
        if pid_limit is not None:
            _check(-1, "unshare(CLONE_NEWPID) for the sandbox's process limit")
        return
    if own_user:
        map_ids(uid, uid, gid, gid)  # the same ids inside as outside
    pid = os.fork()
    if pid == 0:
        libc.prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)  # SIGKILL when the monitor goes (a killpg, say)
        if own_proc or read_only_sysctl:
            _private_mounts()
        if own_proc:
            _mount_own_proc()
        if pid_limit is not None:
            _bound_pid_namespace(pid_limit)
        if read_only_sysctl:
            _seal_proc_sys()
        return
    os.closerange(0, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 65536)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):  # die the same way, so the caller sees the signal
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a copy of the agent must not dump core
        libc.signal(sig, 0)  # SIG_DFL
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status))
