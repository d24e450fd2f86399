"""A small, correct .gitignore matcher (the rules in gitignore(5)).

- Blank lines and lines starting with `#` are skipped; `\\#` and `\\!` escape a leading `#` / `!`; trailing
  spaces are dropped unless escaped with a backslash.
- `!pattern` re-includes what an earlier pattern excluded (but nothing inside an excluded directory: the
  walker never enters one, which is exactly git's rule).
- A trailing `/` matches directories only.
- A pattern with a `/` at its start or middle is anchored to the directory of its .gitignore; without one it
  matches a name at any depth.
- `*` matches anything but `/`, `?` one character but `/`, `[a-z]` / `[!a-z]` a class; a leading `**/`
  matches in every directory, a trailing `/**` everything inside, and `/**/` zero or more directories.

`IgnoreRules` holds the patterns of one .gitignore file; `Ignorer` stacks them from the root down, and the
last matching pattern decides (deeper files come later, so they win).

A repository's .gitignore is untrusted input: a pattern such as `*a*a*a*a*a*a*b` makes a backtracking matcher
(Python's `re`) exponential in the length of a file name. Each pattern is therefore translated to RE2 syntax and
matched by google-re2, which runs in time linear in the path with compile memory capped by `max_mem`. Matching
works on the path's bytes (UTF-8, Latin-1 mode in RE2) as git's wildmatch does, so `?` is one byte. A pattern
that RE2 cannot compile within the memory cap never matches (git would need just as much to match it).
Matching a path costs time in proportion to the patterns, so one .gitignore applies at most `MAX_RULES` of
them (the first ones); `IgnoreRules.skipped` counts the rest, and `list_files` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import re2

__all__ = ["MAX_RULES", "IgnoreRules", "Ignorer", "merge_rules", "parse_gitignore"]

MAX_RULES = 1000  # 1,000 hostile patterns cost about 0.05 ms a path; 10,000 cost 400 ms


@dataclass(frozen=True, slots=True)
class _Rule:
    regex: Any  # a compiled re2 pattern over bytes
    negated: bool
    dir_only: bool


@dataclass(slots=True)
class IgnoreRules:
    """The rules of one .gitignore, relative to `base` ("" for the root)."""

    base: str
    rules: list[_Rule] = field(default_factory=list)
    skipped: int = 0  # patterns past MAX_RULES, not applied
    _any: Any = None  # every rule in one RE2 pattern: most paths match none, and it says so in one pass

    def decide(self, rel: str, is_dir: bool) -> bool | None:
        """True (ignored), False (re-included) or None (no rule matched) for a path relative to `base`."""
        if not self.rules:
            return None
        path = _bytes(rel)
        if self._any is not None and not self._any.fullmatch(path):
            return None
        for rule in reversed(self.rules):
            if (is_dir or not rule.dir_only) and rule.regex.fullmatch(path):
                return not rule.negated
        return None


def parse_gitignore(text: str, base: str = "") -> IgnoreRules:
    rules: list[_Rule] = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if len(rules) == MAX_RULES:
            rest = (x.strip() for x in lines[number:])
            return _build(base, rules, sum(1 for x in rest if x and not x.startswith("#")))
        if (rule := _parse_line(line)) is not None:
            rules.append(rule)
    return _build(base, rules)


def merge_rules(base: str, *parts: IgnoreRules) -> IgnoreRules:
    """One rule set holding `parts` in order (later rules win), e.g. .git/info/exclude then .gitignore."""
    return _build(base, [rule for part in parts for rule in part.rules], sum(part.skipped for part in parts))


_RULE_MEM = 8 << 20  # RE2's own default per pattern
_COMBINED_MEM = 64 << 20


def _options(max_mem: int) -> Any:
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1  # bytes, as git's wildmatch sees them
    options.dot_nl = True
    options.never_capture = True
    options.log_errors = False
    options.max_mem = max_mem
    return options


def _compile(pattern: bytes, max_mem: int) -> Any:
    """The RE2 pattern, or None when RE2 refuses it (too large for `max_mem`)."""
    try:
        return re2.compile(pattern, _options(max_mem))
    except re2.error:
        return None


def _build(base: str, rules: list[_Rule], skipped: int = 0) -> IgnoreRules:
    combined = b"|".join(b"(?:" + r.regex.pattern + b")" for r in rules) if rules else None
    return IgnoreRules(base, rules, skipped, _compile(combined, _COMBINED_MEM) if combined else None)


def _parse_line(line: str) -> _Rule | None:
    line = line.rstrip("\r\n")
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(line) > len(stripped):
        stripped += " "  # "foo\ " keeps one escaped trailing space
    line = stripped
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    if negated or line.startswith(("\\#", "\\!")):
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    body = _translate(line.split("/"))
    prefix = "" if anchored or line.startswith("**/") else "(?:.*/)?"
    regex = _compile(f"{prefix}{body}".encode("latin-1"), _RULE_MEM)
    return None if regex is None else _Rule(regex, negated, dir_only)


def _translate(segments: list[str]) -> str:
    out: list[str] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment == "**":
            out.append(".*" if index == last else "(?:.*/)?")
            continue
        out.append(_translate_segment(segment) + ("" if index == last else "/"))
    return "".join(out)


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _escape(text: str) -> str:
    """`text` as RE2 literals over its UTF-8 bytes (one Latin-1 character per byte)."""
    return "".join(chr(b) if chr(b).isalnum() and b < 128 else f"\\x{{{b:02x}}}" for b in _bytes(text))


def _translate_segment(segment: str) -> str:
    out: list[str] = []
    i, n = 0, len(segment)
    while i < n:
        char = segment[i]
        if char == "\\" and i + 1 < n:
            out.append(_escape(segment[i + 1]))
            i += 2
            continue
        if char == "*":
            while i + 1 < n and segment[i + 1] == "*":
                i += 1  # "**" inside a segment acts like "*"
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = _class_end(segment, i)
            if end < 0:
                out.append(_escape(char))
            else:
                out.append(_translate_class(segment[i + 1 : end]))
                i = end
        else:
            out.append(_escape(char))
        i += 1
    return "".join(out)


def _class_end(segment: str, start: int) -> int:
    i = start + 1
    if i < len(segment) and segment[i] in "!^":
        i += 1
    if i < len(segment) and segment[i] == "]":
        i += 1
    while i < len(segment) and segment[i] != "]":
        i += 1
    return i if i < len(segment) else -1


def _translate_class(body: str) -> str:
    negate = body[:1] in ("!", "^")
    if negate:
        body = body[1:]
    escaped = _bytes(body.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")).decode("latin-1")
    return f"[^/{escaped}]" if negate else f"[{escaped}]"


class Ignorer:
    """Every .gitignore from the root down to a directory; `ignored(path, is_dir)` is git's verdict."""

    def __init__(self, stack: tuple[IgnoreRules, ...] = ()) -> None:
        self.stack = stack

    def with_rules(self, rules: IgnoreRules) -> Ignorer:
        return Ignorer((*self.stack, rules)) if rules.rules else self

    def ignored(self, path: str, is_dir: bool) -> bool:
        for rules in reversed(self.stack):
            rel = path[len(rules.base) + 1 :] if rules.base else path
            verdict = rules.decide(rel, is_dir)
            if verdict is not None:
                return verdict
        return False
