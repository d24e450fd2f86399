"""Qwen3 (Hermes-style) prompts: the exact text Qwen3's chat template renders, written out literally.

Derived from the tool-call formats reference (§2.1-2.4); each expected string was also compared with the
real Qwen3 template rendered by transformers' Jinja settings during development.
"""

from __future__ import annotations

from agentkit.messages import Message, ToolCall, ToolResult
from agentkit.prompts import DEFAULT_SYSTEM_QWEN25, render
from agentkit.tooling import ToolDefinition

READ_FILE = ToolDefinition(
    "read_file",
    "Read a file.",
    {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path"},
            "limit": {"type": "integer", "default": 200},
            "mode": {"type": "string", "enum": ["text", "bytes"]},
        },
        "required": ["path"],
    },
)

SYSTEM_WITH_TOOLS = (
    "<|im_start|>system\nBe helpful.\n\n# Tools\n\nYou may call one or more functions to assist with the user "
    "query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
    '{"type": "function", "function": {"name": "read_file", "description": "Read a file.", "parameters": '
    '{"type": "object", "properties": {"path": {"type": "string", "description": "File path"}, "limit": '
    '{"type": "integer", "default": 200}, "mode": {"type": "string", "enum": ["text", "bytes"]}}, '
    '"required": ["path"]}}}\n</tools>\n\nFor each function call, return a json object with function name and '
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n'
)

TOOL_LOOP = [
    Message.system("Be helpful."),
    Message.user("first"),
    Message(role="assistant", content="Answer one.", reasoning="old thoughts"),
    Message.user("read a.md"),
    Message(
        role="assistant",
        reasoning="I should read it.",
        tool_calls=[ToolCall(name="read_file", arguments={"path": "a.md"})],
    ),
    Message.tool(
        [ToolResult(call_id="1", name="read_file", content="A"), ToolResult(call_id="2", name="read_file", content="B")]
    ),
]

TOOL_LOOP_TEXT = (
    SYSTEM_WITH_TOOLS + "<|im_start|>user\nfirst<|im_end|>\n"
    "<|im_start|>assistant\nAnswer one.<|im_end|>\n"
    "<|im_start|>user\nread a.md<|im_end|>\n"
    "<|im_start|>assistant\n<think>\nI should read it.\n</think>\n\n"
    '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.md"}}\n</tool_call><|im_end|>\n'
    "<|im_start|>user\n<tool_response>\nA\n</tool_response>\n<tool_response>\nB\n</tool_response><|im_end|>\n"
)


def test_reasoning_is_kept_only_inside_the_current_tool_loop() -> None:
    # "old thoughts" belong to a finished exchange (before the last user query) and are dropped.
    assert render(TOOL_LOOP, [READ_FILE], family="hermes") == TOOL_LOOP_TEXT + "<|im_start|>assistant\n"


def test_enable_thinking_false_appends_an_empty_think_block() -> None:
    text = render(TOOL_LOOP, [READ_FILE], family="hermes", enable_thinking=False)
    assert text == TOOL_LOOP_TEXT + "<|im_start|>assistant\n<think>\n\n</think>\n\n"


def test_think_in_plain_text_is_split_and_dropped_after_a_new_query() -> None:
    answered = [Message.user("q"), Message.assistant("<think>\nplain text thoughts\n</think>\n\nAnswer.")]
    assert render(answered, family="hermes") == (
        "<|im_start|>user\nq<|im_end|>\n"
        "<|im_start|>assistant\n<think>\nplain text thoughts\n</think>\n\nAnswer.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert render([*answered, Message.user("again")], family="hermes") == (
        "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\nAnswer.<|im_end|>\n"
        "<|im_start|>user\nagain<|im_end|>\n<|im_start|>assistant\n"
    )


def test_call_arguments_strings_verbatim_objects_as_json() -> None:
    message = Message.assistant(
        "Sure.",
        tool_calls=[ToolCall(name="f", arguments='{"x":1}'), ToolCall(name="g", arguments={"é": [True, None]})],
    )
    text = render([Message.user("q"), message], family="hermes", add_generation_prompt=False)
    # The last assistant turn after the query gets the (empty) think block, as the template renders it.
    assert text == (
        "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nSure.\n"
        '<tool_call>\n{"name": "f", "arguments": {"x":1}}\n</tool_call>\n'
        '<tool_call>\n{"name": "g", "arguments": {"é": [true, null]}}\n</tool_call><|im_end|>\n'
    )


def test_system_without_tools_and_the_qwen25_default() -> None:
    assert render([Message.system("S"), Message.user("u")], family="hermes") == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nu<|im_end|>\n<|im_start|>assistant\n"
    )
    text = render([Message.user("u")], family="hermes", system_prompt_default=DEFAULT_SYSTEM_QWEN25)
    assert text.startswith(f"<|im_start|>system\n{DEFAULT_SYSTEM_QWEN25}<|im_end|>\n<|im_start|>user\nu")
