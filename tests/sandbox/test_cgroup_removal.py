"""A sandbox's cgroup after its call: what is inside dies at once, the group goes soon after."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from agentkit.sandbox.cgroup import SandboxCgroup, cgroup_support, join


def _group_with_a_sleeper() -> tuple[SandboxCgroup, subprocess.Popen[bytes]]:
    if not cgroup_support()[0]:
        pytest.skip(f"no cgroup can be made here: {cgroup_support()[1]}")
    group = SandboxCgroup.create(pids_max=16, memory_bytes=256 << 20)
    assert group is not None
    procs = group.procs_files
    sleeper = subprocess.Popen(["sleep", "1000"], preexec_fn=lambda: join(procs))
    assert group.pids() == [sleeper.pid]
    return group, sleeper


def test_remove_soon_kills_now_and_deletes_the_group_shortly_after() -> None:
    group, sleeper = _group_with_a_sleeper()
    dirs = list(group.dirs)
    group.remove_soon()
    assert sleeper.wait(timeout=2) == -9  # SIGKILLed before remove_soon returned, not at some later point
    deadline = time.monotonic() + 5
    while any(os.path.exists(d) for d in dirs) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(os.path.exists(d) for d in dirs)


def test_remove_waits_until_the_group_is_gone() -> None:
    group, sleeper = _group_with_a_sleeper()
    dirs = list(group.dirs)
    group.remove()
    assert not any(os.path.exists(d) for d in dirs) and group.dirs == []
    assert sleeper.wait(timeout=2) == -9
