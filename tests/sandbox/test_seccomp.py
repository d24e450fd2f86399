"""The built-in seccomp filter: present on the default install, with the right syscall numbers."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
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
    require(name is not None, "libseccomp", "apt-get install -y libseccomp2")
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
