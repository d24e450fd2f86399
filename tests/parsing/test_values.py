"""Typing Qwen3-Coder values from the schema (reference §1.5), rule by rule."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.parsing import parse
from agentkit.parsing._values import convert_value


@pytest.mark.parametrize(
    ("text", "schema", "expected"),
    [
        ("null", None, "null"),  # rule 1: no schema keeps the string
        ("5", {"type": "integer"}, 5),
        ("-12", {"type": "int64"}, -12),
        ("5.5", {"type": "integer"}, "5.5"),  # rule 6: failure keeps the string
        ("abc", {"type": "integer"}, "abc"),
        ("9007199254740993", {"type": "number"}, 9007199254740993),  # rule 7: exact ints
        ("1.25e3", {"type": "number"}, 1250.0),  # a fraction/exponent is a float
        ("5.0", {"type": "number"}, 5.0),
        ("nan", {"type": "number"}, "nan"),
        ("null", {"type": "string"}, "null"),  # rule 4: the open conflict, decided for the string
        ("null", {"type": ["string", "null"]}, None),  # rule 3: nullable
        ("None", {"anyOf": [{"type": "integer"}, {"type": "null"}]}, None),
        ("7", {"anyOf": [{"type": "integer"}, {"type": "null"}]}, 7),  # anyOf: first non-null member
        ("null", {"type": "integer"}, None),  # rule 5
        ("True", {"type": "boolean"}, True),  # rule 8
        ("false", {"type": "boolean"}, False),
        ("yes", {"type": "boolean"}, "yes"),  # not a boolean: kept for validation to report
        ('["a", 1, true]', {"type": "array"}, ["a", 1, True]),  # rule 9: JSON first
        ("{'k': 'v'}", {"type": "object"}, {"k": "v"}),  # Python-repr fallback
        ("\"{'k': 1}\"", {"type": "object"}, {"k": 1}),  # double-encoded
        ("{not json", {"type": "object"}, "{not json"),
        ("{1, 2}", {"type": "array"}, "{1, 2}"),  # a set is not JSON: kept as text
        ("  text  ", {"type": "string"}, "  text  "),
        ("[1]", {"enum": ["a"]}, "[1]"),
        ("3", {"type": "weird"}, 3),  # rule 10
        ("hello", {"type": "weird"}, "hello"),
        ("9" * 5000, {"type": "integer"}, "9" * 5000),  # too many digits for int(): kept
        ("[" * 5000, {"type": "array"}, "[" * 5000),  # deep nesting: kept
    ],
)
def test_convert_value_rules(text: str, schema: Any, expected: Any) -> None:
    value = convert_value(text, schema)
    assert value == expected and type(value) is type(expected)


def test_typing_failure_never_drops_the_call() -> None:
    tools = [{"name": "f", "parameters": {"properties": {"n": {"type": "integer"}, "m": {"type": "array"}}}}]
    text = "<tool_call>\n<function=f>\n<parameter=n>\nfive\n</parameter>\n"
    text += "<parameter=m>\n[oops\n</parameter>\n</function>\n</tool_call>"
    assert parse(text, "qwen3_coder", tools).calls[0].arguments == {"n": "five", "m": "[oops"}
