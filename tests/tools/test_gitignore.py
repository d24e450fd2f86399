"""The .gitignore matcher agrees with git itself on a tree full of tricky patterns."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.tools._gitignore import MAX_RULES, Ignorer, parse_gitignore
from agentkit.tools.repo import RepoReader

ROOT_RULES = """\
# comment
*.log
!keep.log
build/
/top-only.txt
docs/**/*.tmp
**/cache
logs/**
!logs/important/
secret[0-9].txt
\\#hash.txt
?.q
"""
ROOT_RULES += "trailing.txt   \n"  # trailing spaces are not part of the pattern

FILES = [
    "a.log",
    "keep.log",
    "sub/b.log",
    "sub/keep.log",
    "build/x.o",
    "src/build/y.o",
    "build.txt",
    "top-only.txt",
    "sub/top-only.txt",
    "docs/a.tmp",
    "docs/x/y/b.tmp",
    "docs/x/c.txt",
    "cache/1",
    "deep/er/cache/2",
    "logs/a.txt",
    "logs/important/b.txt",
    "secret1.txt",
    "secretA.txt",
    "#hash.txt",
    "trailing.txt",
    "a.q",
    "ab.q",
    "pkg/.gitignore",
    "pkg/gen.py",
    "pkg/keep.py",
    "pkg/nested/gen.py",
    "pkg/data/file.bin",
    "src/main.py",
]
PKG_RULES = "gen.py\n/data/\n!*.log\n"


def _make(tmp_path: Path) -> Path:
    for rel in FILES:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")
    (tmp_path / ".gitignore").write_text(ROOT_RULES)
    (tmp_path / "pkg/.gitignore").write_text(PKG_RULES)
    return tmp_path


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed as the reference")
def test_walk_matches_git_ls_files(tmp_path: Path) -> None:
    root = _make(tmp_path)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = sorted(out.split("\n")[:-1])
    ours = sorted(RepoReader(root).iter_files())
    assert ours == expected
    assert "logs/important/b.txt" not in ours  # a file inside an excluded directory cannot be re-included


@pytest.mark.parametrize(
    "pattern, path, is_dir, ignored",
    [
        ("*.log", "a/b/c.log", False, True),
        ("/a.txt", "a.txt", False, True),
        ("/a.txt", "x/a.txt", False, False),
        ("d/", "d", True, True),
        ("d/", "d", False, False),
        ("a/**/b", "a/b", False, True),
        ("a/**/b", "a/x/y/b", False, True),
        ("**/foo", "x/foo", True, True),
        ("foo/**", "foo", True, False),
        ("foo/**", "foo/a/b", False, True),
        ("[!a]x", "bx", False, True),
        ("[!a]x", "ax", False, False),
        ("a?c", "a/c", False, False),
        ("doc/*.txt", "doc/x/y.txt", False, False),
    ],
)
def test_single_patterns(pattern: str, path: str, is_dir: bool, ignored: bool) -> None:
    assert Ignorer().with_rules(parse_gitignore(pattern)).ignored(path, is_dir) is ignored


def test_negation_and_nested_files_last_match_wins() -> None:
    root = parse_gitignore("*.txt\n!keep.txt\n")
    nested = parse_gitignore("keep.txt\n", "sub")
    ignorer = Ignorer().with_rules(root)
    assert ignorer.ignored("a.txt", False) and not ignorer.ignored("keep.txt", False)
    assert ignorer.with_rules(nested).ignored("sub/keep.txt", False)


HOSTILE_RULES = "*a*a*a*a*a*a*b\n*a*a*a*a*a*a*a*b\n"
EXTRA_FILES = ["a" * 90, "a" * 120, "a" * 60 + "b", "x/" + "a" * 30 + "xb"]
EXTRA_FILES += ["café.txt", "naïve?.md", "[x].txt", "q].txt"]
EXTRA_RULES = "caf?.txt\nna[!x]ve*\n\\[x\\].txt\n[]q].txt\n[!]a].md\n"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed as the reference")
def test_hostile_and_non_ascii_patterns_match_git(tmp_path: Path) -> None:
    for rel in EXTRA_FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n")
    (tmp_path / ".gitignore").write_text(HOSTILE_RULES + EXTRA_RULES)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    out = subprocess.run(
        ["git", "-c", "core.quotePath=false", "-C", str(tmp_path), "ls-files", "--others", "--exclude-standard", "-z"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sorted(RepoReader(tmp_path).iter_files()) == sorted(out.split("\0")[:-1])


def test_hostile_gitignore_lists_in_linear_time(tmp_path: Path) -> None:
    """`*a*a*a*a*a*a*b` beside a name of 90 (or 120) `a`s took 43 s (90 s+ with 7 stars) with a backtracking matcher."""
    for stars in (6, 7):
        root = tmp_path / f"stars{stars}"
        root.mkdir()
        (root / ".gitignore").write_text("*a" * stars + "*b\n")
        (root / ("a" * 90)).write_text("x\n")
        (root / ("a" * 120)).write_text("x\n")
        code = "import sys;from agentkit.tools.repo import RepoReader as R;print(R(sys.argv[1]).list_files()['files'])"
        done = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=10)
        assert done.stdout.strip() == "3", done.stderr  # .gitignore and both names


def test_a_pattern_too_large_for_re2_matches_nothing_and_the_rest_still_work() -> None:
    rules = parse_gitignore("*.log\n" + "a*" * 200_000 + "\n!keep.log\n")
    ignorer = Ignorer().with_rules(rules)
    assert ignorer.ignored("x.log", False) and not ignorer.ignored("keep.log", False)
    assert not ignorer.ignored("a" * 10, False)


def test_a_gitignore_applies_at_most_max_rules_patterns_and_listing_says_so(tmp_path: Path) -> None:
    """10,000 hostile patterns cost 400 ms a path; past MAX_RULES they are counted, not applied."""
    lines = ["first.txt", *("*a" * 6 + f"*b{i}" for i in range(MAX_RULES - 1)), "# a comment", "late.txt", "x.txt"]
    (tmp_path / ".gitignore").write_text("\n".join(lines) + "\n")
    for name in ("first.txt", "late.txt", "kept.txt"):
        (tmp_path / name).write_text("x\n")
    result = RepoReader(tmp_path).list_files()
    assert {e["path"] for e in result["entries"]} == {".gitignore", "late.txt", "kept.txt"}
    note = "only the first 1,000 patterns of a .gitignore apply; past that: .gitignore (2 more)"
    assert result["ignore_note"] == note
