"""As root, a writable grant of another user's folder works: the command runs as that folder's owner.

`--rw /home/alice/project` or `Needs(write_paths=...)` of a folder of uid 4242's: the command is uid 4242
(never root, no capabilities, no_new_privs), what it writes there belongs to 4242, and a folder of root's that
was not granted stays closed. Grants of two different owners are refused with one error naming both. No host
path changes owner or mode: every folder here is made by the test in a temp dir of its own, and only those
are chowned (standing in for another user's).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.errors import SandboxError
from agentkit.sandbox import Policy, Sandbox, SandboxExecutor
from agentkit.sandbox.detect import probe
from agentkit.sandbox.identity import grant_owner
from agentkit.tooling import Needs, Tool

from . import toolmods
from .cli import sandbox_run_rw_dot

BACKENDS = [b for b in probe().available() if b in ("bwrap", "landlock", "rlimits")]
ISOLATING = [b for b in BACKENDS if b != "rlimits"]
ALICE, BOB = 4242, 4243  # no such users here: uids nothing else owns
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="checks whom root runs sandboxed code as")


@pytest.fixture
def shared() -> Iterator[Path]:
    """A temp dir of the test's own beneath /tmp that other uids may pass through (pytest's tmp_path sits
    beneath a 0700 folder of root's, which a command run as another user on the host could not reach)."""
    parent = tempfile.mkdtemp(prefix="agentkit-owner-test-")
    try:
        os.chmod(parent, 0o711)
        yield Path(parent)
    finally:
        shutil.rmtree(parent)


def folder(parent: Path, name: str, uid: int = 0) -> Path:
    path = parent / name
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    if uid:
        os.chown(path, uid, uid)  # the test's own folder, standing in for another user's
    return path


def sandbox(backend: str, *write_paths: Path) -> Sandbox:
    policy = Policy(cpu_seconds=5, wall_seconds=20, write_paths=tuple(str(p) for p in write_paths))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rlimits warns that it confines no files: test_fallbacks checks that
        return Sandbox(policy, backend=backend, mode="best_effort")


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the command is `pid` itself where no PID namespace's monitor is)."""
    found, todo = [pid], [pid]
    while todo:
        here = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{here}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(k) for k in Path(f"/proc/{here}/task/{task}/children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_users_folder_is_written_as_that_user_without_privileges(backend: str, shared: Path) -> None:
    alice = folder(shared, "alice", ALICE)
    roots = folder(shared, "roots")  # root's, not granted
    before = os.stat(alice)
    box = sandbox(backend, alice)
    script = f"id -u; id -g; echo hi > {alice}/written.txt; (echo x > {roots}/x) 2>/dev/null || echo refused; read _"
    spec = box.launch(["/bin/sh", "-c", script], cwd=None, policy=box.policy)
    proc = spec.start(stdin=subprocess.PIPE, stderr=subprocess.PIPE, what="sh")
    try:
        deadline = time.monotonic() + 15
        while not (alice / "written.txt").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        # read from outside: Landlock keeps /proc closed to the command itself
        inside = [s for s in map(status, descendants(proc.pid)) if s.get("Uid", "").split()[:1] == [str(ALICE)]]
        out, err = proc.communicate(b"\n", timeout=20)
    finally:
        proc.kill()
        proc.wait()
        spec.release(wait=True)
    assert proc.returncode == 0 and out.decode().split() == [str(ALICE), str(ALICE), "refused"], (out, err)
    assert inside, "the command was not found running as the folder's owner"
    for seen in inside:
        assert seen["Uid"].split() == [str(ALICE)] * 4 and seen["Gid"].split() == [str(ALICE)] * 4
        assert seen["CapEff"] == seen["CapPrm"] == seen["CapAmb"] == "0" * 16, seen
        assert seen["NoNewPrivs"] == "1" and seen["Groups"].split() in ([], [str(ALICE)])
    written = (alice / "written.txt").stat()
    assert (written.st_uid, written.st_gid) == (ALICE, ALICE)  # the user's, as they expect
    assert not (roots / "x").exists()
    after = os.stat(alice)
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grants_of_two_owners_are_refused_naming_both(backend: str, shared: Path) -> None:
    alice, bob, roots = folder(shared, "alice", ALICE), folder(shared, "bob", BOB), folder(shared, "roots")
    for pair, names in (((alice, bob), (ALICE, BOB)), ((roots, alice), (0, ALICE))):
        box = sandbox(backend, *pair)
        with pytest.raises(SandboxError, match="grant the folders of one user per call") as info:
            box.run(["/bin/sh", "-c", "echo ran > ran.txt"], cwd=str(pair[1]))
        message = str(info.value)
        assert all(str(p) in message for p in pair) and all(f"uid {n}" in message for n in names), message
        assert "never changes the owner" in message
    assert not any(p.name == "ran.txt" for p in shared.rglob("*"))
    assert (alice.stat().st_uid, bob.stat().st_uid, roots.stat().st_uid) == (ALICE, BOB, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_scratch_copy_of_ours_is_handed_to_the_owner_the_command_runs_as(backend: str, shared: Path) -> None:
    alice = folder(shared, "alice", ALICE)
    scratch = Path(tempfile.mkdtemp(dir=shared))  # ours, root's and 0700, as a scratch copy starts
    (scratch / "sub").mkdir()
    box = sandbox(backend, alice, scratch)
    box.hand_over(str(scratch))
    assert scratch.stat().st_uid == (scratch / "sub").stat().st_uid == ALICE
    done = box.run(["/bin/sh", "-c", f"echo a > {alice}/a.txt && echo s > {scratch}/sub/s.txt && echo t > $TMPDIR/t"])
    assert done.returncode == 0, done.stderr
    assert (alice / "a.txt").stat().st_uid == (scratch / "sub" / "s.txt").stat().st_uid == ALICE


@pytest.mark.parametrize("backend", ISOLATING)
def test_a_tool_writes_another_users_declared_folder_as_that_user(backend: str, shared: Path) -> None:
    alice = folder(shared, "alice", ALICE)
    writer = Tool.from_function(toolmods.write_file, needs=Needs(isolated=True, write_paths=(str(alice),)))

    async def scenario() -> object:
        async with SandboxExecutor(backend=backend) as executor:
            return await executor.execute(writer, {"path": str(alice / "out.txt"), "text": "from the tool"})

    python = os.path.realpath(sys.executable)
    if backend != "bwrap" and not _reachable(python, ALICE):  # on the host's files, as uid 4242
        with pytest.raises(SandboxError, match="cannot reach") as info:
            asyncio.run(scenario())
        assert python in str(info.value) and f"uid {ALICE}" in str(info.value)
        return
    assert asyncio.run(scenario()) == len("from the tool")
    assert (alice / "out.txt").read_text() == "from the tool" and (alice / "out.txt").stat().st_uid == ALICE


def _reachable(path: str, uid: int) -> bool:
    done = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "test", "-x", path])
    return done.returncode == 0


