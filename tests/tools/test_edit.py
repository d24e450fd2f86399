"""Editing tools on a scratch copy: the original is never touched until apply_to_original()."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from agentkit.errors import RetryTool
from agentkit.sandbox import ConfinedPathError
from agentkit.tools.edit import PatchError, Workspace, edit_tools

APP = "def f():\n    return 1\n\n\ndef g():\n    return 1\n"


@pytest.fixture
def original(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text(APP)
    (root / "test_app.py").write_text("import app\n\n\ndef test_f():\n    assert app.f() == 1\n")
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    (root / "build/artifact.bin").write_bytes(b"\x00" * 10)
    (root / "notes.txt").write_text("untracked but not ignored\n")
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        subprocess.run(["git", "-C", str(root), "add", "app.py", "test_app.py", ".gitignore"], check=True)
    return root


@pytest.fixture
def ws(original: Path) -> Iterator[Workspace]:
    workspace = Workspace(original)
    try:
        yield workspace
    finally:
        workspace.close()


def test_scratch_copy_has_tracked_and_unignored_files_only(ws: Workspace, original: Path) -> None:
    assert sorted(ws.files) == [".gitignore", "app.py", "notes.txt", "test_app.py"]
    assert not os.path.exists(os.path.join(ws.path, ".git"))
    assert not os.path.exists(os.path.join(ws.path, "build"))
    assert os.path.realpath(ws.path) != os.path.realpath(original)


def test_edit_file_exact_replace_and_diff(ws: Workspace, original: Path) -> None:
    result = ws.edit_file("app.py", "def f():\n    return 1", "def f():\n    return 2")
    assert result["replacements"] == 1
    assert "-    return 1\n+    return 2\n" in result["diff"]
    assert (original / "app.py").read_text() == APP  # untouched
    assert ws.diff()["changed"] == ["app.py"]


def test_edit_file_ambiguous_and_missing_text_explain_themselves(ws: Workspace) -> None:
    with pytest.raises(RetryTool, match=r"occurs 2 times in app.py \(at lines 2, 6\)"):
        ws.edit_file("app.py", "    return 1", "    return 3")
    with pytest.raises(RetryTool, match=r"not found in app\.py; its first line appears at line"):
        ws.edit_file("app.py", "def f():\n  return 1", "x")
    assert ws.edit_file("app.py", "return 1", "return 0", replace_all=True)["replacements"] == 2


def test_write_file_creates_folders(ws: Workspace) -> None:
    assert ws.write_file("pkg/sub/new.py", "x = 1\n") == {"path": "pkg/sub/new.py", "created": True, "bytes": 6}
    diff = ws.diff()
    assert diff["changed"] == ["pkg/sub/new.py"]
    assert "--- /dev/null\n+++ b/pkg/sub/new.py\n" in diff["diff"]


def test_apply_patch_all_hunks_or_none(ws: Workspace) -> None:
    patch = (
        "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 10\n"
        "@@ -5,2 +5,2 @@\n def g():\n-    return 1\n+    return 20\n"
        "--- /dev/null\n+++ b/added.py\n@@ -0,0 +1,1 @@\n+print('hi')\n"
    )
    result = ws.apply_patch(patch)
    assert result["files"] == ["app.py", "added.py"]
    assert ws.read_text("app.py") == APP.replace("return 1", "return 10", 1).replace(
        "    return 1\n", "    return 20\n"
    )
    bad = "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 99\n+    return 5\n"
    with pytest.raises(PatchError, match=r"hunk 1 \(@@ -1,2 \+1,2 @@\) of app.py does not apply: expected line 2"):
        ws.apply_patch(bad + "--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-untracked but not ignored\n+changed\n")
    assert ws.read_text("notes.txt") == "untracked but not ignored\n"  # nothing applied


def test_apply_patch_with_shifted_lines_and_deletion(ws: Workspace) -> None:
    ws.write_file("app.py", "# header\n# more\n" + APP)
    ws.apply_patch("--- a/app.py\n+++ b/app.py\n@@ -5,2 +5,2 @@\n def g():\n-    return 1\n+    return 7\n")
    assert ws.read_text("app.py").endswith("def g():\n    return 7\n")
    ws.apply_patch("--- a/notes.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-untracked but not ignored\n")
    assert not ws.exists("notes.txt")
    with pytest.raises(PatchError, match="no file headers"):
        ws.apply_patch("just text")


def test_writes_are_confined(ws: Workspace, tmp_path: Path) -> None:
    os.symlink(tmp_path, os.path.join(ws.path, "out"))
    for path in ("../evil.py", "/tmp/evil.py", "out/evil.py"):
        with pytest.raises(ConfinedPathError):
            ws.write_file(path, "x")
    assert not (tmp_path / "evil.py").exists()


def test_apply_to_original_is_explicit(ws: Workspace, original: Path) -> None:
    ws.edit_file("app.py", "def g():\n    return 1", "def g():\n    return 2")
    ws.write_file("new.txt", "n\n")
    ws.apply_patch("--- a/notes.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-untracked but not ignored\n")
    assert (original / "app.py").read_text() == APP
    assert sorted(ws.apply_to_original()) == ["app.py", "new.txt", "notes.txt"]
    assert (original / "app.py").read_text().endswith("return 2\n")
    assert (original / "new.txt").read_text() == "n\n" and not (original / "notes.txt").exists()
    assert ws.diff()["changed"] == []


def test_run_executes_in_the_sandbox_on_the_scratch_copy(ws: Workspace, original: Path) -> None:
    result = ws.run("python3 -c 'import app; print(app.f())' && echo made > made.txt && pwd")
    assert result["exit_code"] == 0, result
    assert result["stdout"].splitlines()[0] == "1"
    assert result["stdout"].splitlines()[1] == ws.path
    assert ws.exists("made.txt") and not (original / "made.txt").exists()
    failing = ws.run("echo oops >&2; exit 3")
    assert failing["exit_code"] == 3 and failing["stderr"] == "oops\n"
    slow = ws.run("sleep 5", timeout_s=0.5)
    assert slow["timed_out"] is True


def test_edit_tools_are_bound_to_the_workspace(ws: Workspace) -> None:
    tools = {t.name: t for t in edit_tools(ws)}
    assert set(tools) == {"edit_file", "write_file", "apply_patch", "run", "diff"}
    assert not tools["run"].needs.code_execution  # run sandboxes each command itself; the tool stays in-process
    assert tools["run"].needs.write_paths == tools["edit_file"].needs.write_paths == (ws.path,)
    args = tools["write_file"].validate({"path": "t.txt", "content": "hi\n"})
    assert anyio.run(tools["write_file"].invoke, args)["created"] is True
    assert anyio.run(tools["diff"].invoke, {})["changed"] == ["t.txt"]


def test_a_symlink_in_the_original_is_never_read_or_written_through(original: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET\n")
    os.symlink(outside / "secret.txt", original / "link.txt")  # absolute: not copied into the scratch copy
    os.symlink(outside, original / "lib")  # a symlinked folder
    with Workspace(original) as workspace:
        workspace.write_file("link.txt", "overwritten\n")
        workspace.write_file("lib/evil.py", "x = 1\n")
        result = workspace.diff()
        assert "TOP-SECRET" not in result["diff"]
        assert "cannot diff/apply: link.txt is a symlink in the original" in result["refused"]
        assert "cannot diff/apply: lib/evil.py is a symlink in the original" in result["refused"]
        with pytest.raises(ConfinedPathError, match=r"link\.txt is a symlink in the original"):
            workspace.apply_to_original()
    assert (outside / "secret.txt").read_text() == "TOP-SECRET\n"
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_an_in_repository_symlink_copied_unchanged_is_not_a_change(original: Path) -> None:
    os.symlink("app.py", original / "alias.py")
    with Workspace(original) as workspace:
        assert workspace.diff() == {"changed": [], "diff": ""}
        workspace.edit_file("app.py", "def g():\n    return 1", "def g():\n    return 2")
        assert workspace.apply_to_original() == ["app.py"]
    assert os.readlink(original / "alias.py") == "app.py"


def test_a_hard_linked_file_is_refused_before_it_is_truncated(ws: Workspace) -> None:
    os.link(os.path.join(ws.path, "app.py"), os.path.join(ws.path, "twin.py"))
    with pytest.raises(ConfinedPathError, match="one link"):
        ws.write_text("twin.py", "gone\n")
    with open(os.path.join(ws.path, "app.py")) as handle:
        assert handle.read() == APP


def test_a_file_the_model_writes_is_a_change_even_where_gitignore_says_otherwise(ws: Workspace) -> None:
    ws.write_file("build/fast.py", "FAST = True\n")  # build/ is ignored by the original's .gitignore
    result = ws.diff()
    assert result["changed"] == ["build/fast.py"]
    assert "+++ b/build/fast.py" in result["diff"]


def test_ignored_and_self_ignoring_folders_are_no_change(ws: Workspace) -> None:
    cache = Path(ws.path) / ".pytest_cache"
    cache.mkdir()
    (cache / ".gitignore").write_text("# Created by pytest automatically.\n*\n")
    (cache / "lastfailed").write_text("{}\n")
    (Path(ws.path) / "results.txt").write_text("written by a command\n")
    (Path(ws.path) / "build").mkdir()  # ignored by the original's .gitignore: build output, no change
    (Path(ws.path) / "build" / "x.o").write_bytes(b"\x00obj")
    assert ws.diff()["changed"] == ["results.txt"]
    ws.set_aside(["results.txt"])
    assert ws.diff() == {"changed": [], "diff": ""}


def test_diff_never_runs_git_on_the_scratch_copy(ws: Workspace, tmp_path: Path) -> None:
    """The scratch copy is written by the model and by sandboxed code: a .git/config there must not run."""
    marker = tmp_path / "fsmonitor-ran"
    ws.write_file(".git/HEAD", "ref: refs/heads/main\n")
    ws.write_file(".git/config", f'[core]\n\tfsmonitor = "touch {marker}"\n')
    ws.write_file(".git/objects/.keep", "")
    ws.write_file(".git/refs/heads/.keep", "")
    ws.edit_file("app.py", "return 1\n\n\ndef g", "return 2\n\n\ndef g")
    ws.diff()
    assert not marker.exists()


def test_a_write_of_the_models_is_never_set_aside_and_waits_for_a_harness_command(ws: Workspace) -> None:
    import threading

    done = threading.Event()
    with ws.lock:  # as the repo-optimizer holds it around a measurement
        writer = threading.Thread(target=lambda: (ws.write_file("app.py", "FAST = 1\n"), done.set()))
        writer.start()
        assert not done.wait(0.2)  # the model's edit waits for the command's window to close
        ws.set_aside(ws.diff()["changed"])
    writer.join(5)
    assert done.is_set()
    ws.set_aside(["app.py"])  # even set aside later, a file the editing methods wrote is a change
    assert ws.diff()["changed"] == ["app.py"]


def test_a_leading_slash_names_the_scratch_copys_file(ws: Workspace) -> None:
    ws.write_text("/extra.py", "x = 1\n")
    result = ws.diff()
    assert result["changed"] == ["extra.py"] and "refused" not in result


def test_an_empty_file_created_or_deleted_is_in_the_diff_text(ws: Workspace, original: Path, tmp_path: Path) -> None:
    (original / "empty.txt").write_text("")
    with Workspace(original) as workspace:
        workspace.write_file("pkg/__init__.py", "")
        workspace.delete("empty.txt")
        result = workspace.diff()
        assert result["changed"] == ["empty.txt", "pkg/__init__.py"]
        assert "new file mode 100644\n--- /dev/null\n+++ b/pkg/__init__.py\n" in result["diff"]
        assert "deleted file mode 100644\n--- a/empty.txt\n+++ /dev/null\n" in result["diff"]
        with Workspace(original) as replay:  # the diff re-applies (as a resumed optimizer run does it)
            replay.apply_patch(result["diff"])
            assert replay.diff()["diff"] == result["diff"]
    if shutil.which("git"):  # git reads these headers; GNU patch creates such a file but balks at the deletion
        target = tmp_path / "patched"
        shutil.copytree(original, target, ignore=shutil.ignore_patterns(".git"))
        patch_file = tmp_path / "p.diff"
        patch_file.write_text(result["diff"])
        subprocess.run(["git", "apply", str(patch_file)], cwd=target, check=True, capture_output=True)
        assert (target / "pkg" / "__init__.py").read_text() == "" and not (target / "empty.txt").exists()


@pytest.mark.skipif(not shutil.which("setpriv"), reason="setpriv (util-linux) drops root's file-access override")
def test_a_folder_nobody_can_read_is_skipped_by_the_diff(original: Path, tmp_path: Path) -> None:
    """A command may leave a chmod 000 folder behind; as root the test drops the capability that reads it."""
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import os
        from agentkit.tools.edit import Workspace
        ws = Workspace({str(original)!r})
        locked = os.path.join(ws.path, "locked")
        os.makedirs(locked)
        open(os.path.join(locked, "f"), "w").write("z")
        os.chmod(locked, 0)
        try:
            edited = ws.edit_file("app.py", "return 1\\n\\n\\ndef g", "return 2\\n\\n\\ndef g")
            print(edited["diff"].count("+    return 2"))
            print(ws.diff()["changed"])
        finally:
            os.chmod(locked, 0o755)
            ws.close()
        """
    )
    command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", sys.executable, "-c", script]
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == ["1", "['app.py']"]
