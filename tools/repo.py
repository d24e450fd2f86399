"""Read-only repository tools: `list_files`, `read_file`, `search`, `file_info`, bound to one root.

Every path goes through the sandbox's confined open (`agentkit.sandbox.ConfinedRoot`: openat2 with
RESOLVE_BENEATH), so `..`, absolute paths outside the root, symlink escapes, devices and FIFOs are refused
by the kernel, never by string checks. Listing and search respect .gitignore files (see `_gitignore`) and
skip `.git`. The model's search pattern is untrusted: it is compiled by RE2 (google-re2), which matches in time
linear in the text and refuses, at once, a pattern whose compiled form would pass `_REGEX_MEM`; what RE2 cannot
do (backreferences, lookaround) is an error result that says so. A total time budget still bounds a search.

Files are read with byte budgets: `read_file` and `file_info` read a line at a time or a chunk at a time (see
`_textfile`), so a line range of a huge file costs that range; search reads files of up to 2 MiB whole, and
stops after `search_budget_bytes` in all (or `search_budget_s`).

`repo_tools(root)` builds the four tools; with no root they use $AGENTKIT_REPO_ROOT or the current directory.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import re2

from agentkit.errors import RetryTool, clip
from agentkit.sandbox import ConfinedEntry, ConfinedPathError, ConfinedRoot
from agentkit.tooling import Needs, Tool

from ._gitignore import MAX_RULES, Ignorer, IgnoreRules, merge_rules, parse_gitignore
from ._repo_schemas import FILE_INFO, LIST_FILES, READ_FILE, SEARCH
from ._textfile import count_lines, read_lines

__all__ = ["RepoReader", "repo_tools"]

_BINARY_SNIFF = 8192
_MAX_FILE_BYTES = 200 * 1024 * 1024  # read_file streams line ranges out of files up to this size
_SEARCH_FILE_BYTES = 2 * 1024 * 1024  # larger files are skipped by search
_COUNT_BYTES = 32 * 1024 * 1024  # file_info counts the lines of text files up to this size, 1 MiB at a time
_GITIGNORE_BYTES = 1024 * 1024
_MAX_LINE_CHARS = 2000
_BATCH = 512
_REGEX_MEM = 8 << 20  # RE2's default; (a{5000}){5000} took 6.7 GB to compile with a backtracking engine


@dataclass(frozen=True, slots=True)
class _Walked:
    entry: ConfinedEntry
    depth: int


class RepoReader:
    """The repository tools' implementation; each public method is one tool."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        allow_hardlinks: bool = False,
        search_budget_s: float = 10.0,
        search_budget_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        chosen = root if root is not None else os.environ.get("AGENTKIT_REPO_ROOT") or os.getcwd()
        self.root = os.path.abspath(os.fspath(chosen))
        self.allow_hardlinks = allow_hardlinks
        self.search_budget_s = search_budget_s
        self.search_budget_bytes = search_budget_bytes
        self._confined: ConfinedRoot | None = None
        self._skipped_rules: dict[str, int] = {}  # .gitignore files with patterns past MAX_RULES, this call

    @property
    def confined(self) -> ConfinedRoot:
        if self._confined is None:
            self._confined = ConfinedRoot(self.root, max_bytes=_MAX_FILE_BYTES, allow_hardlinks=self.allow_hardlinks)
        return self._confined

    def close(self) -> None:
        if self._confined is not None:
            self._confined.close()
            self._confined = None

    def _rel(self, path: str) -> str:
        """Accept 'a/b', './a/b' or an absolute path inside the root; the confined open re-checks it."""
        if not isinstance(path, str):
            raise RetryTool("path must be a string relative to the repository root")
        if os.path.isabs(path):
            if path == self.root:
                return "."
            if path.startswith(self.root + os.sep):
                return path[len(self.root) + 1 :]
        return path.strip() or "."

    # ---- walking -----------------------------------------------------------------------------------

    def _ignorer_for(self, directory: str) -> Ignorer:
        """The .gitignore stack that applies inside `directory` (its own file and every parent's)."""
        ignorer = Ignorer()
        parts = [] if directory in (".", "") else directory.split("/")
        for depth in range(len(parts) + 1):
            base = "/".join(parts[:depth])
            ignorer = ignorer.with_rules(self._gitignore(base))
        return ignorer

    def _gitignore(self, base: str) -> IgnoreRules:
        rules = parse_gitignore(self._read_optional(f"{base}/.gitignore" if base else ".gitignore"), base)
        if not base:  # .git/info/exclude ranks below the root .gitignore
            rules = merge_rules("", parse_gitignore(self._read_optional(".git/info/exclude")), rules)
        if rules.skipped:
            self._skipped_rules[f"{base}/.gitignore" if base else ".gitignore"] = rules.skipped
        return rules

    def _read_optional(self, path: str) -> str:
        try:
            return self.confined.read_text(path, max_bytes=_GITIGNORE_BYTES)
        except ConfinedPathError:
            return ""

    def _walk(
        self, start: str, *, max_depth: int, include_ignored: bool, deadline: float | None = None
    ) -> Iterator[_Walked]:
        """Entries beneath `start`, directories before their contents, ignored paths pruned."""
        start = "/".join(p for p in start.split("/") if p not in ("", "."))
        stack: list[tuple[str, int, Ignorer]] = [(start, 1, self._ignorer_for(start or "."))]
        while stack:
            directory, depth, ignorer = stack.pop()
            if deadline is not None and time.monotonic() > deadline:
                raise _Budget(f"the {self.search_budget_s:g} s budget")
            entries = self.confined.scandir(directory or ".")
            if any(e.name == ".gitignore" for e in entries) and directory and not include_ignored:
                ignorer = ignorer.with_rules(self._gitignore(directory))
            subdirs: list[tuple[str, int, Ignorer]] = []
            for entry in entries:
                if entry.name == ".git" or (not include_ignored and ignorer.ignored(entry.path, entry.is_dir)):
                    continue
                yield _Walked(entry, depth)
                if entry.is_dir and depth < max_depth:
                    subdirs.append((entry.path, depth + 1, ignorer))
            stack.extend(reversed(subdirs))

    def iter_files(self, path: str = ".") -> Iterator[str]:
        """Every regular file beneath `path` that .gitignore does not exclude (relative paths)."""
        for walked in self._walk(self._rel(path), max_depth=10_000, include_ignored=False):
            if walked.entry.is_file:
                yield walked.entry.path

    # ---- tools -------------------------------------------------------------------------------------

    def list_files(
        self, path: str = ".", max_depth: int = 3, max_entries: int = 500, include_ignored: bool = False
    ) -> dict[str, Any]:
        rel = self._rel(path)
        self._require_dir(rel)
        self._skipped_rules = {}
        entries: list[dict[str, Any]] = []
        truncated = False
        files = total_bytes = 0
        for walked in self._walk(rel, max_depth=max_depth, include_ignored=include_ignored):
            if len(entries) >= max_entries:
                truncated = True
                break
            e = walked.entry
            kind = "symlink" if e.is_symlink else "dir" if e.is_dir else "file" if e.is_file else "other"
            item: dict[str, Any] = {"path": e.path + ("/" if e.is_dir else ""), "type": kind}
            if e.is_file:
                item["size"] = e.size
                files += 1
                total_bytes += e.size
            entries.append(item)
        entries.sort(key=lambda item: item["path"])  # a tree order: each directory followed by its contents
        result: dict[str, Any] = {"root": rel, "entries": entries, "files": files, "bytes": total_bytes}
        result["truncated"] = truncated
        if truncated:
            result["note"] = f"stopped at {max_entries} entries: list a subdirectory or lower max_depth"
        if self._skipped_rules:
            cut = ", ".join(f"{name} ({count:,} more)" for name, count in sorted(self._skipped_rules.items()))
            result["ignore_note"] = f"only the first {MAX_RULES:,} patterns of a .gitignore apply; past that: {cut}"
        return result

    def read_file(self, path: str, start_line: int = 1, end_line: int | None = None, max_bytes: int = 65536) -> Any:
        rel = self._rel(path)
        if end_line is not None and end_line < start_line:
            raise RetryTool(f"end_line ({end_line}) is before start_line ({start_line})")
        with self.confined.open_file(rel) as handle:
            head = handle.read(_BINARY_SNIFF)
            size = os.fstat(handle.fileno()).st_size
            if _is_binary(head):
                raise RetryTool(f"{rel} is a binary file ({size} bytes); it cannot be shown as text")
            shown = read_lines(handle, start_line, end_line, max_bytes, scan_chars=_MAX_FILE_BYTES)
        if shown.past_scan:
            raise RetryTool(f"{rel} is {size:,} bytes; read_file scans at most {_MAX_FILE_BYTES:,} characters")
        if shown.total is not None and start_line > shown.total > 0:
            raise RetryTool(f"{rel} has {shown.total} lines; start_line {start_line} is past the end")
        shown_to = start_line - 1 + len(shown.lines)
        result: dict[str, Any] = {
            "path": rel,
            "start_line": start_line,
            "end_line": shown_to,
            "total_lines": shown.total,
            "encoding": shown.encoding,
            "content": "".join(f"{n:>6}\t{line}\n" for n, line in enumerate(shown.lines, start_line)),
        }
        if shown.capped:
            result["truncated"] = True
            result["note"] = f"output capped at {max_bytes} bytes; continue with start_line={shown_to + 1}"
        elif shown.total is None:
            result["note"] = f"total_lines not counted: {rel} is {size:,} bytes; read on with start_line"
        return result

    def search(
        self,
        pattern: str,
        path: str = ".",
        is_regex: bool = False,
        case_sensitive: bool = True,
        glob: str | None = None,
        context_lines: int = 2,
        max_matches: int = 50,
    ) -> dict[str, Any]:
        rel = self._rel(path)
        compiled = _compile(pattern, is_regex, case_sensitive)
        # a case-sensitive ASCII literal can rule files out on their raw bytes, before any decoding
        needle = pattern.encode("ascii") if not is_regex and case_sensitive and pattern.isascii() else None
        deadline = time.monotonic() + self.search_budget_s
        matches: list[dict[str, Any]] = []
        stats = {"files_searched": 0, "skipped_binary": 0, "skipped_large": 0, "bytes_read": 0}
        targets = self._search_targets(rel, glob, deadline)
        try:
            while batch := list(itertools.islice(targets, _BATCH)):
                small = [path for path, size in batch if size <= _SEARCH_FILE_BYTES]
                stats["skipped_large"] += len(batch) - len(small)
                texts = zip(small, (self._search_text(p, stats, needle, compiled) for p in small), strict=True)
                if not self._scan(compiled, texts, stats, context_lines, max_matches, matches, deadline):
                    break
        except _Budget as spent:
            return _search_result(pattern, matches, stats, f"stopped after {spent}; narrow the path or glob")
        note = f"stopped at {max_matches} matches; narrow the path or glob" if len(matches) >= max_matches else None
        return _search_result(pattern, matches, stats, note)

    def _scan(
        self,
        compiled: Any,
        texts: Iterator[tuple[str, str | None]],
        stats: dict[str, int],
        context: int,
        limit: int,
        matches: list[dict[str, Any]],
        deadline: float,
    ) -> bool:
        for rel_file, text in texts:
            if time.monotonic() > deadline:
                raise _Budget(f"the {self.search_budget_s:g} s budget")
            if stats["bytes_read"] > self.search_budget_bytes:
                raise _Budget(f"reading {self.search_budget_bytes:,} bytes")
            if text is None:
                continue
            stats["files_searched"] += 1
            if text and not _find(compiled, text, rel_file, context, limit, matches):
                return False
        return True

    def _search_targets(self, rel: str, glob: str | None, deadline: float) -> Iterator[tuple[str, int]]:
        entry = self._entry(rel)
        if entry is not None and not entry.is_dir:
            yield rel, entry.size
            return
        for walked in self._walk(rel, max_depth=10_000, include_ignored=False, deadline=deadline):
            e = walked.entry
            if e.is_file and (glob is None or fnmatch.fnmatchcase(e.name, glob) or fnmatch.fnmatchcase(e.path, glob)):
                yield e.path, e.size

    def _search_text(self, rel_file: str, stats: dict[str, int], needle: bytes | None, compiled: Any) -> str | None:
        """The file's text; "" when the pattern cannot occur in it; None when it is skipped (binary, refused)."""
        try:
            fd = self.confined.open_fd(rel_file, max_bytes=_SEARCH_FILE_BYTES)
        except ConfinedPathError:
            return None
        try:  # one read sized by fstat: a buffered read(cap) would allocate the whole cap per file
            data = os.read(fd, os.fstat(fd).st_size + 1)
        finally:
            os.close(fd)
        stats["bytes_read"] += len(data)
        if _is_binary(data[:_BINARY_SNIFF]):
            stats["skipped_binary"] += 1
            return None
        if needle is not None and needle not in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return ""
        if data.isascii() and compiled.search(data) is None:  # ASCII is its own UTF-8: RE2 reads the bytes as they are
            return ""
        return _decode(data)[0]

    def file_info(self, path: str) -> dict[str, Any]:
        rel = self._rel(path)
        st = self.confined.stat(rel)
        entry = self._entry(rel)
        kind = "dir" if _is_dir_mode(st.st_mode) else "file" if _is_file_mode(st.st_mode) else "other"
        info: dict[str, Any] = {
            "path": rel,
            "type": kind,
            "size": st.st_size,
            "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)),
            "mode": oct(st.st_mode & 0o7777),
            "is_symlink": bool(entry and entry.is_symlink),
        }
        if _is_file_mode(st.st_mode):
            with self.confined.open_file(rel) as handle:
                head = handle.read(_BINARY_SNIFF)
                binary = _is_binary(head)
                info["binary"] = binary
                small = st.st_size <= _COUNT_BYTES
                if not binary and small and (counted := count_lines(handle, _COUNT_BYTES)) is not None:
                    info["lines"], info["encoding"] = counted
        parent = rel.rsplit("/", 1)[0] if "/" in rel else "."
        info["ignored"] = self._ignorer_for(parent).ignored(rel, _is_dir_mode(st.st_mode)) if rel != "." else False
        return info

    # ---- helpers -----------------------------------------------------------------------------------

    def _entry(self, rel: str) -> ConfinedEntry | None:
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if not parts:
            return None
        parent = "/".join(parts[:-1]) or "."
        return next((e for e in self.confined.scandir(parent) if e.name == parts[-1]), None)

    def _require_dir(self, rel: str) -> None:
        if not _is_dir_mode(self.confined.stat(rel).st_mode):
            raise RetryTool(f"{rel} is a file, not a directory: use read_file or file_info for it")


