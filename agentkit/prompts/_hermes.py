"""Qwen3 / Qwen2.5 (Hermes-style) prompts: ChatML, a JSON <tools> block, <tool_call> JSON calls.

Renders what the Qwen3 Hugging Face chat template renders (transformers' Jinja settings), including its
thinking rules:
- reasoning (`<think>`) is shown only for assistant turns after the last real user query, that is, inside
  the tool loop still in progress; earlier turns lose it;
- an assistant turn given as plain text with `</think>` in it is split there, as the template does;
- `enable_thinking=False` appends an empty think block to the generation prompt.
Qwen2.5's template adds a default system text; pass `system_prompt_default=...` to reproduce it.
"""

from __future__ import annotations

from typing import Any

from agentkit.errors import ConfigError
from agentkit.prompts._common import Entry, call_arguments, tojson
from agentkit.tooling import ToolDefinition

__all__ = ["DEFAULT_SYSTEM_QWEN25", "render_hermes"]

DEFAULT_SYSTEM_QWEN25 = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

_TOOLS_HEAD = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_TOOLS_TAIL = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}'
    "\n</tool_call><|im_end|>\n"
)


def render_hermes(
    entries: list[Entry],
    tools: list[ToolDefinition],
    *,
    add_generation_prompt: bool,
    enable_thinking: bool | None = None,
    system_prompt_default: str | None = None,
) -> str:
    if system_prompt_default is not None and not (entries and entries[0].role == "system"):
        entries = [Entry(role="system", content=system_prompt_default), *entries]
    out = [_system_block(entries, tools)]
    last_query = _last_query_index(entries)
    for index, entry in enumerate(entries):
        if entry.role == "user" or (entry.role == "system" and index > 0):
            out.append(f"<|im_start|>{entry.role}\n{entry.content}<|im_end|>\n")
        elif entry.role == "assistant":
            is_last = index == len(entries) - 1
            out.append(_assistant(entry, show_reasoning=index > last_query, is_last=is_last))
        elif entry.role == "tool":
            if index == 0 or entries[index - 1].role != "tool":
                out.append("<|im_start|>user")
            out.append(f"\n<tool_response>\n{entry.content}\n</tool_response>")
            if index == len(entries) - 1 or entries[index + 1].role != "tool":
                out.append("<|im_end|>\n")
    if add_generation_prompt:
        out.append("<|im_start|>assistant\n")
        if enable_thinking is False:
            out.append("<think>\n\n</think>\n\n")
    return "".join(out)


def _system_block(entries: list[Entry], tools: list[ToolDefinition]) -> str:
    system = entries[0].content if entries and entries[0].role == "system" else None
    if not tools:
        return "" if system is None else f"<|im_start|>system\n{system}<|im_end|>\n"
    lines = "".join("\n" + tojson(tool.to_openai()) for tool in tools)
    intro = "" if system is None else system + "\n\n"
    return f"<|im_start|>system\n{intro}{_TOOLS_HEAD}{lines}{_TOOLS_TAIL}"


def _last_query_index(entries: list[Entry]) -> int:
    """The last user message that is a real query (not tool output pasted as a user turn)."""
    for index in range(len(entries) - 1, -1, -1):
        entry = entries[index]
        if entry.role == "user" and not (
            entry.content.startswith("<tool_response>") and entry.content.endswith("</tool_response>")
        ):
            return index
    return len(entries) - 1


def _split_reasoning(entry: Entry) -> tuple[str, str]:
    content = entry.content
    if entry.reasoning is not None:
        return entry.reasoning, content
    if "</think>" in content:
        before, _, _ = content.partition("</think>")
        reasoning = before.rstrip("\n").split("<think>")[-1].lstrip("\n")
        return reasoning, content.split("</think>")[-1].lstrip("\n")
    return "", content


def _assistant(entry: Entry, *, show_reasoning: bool, is_last: bool) -> str:
    reasoning, content = _split_reasoning(entry)
    if show_reasoning and (is_last or reasoning):
        head = f"<|im_start|>assistant\n<think>\n{reasoning.strip(chr(10))}\n</think>\n\n{content.lstrip(chr(10))}"
    else:
        head = f"<|im_start|>assistant\n{content}"
    parts = [head]
    for position, call in enumerate(entry.calls):
        if position > 0 or content:
            parts.append("\n")
        parts.append(f'<tool_call>\n{{"name": "{call.name}", "arguments": {_arguments(call)}}}\n</tool_call>')
    parts.append("<|im_end|>\n")
    return "".join(parts)


def _arguments(call: Any) -> str:
    if isinstance(call.arguments, str):
        # The template writes string arguments verbatim (an OpenAI-style JSON string, or a model's broken text).
        return str(call.arguments)
    arguments = call_arguments(call)
    if arguments is None:
        raise ConfigError(
            f"tool call {call.name!r} has arguments of type {type(call.arguments).__name__}: "
            "use a dict (or the JSON text of one)"
        )
    return tojson(arguments)
