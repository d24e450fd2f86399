"""Repository-editing tools on a scratch copy: `edit_file`, `write_file`, `apply_patch`, `run`, `diff`.

`Workspace(original)` copies the repository into a private scratch folder (the files git tracks plus
untracked files that .gitignore does not exclude; `.git` is left behind, since `diff` compares the two trees
itself). Copies use copy_file_range/reflink where the filesystem offers it. The tools only ever touch the
scratch copy, through the sandbox's confined open (no `..`, no symlink escape), and `run` executes commands
in the sandbox with the scratch copy as its only writable folder. Carrying the result back is a separate,
explicit user action: `Workspace.apply_to_original()`, which no tool calls.
"""

from __future__ import annotations

import difflib
import errno
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from typing import Any

from agentkit.errors import RetryTool
from agentkit.sandbox import ConfinedPathError, ConfinedRoot
from agentkit.tooling import Needs, Tool

from ._edit_schemas import APPLY_PATCH, DIFF, EDIT_FILE, RUN, WRITE_FILE
from ._patch import PatchError, apply_hunks, parse_patch
from .repo import RepoReader

__all__ = ["PatchError", "Workspace", "edit_tools"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# no O_TRUNC: the file is checked (regular, one link) before it is truncated
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_MAX_EDIT_BYTES = 10 * 1024 * 1024
_MAX_ORIGINAL_BYTES = 1024 * 1024 * 1024
_OUTPUT_HEAD = 4000
_OUTPUT_TAIL = 16000


class Workspace:
    """A scratch copy of `original` that tools may change; the original is untouched until apply_to_original()."""

    def __init__(self, original: str | os.PathLike[str], *, scratch_parent: str | None = None) -> None:
        self.original = os.path.abspath(os.fspath(original))
        if not os.path.isdir(self.original):
            raise RetryTool(f"workspace original {self.original!r} is not a directory")
        self._tmp = tempfile.mkdtemp(prefix="agentkit-ws-", dir=scratch_parent)
        os.chmod(self._tmp, 0o711)  # ours: a sandbox running as another uid may pass through, not list it
        self.path = os.path.join(self._tmp, os.path.basename(self.original.rstrip("/")) or "repo")
        os.mkdir(self.path)
        self.files = _copy_tree(self.original, self.path, _source_files(self.original))
        self._set_aside: set[str] = set()
        self._written: set[str] = set()  # paths written or deleted through this object
        # held by every write and command, so a harness can tell its own command's writes from the model's
        # (tool calls run concurrently): see set_aside
        self.lock = threading.RLock()
        self.root = ConfinedRoot(self.path, max_bytes=_MAX_EDIT_BYTES)
        # the original is only ever read and written through a strict O_NOFOLLOW walk: a symlink anywhere on
        # a path in the original (an absolute one is never copied into the scratch copy) is refused, not followed
        self._original_root = ConfinedRoot(
            self.original, max_bytes=_MAX_ORIGINAL_BYTES, allow_hardlinks=True, use_openat2=False
        )

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the scratch copy."""
        self.root.close()
        self._original_root.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    # ---- confined reads and writes --------------------------------------------------------------------

    def read_text(self, path: str) -> str:
        return self.root.read_bytes(path).decode("utf-8", "surrogateescape")

    def exists(self, path: str) -> bool:
        return self.root.exists(path)

    def write_text(self, path: str, text: str) -> None:
        """Create or replace a regular file beneath the scratch root, creating parent folders."""
        with self.lock:
            parent_fd, name = self._parent(path, create=True)
            try:
                _write_at(parent_fd, name, path, text.encode("utf-8", "surrogateescape"))
            finally:
                os.close(parent_fd)
            self._written.add(self._relative(path))

    def delete(self, path: str) -> None:
        with self.lock:
            parent_fd, name = self._parent(path, create=False)
            try:
                os.unlink(name, dir_fd=parent_fd)
            except FileNotFoundError:
                raise ConfinedPathError(path, "not_found", "no such file beneath the root") from None
            finally:
                os.close(parent_fd)
            self._written.add(self._relative(path))

    def _relative(self, path: str) -> str:
        return "/".join(self._parts(path))  # as _parent reads it: "/d.py" is the scratch copy's d.py

    def _parts(self, path: str) -> list[str]:
        rel = path[len(self.path) + 1 :] if path.startswith(self.path + "/") else path
        return [p for p in rel.split("/") if p not in ("", ".")]

    def _parent(self, path: str, *, create: bool) -> tuple[int, str]:
        """An fd of the path's parent, opened beneath the root by the sandbox's confined open."""
        parts = self._parts(path)
        if not parts:
            raise ConfinedPathError(path, "invalid", "give a file path, not the root")
        for depth in range(1, len(parts)):
            sub = "/".join(parts[:depth])
            if create and not self.root.exists(sub):
                fd = self.root._open("/".join(parts[: depth - 1]) or ".", _DIR_FLAGS)
                try:
                    os.mkdir(parts[depth - 1], 0o755, dir_fd=fd)
                finally:
                    os.close(fd)
        fd = self.root._open("/".join(parts[:-1]) or ".", _DIR_FLAGS)
        return fd, parts[-1]

    # ---- the tools' implementations -------------------------------------------------------------------

    def edit_file(self, path: str, old_text: str, new_text: str, replace_all: bool = False) -> dict[str, Any]:
        text = self.read_text(path)
        count = text.count(old_text)
        if count == 0:
            raise RetryTool(_missing(path, text, old_text))
        if count > 1 and not replace_all:
            lines = _match_lines(text, old_text)
            raise RetryTool(
                f"old_text occurs {count} times in {path} (at lines {', '.join(map(str, lines[:20]))}); "
                "include more surrounding lines so it matches once, or pass replace_all=true"
            )
        self.write_text(path, text.replace(old_text, new_text))
        return {"path": path, "replacements": count, "diff": self.diff(path)["diff"]}

    def write_file(self, path: str, content: str) -> dict[str, Any]:
        existed = self.exists(path)
        self.write_text(path, content)
        return {"path": path, "created": not existed, "bytes": len(content.encode("utf-8", "surrogateescape"))}

    def apply_patch(self, patch: str) -> dict[str, Any]:
        planned: list[tuple[str, str | None]] = []
        for fp in parse_patch(patch):
            if fp.old_path is None:
                if self.exists(fp.path):
                    raise PatchError(f"the patch creates {fp.path}, which already exists")
                planned.append((fp.path, apply_hunks("", fp)))
            elif fp.new_path is None:
                planned.append((fp.old_path, None))
            else:
                try:
                    current = self.read_text(fp.old_path)
                except ConfinedPathError as exc:
                    raise PatchError(f"the patch changes {fp.old_path}, which cannot be read: {exc}") from None
                if fp.old_path != fp.new_path:
                    planned.append((fp.old_path, None))
                planned.append((fp.new_path, apply_hunks(current, fp)))
        for path, content in planned:  # every hunk applied in memory first: all or nothing
            if content is None:
                self.delete(path)
            else:
                self.write_text(path, content)
        return {"files": [p for p, _ in planned], "diff": self.diff()["diff"]}

    def diff(self, path: str | None = None) -> dict[str, Any]:
        chunks: list[str] = []
        changed: list[str] = []
        refused: list[str] = []
        for rel in sorted(self._candidates(path)):
            a, b = os.path.join(self.original, rel), os.path.join(self.path, rel)
            if _same_stat(a, b) or _same_link(a, b):
                continue  # copy2 kept size and mtime; any write since changes the mtime
            try:
                before = self._original_bytes(rel)
            except ConfinedPathError as exc:
                refused.append(f"cannot diff/apply: {rel} {_refusal(exc)}")
                continue
            after = self._scratch_bytes(rel)
            if before == after:
                continue
            changed.append(rel)
            chunks.append(_unified(rel, before, after))
        result: dict[str, Any] = {"changed": changed, "diff": "".join(chunks)}
        if refused:
            result["refused"] = refused
        return result

    def _original_bytes(self, rel: str) -> bytes | None:
        """The original's file through the strict walk; None when it does not exist there."""
        try:
            return self._original_root.read_bytes(rel)
        except ConfinedPathError as exc:
            if exc.reason in ("not_found", "not_a_directory"):
                return None
            raise

    def set_aside(self, paths: Iterable[str]) -> None:
        """Leave these paths out of every diff (and so of apply_to_original): for files a harness's own
        commands wrote into the scratch copy, such as a benchmark's output. Hold `lock` from before such a
        command until this call, so no write of the model's lands in between; a file the editing methods
        write is a change all the same."""
        self._set_aside.update(paths)

    def _candidates(self, path: str | None) -> set[str]:
        # the original's files, what the editing methods wrote, and any other file in the scratch copy that
        # the original's .gitignore rules do not exclude (build output, caches)
        rules = RepoReader(self.original)
        try:
            scratch = set(_walk_files(self.path, rules))
        finally:
            rules.close()
        names = ((scratch | set(self.files)) - self._set_aside) | self._written
        if path is not None:
            prefix = path.strip("/")
            names = {n for n in names if n == prefix or n.startswith(prefix + "/")}
        return names

    def _scratch_bytes(self, rel: str) -> bytes | None:
        try:
            return self.root.read_bytes(rel)
        except ConfinedPathError:
            return None

    def run(self, command: str, timeout_s: float = 300.0) -> dict[str, Any]:
        with self.lock:
            return self._run(command, timeout_s)

    def _run(self, command: str, timeout_s: float) -> dict[str, Any]:
        from agentkit.sandbox.policy import Policy
        from agentkit.sandbox.runner import Sandbox

        policy = Policy(wall_seconds=timeout_s, cpu_seconds=max(1, int(timeout_s)), write_paths=(self.path,))
        sandbox = Sandbox(policy)
        sandbox.hand_over(self.path)  # the scratch copy is ours: the sandboxed user may own it
        result = sandbox.run(["/bin/sh", "-c", command], cwd=self.path, policy=policy)
        return {
            "command": command,
            "exit_code": result.returncode,
            "timed_out": result.timed_out,
            "duration_s": round(result.duration, 3),
            "stdout": _clip(result.stdout.decode("utf-8", "replace")),
            "stderr": _clip(result.stderr.decode("utf-8", "replace")),
            "truncated": result.truncated,
        }

    # ---- the user's explicit action -------------------------------------------------------------------

    def apply_to_original(self) -> list[str]:
        """Copy every change of the scratch copy back into the original repository; returns the paths."""
        result = self.diff()
        if result.get("refused"):  # nothing is written when any path cannot be applied safely
            raise ConfinedPathError(self.original, "symlink", "; ".join(result["refused"]))
        changed: list[str] = result["changed"]
        for rel in changed:
            data = self._scratch_bytes(rel)
            parent_fd, name = self._original_parent(rel, create=data is not None)
            try:
                if data is None:
                    try:
                        os.unlink(name, dir_fd=parent_fd)
                    except FileNotFoundError:
                        pass
                else:
                    _write_at(parent_fd, name, rel, data)
            finally:
                os.close(parent_fd)
        return changed

    def _original_parent(self, rel: str, *, create: bool) -> tuple[int, str]:
        """An fd of rel's parent folder in the original, walked with O_NOFOLLOW (folders made on the way)."""
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        fd = self._original_root._open(".", _DIR_FLAGS)
        try:
            for depth, part in enumerate(parts[:-1], 1):
                try:
                    if create and not os.path.lexists(os.path.join(self.original, *parts[:depth])):
                        os.mkdir(part, 0o755, dir_fd=fd)
                    nxt = os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise ConfinedPathError(
                            rel, "symlink", f"cannot diff/apply: {rel} is a symlink in the original"
                        ) from None
                    raise ConfinedPathError(rel, "denied", f"cannot apply it ({exc.strerror})") from None
                os.close(fd)
                fd = nxt
        except BaseException:
            os.close(fd)
            raise
        return fd, parts[-1]


# ---- copying --------------------------------------------------------------------------------------------


def _source_files(original: str) -> list[str]:
    """Tracked plus untracked-but-not-ignored files (git), or a .gitignore-aware walk without git."""
    if os.path.isdir(os.path.join(original, ".git")) and shutil.which("git"):
        proc = subprocess.run(
            ["git", "-C", original, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=False,
        )
        if proc.returncode == 0:
            return sorted({p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p})
    reader = RepoReader(original)
    try:
        return sorted(
            w.entry.path for w in reader._walk(".", max_depth=10_000, include_ignored=False) if not w.entry.is_dir
        )
    finally:
        reader.close()


def _copy_tree(source: str, target: str, files: list[str]) -> list[str]:
    copied = []
    made: set[str] = set()
    for rel in files:
        src = os.path.join(source, rel)
        try:
            st = os.lstat(src)
        except FileNotFoundError:
            continue  # tracked but deleted in the working tree
        parent = os.path.dirname(rel)
        if parent and parent not in made:
            os.makedirs(os.path.join(target, parent), exist_ok=True)
            made.add(parent)
        dst = os.path.join(target, rel)
        if stat.S_ISLNK(st.st_mode):
            link = os.readlink(src)
            if os.path.isabs(link) or os.path.normpath(os.path.join(parent, link)).startswith(".."):
                continue  # a link out of the repository is not carried into the scratch copy
            os.symlink(link, dst)
        elif stat.S_ISREG(st.st_mode):
            shutil.copy2(src, dst)  # copy_file_range / reflink where the filesystem supports it
        else:
            continue
        copied.append(rel)
    return copied


def _walk_files(root: str, rules: RepoReader) -> list[str]:
    """Every file beneath `root` that git would list, by the ignore rules `rules` reads from the original
    repository (trusted, unlike the scratch copy's own .gitignore files and .git/config, which are the
    model's to write: git itself never runs here). Also left out: `.git`, folders whose own .gitignore
    ignores everything in them (test caches), and folders that cannot be read."""
    out = []
    ignorers = {".": rules._ignorer_for(".")}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        ignorer = ignorers.pop(rel_dir)
        kept = []
        for name in dirnames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if name == ".git" or ignorer.ignored(rel, True) or _ignores_itself(os.path.join(dirpath, name)):
                continue
            kept.append(name)
            ignorers[rel] = ignorer.with_rules(rules._gitignore(rel))
        dirnames[:] = kept
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if not ignorer.ignored(rel, False):
                out.append(rel)
    return out


def _ignores_itself(folder: str) -> bool:
    try:  # the scratch copy is untrusted: no symlink, and a FIFO must not block us
        fd = os.open(os.path.join(folder, ".gitignore"), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        text = os.read(fd, 4096).decode("utf-8", "replace")
    finally:
        os.close(fd)
    rules = [line.strip() for line in text.splitlines()]
    return [rule for rule in rules if rule and not rule.startswith("#")] == ["*"]


# ---- text helpers ---------------------------------------------------------------------------------------


def _same_stat(a: str, b: str) -> bool:
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return stat.S_ISREG(sa.st_mode) and sa.st_size == sb.st_size and sa.st_mtime_ns == sb.st_mtime_ns


def _same_link(a: str, b: str) -> bool:
    """Both are the same symlink (an in-repository link copied as it is): unchanged."""
    try:
        return os.path.islink(a) and os.path.islink(b) and os.readlink(a) == os.readlink(b)
    except OSError:
        return False


def _refusal(exc: ConfinedPathError) -> str:
    if exc.reason in ("symlink", "escape"):
        return "is a symlink in the original"
    if exc.reason == "not_regular":
        return "is not a regular file in the original"
    return f"cannot be read in the original ({exc})"


def _write_at(parent_fd: int, name: str, shown: str, data: bytes) -> None:
    """Create or replace the regular file `name` in parent_fd: never through a symlink, never a hard link."""
    try:
        fd = os.open(name, _WRITE_FLAGS, 0o644, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfinedPathError(shown, "symlink", "it is a symlink; it is not followed") from None
        raise ConfinedPathError(shown, "denied", f"cannot write it ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:  # checked before anything is truncated
            raise ConfinedPathError(shown, "not_regular", "only plain files with one link can be written")
        handle.truncate(0)
        handle.write(data)


def _unified(rel: str, before: bytes | None, after: bytes | None) -> str:
    if b"\0" in (before or b"")[:8192] or b"\0" in (after or b"")[:8192]:
        return f"Binary files a/{rel} and b/{rel} differ\n"
    old = (before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    new = (after or b"").decode("utf-8", "replace").splitlines(keepends=True)
    lines = list(
        difflib.unified_diff(
            old,
            new,
            "/dev/null" if before is None else f"a/{rel}",
            "/dev/null" if after is None else f"b/{rel}",
        )
    )
    if not lines:  # an empty file created or deleted: only git's extended headers can say so
        mode = "new file mode 100644" if before is None else "deleted file mode 100644"
        old_name = "/dev/null" if before is None else f"a/{rel}"
        new_name = "/dev/null" if after is None else f"b/{rel}"
        return f"diff --git a/{rel} b/{rel}\n{mode}\n--- {old_name}\n+++ {new_name}\n"
    fixed = [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines]
    return "".join(fixed)


def _match_lines(text: str, needle: str) -> list[int]:
    lines, start = [], 0
    while (at := text.find(needle, start)) >= 0:
        lines.append(text.count("\n", 0, at) + 1)
        start = at + 1
    return lines


def _missing(path: str, text: str, old_text: str) -> str:
    first = old_text.strip().splitlines()[0].strip() if old_text.strip() else ""
    hint = ""
    if first:
        near = [i + 1 for i, line in enumerate(text.splitlines()) if first in line]
        if near:
            hint = (
                f"; its first line appears at line(s) {', '.join(map(str, near[:10]))}, so the rest differs "
                "(check whitespace and indentation)"
            )
    return f"old_text was not found in {path}{hint}. Read the file again and copy the exact text"


def _clip(text: str) -> str:
    if len(text) <= _OUTPUT_HEAD + _OUTPUT_TAIL:
        return text
    dropped = len(text) - _OUTPUT_HEAD - _OUTPUT_TAIL
    return f"{text[:_OUTPUT_HEAD]}\n... [{dropped} characters cut] ...\n{text[-_OUTPUT_TAIL:]}"


def edit_tools(workspace: Workspace) -> list[Tool]:
    """edit_file, write_file, apply_patch, run and diff, all bound to the workspace's scratch copy."""
    files = Needs(read_paths=(workspace.path,), write_paths=(workspace.path,))
    # `run` starts its own sandbox (bubblewrap/Landlock) around each command, so the tool function itself
    # runs in-process: declaring code_execution here would send a bound method to a worker that cannot import it.
    runs = Needs(read_paths=(workspace.path,), write_paths=(workspace.path,))
    specs = [
        ("edit_file", EDIT_FILE, workspace.edit_file, files),
        ("write_file", WRITE_FILE, workspace.write_file, files),
        ("apply_patch", APPLY_PATCH, workspace.apply_patch, files),
        ("run", RUN, workspace.run, runs),
        ("diff", DIFF, workspace.diff, Needs(read_paths=(workspace.path, workspace.original))),
    ]
    return [Tool.from_schema(name, d, s, fn, needs=needs) for name, (d, s), fn, needs in specs]  # type: ignore[arg-type]
