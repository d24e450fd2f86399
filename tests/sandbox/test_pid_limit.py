"""As root without a writable cgroup (a container's read-only /sys/fs/cgroup), a sandbox's processes are
counted by its own PID namespace's pid_max (Linux 6.14+): exactly `max_processes` tasks, whatever their uid,
and nothing outside the sandbox is counted. Before 6.14 pid_max is the machine's: never written there."""

from __future__ import annotations

import sys
import textwrap

import pytest

from agentkit.sandbox import Policy, Sandbox, detect
from agentkit.sandbox.detect import probe

from .switches import switch_off_cgroups
from .test_attacks import FORK_LOOP

BACKENDS = [b for b in probe().available() if b in ("bwrap", "landlock", "rlimits")]


@pytest.fixture
def bounded_pid_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    if not probe().is_root:
        pytest.skip("the pid_max bound is root's (an ordinary user's count is RLIMIT_NPROC in a user namespace)")
    if not probe().root_pid_limit:
        pytest.skip(f"no PID namespace with a pid_max of its own here: {detect.pid_limit_error()}")
    switch_off_cgroups(monkeypatch)


def _host_pid_max() -> str:
    with open("/proc/sys/kernel/pid_max") as f:
        return f.read().strip()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_fork_loop_stops_at_exactly_the_limit(backend: str, bounded_pid_namespaces: None) -> None:
    host = _host_pid_max()
    policy = Policy(max_processes=40, wall_seconds=10, cpu_seconds=5)
    sandbox = Sandbox(policy, backend=backend, mode="best_effort")
    result = sandbox.run([sys.executable, "-S", "-I", "-c", textwrap.dedent(FORK_LOOP)])
    out = result.stdout.decode()
    assert out.startswith("stopped"), (out, result.stderr)
    made, errno = int(out.split()[1]), int(out.split()[2])
    # 40 tasks: the command and 39 children; under bwrap, its two processes take two of them
    assert (made, errno) == ((37 if backend == "bwrap" else 39), 11), out
    assert _host_pid_max() == host  # the host's own pid_max is untouched


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_limit_holds_after_many_short_lived_processes(backend: str, bounded_pid_namespaces: None) -> None:
    """pids wrap: after 300 allocations the kernel takes pids from 300 up; the bound is set for that range
    from the start, so a long test run that forked a thousand times still gets its full count, no more."""
    churn = """
    import os
    for _ in range(600):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    """
    sandbox = Sandbox(Policy(max_processes=40, wall_seconds=20, cpu_seconds=10), backend=backend, mode="best_effort")
    result = sandbox.run([sys.executable, "-S", "-I", "-c", textwrap.dedent(churn) + FORK_LOOP])
    assert result.stdout.decode().split()[:2] == ["stopped", "37" if backend == "bwrap" else "39"], result


def test_before_linux_6_14_pid_max_is_never_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """There pid_max is one value for the whole machine: the probe says no without starting anything."""

    class Old:
        release = "6.1.0-28-amd64"

    monkeypatch.setattr(detect.os, "uname", lambda: Old())
    monkeypatch.setattr(detect.subprocess, "run", lambda *a, **k: pytest.fail("nothing may run on an old kernel"))
    error = detect.pid_limit_error()
    assert error is not None and "Linux 6.1 has one pid_max for the machine" in error


def test_without_a_pid_limit_the_guarantees_say_what_counts() -> None:
    import dataclasses

    from agentkit.sandbox.detect import Layer
    from agentkit.sandbox.guarantees import guarantees

    off = Layer("cgroup", False, "read-only")
    bounded = dataclasses.replace(probe(), cgroup=off, is_root=True, root_pid_limit=True, setpriv="/usr/bin/setpriv")
    unbounded = dataclasses.replace(bounded, root_pid_limit=False)
    for backend in ("bwrap", "landlock"):
        assert "at most max_processes tasks in its PID namespace" in guarantees(bounded, backend)["processes"]
    assert "shared by every sandbox" in guarantees(unbounded, "bwrap")["processes"]


RAISE_THEN_FORK = """
import os
for path, value in (("/proc/sys/kernel/pid_max", b"32768"), ("/proc/sys/kernel/ns_last_pid", b"2")):
    try:
        fd = os.open(path, os.O_WRONLY)
        os.write(fd, value)
        print("raised", path)
    except OSError:
        pass
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_command_cannot_raise_its_own_limit(backend: str, bounded_pid_namespaces: None) -> None:
    """From 6.14 a process of host uid 0 may write its namespace's pid_max with no capability: root mapped into
    a user namespace (landlock and rlimits) is one. Landlock hides /proc; rlimits gets a read-only /proc/sys."""
    sandbox = Sandbox(Policy(max_processes=40, wall_seconds=10, cpu_seconds=5), backend=backend, mode="best_effort")
    result = sandbox.run([sys.executable, "-S", "-I", "-c", textwrap.dedent(RAISE_THEN_FORK) + FORK_LOOP])
    out = result.stdout.decode()
    assert "raised" not in out, out
    assert out.split()[:2] == ["stopped", "37" if backend == "bwrap" else "39"], (out, result.stderr)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_warm_worker_gets_its_whole_limit_on_every_call(backend: str, bounded_pid_namespaces: None) -> None:
    """What a call left is killed and reaped before the reply: a killed process that is not reaped yet (a
    zombie) still holds a pid, and would take it from the next call."""
    from agentkit.sandbox import WarmWorker

    from . import toolmods

    policy = Policy(max_processes=40, wall_seconds=20, cpu_seconds=10)
    with WarmWorker(policy, sandbox=Sandbox(backend=backend, mode="best_effort")) as worker:
        made = [worker.call(toolmods.__name__, "fork_many", {"count": 200, "hold": 30}) for _ in range(4)]
    assert len(set(made)) == 1 and 30 < made[0] < 40, made
