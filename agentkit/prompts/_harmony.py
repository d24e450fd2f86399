"""gpt-oss prompts in OpenAI's Harmony format (the text openai-harmony renders, token for token).

- system message: identity, knowledge cutoff, optional current date, `Reasoning: low|medium|high`, the
  channel line, and the "Calls to these tools must go to the commentary channel" line when function tools exist;
- developer message: `# Instructions` (from the leading system messages) and the `functions` namespace;
- each assistant message becomes up to three Harmony messages: reasoning on `analysis`, content on `final`
  (or on `commentary` as a preamble when the turn also calls tools), and one
  `<|start|>assistant to=functions.NAME<|channel|>commentary json<|message|>{...}<|call|>` per call;
- each tool result becomes `<|start|>functions.NAME to=assistant<|channel|>commentary<|message|>...<|end|>`;
- once the last assistant message is a final answer, analysis messages before the first final answer are
  dropped (openai-harmony's `auto_drop_analysis`): the chain of thought of a finished exchange is not replayed.
A system message after the first user message becomes a developer message of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from agentkit.errors import ConfigError
from agentkit.messages import ToolCall
from agentkit.prompts._common import Entry, call_arguments
from agentkit.prompts._typescript import tools_namespace
from agentkit.tooling import ToolDefinition

__all__ = ["DEFAULT_IDENTITY", "DEFAULT_KNOWLEDGE_CUTOFF", "render_harmony"]

DEFAULT_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
DEFAULT_KNOWLEDGE_CUTOFF = "2024-06"
_EFFORTS = ("low", "medium", "high")
_CHANNELS = "# Valid channels: analysis, commentary, final. Channel must be included for every message."
_FUNCTIONS_LINE = "Calls to these tools must go to the commentary channel: 'functions'."


@dataclass(slots=True)
class _Message:
    header: str  # role (or tool author) plus ` to=...`, without channel
    content: str
    channel: str | None = None
    content_type: str | None = None
    is_assistant: bool = False
    is_call: bool = False

    def render(self) -> str:
        channel = f"<|channel|>{self.channel}" if self.channel is not None else ""
        ctype = f" {self.content_type}" if self.content_type else ""
        end = "<|call|>" if self.is_call else "<|end|>"
        return f"<|start|>{self.header}{channel}{ctype}<|message|>{self.content}{end}"


def render_harmony(
    entries: list[Entry],
    tools: list[ToolDefinition],
    *,
    add_generation_prompt: bool,
    reasoning_effort: str | None = None,
    model_identity: str = DEFAULT_IDENTITY,
    knowledge_cutoff: str = DEFAULT_KNOWLEDGE_CUTOFF,
    current_date: str | None = None,
    auto_drop_analysis: bool = True,
) -> str:
    effort = reasoning_effort or "medium"
    if effort not in _EFFORTS:
        raise ConfigError(f"reasoning_effort {reasoning_effort!r} is not valid for harmony: use low, medium or high")
    leading = 0
    while leading < len(entries) and entries[leading].role == "system":
        leading += 1
    instructions = "\n\n".join(e.content for e in entries[:leading] if e.content)
    messages = [_system(model_identity, knowledge_cutoff, current_date, effort, has_tools=bool(tools))]
    developer = _developer(instructions, tools)
    if developer is not None:
        messages.append(developer)
    for entry in entries[leading:]:
        messages.extend(_convert(entry))
    if auto_drop_analysis:
        messages = _drop_finished_analysis(messages)
    text = "".join(m.render() for m in messages)
    return text + "<|start|>assistant" if add_generation_prompt else text


def _system(identity: str, cutoff: str, date: str | None, effort: str, *, has_tools: bool) -> _Message:
    top = [line for line in (identity, f"Knowledge cutoff: {cutoff}" if cutoff else "") if line]
    if date:
        top.append(f"Current date: {date}")
    sections = ["\n".join(top)] if top else []
    sections.append(f"Reasoning: {effort}")
    sections.append(_CHANNELS + ("\n" + _FUNCTIONS_LINE if has_tools else ""))
    return _Message(header="system", content="\n\n".join(sections))


def _developer(instructions: str, tools: list[ToolDefinition]) -> _Message | None:
    sections = []
    if instructions:
        sections += ["# Instructions", instructions]
    if tools:
        sections.append(tools_namespace([(t.name, t.description, _parameters(t)) for t in tools]))
    if not sections:
        return None
    return _Message(header="developer", content="\n\n".join(sections))


def _parameters(tool: ToolDefinition) -> dict[str, object] | None:
    """None (rendered `() => any`) for a tool that takes no arguments."""
    properties = tool.parameters.get("properties") if isinstance(tool.parameters, dict) else None
    return tool.parameters if properties else None


def _convert(entry: Entry) -> list[_Message]:
    if entry.role == "user":
        return [_Message(header="user", content=entry.content)]
    if entry.role == "system":
        return [_Message(header="developer", content=entry.content)]
    if entry.role == "tool":
        return [
            _Message(header=f"functions.{entry.tool_name} to=assistant", content=entry.content, channel="commentary")
        ]
    out = []
    if entry.reasoning:
        out.append(_Message(header="assistant", content=entry.reasoning, channel="analysis", is_assistant=True))
    if entry.content:
        channel = "commentary" if entry.calls else "final"
        out.append(_Message(header="assistant", content=entry.content, channel=channel, is_assistant=True))
    out.extend(_call(call) for call in entry.calls)
    return out


def _call(call: ToolCall) -> _Message:
    arguments = call_arguments(call)
    if arguments is None:
        body = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, ensure_ascii=False)
    else:
        # gpt-oss writes compact JSON; replaying it the same way keeps history close to what it generated.
        body = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    return _Message(
        header=f"assistant to=functions.{call.name}",
        content=body,
        channel="commentary",
        content_type="json",
        is_assistant=True,
        is_call=True,
    )


def _drop_finished_analysis(messages: list[_Message]) -> list[_Message]:
    last_assistant = next((m for m in reversed(messages) if m.is_assistant), None)
    if last_assistant is None or last_assistant.channel != "final":
        return messages
    first_final = next(i for i, m in enumerate(messages) if m.channel == "final")
    return [m for i, m in enumerate(messages) if not (i < first_final and m.channel == "analysis")]
