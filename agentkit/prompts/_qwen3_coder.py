"""Qwen3-Coder prompts: ChatML, an XML <tools> block, <function=...> calls in the newline dialect.

Renders what the Qwen3-Coder Hugging Face / vLLM chat template renders:
- the system turn is the first system message (or a default text when there are tools and none was given),
  followed by the `# Tools` block: each tool as `<function>` with its parameters as `<parameter>` children;
  `name`, `type` and `description` are child tags and every other schema key is printed as `<key>value</key>`
  (containers as JSON, scalars as Python's `str`, as the template's `render_extra_keys` does);
- assistant calls in the canonical newline dialect, one `<parameter=K>` per argument, values as the
  template prints them (strings raw, containers as JSON, `True`/`None` for booleans and null);
- tool results as `<tool_response>` blocks, consecutive results grouped into one user turn.
The template ignores reasoning, so assistant `reasoning` is not rendered.

One deliberate difference: the template opens no user turn for tool results that come straight after the
system message (a template bug that leaves `<tool_response>` outside any turn); this renderer does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentkit.messages import ToolCall
from agentkit.prompts._common import Entry, call_arguments, jinja_string
from agentkit.tooling import ToolDefinition

__all__ = ["DEFAULT_SYSTEM", "render_qwen3_coder"]

DEFAULT_SYSTEM = "You are Qwen, a helpful AI assistant that can interact with a computer to solve tasks."

_TOOLS_HEAD = "\n\n# Tools\n\nYou have access to the following functions:\n\n<tools>"
_TOOLS_TAIL = (
    "\n</tools>\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n"
    "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n"
    "<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n"
    "</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n"
    "- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested "
    "within <tool_call></tool_call> XML tags\n"
    "- Required parameters MUST be specified\n"
    "- You may provide optional reasoning for your function call in natural language BEFORE the function call, "
    "but NOT after\n"
    "- If there is no function call available, answer the question like normal with your current knowledge and "
    "do not tell the user about function calls\n</IMPORTANT>"
)


def render_qwen3_coder(entries: list[Entry], tools: list[ToolDefinition], *, add_generation_prompt: bool) -> str:
    out: list[str] = []
    rest = entries
    if entries and entries[0].role == "system":
        out.append("<|im_start|>system\n" + entries[0].content)
        rest = entries[1:]
    elif tools:
        out.append("<|im_start|>system\n" + DEFAULT_SYSTEM)
    if tools:
        out.append(_TOOLS_HEAD)
        out.extend(_tool(tool) for tool in tools)
        out.append(_TOOLS_TAIL)
    if out:
        out.append("<|im_end|>\n")
    for index, entry in enumerate(rest):
        if entry.role == "assistant" and entry.calls:
            out.append(_assistant_with_calls(entry))
        elif entry.role == "tool":
            if index == 0 or rest[index - 1].role != "tool":
                out.append("<|im_start|>user\n")
            out.append(f"<tool_response>\n{entry.content}\n</tool_response>\n")
            if index == len(rest) - 1 or rest[index + 1].role != "tool":
                out.append("<|im_end|>\n")
        else:
            out.append(f"<|im_start|>{entry.role}\n{entry.content}<|im_end|>\n")
    if add_generation_prompt:
        out.append("<|im_start|>assistant\n")
    return "".join(out)


def _extra_keys(fields: Any, handled: tuple[str, ...]) -> str:
    if not isinstance(fields, Mapping):
        return ""
    return "".join(f"\n<{key}>{jinja_string(value)}</{key}>" for key, value in fields.items() if key not in handled)


def _tool(tool: ToolDefinition) -> str:
    # `| trim` in Jinja is Python's str.strip().
    parts = [f"\n<function>\n<name>{tool.name}</name>", f"\n<description>{tool.description.strip()}</description>"]
    parts.append("\n<parameters>")
    parameters = tool.parameters
    properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
    if isinstance(properties, Mapping):
        for name, fields in properties.items():
            parts.append(f"\n<parameter>\n<name>{name}</name>")
            if isinstance(fields, Mapping):
                if "type" in fields:
                    # `|string` alone, so a type list prints as a Python list: ['integer', 'null']
                    parts.append(f"\n<type>{fields['type']!s}</type>")
                if "description" in fields:
                    parts.append(f"\n<description>{str(fields['description']).strip()}</description>")
            parts.append(_extra_keys(fields, ("name", "type", "description")))
            parts.append("\n</parameter>")
    parts.append(_extra_keys(parameters, ("type", "properties")))
    parts.append("\n</parameters>\n</function>")
    return "".join(parts)


def _assistant_with_calls(entry: Entry) -> str:
    parts = ["<|im_start|>assistant"]
    content = entry.content.strip()
    if content:
        parts.append(f"\n{content}\n")
    parts.extend(_call(call) for call in entry.calls)
    parts.append("<|im_end|>\n")
    return "".join(parts)


def _call(call: ToolCall) -> str:
    arguments = call_arguments(call)
    if arguments is None:
        # Arguments the model wrote that are not an object cannot be shown as parameters; show the model
        # its own text when the parser kept it, so the error result that follows makes sense.
        if call.raw and call.raw.lstrip().startswith("<tool_call>"):
            return "\n" + call.raw.strip()
        arguments = {}
    params = "".join(f"<parameter={key}>\n{jinja_string(value)}\n</parameter>\n" for key, value in arguments.items())
    return f"\n<tool_call>\n<function={call.name}>\n{params}</function>\n</tool_call>"
