"""A bubblewrap command starts from a launcher already waiting in its own cgroup (agentkit.sandbox.prejoined):
the same process becomes the command, with the call's rlimits and pipes; an unused launcher dies with its
launch, and none outlives the process that started it."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

import pytest

from agentkit.sandbox import Policy, Sandbox
from agentkit.sandbox.detect import probe
from agentkit.sandbox.prejoined import launchers

PY = os.path.realpath(sys.executable)
POLICY = Policy(cpu_seconds=5, wall_seconds=10, max_processes=48, memory_bytes=300 << 20)


@pytest.fixture
def sandbox() -> Sandbox:
    if "bwrap" not in probe().available():
        pytest.skip("bubblewrap does not run here")
    if launchers() is None:
        pytest.skip("no per-call cgroup here (not root, or no writable cgroup): nothing to start from")
    return Sandbox(POLICY, backend="bwrap")


def _ready_launch(sandbox: Sandbox, argv: list[str]):  # type: ignore[no-untyped-def]
    """A launch that got a waiting launcher (the first call of a kind only asks for one to be started)."""
    deadline = time.monotonic() + 10
    while True:
        launch = sandbox.launch(argv, cwd=None, policy=POLICY, prejoined=True)
        if launch.launcher is not None:
            return launch
        launch.release(wait=True)
        assert time.monotonic() < deadline, "no launcher became ready"
        time.sleep(0.05)


def test_the_waiting_launcher_becomes_the_command_with_its_limits_and_pipes(sandbox: Sandbox) -> None:
    program = (
        "import os, resource, sys\n"
        "print(os.getuid(), resource.getrlimit(resource.RLIMIT_CPU)[0], sys.stdin.read())\n"
        "print('to stderr', file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    launch = _ready_launch(sandbox, [PY, "-S", "-I", "-c", program])
    launcher = launch.launcher
    assert launcher is not None and launch.cgroup is launcher.group
    assert launch.cgroup.pids() == [launcher.proc.pid]  # it waits alone in the call's group
    proc = launch.start(stdin=subprocess.PIPE, stderr=subprocess.PIPE, what="test")
    try:
        assert proc.pid == launcher.proc.pid  # no second process: the launcher exec'd the command
        out, err = proc.communicate(b"input", timeout=20)
    finally:
        launch.release()
    uid = "65534" if os.geteuid() == 0 and probe().setpriv else str(os.getuid())
    assert out.split() == [uid.encode(), b"5", b"input"]  # the policy's CPU limit, set by the launcher
    assert b"to stderr" in err and proc.returncode == 3


def test_devnull_stdin_and_stderr_are_what_the_caller_asked_for(sandbox: Sandbox) -> None:
    program = "import sys; print(repr(sys.stdin.read())); print('lost', file=sys.stderr)"
    launch = _ready_launch(sandbox, [PY, "-S", "-I", "-c", program])
    proc = launch.start(stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, what="test")
    try:
        assert proc.stdin is None and proc.stderr is None
        out, _ = proc.communicate(timeout=20)
    finally:
        launch.release()
    assert out.strip() == b"''" and proc.returncode == 0


def test_a_command_that_cannot_start_is_reported_like_any_other(sandbox: Sandbox) -> None:
    sandbox.run([PY, "-S", "-I", "-c", "pass"])  # asks for a launcher of this kind
    result = sandbox.run(["/nonexistent/program"])
    assert result.returncode == 127 and b"/nonexistent/program" in result.stderr


def test_a_launch_released_unstarted_takes_its_launcher_and_group_with_it(sandbox: Sandbox) -> None:
    launch = _ready_launch(sandbox, [PY, "-S", "-I", "-c", "pass"])
    assert launch.launcher is not None and launch.cgroup is not None
    proc = launch.launcher.proc
    launch.release(wait=True)
    assert proc.poll() is not None  # killed and reaped
    assert launch.cgroup is None and launch.launcher is None


def test_no_launcher_outlives_the_process_that_started_it(sandbox: Sandbox) -> None:
    program = (
        "import os, sys, time\n"
        "from agentkit.sandbox import Policy, Sandbox\n"
        "from agentkit.sandbox.prejoined import launchers\n"
        "sandbox = Sandbox(Policy(max_processes=33), backend='bwrap')\n"
        "sandbox.run([sys.executable, '-S', '-I', '-c', 'pass'])\n"
        "deadline = time.monotonic() + 10\n"
        "while not launchers().waiting() and time.monotonic() < deadline:\n"
        "    time.sleep(0.02)\n"
        "print(*launchers().waiting().values())\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True)
    pids = [int(pid) for pid in out.stdout.split()]
    assert pids, out.stderr
    time.sleep(0.2)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_runner_starts_from_waiting_launchers(sandbox: Sandbox) -> None:
    """`Sandbox.run` asks for them: after a first call of a kind, a launcher waits for the next one."""
    sandbox.run([PY, "-S", "-I", "-c", "pass"])
    pool = launchers()
    assert pool is not None
    key = (POLICY.max_processes, POLICY.memory_bytes)
    deadline = time.monotonic() + 10
    while key not in pool.waiting():
        assert time.monotonic() < deadline, "no launcher waits after a call"
        time.sleep(0.02)
    launcher_pid = pool.waiting()[key]
    assert sandbox.run([PY, "-S", "-I", "-c", "print('ran')"]).stdout == b"ran\n"
    assert pool.waiting().get(key) != launcher_pid  # the waiting one became that call
    assert resource.getrlimit(resource.RLIMIT_CPU)[0] != 5  # the call's limits never touched this process


def test_a_command_line_of_hundreds_of_kilobytes_starts_from_a_launcher(sandbox: Sandbox) -> None:
    """What a plain exec carries, a launcher carries too: the request travels in a memfd, not in one socket
    message (which refused 300 KB with EMSGSIZE)."""
    args = [str(i) * 100_000 for i in range(6)]  # distinct strings: marshal cannot share them
    launch = _ready_launch(sandbox, [PY, "-S", "-I", "-c", "import sys; print(sum(map(len, sys.argv[1:])))", *args])
    proc = launch.start(stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, what="test")
    try:
        out, err = proc.communicate(timeout=20)
    finally:
        launch.release()
    assert out.strip() == b"600000", err
