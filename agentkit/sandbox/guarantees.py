"""What each backend holds on this machine, in words: files, network, processes, memory and uid.

`agentkit sandbox doctor` prints these lines for every backend that runs here, so a fallback says what
it does not hold. They are derived from the probe (`detect.Capabilities`), never assumed: without a
seccomp filter the lines say which sockets stay open, without a writable cgroup which counts are per uid
and where a daemon can outlive its call.
"""

from __future__ import annotations

import shutil
import sys

from agentkit.sandbox.detect import Capabilities
from agentkit.sandbox.identity import closed_step
from agentkit.sandbox.kernel import landlock_abi
from agentkit.sandbox.policy import MINIMAL_PATH

__all__ = ["ASPECTS", "guarantees"]

ASPECTS = ("files", "network", "processes", "memory", "uid")


def guarantees(caps: Capabilities, backend: str) -> dict[str, str]:
    """One line per aspect (see ASPECTS) for `backend` as it runs on the probed machine."""
    return {
        "files": _files(backend),
        "network": _network(caps, backend),
        "processes": _processes(caps, backend),
        "memory": _memory(caps, backend),
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
            " + seccomp (no socket of any family, Unix sockets included)" if seccomp else ""
        )
    if seccomp:
        return "off unless granted: seccomp refuses every socket (internet, UDP, netlink, packet and Unix)"
    tcp = "TCP refused by Landlock" if backend == "landlock" and _abi(caps) >= 4 else "TCP open"
    return f"NOT off: {tcp}, UDP and raw sockets leave the machine (no seccomp filter: {caps.seccomp.detail})"


def _processes(caps: Capabilities, backend: str) -> str:
    if caps.cgroup.ok:
        return (
            "a cgroup of its own per call or worker (pids.max): no sandbox can starve another or the agent, which "
            "stays outside; whatever a call leaves running (a daemon too) is killed when it ends"
        )
    own_namespace = backend == "bwrap" or caps.root_pidns or caps.own_userns
    if backend == "bwrap":
        lifetime = "a PID namespace (no process outlives the call)"
    elif own_namespace:
        lifetime = "the command is the init of its own PID namespace (no process outlives the call)"
    else:
        lifetime = "no PID namespace and no cgroup (a double-forked daemon can outlive the call)"
    return f"{lifetime}; {_process_count(caps, backend)}"


def _process_count(caps: Capabilities, backend: str) -> str:
    mapped = caps.setpriv is None if backend == "bwrap" else caps.root_userns
    if caps.is_root and caps.root_pid_limit:
        return (
            "at most max_processes tasks in its PID namespace (a pid_max of its own, whatever their uid): no sandbox "
            "can starve another or the agent"
        )
    if caps.is_root and mapped:
        return "no per-call count (host uid 0, mapped to uid 65534, is exempt from RLIMIT_NPROC)"
    if caps.is_root:
        return "RLIMIT_NPROC of uid 65534, shared by every sandbox on the machine"
    in_userns = shutil.which("prlimit", path=MINIMAL_PATH) is not None if backend == "bwrap" else caps.own_userns
    if in_userns:
        return "RLIMIT_NPROC set in a user namespace of its own, where it counts this sandbox's processes only"
    return "RLIMIT_NPROC of your uid, shared with your own processes"


def _memory(caps: Capabilities, backend: str) -> str:
    if caps.cgroup.ok:
        line = "a cgroup of its own per call or worker (memory limit, counting shared memory and tmpfs)"
    else:
        line = "RLIMIT_AS at 4x the memory limit per process (counts shared mappings, not tmpfs files)"
    if backend == "bwrap":
        line += "; the private /tmp and /dev/shm are sized at the memory limit (bubblewrap 0.10+)"
    return line


def _uid(caps: Capabilities, backend: str) -> str:
    if not caps.is_root:
        where = " in a user namespace" if backend == "bwrap" else ""
        nnp = ", no_new_privs" if backend != "rlimits" or caps.seccomp.ok else ""
        return f"your own uid{where}, no capabilities{nnp}"
    return _root_uid(caps, backend) + "; " + _owner_uid(caps, backend)


def _root_uid(caps: Capabilities, backend: str) -> str:
    if backend == "bwrap" and not caps.setpriv:
        return "uid 65534 in a user namespace mapped to root (no setpriv here), no capabilities, no_new_privs"
    if backend == "bwrap":
        return (
            "uid 65534 through setpriv (or, for a writable grant of root's folder, uid 65534 in a user namespace "
            "mapped to root), no capabilities, no_new_privs"
        )
    if not caps.root_userns:
        line = "uid 65534 on the host (setresuid: no user namespace can be made here), no capabilities, no_new_privs"
        closed = closed_step(sys.executable, 65534, 65534)
        if closed is not None:
            line += (
                f"; it CANNOT run this Python ({sys.executable}: {closed} is closed to it), so no sandboxed Python "
                "tool can run"
            )
        return line
    line = (
        "uid 65534 in a user namespace mapped to root (root's owner rights on what it can reach), no capabilities,"
        " no_new_privs"
    )
    if backend == "landlock" and _abi(caps) < 6:
        line += "; signals to root's own processes are NOT scoped (Landlock ABI < 6)"
    return line


def _owner_uid(caps: Capabilities, backend: str) -> str:
    """Who the command is for a writable grant of another user's folder (see `identity.grant_owner`)."""
    if backend == "bwrap" and not caps.setpriv:
        return "a writable grant of another user's folder is refused (that needs setpriv)"
    pidns = "in a PID namespace of its own" if caps.root_pidns else "with no PID namespace (none can be made here)"
    how = "through setpriv" if backend == "bwrap" else f"on the host (setresuid), {pidns}"
    line = f"for a writable grant of another user's folder: that user's uid {how}, no capabilities, no_new_privs"
    if backend == "rlimits":
        line += ", with that user's access to every file"
    return line


def _abi(caps: Capabilities) -> int:
    return landlock_abi() if caps.landlock.ok else 0
