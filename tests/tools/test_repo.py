"""The read-only repository tools over a real directory tree: listing, reading, searching, confinement."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from agentkit.errors import RetryTool, ToolError
from agentkit.sandbox import ConfinedPathError
from agentkit.tools.repo import RepoReader, repo_tools


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src/pkg").mkdir(parents=True)
    (root / "node_modules/dep").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git/config").write_text("[core]\n")
    (root / ".gitignore").write_text("node_modules/\n*.pyc\n")
    (root / "README.md").write_text("# Demo\nhello world\n")
    (root / "src/app.py").write_text("".join(f"line {i}\n" for i in range(1, 101)) + "def target():\n    pass\n")
    (root / "src/pkg/util.py").write_text("import os\nTARGET = 1\n")
    (root / "src/pkg/util.pyc").write_bytes(b"\x00\x01target")
    (root / "node_modules/dep/index.js").write_text("target\n")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00target")
    (root / "latin.txt").write_bytes("café target\n".encode("latin-1"))
    (root / "bom.txt").write_bytes("\ufeffwith bom\n".encode())
    (tmp_path / "outside.txt").write_text("secret target\n")
    os.symlink(tmp_path / "outside.txt", root / "escape.txt")
    os.symlink("/etc", root / "etc-link")
    os.symlink("src/app.py", root / "inside-link.py")
    os.mkfifo(root / "pipe")
    return root


def test_list_files_respects_gitignore_depth_and_reports_sizes(repo: Path) -> None:
    result = RepoReader(repo).list_files(max_depth=1)
    paths = {e["path"] for e in result["entries"]}
    assert "README.md" in paths and "src/" in paths
    assert "node_modules/" not in paths and ".git/" not in paths
    assert "src/app.py" not in paths  # depth 1 stays at the top
    readme = next(e for e in result["entries"] if e["path"] == "README.md")
    assert readme == {"path": "README.md", "type": "file", "size": 19}
    assert next(e for e in result["entries"] if e["path"] == "escape.txt")["type"] == "symlink"
    deep = RepoReader(repo).list_files(max_depth=5)
    deep_paths = {e["path"] for e in deep["entries"]}
    assert "src/pkg/util.py" in deep_paths and "src/pkg/util.pyc" not in deep_paths
    everything = RepoReader(repo).list_files(max_depth=5, include_ignored=True)
    assert "node_modules/dep/index.js" in {e["path"] for e in everything["entries"]}


def test_list_files_entry_cap_and_subdirectory(repo: Path) -> None:
    capped = RepoReader(repo).list_files(max_depth=5, max_entries=3)
    assert len(capped["entries"]) == 3 and capped["truncated"] is True and "max_depth" in capped["note"]
    sub = RepoReader(repo).list_files("src/pkg")
    assert [e["path"] for e in sub["entries"]] == ["src/pkg/util.py"]
    with pytest.raises(RetryTool, match="is a file, not a directory"):
        RepoReader(repo).list_files("README.md")


def test_read_file_line_ranges_with_numbers(repo: Path) -> None:
    result = RepoReader(repo).read_file("src/app.py", start_line=100, end_line=102)
    assert result["content"] == "   100\tline 100\n   101\tdef target():\n   102\t    pass\n"
    assert result["total_lines"] == 102 and result["end_line"] == 102
    with pytest.raises(RetryTool, match="has 102 lines"):
        RepoReader(repo).read_file("src/app.py", start_line=500)
    with pytest.raises(RetryTool, match="before start_line"):
        RepoReader(repo).read_file("src/app.py", start_line=5, end_line=2)


def test_read_file_byte_cap_says_where_to_continue(repo: Path) -> None:
    result = RepoReader(repo).read_file("src/app.py", max_bytes=300)
    assert result["truncated"] is True
    assert len(result["content"].encode()) <= 300
    assert f"start_line={result['end_line'] + 1}" in result["note"]


def test_read_file_binary_and_encodings(repo: Path) -> None:
    reader = RepoReader(repo)
    with pytest.raises(RetryTool, match="binary file"):
        reader.read_file("image.png")
    latin = reader.read_file("latin.txt")
    assert latin["encoding"] == "latin-1" and "café" in latin["content"]
    bom = reader.read_file("bom.txt")
    assert bom["encoding"] == "utf-8-sig" and bom["content"] == "     1\twith bom\n"


@pytest.mark.parametrize(
    "path, reason",
    [
        ("../outside.txt", "traversal"),
        ("escape.txt", "escape"),
        ("etc-link/passwd", "escape"),
        ("/etc/passwd", "absolute"),
        ("pipe", "not_regular"),
        ("missing.txt", "not_found"),
    ],
)
def test_every_path_is_confined(repo: Path, path: str, reason: str) -> None:
    with pytest.raises(ConfinedPathError) as info:
        RepoReader(repo).read_file(path)
    assert info.value.reason == reason
    assert isinstance(info.value, ToolError)


def test_in_root_symlinks_and_absolute_paths_inside_the_root_work(repo: Path) -> None:
    reader = RepoReader(repo)
    assert reader.read_file("inside-link.py", 1, 1)["content"] == "     1\tline 1\n"
    assert reader.read_file(str(repo / "README.md"))["total_lines"] == 2


def test_search_literal_with_context_skips_ignored_binary_and_escapes(repo: Path) -> None:
    result = RepoReader(repo).search("target", context_lines=1)
    hits = {(m["path"], m["line"]) for m in result["matches"]}
    assert ("src/app.py", 101) in hits and ("latin.txt", 1) in hits
    assert not any(p.startswith(("node_modules", "escape", "image", "src/pkg/util.pyc")) for p, _ in hits)
    app = next(m for m in result["matches"] if m["path"] == "src/app.py")
    assert app["before"] == ["line 100"] and app["after"] == ["    pass"]
    assert result["skipped_binary"] >= 1


def test_search_case_glob_regex_and_cap(repo: Path) -> None:
    reader = RepoReader(repo)
    assert {m["path"] for m in reader.search("TARGET", case_sensitive=False, glob="*.py")["matches"]} == {
        "src/app.py",
        "src/pkg/util.py",
    }
    regex = reader.search(r"^def \w+\(\):$", is_regex=True)
    assert [(m["path"], m["line"]) for m in regex["matches"]] == [("src/app.py", 101)]
    capped = reader.search("line", max_matches=5)
    assert capped["count"] == 5 and capped["truncated"] is True
    one_file = reader.search("import", path="src/pkg/util.py")
    assert one_file["count"] == 1


def test_search_refuses_bad_patterns_naming_the_problem(repo: Path) -> None:
    reader = RepoReader(repo)
    with pytest.raises(RetryTool, match=r"invalid regular expression '\(unclosed'.*missing \)"):
        reader.search("(unclosed", is_regex=True)
    with pytest.raises(RetryTool, match=r"invalid regular expression 'a\)\(b': unexpected \): a\)\(b;"):
        reader.search("a)(b", is_regex=True)
    with pytest.raises(RetryTool, match=r"backreferences such as \\1 are not supported"):
        reader.search(r"(a)\1", is_regex=True)
    for lookaround in (r"a(?=b)", r"a(?!b)", r"(?<=a)b", r"(?<!a)b"):
        with pytest.raises(RetryTool, match="lookahead and lookbehind are not supported"):
            reader.search(lookaround, is_regex=True)
    with pytest.raises(RetryTool, match=r"use \\z"):
        reader.search(r"pass\Z", is_regex=True)
    with pytest.raises(RetryTool, match="too large to compile within 8 MiB"):
        reader.search(r"[\pL\pN]{1000}" * 3, is_regex=True)
    assert reader.search(r"(?P<name>def) (?<fn>\w+)", is_regex=True)["count"] == 1  # named groups work


def test_catastrophic_patterns_run_in_linear_time(repo: Path) -> None:
    """(a|aa)+b backtracks exponentially in Python's re; RE2 answers in one pass."""
    (repo / "aaa.txt").write_text("a" * 200_000 + "\n")
    result = RepoReader(repo).search(r"(a|aa)+b|(a+)+c|(.*a){20}x", is_regex=True)
    assert result["count"] == 0 and result["files_searched"] >= 5


