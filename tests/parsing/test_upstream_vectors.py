"""The kinds of case where agentkit missed a held-out set of vLLM, sglang and openai-harmony parser tests
(issue 14), as our own cases: each test names what the upstream parser does and what agentkit decides, and
checks the one-shot and every streamed chunking alike."""

from __future__ import annotations

from agentkit.parsing import ParseResult

from ._helpers import assert_same_any_chunking


def read(text: str, fmt: str) -> ParseResult:
    return assert_same_any_chunking(text, [5, 17, 40], format=fmt)


def calls(result: ParseResult) -> list[tuple[str, object]]:
    return [(c.name, c.arguments) for c in result.calls]


# ---- Qwen3-Coder ---------------------------------------------------------------------------------------


def test_qwen3_coder_literal_parameter_tag_inside_a_value_is_text() -> None:
    """sglang keeps `<parameter=x>` in the value; vLLM's regex cuts the value there and invents a parameter x.
    agentkit: mid-line it is text (a missing </parameter> is only ended by a parameter that begins a line)."""
    text = (
        "<tool_call>\n<function=write>\n<parameter=path>\na.md\n</parameter>\n<parameter=content>\n"
        "Use <parameter=x> to name one.\n</parameter>\n</function>\n</tool_call>"
    )
    assert calls(read(text, "qwen3_coder")) == [
        ("write", {"path": "a.md", "content": "Use <parameter=x> to name one."})
    ]


def test_qwen3_coder_missing_close_still_ends_at_a_parameter_line() -> None:
    """Both upstreams end an unclosed value at the next `<parameter=` line; so does agentkit."""
    text = "<tool_call>\n<function=f>\n<parameter=a>\n1\n<parameter=b>\n2\n</parameter>\n</function>\n</tool_call>"
    assert calls(read(text, "qwen3_coder")) == [("f", {"a": "1", "b": "2"})]


# ---- Hermes --------------------------------------------------------------------------------------------


def block(body: str) -> str:
    return f"<tool_call>\n{body}\n</tool_call>"


def test_hermes_arguments_as_a_json_string_of_an_object_are_that_object() -> None:
    """vLLM re-encodes string arguments (`json.dumps`), so a client decodes a string; agentkit (like Granite's
    own parser) decodes a string that holds a JSON object into that object."""
    assert calls(read(block('{"name": "f", "arguments": "{\\"a\\": 1}"}'), "hermes")) == [("f", {"a": 1})]


def test_hermes_arguments_as_an_invalid_or_plain_json_string_are_an_invalid_call() -> None:
    """vLLM passes these strings on as arguments; agentkit reports an invalid call, named, so the model retries."""
    for arguments in ('"{a: 1"', '"hello"', '"{\\"a\\": 1} and more"'):
        result = read(block('{"name": "f", "arguments": ' + arguments + "}"), "hermes")
        assert result.calls == [] and [i.name for i in result.invalid_calls] == ["f"]
        assert "string" in result.invalid_calls[0].reason


def test_hermes_unclosed_call_whose_json_never_closes() -> None:
    """vLLM returns the whole text as content; agentkit keeps the text before it as content and reports the
    cut-off call as invalid (never shown to the user as text, never silently dropped)."""
    result = read('Let me check. <tool_call>\n{"name": "f", "arguments": {"a": 1', "hermes")
    assert result.content == "Let me check. " and result.calls == []
    assert "cut off" in result.invalid_calls[0].reason


def test_hermes_list_form() -> None:
    """vLLM and sglang read one object per block; SmolLM2 writes a list. agentkit reads each item as a call."""
    text = block('[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}]')
    assert calls(read(text, "hermes")) == [("f", {"a": 1}), ("g", {})]


# ---- Harmony -------------------------------------------------------------------------------------------


def test_harmony_call_header_without_message_token_is_an_invalid_call() -> None:
    """openai-harmony raises (it expects <|message|>); agentkit reports an invalid call to that tool instead of
    letting the header's text reach the answer."""
    text = '<|channel|>commentary to=functions.f <|constrain|>json{"a": 1}<|call|>'
    result = read(text, "harmony")
    assert result.calls == [] and not result.content
    (invalid,) = result.invalid_calls
    assert invalid.name == "f" and "no <|message|>" in invalid.reason


def test_harmony_non_call_header_without_message_token_is_text() -> None:
    result = read("<|channel|>final some words<|end|>", "harmony")
    assert result.content == "some words" and result.invalid_calls == []


def test_harmony_leading_message_without_header_is_content() -> None:
    """openai-harmony raises on text before the first header; agentkit reads it as content."""
    text = "Hello there<|end|><|start|>assistant<|channel|>final<|message|>Done<|return|>"
    result = read(text, "harmony")
    assert result.content == "Hello there\nDone" and result.calls == []


def test_harmony_recipient_outside_functions_is_an_invalid_call() -> None:
    """openai-harmony returns a message to `browser.search` (a built-in tool vLLM runs itself or drops);
    agentkit has no such tool, so it answers with an invalid call naming the recipient."""
    text = '<|channel|>analysis to=browser.search code<|message|>{"query": "x"}<|call|>'
    result = read(text, "harmony")
    assert result.calls == [] and [i.name for i in result.invalid_calls] == ["browser.search"]


def test_harmony_call_without_content_type_is_read_as_json() -> None:
    """Upstream reads the content as the arguments whatever the content type; so does agentkit."""
    text = '<|channel|>commentary to=functions.f<|message|>{"a": 1}<|call|>'
    assert calls(read(text, "harmony")) == [("f", {"a": 1})]


def test_harmony_call_whose_arguments_are_not_json_is_an_invalid_call() -> None:
    """vLLM passes the raw text on as the arguments string; agentkit reports an invalid call with the reason."""
    text = "<|channel|>commentary to=functions.f <|constrain|>json<|message|>city=Paris<|call|>"
    result = read(text, "harmony")
    assert result.calls == [] and "not valid JSON" in result.invalid_calls[0].reason
