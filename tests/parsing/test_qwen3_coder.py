"""Qwen3-Coder XML: one test per rule of reference §1.3-1.8 (names follow the rules)."""

from __future__ import annotations

import pytest

from agentkit.tooling import Tool, ToolDefinition

from ._helpers import assert_same_any_chunking

READ = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file.",
        "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "limit": {"type": "integer"},
                "flags": {"type": "array"},
                "ok": {"type": "boolean"},
            },
            "required": ["path"],
        },
    },
}
WRITE = ToolDefinition(
    "write_file",
    "Write a file.",
    {"type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}},
)
TOOLS = [READ, WRITE]


def coder(text: str, tools: object = TOOLS, **kwargs: object) -> object:
    result = assert_same_any_chunking(text, [5, 17, 40], format="qwen3_coder", tools=tools, **kwargs)
    assert result.format == "qwen3_coder"
    return result


def call(name: str, *params: tuple[str, str], compact: bool = False) -> str:
    if compact:
        body = "".join(f"<parameter={k}>{v}</parameter>" for k, v in params)
        return f"<tool_call><function={name}>{body}</function></tool_call>"
    body = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in params)
    return f"<tool_call>\n<function={name}>\n{body}</function>\n</tool_call>"


def test_canonical_newline_dialect_with_content_before() -> None:
    text = "Reading it.\n\n" + call("read_file", ("path", "README.md"), ("limit", "20"))
    result = coder(text)
    assert result.content == "Reading it.\n\n"
    [c] = result.calls
    assert (c.name, c.arguments, c.complete) == ("read_file", {"path": "README.md", "limit": 20}, True)
    assert c.raw == text[len("Reading it.\n\n") :]


def test_compact_dialect_on_one_line() -> None:
    result = coder(call("read_file", ("path", "a.py"), ("ok", "true"), compact=True))
    assert result.calls[0].arguments == {"path": "a.py", "ok": True}
    assert result.content is None


def test_several_calls_keep_order_and_parameter_order() -> None:
    text = call("write_file", ("path", "a"), ("content", "x")) + "\n" + call("read_file", ("path", "b"))
    result = coder(text)
    assert [c.name for c in result.calls] == ["write_file", "read_file"]
    assert list(result.calls[0].arguments) == ["path", "content"]
    assert [c.index for c in result.calls] == [0, 1]


def test_empty_call_yields_empty_arguments() -> None:
    assert coder("<tool_call>\n<function=ping>\n</function>\n</tool_call>").calls[0].arguments == {}


def test_values_lose_exactly_one_newline_each_side() -> None:
    text = call("write_file", ("path", "a"), ("content", "\n  indented\n\tline  \n"))
    assert coder(text).calls[0].arguments["content"] == "\n  indented\n\tline  \n"


def test_no_html_unescaping_and_backslashes_verbatim() -> None:
    text = call("write_file", ("path", "a"), ("content", "&lt;b&gt; class BaseService\\( \\n"))
    assert coder(text).calls[0].arguments["content"] == "&lt;b&gt; class BaseService\\( \\n"


def test_greater_than_inside_value_is_content() -> None:
    assert coder(call("write_file", ("path", "Dallas->TX"))).calls[0].arguments == {"path": "Dallas->TX"}


def test_missing_closing_parameter_tag_ends_at_next_parameter_or_function() -> None:
    text = "<tool_call>\n<function=write_file>\n<parameter=path>\na.txt\n<parameter=content>\nhi\n"
    text += "</function>\n</tool_call>"
    assert coder(text).calls[0].arguments == {"path": "a.txt", "content": "hi"}


def test_truncated_output_salvages_the_partial_call() -> None:
    result = coder(
        "<tool_call>\n<function=write_file>\n<parameter=path>\na.txt\n</parameter>\n<parameter=content>\npart"
    )
    [c] = result.calls
    assert c.arguments == {"path": "a.txt", "content": "part"}
    assert c.complete is False


def test_missing_opener_bare_function_with_orphan_close() -> None:
    text = "Let me look.\n<function=read_file>\n<parameter=path>\nx\n</parameter>\n</function>\n</tool_call>\nThanks"
    result = coder(text)
    assert result.calls[0].arguments == {"path": "x"}
    assert result.content == "Let me look.\nThanks"


def test_function_name_without_closing_bracket_is_dropped_later_call_kept() -> None:
    text = "<tool_call>\n<function=read_file\n</tool_call>\n" + call("read_file", ("path", "b"))
    result = coder(text)
    assert [c.arguments for c in result.calls] == [{"path": "b"}]
    assert len(result.invalid_calls) == 1
    assert "function name" in result.invalid_calls[0].reason


def test_phantom_template_call_is_rejected() -> None:
    text = "<tool_call>\n<function={{ tc.name }}>\n<parameter=x>\n1\n</parameter>\n</function>\n</tool_call>"
    result = coder(text)
    assert result.calls == []
    assert result.invalid_calls[0].raw == text


