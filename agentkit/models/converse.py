"""agentkit messages in the Converse shape (Bedrock's Converse API, which Strands Agents also uses).

Pure data translation, no SDK: `agentkit.models.bedrock` sends these to boto3, and the Strands bridge
(`agentkit.integrations`) hands them to Strands providers. Converse has no tool role, so tool results
travel in a user message, and neighbours with the same role are merged because the roles must alternate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agentkit.messages import Message, ToolCall
from agentkit.tooling import TOOL_NAME

__all__ = ["converse_tool_choice", "to_converse_messages", "tool_result_block"]


def to_converse_messages(
    messages: Sequence[Message], *, replay_reasoning: bool = True
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """agentkit messages -> (Converse `system` blocks, Converse `messages`), merging same-role neighbours."""
    system: list[dict[str, Any]] = []
    conversation: list[dict[str, Any]] = []
    as_text: set[str] = set()  # ids of calls that cannot travel as toolUse blocks
    for message in messages:
        if message.role == "system":
            if message.content:
                system.append({"text": message.content})
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _content_blocks(message, replay_reasoning, as_text)
        if not blocks:
            continue
        if conversation and conversation[-1]["role"] == role:
            conversation[-1]["content"].extend(blocks)  # Converse wants user/assistant to alternate
        else:
            conversation.append({"role": role, "content": blocks})
    return system, conversation


def _content_blocks(message: Message, replay_reasoning: bool, as_text: set[str]) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {"text": f"[result of the unreadable tool call above: {r.content}]"}
            if r.call_id in as_text
            else tool_result_block(r.call_id, r.content, r.is_error)
            for r in message.tool_results
        ]
    blocks: list[dict[str, Any]] = []
    if message.role == "assistant" and message.reasoning and replay_reasoning:
        text: dict[str, Any] = {"text": message.reasoning}
        if message.reasoning_signature:
            text["signature"] = message.reasoning_signature
        blocks.append({"reasoningContent": {"reasoningText": text}})
    if message.content:
        blocks.append({"text": message.content})
    for call in message.tool_calls:
        if not TOOL_NAME.match(call.name):
            # Converse refuses a toolUse without a valid name; the model still sees what it wrote, as text.
            as_text.add(call.id)
            blocks.append({"text": f"[unreadable tool call: {call.raw or call.arguments_json()}]"})
        else:
            blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": _tool_input(call)}})
    return blocks


def tool_result_block(call_id: str, content: str, is_error: bool) -> dict[str, Any]:
    status = "error" if is_error else "success"
    return {"toolResult": {"toolUseId": call_id, "status": status, "content": [{"text": content or "(no output)"}]}}


def _tool_input(call: ToolCall) -> Any:
    if isinstance(call.arguments, str):
        try:
            return json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError:
            # Bedrock needs a JSON document; keep what the model wrote so its next turn can see it.
            return {"raw_arguments": call.arguments}
    return call.arguments


def converse_tool_choice(choice: str | None) -> dict[str, Any] | None:
    """agentkit's tool_choice -> Converse's `toolChoice` (Strands' ToolChoice has the same shape). Neither has
    "none", so "none" (like "auto") sends nothing."""
    if choice in (None, "auto", "none"):
        return None
    if choice == "required":
        return {"any": {}}
    return {"tool": {"name": choice}}
