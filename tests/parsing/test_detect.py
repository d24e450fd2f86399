"""format="auto": detection from the text (incrementally) and from the model name."""

from __future__ import annotations

import pytest

from agentkit.parsing import StreamParser, detect_format, format_for_model, parse

from ._helpers import assert_same_any_chunking

HERMES = '<tool_call>\n{"name": "a", "arguments": {"x": 1}}\n</tool_call>'
CODER = "<tool_call>\n<function=a>\n<parameter=x>\n1\n</parameter>\n</function>\n</tool_call>"
HARMONY = '<|channel|>commentary to=functions.a <|constrain|>json<|message|>{"x": 1}<|call|>'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HERMES, "hermes"),
        (CODER, "qwen3_coder"),
        ("Sure.\n<function=a>\n</function>", "qwen3_coder"),
        (HARMONY, "harmony"),
        ("plain text", "hermes"),
        ("mentions <tool_call> then " + HERMES, "hermes"),
    ],
)
def test_detected_from_text(text: str, expected: str) -> None:
    result = assert_same_any_chunking(text, [4, 12], format="auto")
    assert result.format == expected == detect_format(text)
    if ("a" in text and expected != "hermes") or text.endswith("</tool_call>"):
        assert result.calls and result.calls[0].name == "a"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3_coder"),
        ("qwen.qwen3-coder-480b-a35b-v1:0", "qwen3_coder"),
        ("openai/gpt-oss-20b", "harmony"),
        ("Qwen/Qwen3-8B", "hermes"),
        ("Qwen/Qwen3.5-27B", "qwen3_coder"),
        ("claude", None),
    ],
)
def test_format_from_model_name(name: str, expected: str | None) -> None:
    assert format_for_model(name) == expected


def test_model_name_decides_before_any_text_so_content_streams_at_once() -> None:
    parser = StreamParser(model_name="Qwen3-Coder-30B-A3B-Instruct")
    assert parser.format == "qwen3_coder"
    assert [e.text for e in parser.feed("Hello ") if e.kind == "content"] == ["Hello "]


def test_detection_is_incremental_and_decides_once() -> None:
    parser = StreamParser(thinking=False)
    assert parser.feed("Let me call <tool_") == []
    events = parser.feed("call>\n{")
    assert parser.format == "hermes"
    assert [e.text for e in events if e.kind == "content"] == ["Let me call "]


def test_bad_format_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="qwen3_coder, hermes, harmony"):
        parse("x", format="xml")


def test_tools_must_be_a_list() -> None:
    with pytest.raises(ValueError, match="list of tool definitions"):
        parse("x", tools={"name": "a"})  # type: ignore[arg-type]
