"""Typing Qwen3-Coder parameter values (always text on the wire) from the tool's JSON schema.

The rules (reference toolcall-formats.md §1.5): no schema or an unknown parameter keeps the string;
containers are decoded JSON-first (a Python-literal fallback handles templates that render `{'k': 'v'}`);
integer literals stay exact ints; `null`/`None` becomes None only where the schema admits null (or for
non-string types); any failure keeps the string, so a call is never dropped for a bad value.
"""

from __future__ import annotations

import ast
import json
import math
import re
from typing import Any

__all__ = ["convert_value", "schema_kind", "streams_as_string"]

_STRING_TYPES = ("string", "str", "text", "varchar", "char", "enum")
_INT_PREFIXES = ("int", "uint", "long", "short", "unsigned")
_NULL_WORDS = ("null", "none")
_INT_LITERAL = re.compile(r"[-+]?\d+")
# literal_eval on huge or deeply nested text costs memory and recursion; such values stay strings
_LITERAL_LIMIT = 100_000


def schema_kind(schema: Any) -> tuple[str, bool]:
    """The parameter's base type name (lower case) and whether it admits null."""
    if not isinstance(schema, dict):
        return "string", False
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind.lower(), False
    if isinstance(kind, list):
        names = [k.lower() for k in kind if isinstance(k, str)]
        others = [k for k in names if k != "null"]
        return (others[0] if others else "null"), "null" in names
    for key in ("anyOf", "oneOf"):
        members = schema.get(key)
        if isinstance(members, list):
            nullable = False
            first: str | None = None
            for member in members:
                name, member_null = schema_kind(member)
                if name == "null" or member_null:
                    nullable = True
                if name != "null" and first is None:
                    first = name
            return (first or "null"), nullable
    if "enum" in schema:
        return "enum", None in schema["enum"]
    return "string", False


def convert_value(text: str, schema: Any) -> Any:
    """The typed value for `text` under `schema` (None: no schema, keep the string)."""
    if schema is None:
        return text
    kind, nullable = schema_kind(schema)
    is_null = text.strip().lower() in _NULL_WORDS
    if nullable and is_null:
        return None
    if kind in _STRING_TYPES:
        return text
    if is_null:
        return None
    stripped = text.strip()
    if kind.startswith(_INT_PREFIXES):
        return _integer(stripped, text)
    if kind.startswith(("num", "float", "double", "decimal")):
        return _number(stripped, text)
    if kind in ("boolean", "bool", "binary"):
        lowered = stripped.lower()
        return True if lowered == "true" else False if lowered == "false" else text
    return _container(stripped, text)


def _integer(stripped: str, text: str) -> Any:
    if not _INT_LITERAL.fullmatch(stripped):
        return text
    try:
        return int(stripped)
    except ValueError:  # more digits than int() accepts
        return text


def _number(stripped: str, text: str) -> Any:
    if _INT_LITERAL.fullmatch(stripped):
        return _integer(stripped, text)
    try:
        value = float(stripped)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _container(stripped: str, text: str) -> Any:
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        value = _literal(stripped)
        return text if value is _FAILED else value
    if isinstance(value, str):
        inner = _literal(value)
        return text if inner is _FAILED else inner
    return value if _jsonable(value) else text


_FAILED = object()


def _literal(text: str) -> Any:
    if len(text) > _LITERAL_LIMIT:
        return _FAILED
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _FAILED
    return value if _jsonable(value) else _FAILED


def _jsonable(value: Any, depth: int = 0) -> bool:
    """True when `value` serialises as JSON (literal_eval can also give tuples, sets, bytes, complex)."""
    if depth > 200:
        return False
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_jsonable(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v, depth + 1) for k, v in value.items())
    return False


def streams_as_string(schema: Any) -> bool:
    """True when the value is kept as text whatever it says, so it can be streamed before it ends."""
    if schema is None:
        return True
    kind, nullable = schema_kind(schema)
    return kind in _STRING_TYPES and not nullable