class _Budget(Exception):
    pass


def _is_dir_mode(mode: int) -> bool:
    return stat.S_ISDIR(mode)


def _is_file_mode(mode: int) -> bool:
    return stat.S_ISREG(mode)


def _is_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return not (head.startswith((b"\xff\xfe", b"\xfe\xff")))  # UTF-16 text has NULs too
    return False


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _find(compiled: Any, text: str, rel_file: str, context: int, limit: int, matches: list[dict[str, Any]]) -> bool:
    """Append this file's matches; False once the match cap is reached."""
    if compiled.search(text) is None:
        return True
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if compiled.search(line[:_MAX_LINE_CHARS]) is None:
            continue
        matches.append(
            {
                "path": rel_file,
                "line": index + 1,
                "text": line[:_MAX_LINE_CHARS],
                "before": [x[:_MAX_LINE_CHARS] for x in lines[max(0, index - context) : index]],
                "after": [x[:_MAX_LINE_CHARS] for x in lines[index + 1 : index + 1 + context]],
            }
        )
        if len(matches) >= limit:
            return False
    return True


def _compile(pattern: str, is_regex: bool, case_sensitive: bool) -> Any:
    if not pattern:
        raise RetryTool("the search pattern is empty")
    options = re2.Options()
    options.max_mem = _REGEX_MEM
    options.log_errors = False
    options.case_sensitive = case_sensitive
    options.literal = not is_regex
    try:
        return re2.compile(pattern if not is_regex else f"(?m){pattern}", options)
    except re2.error as exc:
        raise RetryTool(_regex_problem(pattern, _re2_message(exc))) from None


