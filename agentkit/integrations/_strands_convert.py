"""Translation between agentkit's data and Strands' Converse-shaped dicts, in both directions.

Plain dict work: nothing here imports strands, so the shapes can be checked without the SDK.
Strands shapes (strands.types): a message is `{"role", "content": [block]}`, a block holds one of
`text`, `toolUse {toolUseId, name, input}`, `toolResult {toolUseId, status, content}`,
`reasoningContent {reasoningText {text, signature}}`; a tool spec is `{name, description, inputSchema {json}}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from agentkit.messages import Message, StopReason, ToolCall, ToolResult, Usage
from agentkit.models.converse import to_converse_messages
from agentkit.tooling import ToolDefinition

StrandsMessage = dict[str, Any]

# Strands emits this in place of empty assistant text (strands.event_loop.streaming); it means "nothing".
BLANK_TEXT = "[blank text]"

# A Strands toolUse must carry a JSON object, and Strands replaces unreadable input with {} (losing why).
# A call agentkit's parser could not read travels under this key instead, so the model is told the reason.
INVALID_CALL_KEY = "_agentkit_invalid_call"
UNREADABLE_CALL_NAME = "unreadable_tool_call"

_TO_STRANDS_STOP: dict[str, str] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "content_filtered": "content_filtered",
    "cancelled": "cancelled",
}

_FROM_STRANDS_STOP: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "limit_output_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "content_filtered": "content_filtered",
    "guardrail_intervened": "content_filtered",
    "cancelled": "cancelled",
}


# ---- tool specs --------------------------------------------------------------------------------


def definition_to_spec(definition: ToolDefinition) -> dict[str, Any]:
    """An agentkit ToolDefinition as a Strands ToolSpec."""
    return {
        "name": definition.name,
        "description": definition.description or definition.name,
        "inputSchema": {"json": definition.parameters},
    }


def spec_to_definition(spec: dict[str, Any]) -> ToolDefinition:
    """A Strands ToolSpec (with or without the `json` wrapper around its schema) as a ToolDefinition."""
    schema = spec_schema(spec)
    return ToolDefinition(spec["name"], spec.get("description", ""), schema)


def spec_schema(spec: dict[str, Any]) -> dict[str, Any]:
    schema = spec.get("inputSchema") or {}
    if isinstance(schema, dict) and isinstance(schema.get("json"), dict):
        schema = schema["json"]
    return dict(schema) if isinstance(schema, dict) else {}


# ---- stop reasons and usage ----------------------------------------------------------------------


def stop_to_strands(reason: StopReason) -> str:
    return _TO_STRANDS_STOP.get(reason, "end_turn")


def stop_from_strands(reason: str | None) -> StopReason:
    return _FROM_STRANDS_STOP.get(reason or "end_turn", "end_turn")


def usage_to_strands(usage: Usage) -> dict[str, int]:
    data = {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.total_tokens,
    }
    if usage.cache_read_tokens:
        data["cacheReadInputTokens"] = usage.cache_read_tokens
    return data


def usage_from_strands(data: dict[str, Any] | None) -> Usage:
    data = data or {}
    return Usage(
        input_tokens=int(data.get("inputTokens") or 0),
        output_tokens=int(data.get("outputTokens") or 0),
        cache_read_tokens=int(data.get("cacheReadInputTokens") or 0),
    )


# ---- tool results ------------------------------------------------------------------------------------


def result_content_text(content: Iterable[dict[str, Any]]) -> str:
    """What the model reads for a Strands ToolResult's content: text as is, JSON serialized, media named."""
    parts: list[str] = []
    for block in content:
        if "text" in block:
            parts.append(str(block["text"]))
        elif "json" in block:
            parts.append(json.dumps(block["json"], ensure_ascii=False, default=str))
        else:
            kinds = ", ".join(sorted(block)) or "empty"
            parts.append(f"[{kinds} content omitted: agentkit messages carry text only]")
    return "\n".join(parts)


def strands_tool_result(call_id: str, text: str, *, is_error: bool) -> dict[str, Any]:
    return {"toolUseId": call_id, "status": "error" if is_error else "success", "content": [{"text": text}]}


# ---- Strands messages -> agentkit Messages ---------------------------------------------------------


def system_text(system_prompt: str | None, content: Sequence[dict[str, Any]] | None) -> str:
    """The system prompt as one string; structured content blocks win over the plain string, as in Strands."""
    if content:
        return "\n".join(str(block["text"]) for block in content if "text" in block)
    return system_prompt or ""


def messages_from_strands(messages: Sequence[StrandsMessage], system: str = "") -> list[Message]:
    """Converse-shaped history as agentkit Messages (one tool message per block of tool results)."""
    out: list[Message] = [Message.system(system)] if system else []
    call_names: dict[str, str] = {}
    for message in messages:
        blocks = message.get("content") or []
        if message.get("role") == "assistant":
            out.append(_assistant_from_strands(blocks, call_names))
        else:
            out.extend(_user_from_strands(blocks, call_names))
    return out


def _assistant_from_strands(blocks: Sequence[dict[str, Any]], call_names: dict[str, str]) -> Message:
    texts: list[str] = []
    reasoning: list[str] = []
    signature: str | None = None
    calls: list[ToolCall] = []
    for block in blocks:
        if "text" in block:
            if block["text"] != BLANK_TEXT:
                texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            call_names[use["toolUseId"]] = use["name"]
            calls.append(ToolCall(id=use["toolUseId"], name=use["name"], arguments=use.get("input") or {}))
        elif "reasoningContent" in block:
            part = block["reasoningContent"].get("reasoningText") or {}
            reasoning.append(part.get("text", ""))
            signature = part.get("signature") or signature
    message = Message.assistant("".join(texts), tool_calls=calls)
    if reasoning:
        message.reasoning = "".join(reasoning)
        message.reasoning_signature = signature
    return message


def _user_from_strands(blocks: Sequence[dict[str, Any]], call_names: dict[str, str]) -> list[Message]:
    results: list[ToolResult] = []
    texts: list[str] = []
    for block in blocks:
        if "toolResult" in block:
            res = block["toolResult"]
            call_id = res.get("toolUseId", "")
            results.append(
                ToolResult(
                    call_id=call_id,
                    name=call_names.get(call_id, ""),
                    content=result_content_text(res.get("content") or []),
                    is_error=res.get("status") == "error",
                )
            )
        elif "text" in block:
            texts.append(block["text"])
        elif "guardContent" in block:
            texts.append(block["guardContent"].get("text", {}).get("text", ""))
        elif "cachePoint" not in block:
            texts.append(result_content_text([block]))
    out: list[Message] = []
    if results:
        out.append(Message.tool(results))
    if texts or not results:
        out.append(Message.user("\n".join(texts)))
    return out


# ---- agentkit Messages -> Strands messages ---------------------------------------------------------


def messages_to_strands(messages: Sequence[Message]) -> tuple[list[StrandsMessage], str | None]:
    """agentkit history as (Strands messages, system prompt), in the Converse shape Strands uses."""
    system, conversation = to_converse_messages(messages)
    prompt = "\n\n".join(block["text"] for block in system)
    return conversation, (prompt or None)
