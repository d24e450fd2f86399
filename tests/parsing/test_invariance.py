"""Streaming equals one-shot for ANY chunking, and parse never raises or hangs (property-based)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit.parsing import parse

from ._helpers import assert_same_any_chunking, check_events, chunks_at, stream

TOOLS = [
    {
        "name": "f",
        "parameters": {"properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "array"}}},
    }
]
FRAGMENTS = [
    "<tool_call>",
    "</tool_call>",
    "<function=f>",
    "<function=g>",
    "<function=",
    "</function>",
    "<parameter=a>",
    "<parameter=b>",
    "<parameter=c>",
    "<parameter=",
    "</parameter>",
    "</parameter1>",
    "</parameter",
    "\n",
    "\n\n",
    " ",
    " " * 300,  # past MAX_GAP: whitespace after a tag stops deciding what the tag is
    "x",
    "hello",
    "{",
    "}",
    '"',
    "\\",
    '{"name": "f", "arguments": {"a": 1}}',
    '"arguments": ',
    "[1, true]",
    "null",
    "<think>",
    "</think>",
    "<|start|>",
    "<|channel|>",
    "analysis",
    "final",
    "commentary",
    " to=functions.f",
    " to=browser.x",
    "<|message|>",
    "<|end|>",
    "<|call|>",
    "<|return|>",
    "<|constrain|>",
    "<|endoftext|>",
    "<|startoftext|>",
    "<|unknown|>",
    "json",
    "assistant",
    ">",
    "<",
    "{{ tc.name }}",
    "é中",
    "\ud83d\ude00",
]
FORMATS = ["auto", "qwen3_coder", "hermes", "harmony"]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)


@SETTINGS
@given(
    text=texts,
    cuts=st.lists(st.integers(0, 400), max_size=10),
    fmt=st.sampled_from(FORMATS),
    thinking=st.sampled_from([None, True, False]),
    with_tools=st.booleans(),
)
def test_streaming_equals_one_shot_for_any_chunking(
    text: str, cuts: list[int], fmt: str, thinking: bool | None, with_tools: bool
) -> None:
    assert_same_any_chunking(text, cuts, format=fmt, thinking=thinking, tools=TOOLS if with_tools else None)


@SETTINGS
@given(text=st.text(max_size=300), fmt=st.sampled_from(FORMATS), cuts=st.lists(st.integers(0, 300), max_size=6))
def test_parse_never_raises_on_arbitrary_text(text: str, fmt: str, cuts: list[int]) -> None:
    result = parse(text, fmt, TOOLS)
    json.dumps(result.to_dict())  # always serialisable
    assert stream(chunks_at(text, cuts), format=fmt, tools=TOOLS)[0] == result


@pytest.mark.parametrize("fmt", ["qwen3_coder", "hermes"])
def test_several_calls_in_one_chunk_and_trailing_text(fmt: str) -> None:
    if fmt == "hermes":
        one = '<tool_call>\n{"name": "f", "arguments": {"a": %d}}\n</tool_call>'
    else:
        one = "<tool_call>\n<function=f>\n<parameter=a>\n%d\n</parameter>\n</function>\n</tool_call>"
    text = "Lead.\n" + "\n".join(one % i for i in range(3)) + "\nTrailing words."
    result, events = stream(["Le", text[2:]], format=fmt, tools=TOOLS)
    check_events(result, events)
    assert [c.arguments for c in result.calls] == [{"a": 0}, {"a": 1}, {"a": 2}]
    assert result.content == "Lead.\nTrailing words."
    assert result == parse(text, fmt, TOOLS)


def test_string_values_stream_before_the_value_ends() -> None:
    text = "<tool_call>\n<function=f>\n<parameter=b>\n" + "word " * 50
    parser_events = stream(
        [text[i : i + 20] for i in range(0, len(text), 20)], format="qwen3_coder", tools=TOOLS, thinking=False
    )[1]
    fragments = [e for e in parser_events if e.kind == "arguments_delta"]
    assert len(fragments) > 10  # piecewise, not one block at the end


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "text",
    [
        "<tool_call>" * 100_000,
        "<function=" * 50_000,
        "<tool_call>\n<function=f>\n<parameter=b>\n" + "<parameter=" * 50_000,
        "<tool_call>\n<function=f>\n<parameter=c>\n" + "[" * 50_000 + "\n</parameter>\n</function>\n</tool_call>",
        '<tool_call>{"name": "f", "arguments": ' + '{"a": ' * 50_000,
        "<|start|>" * 50_000,
        "<|channel|>" + "x" * 200_000,
        "<|channel|>" * 150_000,  # 1.6 MB: 58.6 s when the Harmony header grew without a cap
        "<|constrain|>" * 80_000,  # 1 MB: 19 s
        "</parameter>" * 50_000,
        " " * 200_000 + "</think>",
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_adversarial_input_completes(text: str, fmt: str) -> None:
    result = parse(text, fmt, TOOLS)
    json.dumps(result.to_dict())
