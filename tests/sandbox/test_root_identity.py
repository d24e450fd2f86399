"""Root is not a privilege inside, and grants and temp dirs work for the user the sandbox runs code as.

As root, every backend runs the command as uid 65534 without capabilities and with no_new_privs; a writable
grant of root's own folder (`--rw .`, `Needs.write_paths`) works without any host path changing owner or
mode (another user's folder: see test_owner_grants.py); every call gets a private writable TMPDIR that is
gone afterwards. Every folder used here is created by the test in its tmp dir.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import pytest

from agentkit.errors import SandboxError
from agentkit.sandbox import Policy, Sandbox, SandboxExecutor
from agentkit.sandbox.detect import probe
from agentkit.sandbox.identity import hand_over
from agentkit.tooling import Needs, Tool

from . import toolmods
from .cli import sandbox_run_rw_dot

PY = os.path.realpath(sys.executable)
BACKENDS = [b for b in probe().available() if b in ("bwrap", "landlock", "rlimits")]
ISOLATING = [b for b in BACKENDS if b != "rlimits"]
ROOT = os.geteuid() == 0
as_root = pytest.mark.skipif(not ROOT, reason="checks what root becomes inside the sandbox")

WHO = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
try:
    os.setuid(0)
    print("setuid0 worked")
except OSError:  # EPERM, or EINVAL where uid 0 is not mapped in the sandbox's user namespace
    print("setuid0 refused")
print("uid", os.getuid(), os.geteuid(), "nnp", libc.prctl(39, 0, 0, 0, 0))
"""


def run(backend: str, code: str, *, cwd: Path | None = None, **grants: object) -> tuple[int, str, str]:
    policy = Policy(cpu_seconds=5, wall_seconds=20, **grants)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rlimits warns that it confines no files: test_fallbacks checks that
        sandbox = Sandbox(policy, backend=backend, mode="best_effort")
    result = sandbox.run([PY, "-S", "-c", textwrap.dedent(code)], cwd=str(cwd) if cwd else None)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def root_mapping_or_skip(backend: str | None = None) -> None:
    """Writing a folder of root's as root takes bwrap, or a user namespace that maps root to the sandbox uid.
    Where none can be made (a container's defaults), landlock and rlimits run as uid 65534 on the host and refuse
    such a grant with a clear error (test_without_user_namespaces_root_becomes_the_sandbox_uid_on_the_host)."""
    from agentkit.sandbox.detect import choose_backend

    if ROOT and (backend or choose_backend("best_effort")) != "bwrap" and not probe().root_userns:
        pytest.skip("no user namespace here: a root-owned writable grant is refused as root (by design)")


def root_folder(tmp_path: Path, name: str) -> Path:
    """A folder of root's (the test's own) that uid 65534 may not write: 0755."""
    folder = tmp_path / name
    folder.mkdir()
    folder.chmod(0o755)
    return folder


@as_root
@pytest.mark.parametrize("backend", BACKENDS)
def test_root_runs_as_an_unprivileged_uid_with_no_new_privs(backend: str) -> None:
    code, out, err = run(backend, WHO)
    assert code == 0, err
    assert "setuid0 refused" in out and "uid 65534 65534 nnp 1" in out, out


@as_root
@pytest.mark.parametrize("backend", ISOLATING)
def test_rw_of_roots_own_folder_works_and_changes_no_owner(backend: str, tmp_path: Path) -> None:
    root_mapping_or_skip(backend)
    folder = root_folder(tmp_path, "project")
    before = os.stat(folder)
    prog = WHO + "open('written.txt', 'w').write('ok')\n"
    code, out, err = run(backend, prog, cwd=folder, write_paths=(str(folder),))
    assert code == 0, err
    assert "uid 65534 65534 nnp 1" in out and "setuid0 refused" in out
    assert (folder / "written.txt").read_text() == "ok"
    after = os.stat(folder)
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)
    assert (folder / "written.txt").stat().st_uid == 0  # what it writes is root's, not a stranger's


@as_root
@pytest.mark.parametrize("backend", ISOLATING)
def test_a_root_mapped_sandbox_cannot_read_root_only_files(backend: str, tmp_path: Path) -> None:
    root_mapping_or_skip(backend)
    if not os.path.exists("/etc/shadow"):
        pytest.skip("no /etc/shadow here")
    folder = root_folder(tmp_path, "project")
    prog = """
    try:
        open('/etc/shadow').read()
        print('READ')
    except OSError as exc:
        print('refused', exc.errno)
    """
    _code, out, err = run(backend, prog, write_paths=(str(folder),))
    assert out.startswith("refused"), (out, err)


def test_the_cli_rw_dot_works_as_root_or_not(tmp_path: Path) -> None:
    root_mapping_or_skip()
    folder = root_folder(tmp_path, "cwd")
    done = sandbox_run_rw_dot(folder, "echo hi > written.txt")
    assert done.returncode == 0, done.stderr
    assert (folder / "written.txt").read_text() == "hi\n"


