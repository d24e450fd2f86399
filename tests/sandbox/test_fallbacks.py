"""The fallbacks say what they do not hold: rlimits (which confines no files) is refused under mode
"required", warns once under "best_effort" and when chosen explicitly; `agentkit sandbox doctor` lists every
guarantee (files, network, processes, memory, uid) per backend as it is on this machine."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings

import pytest

from agentkit.errors import SandboxError
from agentkit.sandbox import detect
from agentkit.sandbox.detect import Layer, choose_backend, probe
from agentkit.sandbox.guarantees import ASPECTS, guarantees


@pytest.fixture
def only_rlimits(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as one with neither bubblewrap nor Landlock."""
    caps = dataclasses.replace(
        probe(), bwrap=Layer("bwrap", False, "missing"), landlock=Layer("landlock", False, "missing")
    )
    monkeypatch.setattr(detect, "probe", lambda: caps)
    monkeypatch.delenv(detect.BACKEND_ENV, raising=False)


def test_rlimits_is_refused_when_the_mode_is_required(only_rlimits: None) -> None:
    with pytest.raises(SandboxError, match=r"confines no files.*Refusing"):
        choose_backend("required")


def test_rlimits_warns_once_under_best_effort(only_rlimits: None) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert choose_backend("best_effort") == "rlimits"
    assert [str(w.message).count("confines no files") for w in caught] == [1]


def test_rlimits_chosen_explicitly_warns_once() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert choose_backend("required", "rlimits") == "rlimits"
    assert len(caught) == 1 and "confines no files" in str(caught[0].message)
    assert "chosen explicitly" in str(caught[0].message)


def test_the_cli_prints_one_warning_line_for_backend_rlimits(tmp_path: object) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "sandbox", "run", "--backend", "rlimits", "--", "true"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: The rlimits backend confines no files"), lines


def test_doctor_lists_every_guarantee_per_backend() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "sandbox", "doctor"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    listed: dict[str, list[str]] = {}
    current = ""
    for line in done.stdout.split("what each backend holds here:\n", 1)[1].splitlines():
        if line.startswith("    "):
            listed[current].append(line.split()[0])
        elif line.startswith("  "):
            current = line.strip()
            listed[current] = []
    assert listed == {backend: list(ASPECTS) for backend in probe().available()}
    assert "NOT confined" in done.stdout  # rlimits always says it


def test_without_seccomp_the_network_line_says_udp_leaves() -> None:
    caps = dataclasses.replace(probe(), seccomp=Layer("seccomp", False, "no seccomp here"))
    for backend in ("landlock", "rlimits"):
        line = guarantees(caps, backend)["network"]
        assert line.startswith("NOT off") and "UDP" in line and "no seccomp here" in line
    assert guarantees(caps, "bwrap")["network"].startswith("off unless granted")


def test_root_uid_lines_never_claim_root() -> None:
    caps = dataclasses.replace(probe(), is_root=True)
    for backend in ("bwrap", "landlock", "rlimits"):
        line = guarantees(caps, backend)["uid"]
        assert line.startswith("uid 65534") and "no capabilities" in line and "no_new_privs" in line


@pytest.mark.parametrize("backend", probe().available())
def test_the_environment_variable_forces_a_backend(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(detect.BACKEND_ENV, backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert choose_backend("required") == backend
        assert choose_backend("required", "rlimits") == "rlimits"  # an explicit choice still wins


def test_a_bad_forced_backend_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(detect.BACKEND_ENV, "docker")
    with pytest.raises(SandboxError, match="AGENTKIT_SANDBOX_BACKEND 'docker' is unknown; choose one of bwrap"):
        choose_backend("required")
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "sandbox", "run", "--", "true"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "AGENTKIT_SANDBOX_BACKEND 'docker' is unknown" in done.stderr
    assert "Traceback" not in done.stderr


def test_process_and_memory_lines_follow_the_cgroup() -> None:
    with_cgroup = dataclasses.replace(probe(), cgroup=Layer("cgroup", True, "v1"))
    without = dataclasses.replace(
        probe(),
        cgroup=Layer("cgroup", False, "read-only"),
        is_root=False,
        root_userns=False,
        own_userns=False,
        root_pidns=False,
        root_pid_limit=False,
    )
    for backend in ("bwrap", "landlock"):
        assert "cgroup of its own" in guarantees(with_cgroup, backend)["processes"]
        assert "shared memory and tmpfs" in guarantees(with_cgroup, backend)["memory"]
        assert "RLIMIT_AS" in guarantees(without, backend)["memory"]
    assert "can outlive the call" in guarantees(without, "landlock")["processes"]
    assert "no process outlives the call" in guarantees(without, "bwrap")["processes"]
    with_userns = dataclasses.replace(without, own_userns=True)
    assert "no process outlives the call" in guarantees(with_userns, "landlock")["processes"]
    assert "counts this sandbox's processes only" in guarantees(with_userns, "landlock")["processes"]
    assert "shared with your own processes" in guarantees(without, "landlock")["processes"]
    # root in a container that refuses unshare (no CAP_SYS_ADMIN): no namespace, and the doctor says so
    refused = dataclasses.replace(without, is_root=True)
    assert "can outlive the call" in guarantees(refused, "landlock")["processes"]
    assert "RLIMIT_NPROC of uid 65534, shared by every sandbox" in guarantees(refused, "landlock")["processes"]


def test_a_refused_user_namespace_is_named_by_its_errno(monkeypatch: pytest.MonkeyPatch) -> None:
    """The doctor's reason where root can make no user namespace (a container's seccomp profile) names the
    refusal, not "Exception occurred in preexec_fn"."""
    import errno
    import os

    from agentkit.sandbox import identity

    def refused(uid: int) -> None:
        raise OSError(errno.EPERM, "cannot create a user namespace")

    monkeypatch.setattr(identity, "enter_user_namespace", refused)  # the trial's child is a fork of this process
    assert detect._root_userns_error() == f"unshare(CLONE_NEWUSER): {os.strerror(errno.EPERM)}"
