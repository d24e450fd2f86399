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
from collections.abc import Callable, Sequence

from agentkit.sandbox.cgroup import join as join_cgroup
from agentkit.sandbox.identity import drop_bounding_set, libc_handle
from agentkit.sandbox.pid_namespace import enter_pid_namespace
from agentkit.sandbox.seccomp import build_filter, filter_error

__all__ = [
    "child_setup",
    "landlock_abi",
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


_libc = libc_handle  # one handle for every layer, loaded in the parent


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
    read_only_sysctl: bool = False,
    become: Callable[[], None] | None = None,
    become_after_landlock: bool = False,
) -> Callable[[], None]:
    """A `preexec_fn`: join the sandbox's cgroup (first: Landlock and the capability drop would forbid it) or enter
    a PID namespace (in a user namespace of its own with `own_user_namespace`; holding at most `pid_limit`
    tasks, as root, where that is given; with its own /proc with `own_proc`, its /proc/sys read-only with
    `read_only_sysctl`: see `pid_namespace`), rlimits, then (optionally)
    capability drop, `become` (the uid change of `identity`), no_new_privs, Landlock and seccomp.
    `become_after_landlock` moves the uid change after Landlock, so that its rules are opened as root (a plain
    uid drop could not reach folders beneath root's 0700 ones)."""
    keep: list[object] = []
    libc_handle()  # loaded here, in the parent: nothing may be loaded between fork and exec

    def setup() -> None:
        join_cgroup(cgroup_procs)
        if pid_namespace:
            enter_pid_namespace(own_user_namespace, pid_limit, own_proc, read_only_sysctl)
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