def test_a_huge_repetition_fails_fast_with_bounded_memory(repo: Path) -> None:
    """(a{5000}){5000} took 14-21 s and 6.7 GB to compile; now it is refused at once (measured in a subprocess)."""
    code = (
        "import re, sys\n"
        "from agentkit.errors import RetryTool\n"
        "from agentkit.tools.repo import RepoReader\n"
        "try:\n"
        "    RepoReader(sys.argv[1]).search('(a{5000}){5000}', is_regex=True)\n"
        "except RetryTool as exc:\n"
        "    print(exc)\n"
        # VmHWM is this process image's own peak; ru_maxrss would also count the forked copy of pytest
        "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    message, peak_kib = done.stdout.strip().splitlines()[-2:]
    assert "(a{5000}){5000}" in message and "nested counts multiply (at most 1000)" in message
    assert int(peak_kib) < 300 * 1024


def test_file_info(repo: Path) -> None:
    reader = RepoReader(repo)
    info = reader.file_info("src/app.py")
    assert info["type"] == "file" and info["lines"] == 102 and info["binary"] is False
    assert info["ignored"] is False and info["is_symlink"] is False
    assert reader.file_info("src/pkg/util.pyc")["ignored"] is True
    assert reader.file_info("image.png")["binary"] is True
    assert reader.file_info("inside-link.py")["is_symlink"] is True
    assert reader.file_info("src")["type"] == "dir"


def test_factory_binds_root_and_default_uses_env(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = {t.name: t for t in repo_tools(repo)}
    assert set(tools) == {"list_files", "read_file", "search", "file_info"}
    assert tools["read_file"].needs.read_paths == (str(repo),)
    out = anyio.run(tools["read_file"].invoke, tools["read_file"].validate({"path": "README.md"}))
    assert "hello world" in out["content"]
    monkeypatch.setenv("AGENTKIT_REPO_ROOT", str(repo / "src"))
    default = {t.name: t for t in repo_tools()}
    assert default["file_info"].needs.read_paths == (str(repo / "src"),)
    with pytest.raises(ToolError):
        tools["search"].validate({"pattern": "x", "max_matches": 0})


def _bytes_read() -> int:
    """What this process has read through system calls so far (Linux: rchar in /proc/self/io)."""
    with open("/proc/self/io") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("rchar:"))


def _big_text_file(path: Path, size: int) -> None:
    """Two MiB of numbered lines, then NULs up to `size` (sparse, so it is quick to make)."""
    with open(path, "wb") as handle:
        handle.write(b"".join(b"line %d of a big file\n" % i for i in range(1, 100_000)))
        handle.truncate(size)


def test_read_file_streams_a_line_range_without_reading_the_whole_file(repo: Path) -> None:
    """Lines 1-3 of a 198 MiB file took 22.9 s and 5.3 GB: now they cost a few MiB of reading."""
    _big_text_file(repo / "big.txt", 198 * 1024 * 1024)
    reader = RepoReader(repo)
    before = _bytes_read()
    result = reader.read_file("big.txt", start_line=1, end_line=3)
    assert _bytes_read() - before < 4 * 1024 * 1024
    assert result["content"] == "".join(f"     {i}\tline {i} of a big file\n" for i in (1, 2, 3))
    assert result["total_lines"] is None and "not counted" in result["note"]
    middle = reader.read_file("big.txt", start_line=50_000, end_line=50_001)
    assert middle["content"].startswith(" 50000\tline 50000 of")
    before = _bytes_read()
    info = reader.file_info("big.txt")
    assert _bytes_read() - before < 1024 * 1024 and "lines" not in info and info["binary"] is False


def test_read_file_cuts_a_huge_line_and_counts_lines_past_the_range(repo: Path) -> None:
    (repo / "long.txt").write_text("x" * 3_000_000 + "\nsecond\nthird\n")
    reader = RepoReader(repo)
    first = reader.read_file("long.txt", max_bytes=1000)
    assert first["content"].startswith("     1\txxx") and "[line cut: 2,999,000 more characters]" in first["content"]
    assert len(first["content"]) < 1100 and first["truncated"] is True and "start_line=2" in first["note"]
    assert first["total_lines"] == 3
    assert reader.read_file("long.txt", start_line=2)["content"] == "     2\tsecond\n     3\tthird\n"


def test_file_info_counts_lines_in_chunks_and_sees_latin1_late_in_the_file(repo: Path) -> None:
    (repo / "late.txt").write_bytes(b"plain ascii line\n" * 200_000 + b"caf\xe9\n")
    info = RepoReader(repo).file_info("late.txt")
    assert info["lines"] == 200_001 and info["encoding"] == "latin-1"
    read = RepoReader(repo).read_file("late.txt", start_line=200_001)
    assert read["encoding"] == "latin-1" and read["content"] == "200001\tcafé\n" and read["total_lines"] == 200_001


def test_search_stops_after_its_byte_budget(repo: Path) -> None:
    for index in range(20):
        (repo / f"chunk{index:02d}.txt").write_text("filler line\n" * 20_000)  # 240 KB each
    result = RepoReader(repo, search_budget_bytes=1_000_000).search("needle")
    assert result["truncated"] is True and "reading 1,000,000 bytes" in result["note"]
    assert 1_000_000 < result["bytes_read"] < 1_300_000
