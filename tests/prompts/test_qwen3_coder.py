"""Qwen3-Coder prompts: the exact text the Qwen3-Coder chat template renders, written out literally.

The expected strings follow the rendered examples in the tool-call formats reference (§1.2, §1.7); each was
also compared with the real HF/vLLM template rendered by transformers' Jinja settings during development.
"""

from __future__ import annotations

from agentkit.messages import Message, ToolCall, ToolResult
from agentkit.prompts import render
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

READ_FILE_XML = """<tools>
<function>
<name>read_file</name>
<description>Read a file.</description>
<parameters>
<parameter>
<name>path</name>
<type>string</type>
<description>File path</description>
</parameter>
<parameter>
<name>limit</name>
<type>integer</type>
<default>200</default>
</parameter>
<parameter>
<name>mode</name>
<type>string</type>
<enum>["text", "bytes"]</enum>
</parameter>
<required>["path"]</required>
</parameters>
</function>
</tools>"""

INSTRUCTIONS = """

If you choose to call a function ONLY reply in the following format with NO suffix:

<tool_call>
<function=example_function_name>
<parameter=example_parameter_1>
value_1
</parameter>
<parameter=example_parameter_2>
This is the value for the second parameter
that can span
multiple lines
</parameter>
</function>
</tool_call>

<IMPORTANT>
Reminder:
- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested \
within <tool_call></tool_call> XML tags
- Required parameters MUST be specified
- You may provide optional reasoning for your function call in natural language BEFORE the function call, \
but NOT after
- If there is no function call available, answer the question like normal with your current knowledge and \
do not tell the user about function calls
</IMPORTANT><|im_end|>
"""

DEFAULT_SYSTEM = "You are Qwen, a helpful AI assistant that can interact with a computer to solve tasks."
TOOLS_HEADER = "\n\n# Tools\n\nYou have access to the following functions:\n\n"


def test_default_system_text_and_tools_block() -> None:
    expected = (
        f"<|im_start|>system\n{DEFAULT_SYSTEM}{TOOLS_HEADER}{READ_FILE_XML}{INSTRUCTIONS}"
        "<|im_start|>user\nRead it<|im_end|>\n<|im_start|>assistant\n"
    )
    assert render([Message.user("Read it")], [READ_FILE], family="qwen3_coder") == expected


def test_full_exchange_with_a_call_and_its_result() -> None:
    call = ToolCall(name="read_file", arguments={"path": "README.md", "flags": ["a", 1], "ok": True})
    conversation = [
        Message.system("You are terse."),
        Message.user("Read it"),
        Message.assistant("  Reading it.\n", tool_calls=[call]),
        Message.tool([ToolResult(call_id=call.id, name="read_file", content="# Title")]),
    ]
    expected = (
        f"<|im_start|>system\nYou are terse.{TOOLS_HEADER}{READ_FILE_XML}{INSTRUCTIONS}"
        "<|im_start|>user\nRead it<|im_end|>\n"
        "<|im_start|>assistant\nReading it.\n\n"
        "<tool_call>\n<function=read_file>\n"
        "<parameter=path>\nREADME.md\n</parameter>\n"
        '<parameter=flags>\n["a", 1]\n</parameter>\n'
        "<parameter=ok>\nTrue\n</parameter>\n"
        "</function>\n</tool_call><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\n# Title\n</tool_response>\n<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert render(conversation, [READ_FILE], family="qwen3_coder") == expected


def test_extra_schema_keys_are_rendered_as_the_template_does() -> None:
    typed = ToolDefinition(
        "set_limit",
        "  Set a limit.\n",
        {
            "type": "object",
            "properties": {
                "value": {"type": ["integer", "null"], "description": " Limit or null. ", "minimum": 0},
                "strict": {"type": "boolean", "default": True},
                "tags": {"type": "array", "items": {"type": "string"}},
                "meta": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            },
            "additionalProperties": False,
        },
    )
    text = render([Message.user("x")], [typed], family="qwen3_coder")
    assert (
        "<function>\n<name>set_limit</name>\n<description>Set a limit.</description>\n<parameters>\n"
        "<parameter>\n<name>value</name>\n<type>['integer', 'null']</type>\n<description>Limit or null.</description>\n"
        "<minimum>0</minimum>\n</parameter>\n"
        "<parameter>\n<name>strict</name>\n<type>boolean</type>\n<default>True</default>\n</parameter>\n"
        '<parameter>\n<name>tags</name>\n<type>array</type>\n<items>{"type": "string"}</items>\n</parameter>\n'
        '<parameter>\n<name>meta</name>\n<anyOf>[{"type": "string"}, {"type": "null"}]</anyOf>\n'
        "<default>None</default>\n</parameter>\n"
        "<additionalProperties>False</additionalProperties>\n</parameters>\n</function>\n</tools>"
    ) in text


def test_consecutive_results_share_one_user_turn_and_reasoning_is_not_shown() -> None:
    conversation = [
        Message.system("S"),
        Message.user("both"),
        Message.assistant(
            tool_calls=[
                ToolCall(name="read_file", arguments={"path": "a"}),
                ToolCall(name="read_file", arguments='{"path": "b", "n": null}'),
            ]
        ),
        Message.tool([ToolResult(call_id="1", name="read_file", content="A")]),
        Message.tool([ToolResult(call_id="2", name="read_file", content="B\nmore")]),
        Message(role="assistant", content="Done.", reasoning="not rendered"),
    ]
    expected = (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nboth<|im_end|>\n"
        "<|im_start|>assistant\n"
        "<tool_call>\n<function=read_file>\n<parameter=path>\na\n</parameter>\n</function>\n</tool_call>\n"
        "<tool_call>\n<function=read_file>\n<parameter=path>\nb\n</parameter>\n<parameter=n>\nNone\n</parameter>\n"
        "</function>\n</tool_call><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\nA\n</tool_response>\n<tool_response>\nB\nmore\n</tool_response>\n"
        "<|im_end|>\n"
        "<|im_start|>assistant\nDone.<|im_end|>\n"
    )
    assert render(conversation, family="qwen3_coder", add_generation_prompt=False) == expected


def test_no_tools_no_system_renders_plain_chatml() -> None:
    text = render([Message.user("hi"), Message.assistant("hello"), Message.user("bye")], family="qwen3_coder")
    assert text == (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n"
        "<|im_start|>user\nbye<|im_end|>\n<|im_start|>assistant\n"
    )


def test_results_right_after_the_system_turn_still_open_a_user_turn() -> None:
    # The upstream template forgets `<|im_start|>user` here; agentkit does not.
    text = render(
        [Message.system("S"), Message.tool([ToolResult(call_id="1", name="f", content="r")])], family="qwen3_coder"
    )
    assert text == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n<tool_response>\nr\n</tool_response>\n<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_undecodable_arguments_replay_the_raw_call() -> None:
    raw = "<tool_call>\n<function=read_file>\n<parameter=path>\nx"
    broken = ToolCall(name="read_file", arguments="<parameter=path>\nx", raw=raw, invalid_reason="unclosed")
    text = render([Message.user("go"), Message.assistant(tool_calls=[broken])], family="qwen3_coder")
    assert f"<|im_start|>assistant\n{raw}<|im_end|>\n" in text
