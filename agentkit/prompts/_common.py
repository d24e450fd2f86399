"""Helpers every renderer shares: one flat list of turns, tool definitions, Jinja-compatible value printing."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentkit.errors import ConfigError
from agentkit.messages import Message, ToolCall
from agentkit.prompts._family import PromptFamily, neutralise
from agentkit.tooling import ToolDefinition

__all__ = ["Entry", "call_arguments", "check_options", "flatten", "jinja_string", "tojson", "tool_definitions"]


@dataclass(slots=True)
class Entry:
    """One message as the chat templates see it: a tool message carries exactly one result."""

    role: str
    content: str
    reasoning: str | None = None
    calls: list[ToolCall] = field(default_factory=list)
    tool_name: str = ""


def flatten(messages: Iterable[Message], family: PromptFamily) -> list[Entry]:
    """One entry per template message; tool results are split out one each and neutralised."""
    entries: list[Entry] = []
    for index, message in enumerate(messages):
        if isinstance(message, Mapping):
            message = Message.from_dict(dict(message))
        if not isinstance(message, Message):
            raise ConfigError(
                f"messages[{index}] is a {type(message).__name__}: pass agentkit.messages.Message objects "
                "(Message.user('...'), Message.assistant(...), Message.tool([...]))"
            )
        if message.role == "tool":
            entries.extend(
                Entry(role="tool", content=neutralise(result.content, family), tool_name=result.name)
                for result in message.tool_results
            )
        elif message.role in ("system", "user", "assistant"):
            entries.append(
                Entry(
                    role=message.role,
                    content=message.content,
                    reasoning=message.reasoning,
                    calls=list(message.tool_calls) if message.role == "assistant" else [],
                )
            )
        else:
            raise ConfigError(f"messages[{index}] has role {message.role!r}: use system, user, assistant or tool")
    return entries


def tool_definitions(tools: Sequence[Any] | None) -> list[ToolDefinition]:
    """Anything `ToolDefinition.from_any` reads (Tool, ToolDefinition, OpenAI or Bedrock dicts)."""
    if not tools:
        return []
    if isinstance(tools, (Mapping, str)):
        raise ConfigError("tools must be a list of tool definitions, not a single one: wrap it in [...]")
    return [ToolDefinition.from_any(spec) for spec in tools]


def call_arguments(call: ToolCall) -> dict[str, Any] | None:
    """The call's arguments as a mapping, decoding a JSON string; None when they are not an object."""
    arguments = call.arguments
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return None
    if arguments is None:
        return {}
    return dict(arguments) if isinstance(arguments, Mapping) else None


def tojson(value: Any) -> str:
    """transformers' `tojson` filter: json.dumps with default separators and no ASCII escaping."""
    return json.dumps(value, ensure_ascii=False)


def jinja_string(value: Any) -> str:
    """How the Qwen templates print a JSON value: containers via tojson, the rest via Jinja's `|string`.

    `|string` is Python's `str`, so `true` prints as `True` and `null` as `None`, as the template does.
    """
    if isinstance(value, (Mapping, list, tuple)):
        return tojson(value)
    return str(value)


def check_options(family: PromptFamily, options: Mapping[str, Any], allowed: Iterable[str]) -> None:
    allowed = sorted(allowed)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        hint = ", ".join(allowed) if allowed else "none"
        raise ConfigError(
            f"render(): unknown option(s) {', '.join(unknown)} for family {family.name!r}; it takes: {hint}"
        )