def _re2_message(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else str(exc)
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)


_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")


def _regex_problem(pattern: str, detail: str) -> str:
    """What is wrong with the pattern, in words the model can act on (RE2 syntax, not Python's)."""
    shown = f"invalid regular expression {clip(repr(pattern))}"
    detail = clip(detail.replace(": (?m)", ": ", 1))  # RE2 quotes (our multiline flag and) what it refuses
    if "pattern too large" in detail:
        return f"{shown}: it is too large to compile within {_REGEX_MEM >> 20} MiB; use a simpler pattern"
    if "invalid repetition size" in detail:
        return f"{shown}: {detail}; a count is 0 to 1000 with min <= max, and nested counts multiply (at most 1000)"
    if detail.startswith("invalid escape sequence: \\") and detail[-1:].isdigit():
        return f"{shown}: backreferences such as {detail.split(': ', 1)[1]} are not supported (RE2 syntax)"
    if detail.startswith(tuple(f"invalid perl operator: {op}" for op in _LOOKAROUND)):
        return f"{shown}: lookahead and lookbehind are not supported (RE2 syntax); match the text itself instead"
    if detail == "invalid escape sequence: \\Z":
        return f"{shown}: use \\z for the end of the text (RE2 syntax)"
    return f"{shown}: {detail}; the syntax is RE2's (Python's without backreferences or lookaround), or is_regex=false"


def _search_result(pattern: str, matches: list[dict[str, Any]], stats: dict[str, int], note: str | None) -> Any:
    result: dict[str, Any] = {"pattern": pattern, "matches": matches, "count": len(matches), **stats}
    result["truncated"] = note is not None
    if note:
        result["note"] = note
    return result


def repo_tools(root: str | os.PathLike[str] | None = None, *, allow_hardlinks: bool = False) -> list[Tool]:
    """`list_files`, `read_file`, `search` and `file_info` bound to `root` (default: $AGENTKIT_REPO_ROOT or cwd)."""
    reader = RepoReader(root, allow_hardlinks=allow_hardlinks)
    needs = Needs(read_paths=(reader.root,))
    specs = [
        ("list_files", LIST_FILES, reader.list_files),
        ("read_file", READ_FILE, reader.read_file),
        ("search", SEARCH, reader.search),
        ("file_info", FILE_INFO, reader.file_info),
    ]
    return [
        Tool.from_schema(name, desc, schema, fn, needs=needs, timeout=30.0)  # type: ignore[arg-type]
        for name, (desc, schema), fn in specs
    ]