@pytest.mark.parametrize("backend", ISOLATING)
def test_a_tool_writes_its_declared_scratch(backend: str, tmp_path: Path) -> None:
    root_mapping_or_skip(backend)
    scratch = root_folder(tmp_path, "scratch")
    writer = Tool.from_function(toolmods.write_file, needs=Needs(isolated=True, write_paths=(str(scratch),)))

    async def scenario() -> object:
        async with SandboxExecutor(backend=backend) as executor:
            return await executor.execute(writer, {"path": str(scratch / "out.txt"), "text": "from the tool"})

    assert asyncio.run(scenario()) == len("from the tool")
    assert (scratch / "out.txt").read_text() == "from the tool"


TEMP = """
import os, tempfile
path = tempfile.gettempdir()
with tempfile.NamedTemporaryFile(delete=False) as fh:
    fh.write(b"x")
print(path, os.environ["TMPDIR"], os.path.dirname(fh.name))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_call_gets_a_private_writable_temp_dir_removed_after(backend: str) -> None:
    first = run(backend, TEMP)
    second = run(backend, TEMP)
    assert first[0] == 0 and second[0] == 0, (first[2], second[2])
    dirs = [first[1].split(), second[1].split()]
    for gettempdir, env, used in dirs:
        assert gettempdir == env == used
    if backend != "bwrap":  # bubblewrap's /tmp is a tmpfs of the call's own, gone with it
        assert dirs[0][0] != dirs[1][0]
        assert not os.path.exists(dirs[0][0]) and not os.path.exists(dirs[1][0])


@as_root
def test_hand_over_leaves_hard_links_and_symlink_targets_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "own.txt").write_text("mine")
    os.link(outside, scratch / "linked.txt")
    (scratch / "sym").symlink_to(outside)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "inner.txt").write_text("keep")
    (scratch / "dirlink").symlink_to(elsewhere, target_is_directory=True)
    (scratch / "sub").mkdir()
    (scratch / "sub" / "deep.txt").write_text("mine")
    hand_over(str(scratch), 65534)
    assert (scratch / "own.txt").stat().st_uid == 65534 and scratch.stat().st_uid == 65534
    assert (scratch / "sub").stat().st_uid == 65534 and (scratch / "sub" / "deep.txt").stat().st_uid == 65534
    assert outside.stat().st_uid == 0  # neither the hard link nor the symlink passed ownership on
    assert elsewhere.stat().st_uid == 0 and (elsewhere / "inner.txt").stat().st_uid == 0
    assert os.lstat(scratch / "sym").st_uid == 65534


@as_root
def test_without_setpriv_bwrap_maps_root_to_the_sandbox_uid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "bwrap" not in BACKENDS:
        pytest.skip("bwrap does not run here")
    import dataclasses

    from agentkit.sandbox import detect, runner
    from agentkit.tools.edit import Workspace

    caps = dataclasses.replace(probe(), setpriv=None)
    monkeypatch.setattr(detect, "probe", lambda: caps)
    monkeypatch.setattr(runner, "probe", lambda: caps)
    _code, out, err = run("bwrap", WHO + "print('shadow', os.path.exists('/etc/shadow'))")
    assert "uid 65534 65534 nnp 1" in out and "setuid0 refused" in out, (out, err)
    assert "shadow False" in out  # mapped to root, the sandbox sees /etc file by file
    repo = root_folder(tmp_path, "repo")
    (repo / "a.txt").write_text("a\n")
    with Workspace(str(repo), scratch_parent=str(tmp_path)) as ws:
        done = ws.run("echo b >> a.txt && id -u")
        assert done["exit_code"] == 0, done
        assert done["stdout"].strip() == "65534" and ws.read_text("a.txt") == "a\nb\n"
        assert os.stat(os.path.join(ws.path, "a.txt")).st_uid == 0  # nothing was handed over


@pytest.mark.parametrize("backend", ISOLATING)
def test_a_warm_worker_gives_every_call_an_empty_temp_dir(backend: str) -> None:
    from . import tempfile_tools

    needs = Needs(isolated=True)
    leave = Tool.from_function(tempfile_tools.leave_a_temp_file, needs=needs)
    exists = Tool.from_function(tempfile_tools.exists, needs=needs)

    async def scenario() -> tuple[object, object, object]:
        async with SandboxExecutor(backend=backend) as executor:
            first = await executor.execute(leave, {})
            second = await executor.execute(leave, {})
            return first, second, await executor.execute(exists, {"path": first})

    first, second, first_still_there = asyncio.run(scenario())
    assert first != second and os.path.dirname(str(first)) == os.path.dirname(str(second))
    assert first_still_there is False  # what one call left there is gone before the next one runs


@as_root
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "bwrap"])
def test_without_user_namespaces_root_becomes_the_sandbox_uid_on_the_host(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in a container runtime that refuses unshare: a real uid drop, and our scratch copy handed over."""
    import dataclasses

    from agentkit.sandbox import detect, runner
    from agentkit.tools.edit import Workspace

    caps = dataclasses.replace(probe(), root_userns=False)
    monkeypatch.setattr(detect, "probe", lambda: caps)
    monkeypatch.setattr(runner, "probe", lambda: caps)
    monkeypatch.setenv(detect.BACKEND_ENV, backend)
    repo = root_folder(tmp_path, "repo")
    (repo / "a.txt").write_text("a\n")
    parent = tempfile.mkdtemp(prefix="agentkit-test-")  # beneath /tmp: uid 65534 can reach it, unlike tmp_path
    try:
        os.chmod(parent, 0o711)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Workspace(str(repo), scratch_parent=parent) as ws:
                done = ws.run('echo b >> a.txt && echo new > new.txt && echo t > "$TMPDIR/t" && id -u')
                assert done["exit_code"] == 0, (done["stdout"], done["stderr"])
                assert done["stdout"].split() == ["65534"] and ws.read_text("a.txt") == "a\nb\n"
                assert os.stat(os.path.join(ws.path, "new.txt")).st_uid == 65534  # no user namespace: the real uid
            with pytest.raises(SandboxError, match="uid 65534, which may not write"):
                run(backend, "pass", write_paths=(str(root_folder(tmp_path, "roots")),))
    finally:
        shutil.rmtree(parent)


