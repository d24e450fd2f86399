"""What each backend holds on this machine, in words: files, network, processes, memory and uid.

`agentkit sandbox doctor` prints these lines for every backend that runs here, so a fallback says what
it does not hold. They are derived from the probe (`detect.Capabilities`), never assumed: without a
seccomp filter the lines say which sockets stay open, without a writable cgroup which counts are per uid.
"""

from __future__ import annotations

from agentkit.sandbox.detect import Capabilities
from agentkit.sandbox.kernel import landlock_abi

__all__ = ["ASPECTS", "guarantees"]

ASPECTS = ("files", "network", "processes", "memory", "uid")


def guarantees(caps: Capabilities, backend: str) -> dict[str, str]:
    """One line per aspect (see ASPECTS) for `backend` as it runs on the probed machine."""
    return {
        "files": _files(backend),
        "network": _network(caps, backend),
        "processes": _processes(caps, backend),
        "memory": _memory(caps),
        "uid": _uid(caps, backend),
    }


def _files(backend: str) -> str:
    if backend == "bwrap":
        return "confined: the system folders and the interpreter read-only, grants as declared, a private /tmp"
    if backend == "landlock":
        return (
            "confined by Landlock: reads of the system folders, the interpreter and grants; writes only to grants"
            " and a private TMPDIR"
        )
    return "NOT confined: the command reads and writes whatever its uid may (as root: root's files)"


def _network(caps: Capabilities, backend: str) -> str:
    seccomp = caps.seccomp.ok
    if backend == "bwrap":
        return "off unless granted: a private network namespace (no packet leaves it)" + (
            " + seccomp" if seccomp else ""
        )
    if seccomp:
        return "off unless granted: seccomp refuses internet, netlink and packet sockets"
    tcp = "TCP refused by Landlock" if backend == "landlock" and _abi(caps) >= 4 else "TCP open"
    return f"NOT off: {tcp}, UDP and raw sockets leave the machine (no seccomp filter: {caps.seccomp.detail})"


def _processes(caps: Capabilities, backend: str) -> str:
    if caps.is_root and backend != "bwrap" and caps.root_userns:
        count = "no per-call count (RLIMIT_NPROC never binds a process root owns on the host)"
    elif caps.is_root and backend != "bwrap":
        count = "RLIMIT_NPROC of uid 65534, shared by every sandbox on the machine"
    elif caps.is_root and not caps.setpriv:
        count = "no per-call count (root is mapped to uid 65534, and RLIMIT_NPROC never binds root)"
    elif caps.is_root:
        count = (
            "RLIMIT_NPROC of uid 65534, shared by every sandbox on the machine (none where a writable grant of"
            " root's folder maps root to it)"
        )
    else:
        count = "RLIMIT_NPROC of your uid, shared with your own processes"
    if caps.cgroup.ok:
        count += "; an agent run's cgroup caps them all (pids.max)"
    if backend == "bwrap":
        return f"a PID namespace (no process outlives the call); {count}"
    return f"no PID namespace (a double-forked daemon can outlive the call); {count}"


def _memory(caps: Capabilities) -> str:
    line = "RLIMIT_DATA per process (shared mappings and tmpfs files are not counted)"
    if caps.cgroup.ok:
        line += "; an agent run's cgroup caps the total (memory.max)"
    return line


def _uid(caps: Capabilities, backend: str) -> str:
    if not caps.is_root:
        where = " in a user namespace" if backend == "bwrap" else ""
        nnp = ", no_new_privs" if backend != "rlimits" or caps.seccomp.ok else ""
        return f"your own uid{where}, no capabilities{nnp}"
    if backend == "bwrap" and not caps.setpriv:
        return "uid 65534 in a user namespace mapped to root (no setpriv here), no capabilities, no_new_privs"
    if backend == "bwrap":
        return (
            "uid 65534 through setpriv (or, for a writable grant of root's folder, uid 65534 in a user namespace "
            "mapped to root), no capabilities, no_new_privs"
        )
    if not caps.root_userns:
        return "uid 65534 on the host (setresuid: no user namespace can be made here), no capabilities, no_new_privs"
    line = (
        "uid 65534 in a user namespace mapped to root (root's owner rights on what it can reach), no capabilities,"
        " no_new_privs"
    )
    if backend == "landlock" and _abi(caps) < 6:
        line += "; signals to root's own processes are NOT scoped (Landlock ABI < 6)"
    return line


def _abi(caps: Capabilities) -> int:
    return landlock_abi() if caps.landlock.ok else 0
