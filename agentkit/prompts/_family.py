"""The prompt families: what each one stops on, how its output is parsed, and which model names belong to it.

A family is a prompt format, not a model: Qwen3 and Qwen2.5 share the Hermes ChatML format, every
Qwen3-Coder size shares the XML one, and gpt-oss speaks Harmony.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from agentkit.errors import ConfigError

__all__ = ["FAMILIES", "PromptFamily", "family_for_model", "get_family", "neutralise", "stop_sequences"]

ZERO_WIDTH_SPACE = "\u200b"


@dataclass(frozen=True, slots=True)
class PromptFamily:
    """One prompt format.

    - `name`: the value `render(..., family=...)` takes.
    - `parser_format`: the `agentkit.parsing.parse(..., format=...)` name that reads this family's output.
    - `stop_sequences`: text that ends a generated assistant turn (or, for Harmony, a tool call).
    - `generation_prompt`: what `render` appends so that the model writes the assistant turn.
    - `control_tokens`: strings a tool result must not contain verbatim, because the tokenizer would read
      them as turn structure; `render` neutralises them (see `neutralise`).
    """

    name: str
    parser_format: str
    stop_sequences: tuple[str, ...]
    generation_prompt: str
    control_tokens: tuple[str, ...]
    description: str


_CHATML_CONTROL = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<tool_response>", "</tool_response>")
_HARMONY_CONTROL = (
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|constrain|>",
    "<|call|>",
    "<|return|>",
    "<|startoftext|>",
    "<|endoftext|>",
    "<|endofprompt|>",
)

FAMILIES: dict[str, PromptFamily] = {
    family.name: family
    for family in (
        PromptFamily(
            name="qwen3_coder",
            parser_format="qwen3_coder",
            stop_sequences=("<|im_end|>", "<|endoftext|>"),
            generation_prompt="<|im_start|>assistant\n",
            control_tokens=_CHATML_CONTROL,
            description="Qwen3-Coder (and Qwen3.5+): ChatML with an XML <tools> block and <function=...> calls",
        ),
        PromptFamily(
            name="hermes",
            parser_format="hermes",
            stop_sequences=("<|im_end|>", "<|endoftext|>"),
            generation_prompt="<|im_start|>assistant\n",
            control_tokens=_CHATML_CONTROL,
            description="Qwen3 / Qwen2.5 / QwQ: ChatML with a JSON <tools> block and <tool_call> JSON calls",
        ),
        PromptFamily(
            name="harmony",
            parser_format="harmony",
            stop_sequences=("<|return|>", "<|call|>"),
            generation_prompt="<|start|>assistant",
            control_tokens=_HARMONY_CONTROL,
            description="gpt-oss: OpenAI Harmony messages with channels and a TypeScript-like functions namespace",
        ),
    )
}


def get_family(family: str | PromptFamily) -> PromptFamily:
    if isinstance(family, PromptFamily):
        return family
    found = FAMILIES.get(family)
    if found is None:
        known = ", ".join(sorted(FAMILIES))
        raise ConfigError(
            f"unknown prompt family {family!r}: use one of {known} "
            "(family_for_model(name) detects it from a model name)"
        )
    return found


def stop_sequences(family: str | PromptFamily) -> list[str]:
    """The stop strings for generating one assistant turn of `family`."""
    return list(get_family(family).stop_sequences)


# Order matters: the coder check must win over the generic qwen3 one.
_NAME_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"gpt[-_.]?oss"), "harmony"),
    (re.compile(r"qwen[-_.]?3[-_.]?coder"), "qwen3_coder"),
    # Qwen3.5 / 3.6 write the XML call format that Qwen3-Coder introduced.
    (re.compile(r"qwen[-_]?3\.[5-9]"), "qwen3_coder"),
    (re.compile(r"qwen[-_.]?3|qwen[-_]?2\.5|qwq"), "hermes"),
    # SmolLM2 was trained on Hermes-style calls (a JSON list inside <tool_call>), in ChatML turns.
    (re.compile(r"smollm"), "hermes"),
)


def family_for_model(name: str) -> str | None:
    """Detect the prompt family from a model name, id or local path; None when the name says nothing.

    The last path component is tried first, so `/models/gpt-oss-20b` and `Qwen/Qwen3-8B` read as the
    model itself; a snapshot folder (`.../qwen3-coder-30b/snapshots/abc123`) falls back to its parents.
    """
    parts = [p for p in re.split(r"[\\/]", name.strip().lower()) if p]
    for part in reversed(parts):
        for pattern, family in _NAME_RULES:
            if pattern.search(part):
                return family
    return None


def neutralise(text: str, family: str | PromptFamily) -> str:
    """Make `text` unable to forge turn structure in `family`'s prompt.

    Every control token of the family gets a zero-width space (U+200B) right after its leading `<`:
    `<|im_end|>` becomes `<\\u200b|im_end|>`. It reads the same to a person (and to the model, nearly),
    no tokenizer maps it to the control token, and deleting the U+200B characters restores the text.
    """
    tokens = get_family(family).control_tokens
    if "<" not in text or not any(token in text for token in tokens):
        return text
    return _pattern(tokens).sub(lambda m: "<" + ZERO_WIDTH_SPACE + m.group(0)[1:], text)


@functools.lru_cache(maxsize=8)
def _pattern(tokens: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
