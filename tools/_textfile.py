"""Text files read a line at a time, with byte budgets: what `read_file` and `file_info` see of a file.

A repository's file may be any size. Reading lines 1-3 of a 200 MiB file must cost three lines, not 200 MiB
(reading it whole took 23 s and 5.3 GB), so `read_lines` decodes the file incrementally (`io.TextIOWrapper`),
stops once the range is shown plus a little more to count the lines after it, cuts a line longer than the
output budget, and gives up past `scan_chars`. `count_lines` counts newlines in fixed-size chunks up to a budget.

The encoding is the one `_decode` in `repo` would pick for the bytes read: a byte-order mark says UTF-8 or
UTF-16; otherwise UTF-8, and Latin-1 when what was read is not valid UTF-8 (the read then starts over).
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = ["LineRange", "count_lines", "read_lines", "sniff_encoding"]

_CHUNK = 1 << 20
COUNT_AFTER_CHARS = 1 << 20  # past the range, lines are counted this much further to give total_lines


@dataclass(slots=True)
class LineRange:
    """The lines shown (numbered from `start`), and what the scan learned about the rest."""

    start: int
    encoding: str
    lines: list[str] = field(default_factory=list)
    total: int | None = None  # the file's line count when the scan reached its end
    capped: bool = False  # stopped by the output budget before the requested end
    past_scan: bool = False  # stopped by `scan_chars` before reaching `start`


def sniff_encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return "utf-8"


def read_lines(handle: BinaryIO, start: int, end: int | None, max_chars: int, scan_chars: int) -> LineRange:
    """Lines `start`..`end` (1-based, inclusive; None: to the end) of a seekable binary file, as many as fit in
    `max_chars` bytes once numbered (a longer line is cut to `max_chars` characters), reading at most `scan_chars`
    characters."""
    handle.seek(0)
    encoding = sniff_encoding(handle.read(4))
    for attempt in (encoding, "latin-1"):
        handle.seek(0)
        text = io.TextIOWrapper(handle, encoding=attempt, errors="strict", newline=None)
        try:
            return _scan(text, LineRange(start, attempt), end, max_chars, scan_chars)
        except UnicodeDecodeError:
            continue
        finally:
            text.detach()  # the caller owns `handle`
    raise AssertionError("latin-1 decodes any bytes")


def _scan(text: io.TextIOWrapper, out: LineRange, end: int | None, max_chars: int, scan_chars: int) -> LineRange:
    number = consumed = used = 0
    stop_at: int | None = None  # the scan position where the shown range ended
    while True:
        line, size = _next_line(text, max_chars)
        if not size:
            out.total = number
            return out
        number += 1
        consumed += size
        if stop_at is not None:
            if consumed - stop_at > COUNT_AFTER_CHARS:
                return out
            continue
        if consumed > scan_chars:
            out.past_scan = number <= out.start
            return out
        if number < out.start:
            continue
        cost = len(line.encode("utf-8", "surrogatepass")) + max(6, len(str(number))) + 2  # as read_file shows it
        if used + cost > max_chars and out.lines:
            out.capped = True
            stop_at = consumed
            continue
        out.lines.append(line)
        used += cost
        if end is not None and number >= end:
            stop_at = consumed


def _next_line(text: io.TextIOWrapper, max_chars: int) -> tuple[str, int]:
    """The next line without its newline (cut to `max_chars` with a marker) and how many characters it took."""
    line = text.readline(max_chars + 1)
    size = len(line)
    if line.endswith("\n") or len(line) <= max_chars:
        return line.removesuffix("\n"), size
    while (rest := text.readline(_CHUNK)) and not rest.endswith("\n"):
        size += len(rest)
    size += len(rest)
    cut = size - max_chars - (1 if rest.endswith("\n") else 0)
    return f"{line[:max_chars]}… [line cut: {cut:,} more characters]", size


def count_lines(handle: BinaryIO, budget: int) -> tuple[int, str] | None:
    """(lines, encoding) of a binary file read from its start in chunks, or None when it is over `budget` bytes."""
    handle.seek(0)
    encoding = sniff_encoding(handle.read(4))
    handle.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")() if encoding == "utf-8" else None
    lines = read = 0
    last = b""
    while chunk := handle.read(_CHUNK):
        read += len(chunk)
        if read > budget:
            return None
        lines += chunk.count(b"\n")
        last = chunk
        if decoder is not None:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                decoder, encoding = None, "latin-1"
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding = "latin-1"
    return lines + (1 if last and not last.endswith(b"\n") else 0), encoding
