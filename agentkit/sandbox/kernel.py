"""The kernel layers, one function each: seccomp BPF, Landlock rules, rlimits, capability drop.

Everything that runs in a child between fork and exec (`child_setup`) is plain system calls through
ctypes or `resource`: the seccomp program is compiled in the parent, once (see `seccomp.py`), and the
child only loads the finished BPF with prctl.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import subprocess
from collections.abc import Callable, Sequence

from agentkit.sandbox.cgroup import join as join_cgroup
from agentkit.sandbox.identity import drop_bounding_set, libc_handle, map_ids
from agentkit.sandbox.seccomp import build_filter, filter_error

__all__ = [
    "child_setup",
    "landlock_abi",
    "pid_limit_error",
    "seccomp_bpf",
    "seccomp_error",
]

# ---- seccomp ----------------------------------------------------------------------------------


@functools.cache
def seccomp_bpf(network: bool) -> bytes:
    """The filter as raw BPF (an array of `struct sock_filter`), cached per network setting."""
    return build_filter(network)


def seccomp_error() -> str | None:
    """None when a filter can be built here, else why not."""
    return filter_error()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> int:
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return rc


def _load_bpf(program: bytes, keep: list[object]) -> None:
    buf = ctypes.create_string_buffer(program, len(program))
    keep.append(buf)
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    _check(_libc().prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


# ---- Landlock ----------------------------------------------------------------------------------

_SYS_LL_CREATE, _SYS_LL_ADD_RULE, _SYS_LL_RESTRICT = 444, 445, 446
_LL_VERSION = 1
_LL_RULE_PATH_BENEATH = 1
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_ALL_V1 = (1 << 13) - 1
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
_FILE_ONLY = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.cache
def landlock_abi() -> int:
    """The Landlock ABI version (0 when Landlock is missing or disabled); probed with the syscall itself."""
    if os.uname().sysname != "Linux":
        return 0
    rc = _libc().syscall(_SYS_LL_CREATE, None, 0, _LL_VERSION)
    return int(rc) if rc > 0 else 0


def _fs_handled(abi: int) -> int:
    handled = _FS_ALL_V1
    if abi >= 2:
        handled |= _FS_REFER
    if abi >= 3:
        handled |= _FS_TRUNCATE
    if abi >= 5:
        handled |= _FS_IOCTL_DEV
    return handled


def _landlock_restrict(abi: int, read: Sequence[str], write: Sequence[str], network: bool) -> None:
    """Allow reads beneath `read`, everything beneath `write`, no TCP unless `network`; then enforce."""
    handled = _fs_handled(abi)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if abi >= 4 and not network:
        attr.net, size = _NET_BIND_TCP | _NET_CONNECT_TCP, 16
    if abi >= 6:
        attr.scoped, size = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL, 24
    libc = _libc()
    ruleset = _check(libc.syscall(_SYS_LL_CREATE, ctypes.byref(attr), size, 0), "landlock_create_ruleset")
    try:
        for paths, access in ((read, _FS_READ), (write, handled)):
            for path in paths:
                _landlock_allow(ruleset, path, access)
        _check(libc.syscall(_SYS_LL_RESTRICT, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def _landlock_allow(ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that does not exist needs no rule
    try:
        if not os.path.isdir(f"/proc/self/fd/{fd}"):
            access &= _FILE_ONLY
        rule = _PathBeneath(access, fd)
        _check(_libc().syscall(_SYS_LL_ADD_RULE, ruleset, _LL_RULE_PATH_BENEATH, ctypes.byref(rule), 0), path)
    finally:
        os.close(fd)


# ---- the child's set-up between fork and exec ----------------------------------------------------


_CLONE_NEWPID = 0x20000000
_CLONE_NEWUSER = 0x10000000
_PR_SET_PDEATHSIG = 1
_PID_MAX = "/proc/sys/kernel/pid_max"
_NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"
_RESERVED_PIDS = 300  # past this pid, every PID namespace allocates from 300 up: kernel/pid.c


def pid_limit_error() -> str | None:
    """None when root can bound a PID namespace's processes with a pid_max of its own (Linux 6.14+), else
    why not. Tried for real: /proc/sys is read-only in many containers.

    The kernel version is checked first, and not only as a shortcut: before 6.14 pid_max is one value for the
    whole machine, and root writing it from inside a new PID namespace would set the host's."""
    release = os.uname().release.split("-")[0].split(".")
    try:
        version = (int(release[0]), int(release[1]))
    except (IndexError, ValueError):
        return f"the kernel version {os.uname().release!r} cannot be read"
    if version < (6, 14):
        return f"Linux {version[0]}.{version[1]} has one pid_max for the machine (per namespace from 6.14)"
    before = _read_sysctl(_PID_MAX)
    setup = child_setup(rlimits={}, pid_namespace=True, pid_limit=64)
    try:
        done = subprocess.run(
            ["cat", _PID_MAX], preexec_fn=setup, env={"PATH": "/usr/bin:/bin"}, capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"a PID namespace with a pid_max of its own cannot be made: {exc}"
    if _read_sysctl(_PID_MAX) != before:
        return "pid_max is not per namespace here"
    if done.returncode != 0 or done.stdout.strip() != str(_pid_max(64)).encode():
        return "a PID namespace with a pid_max of its own cannot be made here"
    return None


def _read_sysctl(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read().strip()


def _pid_max(max_processes: int) -> int:
    """pid_max that leaves `max_processes` tasks to a namespace whose next pid is past `_RESERVED_PIDS`: its
    init (pid 1) and pids 300 to pid_max - 1 (the kernel's floor is 301, so at least 2)."""
    return max(_RESERVED_PIDS + 1, _RESERVED_PIDS - 1 + max_processes)


def _bound_pid_namespace(max_processes: int) -> None:
    """In the init of a new PID namespace: at most `max_processes` tasks (processes and threads, as pids.max
    counts them) may live in it, its init included, whatever their uid; RLIMIT_NPROC cannot do that for
    root, who is exempt from it, nor for a uid that several sandboxes share."""
    for path, value in ((_PID_MAX, _pid_max(max_processes)), (_NS_LAST_PID, _RESERVED_PIDS)):
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)


_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT = 0x1, 0x2, 0x4, 0x8, 0x20
_MS_BIND, _MS_REC, _MS_PRIVATE = 0x1000, 0x4000, 0x40000


def _mount_own_proc() -> None:
    """Show the new PID namespace's own /proc, in a mount namespace of its own (nothing propagates back):
    bubblewrap started in it looks its children up there by the pids it sees."""
    libc = _libc()
    _check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "making / private")
    _check(libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None), "mounting /proc")