def test_inline_empty_tool_call_is_prose_and_content_runs_to_real_call() -> None:
    text = "Use <tool_call>example</tool_call> tags.\n" + call("read_file", ("path", "a"))
    result = coder(text)
    assert result.content == "Use <tool_call>example</tool_call> tags.\n"
    assert len(result.calls) == 1


def test_literal_tags_inside_values_are_not_structural() -> None:
    fixture = "Example:\n<tool_call>\n<function=read_file>\n<parameter=path>\nx\n</parameter>\n"
    fixture += "</function>\n</tool_call>\ndone"
    text = call("write_file", ("path", "t.md"), ("content", fixture))
    result = coder(text)
    assert result.calls[0].arguments == {"path": "t.md", "content": fixture}
    assert len(result.calls) == 1


def test_literal_close_parameter_followed_by_text_is_content() -> None:
    content = "a </parameter> b </function> c </tool_call> d"
    assert coder(call("write_file", ("path", "p"), ("content", content))).calls[0].arguments["content"] == content


def test_two_tools_second_with_out_of_schema_nested_literal() -> None:
    nested = "<parameter=unknown_key>\nv\n</parameter>"
    text = call("read_file", ("path", "a")) + "\n" + call("write_file", ("path", "b"), ("content", nested))
    result = coder(text)
    assert [c.arguments for c in result.calls] == [{"path": "a"}, {"path": "b", "content": nested}]


def test_drifted_close_tags_are_stripped() -> None:
    text = "<tool_call>\n<function=write_file>\n<parameter=path>\na</parameter1>\n"
    text += "<parameter=content>\nb</parameter_function>\n</function>\n</tool_call>"
    assert coder(text).calls[0].arguments == {"path": "a", "content": "b"}


def test_truncated_close_parameter_is_stripped() -> None:
    assert coder("<function=write_file>\n<parameter=path>\na\n</parameter").calls[0].arguments == {"path": "a"}


def test_value_ending_in_parameters_word_closed_by_real_tag_is_kept() -> None:
    text = call("write_file", ("path", "p"), ("content", "see </parameters>"))
    assert coder(text).calls[0].arguments["content"] == "see </parameters>"


def test_unknown_function_and_parameter_returned_as_strings() -> None:
    result = coder(call("nope", ("n", "5"), ("m", "null")))
    assert result.calls[0].name == "nope"
    assert result.calls[0].arguments == {"n": "5", "m": "null"}


def test_no_tools_keeps_every_value_a_string() -> None:
    assert coder(call("read_file", ("limit", "5")), tools=None).calls[0].arguments == {"limit": "5"}


def test_trailing_text_after_last_call_is_content() -> None:
    result = coder("Before\n" + call("read_file", ("path", "a")) + "\n\nAfter the call.")
    assert result.content == "Before\nAfter the call."


def test_tools_accepted_in_every_shape() -> None:
    @Tool.from_function
    def read_file(path: str, limit: int = 10) -> str:
        """Read."""
        return path

    bedrock = ToolDefinition.from_any(READ).to_bedrock()
    for tools in ([READ], [bedrock], [read_file], [read_file.definition]):
        assert coder(call("read_file", ("limit", "7")), tools=tools).calls[0].arguments == {"limit": 7}


def test_calls_inside_reasoning_are_not_calls() -> None:
    # Thinking-2507 style (only </think>): the call was written while reasoning
    text = "maybe " + call("read_file", ("path", "x")) + " no\n</think>\n\nAnswer."
    result = coder(text)
    assert result.calls == []
    assert result.reasoning is not None and result.reasoning.startswith("maybe <tool_call>")
    assert result.content == "Answer."


def test_think_close_only_output_splits_reasoning() -> None:
    result = coder("plan the call\n</think>\n\n" + call("read_file", ("path", "x")))
    assert result.reasoning == "plan the call"
    assert result.calls[0].arguments == {"path": "x"}


def test_qwen35_tool_call_inside_unclosed_think_ends_reasoning() -> None:
    result = coder("<think>\nI should read it.\n" + call("read_file", ("path", "x")))
    assert result.reasoning == "I should read it."
    assert result.calls[0].arguments == {"path": "x"}


def test_bare_tool_call_mention_in_reasoning_does_not_end_it() -> None:
    result = coder("<think>\nthe <tool_call> tag is used\n</think>\nok", thinking=True)
    assert result.reasoning == "the <tool_call> tag is used"
    assert result.content == "ok"


def test_thinking_prompt_means_reasoning_until_think_close() -> None:
    result = coder("still thinking", thinking=True)
    assert (result.reasoning, result.content) == ("still thinking", None)


@pytest.mark.parametrize("thinking", [None, False])
def test_plain_text_is_content(thinking: bool | None) -> None:
    assert coder("Just an answer.", thinking=thinking).content == "Just an answer."