@as_root
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "bwrap"])
def test_without_user_namespaces_a_program_the_sandbox_uid_cannot_reach_is_refused_clearly(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container that refuses unshare: the command runs as uid 65534 on the host, where an interpreter beneath
    a folder of root's (pyenv's, under /root) is out of its reach. One error names the folder and what to do,
    instead of "Permission denied" from deep inside the command (or a tool that never answers)."""
    import dataclasses

    from agentkit.sandbox import detect, runner

    caps = dataclasses.replace(probe(), root_userns=False)
    monkeypatch.setattr(detect, "probe", lambda: caps)
    monkeypatch.setattr(runner, "probe", lambda: caps)
    closed = tempfile.mkdtemp(prefix="agentkit-test-")  # 0700, root's
    try:
        program = os.path.join(closed, "true")
        shutil.copy("/bin/true", program)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sandbox = Sandbox(Policy(wall_seconds=10), backend=backend, mode="best_effort")
            with pytest.raises(SandboxError) as refused:
                sandbox.run([program])
        message = str(refused.value)
        assert "as uid 65534 (nobody), as no user namespace can be made here" in message
        assert f"cannot reach {program!r} ({closed!r} is closed to it)" in message
        assert "install it where every user can read it" in message
        link = os.path.join(closed, "python3")  # a virtual environment beneath /root: a link to a system program
        os.symlink("/bin/true", link)
        with pytest.raises(SandboxError, match=f"cannot reach '{link}' \\('{closed}' is closed to it\\)"):
            sandbox.run([link])
        done = sandbox.run(["/bin/true"])  # a program it can reach still runs
        assert done.returncode == 0
    finally:
        shutil.rmtree(closed)


def test_the_doctor_says_when_the_sandbox_uid_cannot_run_this_python(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from agentkit.sandbox import guarantees as words

    caps = dataclasses.replace(probe(), is_root=True, root_userns=False, root_pidns=False)
    closed = tempfile.mkdtemp(prefix="agentkit-test-")  # 0700: closed to uid 65534
    try:
        monkeypatch.setattr(words.sys, "executable", os.path.join(closed, "python3"))
        line = words.guarantees(caps, "landlock")["uid"]
    finally:
        shutil.rmtree(closed)
    assert f"it CANNOT run this Python ({closed}/python3: {closed} is closed to it)" in line
    assert "with no PID namespace (none can be made here)" in line


SETUID_PROBE = """
import os, tempfile
path = os.path.join(tempfile.gettempdir(), "probe")
open(path, "w").close()
try:
    os.chmod(path, 0o4755)
    print("set", oct(os.stat(path).st_mode & 0o7777))
except OSError as exc:
    print("refused", exc.errno)
"""


def _setuid_chmod_refused(backend: str) -> bool:
    """Whether this machine's seccomp filter refuses chmod with setuid/setgid bits (issue 12, point 2)."""
    _code, out, _err = run(backend, SETUID_PROBE)
    return out.startswith("refused")


@as_root
@pytest.mark.parametrize("backend", ISOLATING)
def test_a_root_mapped_sandbox_cannot_plant_a_setuid_root_binary(backend: str, tmp_path: Path) -> None:
    """Mapped to root, what the command creates in a root-owned grant is root's on the host, so a setuid bit
    it set would make a setuid-root binary there: the seccomp chmod rule is what stops it."""
    root_mapping_or_skip(backend)
    if not _setuid_chmod_refused(backend):
        pytest.skip("this machine's seccomp filter has no rule against setuid chmod yet (issue 12, point 2)")
    folder = root_folder(tmp_path, "project")
    shell = "cp /usr/bin/id ./myid && chmod 4755 ./myid; chmod g+s ./myid; true"
    code, _out, err = run(backend, f"import subprocess; subprocess.run({shell!r}, shell=True)", cwd=folder,
                          write_paths=(str(folder),))  # fmt: skip
    assert code == 0, err
    assert (folder / "myid").exists() and not (folder / "myid").stat().st_mode & 0o6000
