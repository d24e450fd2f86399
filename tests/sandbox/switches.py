"""What the tests switch off to stand for another machine: here, one whose cgroup hierarchy is read-only (a
container's /sys/fs/cgroup), on a machine where cgroups can be made."""

from __future__ import annotations

import pytest


def switch_off_cgroups(monkeypatch: pytest.MonkeyPatch) -> None:
    """No per-call cgroup, and no launcher waiting in one (bwrap calls would otherwise still start there)."""
    import agentkit.sandbox.cgroup
    import agentkit.sandbox.launch

    monkeypatch.setattr(agentkit.sandbox.cgroup, "cgroup_support", lambda: (False, "switched off by the test"))
    monkeypatch.setattr(agentkit.sandbox.launch, "launchers", lambda: None)