def test_bwrap_without_setpriv_refuses_another_users_folder_by_name(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "bwrap" not in BACKENDS:
        pytest.skip("bwrap does not run here")
    from agentkit.sandbox import detect, runner

    caps = dataclasses.replace(probe(), setpriv=None)
    monkeypatch.setattr(detect, "probe", lambda: caps)
    monkeypatch.setattr(runner, "probe", lambda: caps)
    alice = folder(shared, "alice", ALICE)
    with pytest.raises(SandboxError, match=f"uid {ALICE}.*setpriv"):
        sandbox("bwrap", alice).run(["/bin/true"])


def test_the_group_is_one_the_owner_has_never_root_s(shared: Path) -> None:
    """The folder's group when the owner has it, else the owner's primary group; group 0 never."""
    unknown_in_roots_group = folder(shared, "a")
    os.chown(unknown_in_roots_group, ALICE, 0)
    assert grant_owner(Policy(write_paths=(str(unknown_in_roots_group),))) == (ALICE, 65534)
    odd = folder(shared, "b", ALICE)
    os.chown(odd, ALICE, 4244)  # a group with no name, of an unknown user: the folder's own
    assert grant_owner(Policy(write_paths=(str(odd),))) == (ALICE, 4244)


def test_the_cli_rw_of_another_users_folder_writes_as_that_user(shared: Path) -> None:
    alice = folder(shared, "alice", ALICE)
    done = sandbox_run_rw_dot(alice, "id -u > written.txt")
    assert done.returncode == 0, done.stderr
    assert (alice / "written.txt").read_text() == f"{ALICE}\n" and (alice / "written.txt").stat().st_uid == ALICE


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_as_the_owner_it_cannot_signal_that_users_other_processes(backend: str, shared: Path) -> None:
    """The owner's own process (started here as uid 4242) is out of the command's reach: the command is in a
    PID namespace of its own on every backend (and Landlock ABI 6 scopes its signals on top). Where no PID
    namespace can be made (a container's defaults), only Landlock's scoping holds: rlimits says so."""
    if backend == "rlimits" and not probe().root_pidns:
        pytest.skip("no PID namespace can be made here: rlimits, which confines nothing, then reaches them")
    alice = folder(shared, "alice", ALICE)
    other = subprocess.Popen(["setpriv", f"--reuid={ALICE}", f"--regid={ALICE}", "--clear-groups", "sleep", "30"])
    try:
        script = f"kill -0 {other.pid} 2>/dev/null && echo reached; kill -9 {other.pid} 2>/dev/null; echo done"
        done = sandbox(backend, alice).run(["/bin/sh", "-c", script])
        assert done.stdout.decode().split() == ["done"], done
        assert other.poll() is None  # still running
    finally:
        other.kill()
        other.wait()


def test_doctor_says_whom_another_users_folder_runs_as() -> None:
    from agentkit.sandbox.guarantees import guarantees

    caps = dataclasses.replace(probe(), is_root=True)
    for backend in ("bwrap", "landlock", "rlimits"):
        line = guarantees(caps, backend)["uid"]
        owner = line.split("; for a writable grant of another user's folder: ", 1)[1]
        assert owner.startswith("that user's uid") and "no capabilities" in owner and "no_new_privs" in owner
    without = dataclasses.replace(caps, setpriv=None)
    assert "another user's folder is refused" in guarantees(without, "bwrap")["uid"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_folder_anyone_may_write_still_runs_as_its_owner(backend: str, shared: Path) -> None:
    alice = folder(shared, "alice", ALICE)
    alice.chmod(0o777)
    done = sandbox(backend, alice).run(["/bin/sh", "-c", f"echo hi > {alice}/written.txt"])
    assert done.returncode == 0, done.stderr
    assert (alice / "written.txt").stat().st_uid == ALICE
