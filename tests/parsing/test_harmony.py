"""gpt-oss Harmony: one test per rule of reference §3 (lenient where openai_harmony raises)."""

from __future__ import annotations

from agentkit.parsing import ParseResult
from agentkit.parsing.harmony import parse_header

from ._helpers import assert_same_any_chunking

CALL = (
    "<|start|>assistant<|channel|>commentary to=functions.search_files <|constrain|>json"
    '<|message|>{"query":"TODO"}<|call|>'
)
ANALYSIS = "<|channel|>analysis<|message|>Need to search.<|end|>"


def harmony(text: str, **kwargs: object) -> ParseResult:
    result = assert_same_any_chunking(text, [2, 9, 33, 60], format="harmony", **kwargs)
    assert result.format == "harmony"
    return result


def test_analysis_then_call_after_prefilled_start() -> None:
    result = harmony(ANALYSIS + CALL)
    assert result.reasoning == "Need to search."
    assert (result.calls[0].name, result.calls[0].arguments) == ("search_files", {"query": "TODO"})
    assert result.content is None


def test_recipient_in_role_position() -> None:
    text = '<|start|>assistant to=functions.f<|channel|>commentary json<|message|>{"a": 1}<|call|>'
    assert harmony(text).calls[0].arguments == {"a": 1}


def test_constrain_with_or_without_space() -> None:
    for sep in (" ", ""):
        text = f'<|channel|>commentary to=functions.f{sep}<|constrain|>json<|message|>{{"a": 2}}<|call|>'
        assert harmony(text).calls[0].arguments == {"a": 2}


def test_header_parsing_positions() -> None:
    assert parse_header("assistant<|channel|>commentary to=functions.x <|constrain|>json") == (
        "commentary",
        "functions.x",
        "<|constrain|>json".removeprefix("<|constrain|>"),
    )
    assert parse_header(" to=functions.y<|channel|>commentary code") == ("commentary", "functions.y", "code")
    assert parse_header("<|channel|>final") == ("final", None, None)


def test_final_answer_and_preamble_are_content() -> None:
    text = (
        "<|channel|>commentary<|message|>I will look it up.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>It is 20 C.<|return|>"
    )
    assert harmony(text).content == "I will look it up.\nIt is 20 C."


def test_stray_stop_tokens_are_skipped() -> None:
    text = ANALYSIS + "<|call|><|end|>" + CALL + "<|call|>"
    result = harmony(text)
    assert len(result.calls) == 1 and result.invalid_calls == []


def test_text_with_no_special_tokens_is_content() -> None:
    assert harmony("Just words, no tokens.\nSecond line.").content == "Just words, no tokens.\nSecond line."


def test_free_text_before_first_start_is_content() -> None:
    result = harmony("Preface<|start|>assistant<|channel|>final<|message|>Answer<|return|>")
    assert result.content == "Preface\nAnswer"


def test_interrupted_message_keeps_partial_text() -> None:
    assert harmony("<|channel|>final<|message|>Partial ans").content == "Partial ans"
    assert harmony("<|channel|>analysis<|message|>Partial thought").reasoning == "Partial thought"


def test_call_without_stop_token_and_bad_json_is_invalid_not_dropped() -> None:
    result = harmony('<|channel|>commentary to=functions.f <|constrain|>json<|message|>{"a": {"b": 1}')
    assert result.calls == []
    [bad] = result.invalid_calls
    assert bad.name == "f" and "cut off" in bad.reason


def test_call_without_stop_token_but_complete_json_is_kept() -> None:
    result = harmony('<|channel|>commentary to=functions.f <|constrain|>json<|message|>{"a": 1}')
    assert result.calls[0].arguments == {"a": 1} and result.calls[0].complete is False


def test_empty_body_is_empty_arguments() -> None:
    assert harmony("<|channel|>commentary to=functions.ping<|message|><|call|>").calls[0].arguments == {}


def test_non_function_recipient_is_not_a_call() -> None:
    result = harmony('<|channel|>analysis to=browser.search code<|message|>{"q": "x"}<|call|>')
    assert result.calls == []
    assert result.invalid_calls[0].name == "browser.search"


def test_missing_message_token_header_becomes_text() -> None:
    result = harmony("<|channel|>final hello there<|end|><|start|>assistant<|channel|>final<|message|>ok<|return|>")
    assert result.content == "hello there\nok"


def test_missing_end_before_next_channel_starts_a_new_message() -> None:
    result = harmony("<|channel|>analysis<|message|>think<|channel|>final<|message|>answer")
    assert (result.reasoning, result.content) == ("think", "answer")


def test_hyphenated_function_name_does_not_crash() -> None:
    assert (
        harmony("<|channel|>commentary to=functions.web-browsing<|message|>{}<|call|>").calls[0].name == "web-browsing"
    )


def test_several_calls_in_one_completion() -> None:
    text = CALL + CALL.replace("search_files", "open_file")
    assert [c.name for c in harmony(text).calls] == ["search_files", "open_file"]
