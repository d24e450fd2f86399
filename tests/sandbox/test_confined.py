"""Confined file access: every escape a model could try is refused, in both resolution modes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentkit.errors import ToolError
from agentkit.sandbox.confined import ConfinedPathError, ConfinedRoot, openat2_available

MODES = [pytest.param(True, id="openat2"), pytest.param(False, id="nofollow-walk")]
if not openat2_available():
    MODES = [pytest.param(False, id="nofollow-walk")]  # openat2 cannot be tested on this kernel


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "a.py").write_text("print('a')\n")
    (repo / "README").write_text("hello\n")
    (tmp_path / "secret.txt").write_text("SECRET\n")
    (tmp_path / "repo_secrets").mkdir()
    (tmp_path / "repo_secrets" / "key.txt").write_text("SECRET-KEY\n")
    return repo


@pytest.fixture(params=MODES)
def root(request: pytest.FixtureRequest, lab: Path) -> ConfinedRoot:
    r = ConfinedRoot(lab, use_openat2=request.param)
    yield r
    r.close()


def refused(root: ConfinedRoot, path: object, reasons: set[str]) -> ConfinedPathError:
    with pytest.raises(ConfinedPathError) as info:
        root.read_bytes(path)  # type: ignore[arg-type]
    assert info.value.reason in reasons, info.value
    assert repr(path) in str(info.value) or str(path) in str(info.value)
    return info.value


def test_reads_inside(root: ConfinedRoot) -> None:
    assert root.read_bytes("src/a.py") == b"print('a')\n"
    assert root.read_text("./README") == "hello\n"
    with root.open_file("README") as fh:
        assert fh.read() == b"hello\n"
    assert root.stat("src").st_size >= 0
    assert [e.name for e in root.scandir()] == ["README", "src"]
    assert sorted(e.path for e in root.walk()) == ["README", "src", "src/a.py"]
    assert root.exists("README") and not root.exists("nope")


def test_error_is_a_tool_error(root: ConfinedRoot) -> None:
    err = refused(root, "../secret.txt", {"traversal"})
    assert isinstance(err, ToolError)


@pytest.mark.parametrize("path", ["../secret.txt", "src/../../secret.txt", "../repo_secrets/key.txt", "src/.."])
def test_traversal(root: ConfinedRoot, path: str) -> None:
    refused(root, path, {"traversal"})


def test_absolute_and_nul(root: ConfinedRoot, lab: Path) -> None:
    refused(root, "/etc/passwd", {"absolute"})
    refused(root, str(lab / "README"), {"absolute"})
    err = refused(root, "READ\x00ME", {"invalid"})
    assert "NUL" in str(err)
    refused(root, 42, {"invalid"})


def test_symlink_to_outside(root: ConfinedRoot, lab: Path) -> None:
    (lab / "abs").symlink_to(lab.parent / "secret.txt")
    (lab / "rel").symlink_to("../secret.txt")
    (lab / "dirlink").symlink_to(lab.parent / "repo_secrets")
    for path in ("abs", "rel", "dirlink/key.txt"):
        refused(root, path, {"escape", "symlink"})


def test_symlink_loop(root: ConfinedRoot, lab: Path) -> None:
    (lab / "loop1").symlink_to("loop2")
    (lab / "loop2").symlink_to("loop1")
    refused(root, "loop1", {"symlink"})


def test_magic_links(lab: Path, tmp_path: Path) -> None:
    (lab / "proc_root").symlink_to("/proc/self/root")
    (lab / "fd_link").symlink_to("/proc/self/fd/0")
    for mode in [m.values[0] for m in MODES]:
        with ConfinedRoot(lab, use_openat2=mode) as root:
            refused(root, "proc_root/etc/passwd", {"escape", "symlink"})
            refused(root, "fd_link", {"escape", "symlink"})
        with ConfinedRoot("/proc/self", use_openat2=mode) as proc:  # a root that itself holds magic links
            refused(proc, "root/etc/passwd", {"escape", "symlink"})
            refused(proc, "cwd/x", {"escape", "symlink"})


def test_fifo_does_not_hang(root: ConfinedRoot, lab: Path) -> None:
    os.mkfifo(lab / "pipe")
    start = time.monotonic()
    err = refused(root, "pipe", {"not_regular"})
    assert "FIFO" in str(err)
    assert time.monotonic() - start < 5


def test_device_via_symlink(root: ConfinedRoot, lab: Path) -> None:
    (lab / "zero").symlink_to("/dev/zero")
    refused(root, "zero", {"escape", "symlink"})


def test_device_node_inside(root: ConfinedRoot, lab: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mknod of a device needs root")
    os.mknod(lab / "null", 0o600 | 0o020000, os.makedev(1, 3))  # a character device: /dev/null's numbers
    err = refused(root, "null", {"not_regular"})
    assert "device" in str(err)


def test_directory_is_not_a_file(root: ConfinedRoot) -> None:
    refused(root, "src", {"not_regular"})


def test_size_cap(root: ConfinedRoot, lab: Path) -> None:
    (lab / "big").write_bytes(b"x" * 5000)
    with pytest.raises(ConfinedPathError, match="5000 bytes is over the 100-byte limit") as info:
        root.read_bytes("big", max_bytes=100)
    assert info.value.reason == "too_large"
    assert len(root.read_bytes("big", max_bytes=5000)) == 5000
    with ConfinedRoot(lab, max_bytes=10) as small:
        with pytest.raises(ConfinedPathError) as info:
            small.read_bytes("big")
        assert info.value.reason == "too_large"


def test_hardlink_refused_unless_allowed(lab: Path) -> None:
    os.link(lab.parent / "secret.txt", lab / "hard")
    with ConfinedRoot(lab) as root:
        refused(root, "hard", {"hardlink"})
    with ConfinedRoot(lab, allow_hardlinks=True) as root:
        assert root.read_bytes("hard") == b"SECRET\n"


def test_in_root_symlink(lab: Path) -> None:
    (lab / "alias").symlink_to("src/a.py")
    if openat2_available():
        with ConfinedRoot(lab, use_openat2=True) as root:
            assert root.read_bytes("alias") == b"print('a')\n"
    with ConfinedRoot(lab, use_openat2=False) as strict:
        refused(strict, "alias", {"symlink"})


def test_not_found_and_not_a_directory(root: ConfinedRoot) -> None:
    refused(root, "missing.txt", {"not_found"})
    refused(root, "README/x", {"not_a_directory"})
    with pytest.raises(ConfinedPathError) as info:
        root.scandir("README")
    assert info.value.reason == "not_a_directory"


def test_root_must_be_a_directory(lab: Path) -> None:
    with pytest.raises(ConfinedPathError, match="root cannot be opened"):
        ConfinedRoot(lab / "README")


SWAPPER = """
import os, sys, time
d = sys.argv[1]
safe, evil = os.path.join(d, "tmp_safe"), os.path.join(d, "tmp_evil")
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    for tmp, target in ((safe, "real"), (evil, sys.argv[3])):
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.symlink(target, tmp)
        os.replace(tmp, os.path.join(d, "d"))
"""


def test_symlink_swap_race(root: ConfinedRoot, lab: Path) -> None:
    """Another process flips `d` between an in-root dir and an outside one; no read ever sees the secret."""
    (lab / "real").mkdir()
    (lab / "real" / "key.txt").write_text("safe\n")
    (lab / "d").symlink_to("real")
    outside = str(lab.parent / "repo_secrets")
    swapper = subprocess.Popen([sys.executable, "-S", "-I", "-c", SWAPPER, str(lab), "1.0", outside])
    reads = refusals = 0
    try:
        while swapper.poll() is None:
            try:
                data = root.read_bytes("d/key.txt")
            except ConfinedPathError as exc:
                assert exc.reason in {"escape", "symlink", "not_found"}
                refusals += 1
            else:
                assert data == b"safe\n"
                reads += 1
    finally:
        swapper.kill()
        swapper.wait()
    assert reads + refusals > 100
    if root.uses_openat2:
        assert reads > 0  # the in-root alias is followed when it is in place
