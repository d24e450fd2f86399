"""The seccomp filter, compiled here to classic BPF: no library, so every install has it.

Why not libseccomp (pyseccomp): it is an optional C library binding, and an optional filter is a filter
that is missing on the default install (UDP and Unix sockets then left a sandbox whose network was
"off"). A deny list with a few argument checks is a short, fixed BPF program; the only per-machine
knowledge it needs is the syscall numbers of the two architectures we support (x86_64 and aarch64),
which are stable kernel ABI. Elsewhere `seccomp_error` says the filter is missing and why.

What the filter refuses:
- calls that lead out of the sandbox or into the kernel's largest attack surfaces (EPERM);
- `clone` with namespace flags (EPERM) and `clone3` (ENOSYS, so libc falls back to `clone`);
- TIOCSTI (pushing input into the controlling terminal);
- setuid/setgid bits: chmod/fchmod/fchmodat/fchmodat2 and mknod/mknodat with S_ISUID or S_ISGID, and
  open/openat/creat that create a file with them (EPERM); `openat2`, whose mode sits in a struct that
  BPF cannot read, gets ENOSYS (Python never calls it; `ConfinedRoot` runs outside and falls back);
- with the network off, `socket()` for every family, AF_UNIX included: a pathname Unix socket outside
  the sandbox (a root-only daemon's, say) is otherwise reachable under Landlock. `socketpair()` stays
  (asyncio's self-pipe uses it). With the network on, only AF_INET, AF_INET6 and AF_NETLINK (which
  getaddrinfo uses) are allowed, so host daemons' Unix sockets stay out of reach.
A call from another architecture's ABI (i386 `int 0x80` on x86_64, arm32 on aarch64, x32) kills the
process: its syscall numbers mean other calls.
"""

from __future__ import annotations

import errno
import functools
import os
import struct

__all__ = ["build_filter", "filter_error"]

# ---- syscall numbers per architecture (x86_64: asm/unistd_64.h; aarch64: asm-generic/unistd.h) -------

_X86_64 = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165, "umount2": 166,
    "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "bpf": 321, "keyctl": 250, "add_key": 248,
    "request_key": 249, "perf_event_open": 298, "kexec_load": 246, "kexec_file_load": 320, "reboot": 169,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "userfaultfd": 323,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "swapon": 167, "swapoff": 168, "acct": 163,
    "syslog": 103, "quotactl": 179, "quotactl_fd": 443, "fsopen": 430, "fsmount": 432, "fsconfig": 431,
    "fspick": 433, "move_mount": 429, "open_tree": 428, "mount_setattr": 442, "lookup_dcookie": 212,
    "personality": 135, "vhangup": 153,
    "clone": 56, "clone3": 435, "ioctl": 16, "socket": 41, "openat2": 437,
    "chmod": 90, "fchmod": 91, "creat": 85, "mknod": 133, "fchmodat": 268, "fchmodat2": 452, "mknodat": 259,
    "open": 2, "openat": 257,
}  # fmt: skip
_AARCH64 = {
    "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40, "umount2": 39,
    "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "bpf": 280, "keyctl": 219, "add_key": 217,
    "request_key": 218, "perf_event_open": 241, "kexec_load": 104, "kexec_file_load": 294, "reboot": 142,
    "init_module": 105, "finit_module": 273, "delete_module": 106, "userfaultfd": 282,
    "open_by_handle_at": 265, "name_to_handle_at": 264, "swapon": 224, "swapoff": 225, "acct": 89,
    "syslog": 116, "quotactl": 60, "quotactl_fd": 443, "fsopen": 430, "fsmount": 432, "fsconfig": 431,
    "fspick": 433, "move_mount": 429, "open_tree": 428, "mount_setattr": 442, "lookup_dcookie": 18,
    "personality": 92, "vhangup": 58,
    "clone": 220, "clone3": 435, "ioctl": 29, "socket": 198, "openat2": 437,
    "fchmod": 52, "fchmodat": 53, "fchmodat2": 452, "mknodat": 33, "openat": 56,
}  # fmt: skip
# machine name -> (AUDIT_ARCH_* value, syscall table); seccomp_data.arch must match or the call is foreign
_ARCHES = {"x86_64": (0xC000003E, _X86_64), "aarch64": (0xC00000B7, _AARCH64)}
_X32_BIT = 0x40000000  # x86_64's x32 ABI: same arch value, numbers with this bit set

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "keyctl",
    "add_key", "request_key", "perf_event_open", "kexec_load", "kexec_file_load", "reboot",
    "init_module", "finit_module", "delete_module", "userfaultfd", "open_by_handle_at",
    "name_to_handle_at", "swapon", "swapoff", "acct", "syslog", "quotactl", "quotactl_fd", "fsopen",
    "fsmount", "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr", "lookup_dcookie",
    "personality", "vhangup",
)  # fmt: skip
# the clone() flags that create namespaces (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME)
_CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80
_TIOCSTI = 0x5412
_SETID_BITS = 0o6000  # S_ISUID | S_ISGID
_O_CREATES = 0o100 | 0o20000000  # O_CREAT | __O_TMPFILE (the same on x86_64 and aarch64)
_NET_FAMILIES_ON = (2, 10, 16)  # AF_INET, AF_INET6, AF_NETLINK
# the argument holding the mode, per call that sets one
_MODE_ARG = {"chmod": 1, "fchmod": 1, "creat": 1, "mknod": 1, "fchmodat": 2, "fchmodat2": 2, "mknodat": 2}
_OPEN_ARGS = {"open": (1, 2), "openat": (2, 3)}  # (flags, mode) argument positions

