"""Built-in tools, side by side with their peers.

1. calculator: calls per second on everyday expressions, and how long each hostile input takes to be refused.
2. repo reader on a generated 50,000-file tree (500 folders x 100 files, a .gitignore, a git index):
   list_files vs `git ls-files -co --exclude-standard`, search (literal and regex) vs `grep -r` / `grep -rE`.
3. hostile input beside typical input (issue 13): a 50,000-file tree whose names are runs of `a` listed with a
   plain .gitignore and with `*a*a*a*a*a*a*b`-style patterns (target: at most 2x); catastrophic regexes beside
   an everyday one; lines 1-3 of a 200 MiB file beside lines 1-3 of a small one.

Run: /work/venv/bin/python benchmarks/bench_tools.py [--files 50000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

from agentkit.errors import ToolError
from agentkit.tools.calculator import calculate
from agentkit.tools.repo import RepoReader

EVERYDAY = ["42 ^ 9", "sqrt(42 ^ 9)", "(3 + 4) * 2 / 7", "sin(pi / 6) + cos(1)", "log(1000, 10)", "0.1 + 0.2"]
HOSTILE = [
    "9**9**9**9",
    "(" * 100_000,
    "factorial(10**6)",
    "10 ** 10 ** 10",
    "comb(10**9, 10**8)",
    "-" * 900 + "1",
    "__import__('os').system('true')",
    "().__class__.__bases__",
]


def _best(fn: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_calculator() -> None:
    print("## calculator")
    print("| expression | calls/s | µs/call |\n|---|---:|---:|")
    n = 2000
    for expr in EVERYDAY:
        elapsed = _best(lambda expr=expr: [calculate(expr) for _ in range(n)], repeat=3)
        print(f"| `{expr}` | {n / elapsed:,.0f} | {elapsed / n * 1e6:.1f} |")
    print("\n| hostile input | refused in (ms) | error |\n|---|---:|---|")
    for expr in HOSTILE:

        def refuse(expr: str = expr) -> str:
            try:
                calculate(expr)
            except ToolError as exc:
                return str(exc)
            raise AssertionError(f"{expr[:30]} was not refused")

        message = refuse()
        elapsed = _best(refuse, repeat=5)
        shown = expr if len(expr) < 30 else f"{expr[:12]}... ({len(expr)} chars)"
        print(f"| `{shown}` | {elapsed * 1000:.3f} | {message[:70]} |")


def make_tree(root: str, files: int, stem: str = "file") -> None:
    per_dir = 100
    body = "".join(f"line {i}: some ordinary source text with words\n" for i in range(8))
    for index in range(files):
        folder = os.path.join(root, f"pkg{index // per_dir // 50:02d}", f"mod{index // per_dir:03d}")
        if index % per_dir == 0:
            os.makedirs(folder, exist_ok=True)
        extra = "def needle_function():\n    return 42\n" if index % 500 == 0 else ""
        with open(os.path.join(folder, f"{stem}{index:05d}.py"), "w") as handle:
            handle.write(body + extra)
    os.makedirs(os.path.join(root, "build"), exist_ok=True)
    for index in range(200):
        with open(os.path.join(root, "build", f"out{index}.py"), "w") as handle:
            handle.write("needle_function ignored\n")
    with open(os.path.join(root, ".gitignore"), "w") as handle:
        handle.write("build/\n*.tmp\n")


def _run(argv: list[str], cwd: str) -> str:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False).stdout


def bench_repo(files: int) -> None:
    tmp = tempfile.mkdtemp(prefix="bench-tools-")
    try:
        start = time.perf_counter()
        make_tree(tmp, files)
        subprocess.run(["git", "init", "-q", tmp], check=True)
        subprocess.run(["git", "-C", tmp, "add", "-A"], check=True)
        print(f"\n## repo reader on {files:,} files (tree built and indexed in {time.perf_counter() - start:.1f} s)")
        reader = RepoReader(tmp)
        listed = reader.list_files(max_depth=20, max_entries=10**6)
        git_files = _run(["git", "ls-files", "-co", "--exclude-standard"], tmp).splitlines()
        assert listed["files"] == len(git_files) == files + 1, (listed["files"], len(git_files))
        rows = []
        t_ours = _best(lambda: reader.list_files(max_depth=20, max_entries=10**6), repeat=3)
        t_git = _best(lambda: _run(["git", "ls-files", "-co", "--exclude-standard"], tmp), repeat=3)
        t_git_index = _best(lambda: _run(["git", "ls-files"], tmp), repeat=3)
        rows.append(("list_files (all, sizes)", t_ours, "git ls-files -co --exclude-standard", t_git))
        rows.append(("list_files (all, sizes)", t_ours, "git ls-files (index only)", t_git_index))
        ours = reader.search("needle_function", max_matches=10**6)
        grep = _run(["grep", "-rn", "--exclude-dir=.git", "--exclude-dir=build", "needle_function", "."], tmp)
        assert ours["count"] == len(grep.splitlines()) == files // 500, (ours["count"], len(grep.splitlines()))
        t_search = _best(lambda: reader.search("needle_function", max_matches=10**6, context_lines=0), repeat=3)
        t_grep = _best(
            lambda: _run(["grep", "-rn", "--exclude-dir=.git", "--exclude-dir=build", "needle_function", "."], tmp),
            repeat=3,
        )
        rows.append(("search literal", t_search, "grep -rn", t_grep))
        pattern = r"def \w+_function\(\)"
        t_regex = _best(lambda: reader.search(pattern, is_regex=True, max_matches=10**6, context_lines=0), repeat=3)
        t_grep_e = _best(
            lambda: _run(
                ["grep", "-rnE", "--exclude-dir=.git", "--exclude-dir=build", r"def \w+_function\(\)", "."], tmp
            ),
            repeat=3,
        )
        rows.append(("search regex", t_regex, "grep -rnE", t_grep_e))
        print("| ours | s | peer | s | ours / peer |\n|---|---:|---|---:|---:|")
        for name, ours_s, peer, peer_s in rows:
            print(f"| {name} | {ours_s:.3f} | {peer} | {peer_s:.3f} | {ours_s / peer_s:.1f}x |")
        print(f"\nlist+search total: {t_ours + t_search:.2f} s (target: under 2 s)")
        reader.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


PLAIN_IGNORE = "build/\n*.tmp\n"
HOSTILE_IGNORE = PLAIN_IGNORE + "".join("*a" * stars + "*b\n" for stars in range(4, 12)) + "a*a*a*a*a*a*a*a*c/\n"
HOSTILE_REGEXES = [r"(a|aa)+b", r"(.*a){20}x", r"(\w+\s*)+=$"]


def _row(name: str, typical: float, hostile: float) -> None:
    print(f"| {name} | {typical:.3f} | {hostile:.3f} | {hostile / typical:.2f}x |")


def bench_hostile(files: int) -> None:
    tmp = tempfile.mkdtemp(prefix="bench-hostile-")
    try:
        make_tree(tmp, files, stem="a" * 90)  # names that make a backtracking glob matcher explode
        reader = RepoReader(tmp)
        print(f"\n## hostile input beside typical input ({files:,} files named with 90 `a`s)")
        print("| case | typical s | hostile s | hostile / typical |\n|---|---:|---:|---:|")

        def listing() -> float:
            reader.close()  # each .gitignore is read afresh
            return _best(lambda: reader.list_files(max_depth=20, max_entries=10**6), repeat=3)

        with open(os.path.join(tmp, ".gitignore"), "w") as handle:
            handle.write(PLAIN_IGNORE)
        plain = listing()
        with open(os.path.join(tmp, ".gitignore"), "w") as handle:
            handle.write(HOSTILE_IGNORE)
        hostile = listing()
        _row("list_files, .gitignore with *a*a*a*a*a*a*b (4-11 stars)", plain, hostile)
        everyday = _best(lambda: reader.search(r"def \w+_function\(\)", is_regex=True, max_matches=10**6), repeat=3)
        for pattern in HOSTILE_REGEXES:
            slow = _best(lambda p=pattern: reader.search(p, is_regex=True, max_matches=10**6), repeat=3)
            shown = pattern.replace("|", "\\|")  # a table cell
            _row(f"search `{shown}` vs `def \\w+_function\\(\\)`", everyday, slow)
        refused = _best(lambda: _refused(reader, "(a{5000}){5000}"), repeat=3)
        print(f"| search `(a{{5000}}){{5000}}` refused (1 call, ms) | | {refused * 1000:.3f} | |")
        bench_big_file(tmp, reader)
        reader.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _refused(reader: RepoReader, pattern: str) -> None:
    try:
        reader.search(pattern, is_regex=True)
    except ToolError:
        return
    raise AssertionError(f"{pattern} was not refused")


def bench_big_file(root: str, reader: RepoReader) -> None:
    with open(os.path.join(root, "small.txt"), "w") as handle:
        handle.write("".join(f"line {i}\n" for i in range(100)))
    with open(os.path.join(root, "big.txt"), "w") as handle:
        line = "x" * 99 + "\n"
        block = line * 10_000  # 1 MB
        for _ in range(200):
            handle.write(block)
    small = _best(lambda: reader.read_file("small.txt", 1, 3), repeat=5)
    big = _best(lambda: reader.read_file("big.txt", 1, 3), repeat=5)
    _row("read_file lines 1-3: 200 MB file vs 1 KB file", small, big)
    middle = _best(lambda: reader.read_file("big.txt", 1_000_000, 1_000_002), repeat=3)
    print(f"| read_file lines 1,000,000-1,000,002 of the 200 MB file | | {middle:.3f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    args = parser.parse_args()
    bench_calculator()
    bench_repo(args.files)
    bench_hostile(args.files)


if __name__ == "__main__":
    main()
