"""Qwen3 / Hermes JSON calls: one test per rule of reference §2."""

from __future__ import annotations

from agentkit.parsing import ParseResult, parse

from ._helpers import assert_same_any_chunking


def hermes(text: str, **kwargs: object) -> ParseResult:
    result = assert_same_any_chunking(text, [3, 11, 30], format="hermes", **kwargs)
    assert result.format == "hermes"
    return result


def block(body: str) -> str:
    return f"<tool_call>\n{body}\n</tool_call>"


def test_one_call_with_content_before() -> None:
    result = hermes("Checking.\n" + block('{"name": "get_weather", "arguments": {"city": "Paris"}}'))
    assert result.content == "Checking.\n"
    assert (result.calls[0].name, result.calls[0].arguments) == ("get_weather", {"city": "Paris"})


def test_several_calls_with_and_without_separator() -> None:
    one, two = block('{"name": "a", "arguments": {}}'), block('{"name": "b", "arguments": {"x": [1, true]}}')
    for text in (one + "\n" + two, one + two):
        assert [(c.name, c.arguments) for c in hermes(text).calls] == [("a", {}), ("b", {"x": [1, True]})]


def test_unclosed_final_block_still_counts() -> None:
    result = hermes('<tool_call>\n{"name": "a", "arguments": {"k": "v"}}')
    assert result.calls[0].arguments == {"k": "v"}


def test_one_malformed_block_does_not_discard_the_others() -> None:
    text = block('{"name": "a", "arguments": {}}') + block('{"name": "b", "arguments": {') + block('{"name": "c"}')
    result = hermes(text)
    assert [c.name for c in result.calls] == ["a", "c"]
    [bad] = result.invalid_calls
    assert bad.raw == block('{"name": "b", "arguments": {')
    assert "JSON" in bad.reason


def test_truncated_block_is_reported_invalid() -> None:
    result = hermes('<tool_call>\n{"name": "a", "arguments": {"k": "v')
    assert result.calls == [] and "cut off" in result.invalid_calls[0].reason


def test_parameters_alias_for_arguments() -> None:
    assert hermes(block('{"name": "a", "parameters": {"q": 1}}')).calls[0].arguments == {"q": 1}


def test_string_arguments_that_decode_to_an_object_are_used() -> None:
    assert hermes(block('{"name": "a", "arguments": "{\\"q\\": 1}"}')).calls[0].arguments == {"q": 1}


def test_string_arguments_that_only_look_structured_are_invalid() -> None:
    for args in ('"{hello world}"', '"{\\"a\\": 1} tail text"', '"hello"'):
        result = hermes(block('{"name": "a", "arguments": ' + args + "}"))
        assert result.calls == [] and result.invalid_calls[0].name == "a"


def test_unicode_kept_unescaped() -> None:
    result = hermes(block('{"name": "a", "arguments": {"t": "温度 ṁ π ≈"}}'))
    assert result.calls[0].arguments == {"t": "温度 ṁ π ≈"}
    assert "温度" in result.calls[0].arguments_json()


def test_literal_close_tag_inside_a_string_value() -> None:
    body = '{"name": "write", "arguments": {"content": "a </tool_call> b <tool_call> c"}}'
    result = hermes(block(body) + "\nDone.")
    assert result.calls[0].arguments == {"content": "a </tool_call> b <tool_call> c"}
    assert result.content == "Done."


def test_unbalanced_quote_does_not_swallow_later_calls() -> None:
    text = block('{"name": "a", "arguments": {"k": "v}}') + "\n" + block('{"name": "b", "arguments": {}}')
    result = hermes(text)
    assert [c.name for c in result.calls] == ["b"] and len(result.invalid_calls) == 1


def test_prose_mention_of_tool_call_is_content() -> None:
    assert hermes("Use the <tool_call> tag.").content == "Use the <tool_call> tag."


def test_tool_calls_inside_think_are_not_calls() -> None:
    text = "<think>\nI could " + block('{"name": "a", "arguments": {}}') + "\n</think>\n\nNo call needed."
    result = hermes(text)
    assert result.calls == []
    assert result.reasoning is not None and '"name": "a"' in result.reasoning
    assert result.content == "No call needed."


def test_think_close_only_reasoning() -> None:
    result = hermes("Let me think.\n</think>\n\n" + block('{"name": "a", "arguments": {}}'))
    assert result.reasoning == "Let me think." and result.calls[0].name == "a"


def test_empty_think_pair_from_disabled_thinking() -> None:
    result = hermes("<think>\n\n</think>\n\nHello")
    assert (result.reasoning, result.content) == (None, "Hello")


def test_truncated_thinking_is_all_reasoning() -> None:
    assert hermes("<think>\nstill going").reasoning == "still going"


def test_phantom_template_name_is_invalid_json() -> None:
    result = hermes(block('{"name": <function-name>, "arguments": <args-json-object>}'))
    assert result.calls == [] and len(result.invalid_calls) == 1


def test_list_form_is_one_call_per_item() -> None:
    """SmolLM2's trained form (and some Hermes fine-tunes'): a JSON list of calls in one block."""
    text = (
        'Sure.<tool_call>[{"name": "mul", "arguments": {"a": 6, "b": 7}}, {"name": "add", "arguments": {}}]</tool_call>'
    )
    result = hermes(text)
    assert result.content == "Sure."
    assert [(c.name, c.arguments) for c in result.calls] == [("mul", {"a": 6, "b": 7}), ("add", {})]
    assert result.invalid_calls == []
    assert parse(text, format="auto").calls == result.calls  # detection reads `<tool_call>[` as hermes


def test_list_form_bad_items_and_empty_list_are_invalid_calls() -> None:
    result = hermes(block('[{"name": "a", "arguments": {}}, {"arguments": {}}, 3]'))
    assert [c.name for c in result.calls] == ["a"]
    assert [i.reason for i in result.invalid_calls] == [
        'tool call has no "name" string',
        'tool call must be a JSON object like {"name": ..., "arguments": {...}}',
    ]
    assert "list is empty" in hermes(block("[]")).invalid_calls[0].reason
    assert "not valid JSON" in hermes(block('[{"name": "a",]')).invalid_calls[0].reason


def test_output_cut_off_inside_the_closing_tag_leaves_no_text() -> None:
    result = hermes('<tool_call>[{"name": "mul", "arguments": {"a": 6}}]</tool')  # max_tokens hit in the tag
    assert [c.arguments for c in result.calls] == [{"a": 6}] and not result.content