def _seal_proc_sys() -> None:
    """Make that /proc's sys read-only, once `_bound_pid_namespace` wrote it: from 6.14 a process of host uid 0
    may raise its namespace's pid_max with no capability (root mapped into a user namespace is such a
    process), and the mount, made before the command's user namespace, is locked for it."""
    libc = _libc()
    _check(libc.mount(b"/proc/sys", b"/proc/sys", None, _MS_BIND | _MS_REC, None), "binding /proc/sys")
    flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    _check(libc.mount(None, b"/proc/sys", None, flags, None), "making /proc/sys read-only")


def _enter_pid_namespace(own_user: bool, pid_limit: int | None = None, own_proc: bool = False) -> None:
    """Make the command pid 1 of a new PID namespace, so that when it exits the kernel kills everything it
    left behind, setsid daemons included. Root makes it directly; an ordinary user (`own_user`) makes a user
    namespace of its own first, mapped to itself, which also makes RLIMIT_NPROC count this sandbox's
    processes only (the kernel counts processes per user namespace).

    unshare(CLONE_NEWPID) only moves the children of the caller, so this forks: the parent stays outside
    as a monitor that closes every descriptor (the agent's and the output pipes), waits, and exits with
    the command's status; the child is the namespace's init, dies with the monitor, and goes on to exec.
    Where the namespace cannot be made, nothing changes. With `pid_limit` (root only, after `pid_limit_error`
    said yes) the namespace holds no more than that many tasks, and is required: without it, the call fails.
    With `own_proc` (root only), /proc shows the new namespace (see `_mount_own_proc`), its sys read-only."""
    libc = _libc()
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
        if own_proc:
            _mount_own_proc()
        if pid_limit is not None:
            _bound_pid_namespace(pid_limit)
        if own_proc:
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


def child_setup(
    *,
    rlimits: dict[int, tuple[int, int]],
    seccomp: bytes | None = None,
    landlock: tuple[int, Sequence[str], Sequence[str], bool] | None = None,
    drop_caps: bool = False,
    cgroup_procs: tuple[str, ...] = (),
    pid_namespace: bool = False,
    own_user_namespace: bool = False,
    pid_limit: int | None = None,
    own_proc: bool = False,
    become: Callable[[], None] | None = None,
    become_after_landlock: bool = False,
) -> Callable[[], None]:
    """A `preexec_fn`: join the sandbox's cgroup (first: Landlock and the capability drop would forbid it) or enter
    a PID namespace (in a user namespace of its own with `own_user_namespace`; holding at most `pid_limit`
    tasks, as root, where that is given; with its own /proc, as root, with `own_proc`), rlimits, then (optionally)
    capability drop, `become` (the uid change of `identity`), no_new_privs, Landlock and seccomp.
    `become_after_landlock` moves the uid change after Landlock, so that its rules are opened as root (a plain
    uid drop could not reach folders beneath root's 0700 ones)."""
    keep: list[object] = []
    libc_handle()  # loaded here, in the parent: nothing may be loaded between fork and exec

    def setup() -> None:
        join_cgroup(cgroup_procs)
        if pid_namespace:
            _enter_pid_namespace(own_user_namespace, pid_limit, own_proc)
        for which, limits in rlimits.items():
            resource.setrlimit(which, limits)
        if drop_caps:
            drop_bounding_set()
        if become is not None and not become_after_landlock:
            become()
        if seccomp is not None or landlock is not None or become is not None:
            _check(_libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        if landlock is not None:
            _landlock_restrict(*landlock)
        if become is not None and become_after_landlock:
            become()
        if seccomp is not None:
            _load_bpf(seccomp, keep)

    return setup
