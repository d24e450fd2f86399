"""A sandbox's cgroup after its call: what is inside dies at once; the emptied group serves a later call
(a few are kept) or goes, and none outlives the process that made it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from agentkit.sandbox.cgroup import SandboxCgroup, cgroup_support, join


def _group_with_a_sleeper(pids_max: int = 16) -> tuple[SandboxCgroup, subprocess.Popen[bytes]]:
    if not cgroup_support()[0]:
        pytest.skip(f"no cgroup can be made here: {cgroup_support()[1]}")
    group = SandboxCgroup.create(pids_max=pids_max, memory_bytes=256 << 20)
    assert group is not None
    procs = group.procs_files
    sleeper = subprocess.Popen(["sleep", "1000"], preexec_fn=lambda: join(procs))
    assert group.pids() == [sleeper.pid]
    return group, sleeper


def _pids_max(group: SandboxCgroup) -> str:
    path = next(d for d in group.dirs if "memory" not in os.path.relpath(d, "/sys/fs/cgroup").split(os.sep)[0])
    with open(os.path.join(path, "pids.max")) as fh:
        return fh.read().strip()


def test_recycle_kills_now_and_hands_the_emptied_group_to_the_next_call() -> None:
    group, sleeper = _group_with_a_sleeper()
    dirs = list(group.dirs)
    group.recycle()
    assert sleeper.wait(timeout=2) == -9  # SIGKILLed before recycle returned, not at some later point
    deadline = time.monotonic() + 5
    again = None
    while again is None or again.dirs != dirs:
        assert time.monotonic() < deadline, "the emptied group was never handed out again"
        if again is not None:
            again.remove()
        time.sleep(0.01)
        again = SandboxCgroup.create(pids_max=7, memory_bytes=128 << 20)
        assert again is not None
    assert again.pids() == []  # nothing of the last call is inside
    assert _pids_max(again) == "7"  # and it holds the new call's limits
    again.remove()
    assert not any(os.path.exists(d) for d in dirs)


def test_remove_waits_until_the_group_is_gone() -> None:
    group, sleeper = _group_with_a_sleeper()
    dirs = list(group.dirs)
    group.remove()
    assert not any(os.path.exists(d) for d in dirs) and group.dirs == []
    assert sleeper.wait(timeout=2) == -9


def test_no_kept_group_outlives_the_process_that_made_it() -> None:
    if not cgroup_support()[0]:
        pytest.skip(f"no cgroup can be made here: {cgroup_support()[1]}")
    program = (
        "import subprocess\n"
        "from agentkit.sandbox.cgroup import SandboxCgroup, join\n"
        "groups = [SandboxCgroup.create(pids_max=8, memory_bytes=64 << 20) for _ in range(6)]\n"
        "for g in groups:\n"
        "    subprocess.run(['true'], preexec_fn=lambda g=g: join(g.procs_files))\n"
        "    print(*g.dirs)\n"
        "for g in groups:\n"
        "    g.recycle()\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True)
    dirs = out.stdout.split()
    assert len(dirs) >= 6
    assert not [d for d in dirs if os.path.exists(d)]