# ---- classic BPF -----------------------------------------------------------------------------------

_LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS: A = 32-bit word at offset k of seccomp_data
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET = 0x45  # BPF_JMP | BPF_JSET | BPF_K: jump if A & k
_RET = 0x06  # BPF_RET | BPF_K
_NR, _ARCH = 0, 4


def _arg(index: int) -> int:
    """Offset of an argument's low 32 bits (little-endian; every argument we test is an int or mode)."""
    return 16 + 8 * index


_ALLOW = 0x7FFF0000
_KILL_PROCESS = 0x80000000


def _errno(code: int) -> int:
    return 0x00050000 | code


class _Program:
    """Instructions with named jump targets; `assemble` resolves them into forward offsets (0..255)."""

    def __init__(self) -> None:
        self.code: list[tuple[int, str | None, str | None, int]] = []
        self.labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def load(self, offset: int) -> None:
        self.code.append((_LD_ABS, None, None, offset))

    def jump(self, op: int, k: int, true: str | None, false: str | None = None) -> None:
        self.code.append((op, true, false, k))

    def ret(self, action: int) -> None:
        self.code.append((_RET, None, None, action))

    def assemble(self) -> bytes:
        out = []
        for index, (op, true, false, k) in enumerate(self.code):
            jt, jf = self._offset(index, true), self._offset(index, false)
            out.append(struct.pack("=HBBI", op, jt, jf, k))
        return b"".join(out)

    def _offset(self, index: int, label: str | None) -> int:
        if label is None:
            return 0
        distance = self.labels[label] - index - 1
        if not 0 <= distance <= 255:
            raise ValueError(f"seccomp jump to {label} out of range ({distance})")
        return distance


def build_filter(network: bool, machine: str | None = None) -> bytes:
    """The filter as raw BPF (an array of `struct sock_filter`) for this (or the named) machine."""
    machine = machine or os.uname().machine
    if machine not in _ARCHES:
        raise OSError(errno.ENOTSUP, f"no seccomp filter for the {machine} architecture (x86_64 and aarch64 only)")
    arch, nr = _ARCHES[machine]
    p = _Program()
    p.load(_ARCH)
    p.jump(_JEQ, arch, None, "kill")
    p.load(_NR)
    if machine == "x86_64":
        p.jump(_JGE, _X32_BIT, "kill")
    for name in DENIED:
        p.jump(_JEQ, nr[name], "eperm")
    p.jump(_JEQ, nr["clone3"], "enosys")
    p.jump(_JEQ, nr["openat2"], "enosys")
    p.jump(_JEQ, nr["clone"], "clone")
    p.jump(_JEQ, nr["ioctl"], "ioctl")
    p.jump(_JEQ, nr["socket"], "socket")
    for name, index in _MODE_ARG.items():
        if name in nr:
            p.jump(_JEQ, nr[name], f"mode{index}")
    for name in _OPEN_ARGS:
        if name in nr:
            p.jump(_JEQ, nr[name], name)
    p.label("allow")
    p.ret(_ALLOW)
    for label, action in (("eperm", errno.EPERM), ("enosys", errno.ENOSYS)):
        p.label(label)
        p.ret(_errno(action))
    p.label("kill")
    p.ret(_KILL_PROCESS)
    _argument_checks(p, network, nr)
    return p.assemble()


def _argument_checks(p: _Program, network: bool, nr: dict[str, int]) -> None:
    """The blocks the dispatch above jumps to; each ends in its own returns (BPF jumps only forward)."""
    p.label("clone")
    _refuse_if_set(p, _arg(0), _CLONE_NS_FLAGS)
    p.label("ioctl")
    p.load(_arg(1))
    p.jump(_JEQ, _TIOCSTI, "eperm.ioctl", "allow.ioctl")
    p.label("eperm.ioctl")
    p.ret(_errno(errno.EPERM))
    p.label("allow.ioctl")
    p.ret(_ALLOW)
    p.label("socket")
    if network:
        p.load(_arg(0))
        for family in _NET_FAMILIES_ON:
            p.jump(_JEQ, family, "socket.ok")
    p.ret(_errno(errno.EACCES))
    p.label("socket.ok")
    p.ret(_ALLOW)
    for name, (flags, mode) in _OPEN_ARGS.items():
        if name in nr:
            p.label(name)
            p.load(_arg(flags))
            p.jump(_JSET, _O_CREATES, f"mode{mode}")
            p.ret(_ALLOW)
    for index in (1, 2, 3):
        p.label(f"mode{index}")
        _refuse_if_set(p, _arg(index), _SETID_BITS)


def _refuse_if_set(p: _Program, offset: int, bits: int) -> None:
    """EPERM when the word at `offset` has any of `bits`, else allow."""
    deny, ok = f"deny.{len(p.code)}", f"ok.{len(p.code)}"
    p.load(offset)
    p.jump(_JSET, bits, deny, ok)
    p.label(deny)
    p.ret(_errno(errno.EPERM))
    p.label(ok)
    p.ret(_ALLOW)


@functools.cache
def filter_error() -> str | None:
    """None when the filter can be built for this machine, else why not."""
    try:
        build_filter(False)
    except OSError as exc:
        return exc.strerror or str(exc)
    except ValueError as exc:
        return str(exc)
    return None
