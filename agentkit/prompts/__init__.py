"""Prompt text for models we run ourselves: messages + tools -> the exact prompt each model family was trained on.

    >>> from agentkit.messages import Message
    >>> text = render([Message.user("hi")], family="hermes")
    >>> text
    '<|im_start|>user\\nhi<|im_end|>\\n<|im_start|>assistant\\n'

Families (see `FAMILIES`): `qwen3_coder` (Qwen3-Coder's XML tool format), `hermes` (Qwen3 / Qwen2.5 JSON
tool calls) and `harmony` (gpt-oss). `family_for_model(name)` picks one from a model name or path,
`stop_sequences(family)` gives what ends a generated turn, and `FAMILIES[name].parser_format` names the
`agentkit.parsing` format that reads the model's answer.

Tool results are untrusted text: any control token of the family in them (`<|im_end|>`, `</tool_response>`,
`<|start|>`, ...) gets a zero-width space after its `<` (see `neutralise`), so a result cannot close its turn
and forge another one. Everything else is rendered verbatim.

Options (`**options`) per family:
- `qwen3_coder`: none.
- `hermes`: `enable_thinking` (False appends the empty think block, as Qwen3's template does) and
  `system_prompt_default` (a system text used when the conversation has none; Qwen2.5 used
  `DEFAULT_SYSTEM_QWEN25`). `reasoning_effort` is accepted and ignored (Qwen3 has no effort levels).
- `harmony`: `model_identity`, `knowledge_cutoff`, `current_date` (YYYY-MM-DD, omitted by default) and
  `auto_drop_analysis` (default True); `reasoning_effort` is low, medium (the default) or high.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentkit.messages import Message
from agentkit.prompts._common import check_options, flatten, tool_definitions
from agentkit.prompts._family import FAMILIES, PromptFamily, family_for_model, get_family, neutralise, stop_sequences
from agentkit.prompts._harmony import render_harmony
from agentkit.prompts._hermes import DEFAULT_SYSTEM_QWEN25, render_hermes
from agentkit.prompts._qwen3_coder import render_qwen3_coder

__all__ = [
    "DEFAULT_SYSTEM_QWEN25",
    "FAMILIES",
    "PromptFamily",
    "family_for_model",
    "get_family",
    "neutralise",
    "render",
    "stop_sequences",
]

_OPTIONS = {
    "qwen3_coder": (),
    "hermes": ("enable_thinking", "system_prompt_default"),
    "harmony": ("auto_drop_analysis", "current_date", "knowledge_cutoff", "model_identity"),
}


def render(
    messages: Sequence[Message],
    tools: Sequence[Any] | None = None,
    *,
    family: str | PromptFamily,
    add_generation_prompt: bool = True,
    reasoning_effort: str | None = None,
    **options: Any,
) -> str:
    """The prompt text of `messages` (and `tools`) in `family`'s format, ending with the generation prompt.

    `tools` takes anything `ToolDefinition.from_any` reads. With `add_generation_prompt=False` the text ends
    after the last message (useful to measure what a turn added, or to build training text).
    """
    spec = get_family(family if isinstance(family, str) else family.name)
    check_options(spec, options, _OPTIONS.get(spec.name, ()))
    entries = flatten(messages, spec)
    definitions = tool_definitions(tools)
    if spec.name == "qwen3_coder":
        return render_qwen3_coder(entries, definitions, add_generation_prompt=add_generation_prompt)
    if spec.name == "hermes":
        return render_hermes(entries, definitions, add_generation_prompt=add_generation_prompt, **options)
    return render_harmony(
        entries,
        definitions,
        add_generation_prompt=add_generation_prompt,
        reasoning_effort=reasoning_effort,
        **options,
    )
