"""The built-in seccomp filter: present on the default install, with the right syscall numbers."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct
import subprocess
import sys

import pytest
from _requires import require

from agentkit.sandbox.seccomp import _ARCHES, DENIED, build_filter


def test_the_filter_needs_no_library() -> None:
    """Point 10: with pyseccomp unimportable, the seccomp layer still works (the default install)."""
    code = (
        "import sys; sys.modules['pyseccomp'] = None; sys.modules['seccomp'] = None\n"
        "from agentkit.sandbox.detect import probe\n"
        "layer = probe().seccomp\n"
        "print(layer.ok, layer.detail)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.startswith("True"), (done.stdout, done.stderr)


@pytest.mark.parametrize("machine", sorted(_ARCHES))
def test_syscall_numbers_match_libseccomp(machine: str) -> None:
    """The hand-kept tables agree with libseccomp's (used here only as a reference, never at run time)."""
    name = ctypes.util.find_library("seccomp")
    if name is None:
        pytest.skip("no libseccomp here to compare the syscall numbers with (apt-get install -y libseccomp2)")
    lib = ctypes.CDLL(name)
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    arch, table = _ARCHES[machine]
    wrong = {}
    for syscall, number in table.items():
        theirs = lib.seccomp_syscall_resolve_name_arch(arch, syscall.encode())
        if theirs >= 0 and theirs != number:
            wrong[syscall] = (number, theirs)
    assert not wrong
    assert set(DENIED) <= set(table)


@pytest.mark.parametrize("machine", sorted(_ARCHES))
@pytest.mark.parametrize("network", [False, True])
def test_every_jump_assembles(machine: str, network: bool) -> None:
    program = build_filter(network, machine)
    assert len(program) % 8 == 0 and len(program) // 8 < 4096


def test_an_unknown_architecture_is_reported() -> None:
    with pytest.raises(OSError, match="no seccomp filter for the riscv64"):
        build_filter(False, "riscv64")


def test_the_filter_loads_here() -> None:
    require(os.uname().machine in _ARCHES, "a supported architecture", "x86_64 or aarch64")
    from agentkit.sandbox.detect import probe

    assert probe().seccomp.ok, probe().seccomp.detail


def _verdict(program: bytes, arch: int, nr: int, *args: int) -> tuple[str, int]:
    """Run the classic BPF program on one seccomp_data (a tiny interpreter for the opcodes we emit)."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, *(list(args) + [0] * (6 - len(args))))
    code = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    pc, acc = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        if op == 0x20:
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
            continue
        if op == 0x06:
            action = k & 0xFFFF0000
            names = {0x7FFF0000: "allow", 0x00050000: "errno", 0x80000000: "kill"}
            return names[action], k & 0xFFFF
        taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[op]
        pc += 1 + (jt if taken else jf)


@pytest.mark.parametrize("machine", sorted(_ARCHES))
def test_the_filter_decides_as_documented(machine: str) -> None:
    """Each rule on each architecture, read from the program itself (aarch64 is checked on any machine)."""
    arch, nr = _ARCHES[machine]
    off, on = build_filter(False, machine), build_filter(True, machine)
    eperm, eacces, enosys = ("errno", errno.EPERM), ("errno", errno.EACCES), ("errno", errno.ENOSYS)
    allow = ("allow", 0)
    assert _verdict(off, arch, nr["ptrace"]) == eperm
    assert _verdict(off, arch, nr["unshare"], 0x10000000) == eperm
    assert _verdict(off, arch, nr["clone"], 0x10000000 | 17) == eperm  # CLONE_NEWUSER
    assert _verdict(off, arch, nr["clone"], 0x01200011) == allow  # what fork() passes
    assert _verdict(off, arch, nr["clone3"]) == enosys
    assert _verdict(off, arch, nr["openat2"]) == enosys
    assert _verdict(off, arch, nr["ioctl"], 0, 0x5412) == eperm  # TIOCSTI
    assert _verdict(off, arch, nr["ioctl"], 0, 0x5401) == allow  # TCGETS
    for family in (1, 2, 10, 16, 17, 40):  # unix, inet, inet6, netlink, packet, vsock
        assert _verdict(off, arch, nr["socket"], family) == eacces
    assert _verdict(on, arch, nr["socket"], 2) == allow
    assert _verdict(on, arch, nr["socket"], 1) == eacces  # host daemons' Unix sockets stay out of reach
    assert _verdict(off, arch, nr["fchmodat"], -100 & 0xFFFFFFFF, 0, 0o4755) == eperm
    assert _verdict(off, arch, nr["fchmodat"], -100 & 0xFFFFFFFF, 0, 0o755) == allow
    assert _verdict(off, arch, nr["fchmod"], 3, 0o2755) == eperm
    assert _verdict(off, arch, nr["fchmodat2"], 3, 0, 0o4700, 0) == eperm
    assert _verdict(off, arch, nr["mknodat"], 3, 0, 0o104755, 0) == eperm
    assert _verdict(off, arch, nr["openat"], 3, 0, 0o101, 0o4755) == eperm  # O_CREAT|O_WRONLY
    assert _verdict(off, arch, nr["openat"], 3, 0, 0o101, 0o644) == allow
    assert _verdict(off, arch, nr["openat"], 3, 0, 0, 0o4755) == allow  # no O_CREAT: the mode is unused
    assert _verdict(off, arch, nr["openat"], 3, 0, 0o20200002, 0o4755) == eperm  # O_TMPFILE
    assert _verdict(off, arch, 0) == allow
    assert _verdict(off, 0x40000003, nr["socket"], 2) == ("kill", 0)  # another ABI (i386 on x86_64)
    if machine == "x86_64":
        assert _verdict(off, arch, 0x40000000 | 41, 2) == ("kill", 0)  # x32
        assert _verdict(off, arch, nr["chmod"], 0, 0o4755) == eperm
        assert _verdict(off, arch, nr["open"], 0, 0o1101, 0o6755) == eperm
        assert _verdict(off, arch, nr["creat"], 0, 0o4755) == eperm
