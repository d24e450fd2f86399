"""A unified-diff parser and applier with hunk-failure errors a model can act on.

`parse_patch(text)` reads `--- a/path` / `+++ b/path` file headers and `@@ -l,s +l,s @@` hunks (git's
`diff --git`, `index`, `new file mode` lines are tolerated); `/dev/null` marks created and deleted files.
`apply_hunks(old_text, file_patch)` places each hunk at its stated line or, failing that, at the nearest
offset where its context and removed lines match exactly; a hunk that matches nowhere raises `PatchError`
naming the hunk, the line it expected and what the file holds there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentkit.errors import RetryTool

__all__ = ["FilePatch", "Hunk", "PatchError", "apply_hunks", "parse_patch"]

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(RetryTool):
    """A patch that cannot be parsed or applied; the message says which hunk and why."""


@dataclass(slots=True)
class Hunk:
    header: str
    old_start: int
    lines: list[str] = field(default_factory=list)  # each starts with ' ', '-' or '+'

    @property
    def old(self) -> list[str]:
        return [line[1:] for line in self.lines if line[:1] in (" ", "-")]

    @property
    def new(self) -> list[str]:
        return [line[1:] for line in self.lines if line[:1] in (" ", "+")]


@dataclass(slots=True)
class FilePatch:
    old_path: str | None  # None: the file is created
    new_path: str | None  # None: the file is deleted
    hunks: list[Hunk] = field(default_factory=list)
    no_newline_at_end: bool = False

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def _strip_prefix(raw: str) -> str | None:
    path = raw.split("\t", 1)[0].strip()
    if path == "/dev/null":
        return None
    if path.startswith(("a/", "b/")):
        path = path[2:]
    return path


def parse_patch(text: str) -> list[FilePatch]:
    files: list[FilePatch] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            files.append(FilePatch(_strip_prefix(line[4:]), _strip_prefix(lines[i + 1][4:])))
            i += 2
            continue
        match = _HUNK.match(line)
        if match:
            if not files:
                raise PatchError("the patch has a hunk before any '--- a/file' / '+++ b/file' header")
            i = _read_hunk(lines, i, match, files[-1])
            continue
        i += 1
    if not files:
        raise PatchError("no file headers found: send a unified diff with '--- a/path' and '+++ b/path' lines")
    for fp in files:
        if not fp.hunks and fp.old_path is not None and fp.new_path is not None:
            raise PatchError(f"the patch for {fp.path} has no hunks ('@@ -l,s +l,s @@')")
    return files


def _read_hunk(lines: list[str], i: int, match: re.Match[str], fp: FilePatch) -> int:
    old_count = int(match.group(2)) if match.group(2) is not None else 1
    new_count = int(match.group(4)) if match.group(4) is not None else 1
    hunk = Hunk(lines[i], int(match.group(1)))
    i += 1
    seen_old = seen_new = 0
    while i < len(lines) and (seen_old < old_count or seen_new < new_count):
        line = lines[i]
        if line.startswith("\\"):
            fp.no_newline_at_end = True
            i += 1
            continue
        kind = line[:1] if line else " "  # some tools drop the space of empty context lines
        if kind not in (" ", "-", "+"):
            raise PatchError(
                f"{fp.path}: hunk {hunk.header!r} ended early at line {i + 1} ({line[:60]!r}): "
                "its line counts do not match its body"
            )
        hunk.lines.append(kind + line[1:] if line else " ")
        seen_old += kind in (" ", "-")
        seen_new += kind in (" ", "+")
        i += 1
    while i < len(lines) and lines[i].startswith("\\"):
        fp.no_newline_at_end = True
        i += 1
    fp.hunks.append(hunk)
    return i


def apply_hunks(text: str, fp: FilePatch) -> str:
    """The file's new text; raises PatchError naming the first hunk that does not apply."""
    lines = text.splitlines()
    ends_with_newline = text.endswith("\n") or not text
    out: list[str] = []
    cursor = 0  # index into `lines` of the first line not yet copied
    for number, hunk in enumerate(fp.hunks, 1):
        old = hunk.old
        want = max(hunk.old_start - 1, 0) if old else hunk.old_start
        at = _locate(lines, old, want, cursor)
        if at is None:
            raise PatchError(_failure(fp.path, number, hunk, lines, want))
        out.extend(lines[cursor:at])
        out.extend(hunk.new)
        cursor = at + len(old)
    out.extend(lines[cursor:])
    if not out:
        return ""
    trailing = "\n" if (ends_with_newline and not fp.no_newline_at_end) else ""
    return "\n".join(out) + trailing


def _locate(lines: list[str], old: list[str], want: int, floor: int) -> int | None:
    if not old:
        return min(max(want, floor), len(lines))
    limit = len(lines) - len(old)
    for offset in range(0, max(limit, 0) + len(lines) + 1):
        for at in (want + offset, want - offset) if offset else (want,):
            if floor <= at <= limit and lines[at : at + len(old)] == old:
                return at
        if want + offset > limit and want - offset < floor:
            break
    return None


def _failure(path: str, number: int, hunk: Hunk, lines: list[str], want: int) -> str:
    old = hunk.old
    detail = ""
    for k, expected in enumerate(old):
        actual = lines[want + k] if want + k < len(lines) else None
        if actual != expected:
            found = "the end of the file" if actual is None else repr(actual[:80])
            detail = f" expected line {want + k + 1} to be {expected[:80]!r}, found {found}"
            break
    return (
        f"hunk {number} ({hunk.header}) of {path} does not apply:{detail}; its context and '-' lines match "
        "nowhere in the file. Read the current file and regenerate the patch (or use edit_file)"
    )
