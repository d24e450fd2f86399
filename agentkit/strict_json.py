"""Strict, bounded JSON decoding for text we did not write (HTTP payloads, session files).

    value = loads(data, limits=Limits(max_depth=64))     # raises JSONError, never RecursionError

`json.loads` alone is not enough for hostile input: 100,000 nested `[` raise RecursionError, a
5,000-digit integer raises a ValueError about int conversion, `"\\ud800"` decodes to a string that cannot
be written back as UTF-8, NaN and Infinity are accepted, and a payload of a million tiny arrays costs far
more memory than its size. `loads` checks the input first with one linear pass (a regular expression
skips strings, numbers and punctuation, so Python code runs once per string or bracket only), then
decodes it with the C decoder, then checks its strings. Every problem is one `JSONError` whose message
names it and the limit.

Why not a library: orjson would reject lone surrogates, but its depth limit (1024) is fixed and it has no
value budget, so the first pass would still be needed; the standard decoder after it is enough.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["JSONError", "Limits", "loads"]


class JSONError(ValueError):
    """Text that is not strict JSON within the limits; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 64  # nested arrays and objects
    max_values: int = 100_000  # arrays, objects and the items they hold (counted by their commas)
    max_number_digits: int = 100  # digits of one number (Python caps int conversion at 4,300)


# One step of the first pass: skip what is not a string or bracket, then take one of those (or the end).
# The string alternative is the "unrolled loop" form: linear, with no nested quantifier to backtrack into.
_STEP = re.compile(r'[^"\[\]{}]*+(?:("[^"\\]*+(?:\\.[^"\\]*+)*+")|([\[{])|([\]}])|\Z)', re.DOTALL)
_NOT_DIGIT = re.compile(r"[^0-9]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def loads(data: bytes | bytearray | str, limits: Limits = Limits()) -> Any:
    """Decode one JSON value strictly within `limits`; JSONError on anything else."""
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONError(f"the text is not valid UTF-8 (byte {exc.start})") from None
    # Each check below has a cheap C-speed test first that rules it out for typical text.
    brackets = text.count("[") + text.count("{")
    if brackets > limits.max_depth or brackets + text.count(",") > limits.max_values:
        _check_shape(text, limits)
    try:
        value = _decoder(limits).decode(text)
    except json.JSONDecodeError as exc:
        raise JSONError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if _SURROGATE_ESCAPE.search(text) or (isinstance(data, str) and _SURROGATE.search(text)):
        _check_strings(value)
    return value


@functools.lru_cache(maxsize=8)
def _decoder(limits: Limits) -> json.JSONDecoder:
    """The C decoder, calling back for numbers (one call per number; their count is bounded by the commas
    and brackets that `max_values` bounds) and for NaN/Infinity."""
    return json.JSONDecoder(
        parse_int=lambda s: _number(s, int, limits),
        parse_float=lambda s: _number(s, float, limits),
        parse_constant=_constant,
    )


def _check_shape(text: str, limits: Limits) -> None:
    """Depth and value count in one pass that never recurses; a syntax error is left to the decoder."""
    depth = values = 0
    position, end = 0, len(text)
    while position < end:
        match = _STEP.match(text, position)
        if match is None or match.end() == position:
            return  # an unterminated string or other syntax error: json.loads names it
        values += text.count(",", position, match.start(match.lastindex) if match.lastindex else match.end())
        if match.group(2):
            depth += 1
            values += 1
            if depth > limits.max_depth:
                raise JSONError(f"the JSON nesting is deeper than the limit of {limits.max_depth} levels")
        elif match.group(3):
            depth -= 1
        elif not match.group(1):
            return
        if values > limits.max_values:
            raise JSONError(f"the JSON holds more than the limit of {limits.max_values} values")
        position = match.end()


def _number(text: str, kind: type, limits: Limits) -> Any:
    if len(text) > limits.max_number_digits:
        digits = len(_NOT_DIGIT.sub("", text))
        if digits > limits.max_number_digits:
            raise JSONError(f"a number with {digits} digits is over the limit of {limits.max_number_digits} digits")
    number = kind(text)
    if number in (float("inf"), float("-inf")):
        raise JSONError(f"the number {text[:20]}... is too large for a float")
    return number


def _constant(name: str) -> Any:
    raise JSONError(f"{name} is not valid JSON (strict JSON has no NaN or Infinity)")


def _check_strings(value: Any) -> None:
    """Lone surrogates (`"\\ud800"`) decode, but no UTF-8 file or response can hold them: refuse them here."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings = [item]
        elif isinstance(item, dict):
            strings = list(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for text in strings:
            if _SURROGATE.search(text):
                raise JSONError(
                    "a string holds a lone UTF-16 surrogate (such as \\ud800), which is not valid Unicode text"
                )
