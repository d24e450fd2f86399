"""Strands' `Model.structured_output` for an agentkit backend, on agentkit's typed results (`agentkit.output`).

The output model is offered as one tool, forced where the backend can force a call. A backend that cannot
(local models, servers without tool_choice) is also told it may answer with the JSON value alone, and its text
is parsed. A call or text that does not validate goes back to the model with the exact errors (as the tool's
error result, or as a user message), `retries` times at most; then OutputError keeps the last raw answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from typing import Any

from agentkit.errors import OutputError, RetryTool
from agentkit.output import OutputSpec

__all__ = ["structured_output"]

Streamer = Callable[..., AsyncIterable[dict[str, Any]]]


async def structured_output(
    stream: Streamer,
    who: str,
    output_model: Any,
    prompt: Any,
    system_prompt: str | None,
    *,
    forcing: bool,
    retries: int,
) -> AsyncGenerator[dict[str, Any], None]:
    """Strands events of each try, then `{"output": instance}`; `stream` is the provider's own stream()."""
    spec = OutputSpec(output_model)
    name = output_model.__name__
    tool_spec = {
        "name": name,
        "description": (output_model.__doc__ or f"Return a {name}.").strip(),
        "inputSchema": {"json": spec.schema},
    }
    messages = [dict(m) for m in prompt]
    if not forcing:
        hint = f"Answer by calling the {name} tool, or with only a JSON value (no other text) that fits its schema."
        messages = _with_text(messages, hint)
    raw = ""
    for attempt in range(retries + 1):
        answer = _Answer(name)
        async for event in stream(messages, [tool_spec], system_prompt, tool_choice={"tool": {"name": name}}):
            answer.read(event)
            yield event
        try:
            value = answer.value(spec)
        except RetryTool as exc:
            raw = answer.raw
            if attempt == retries:
                raise OutputError(
                    f"{who} gave no valid {name} after {attempt + 1} tries: {exc}. Use a model that follows tool "
                    "instructions, or describe the format in the prompt",
                    raw,
                ) from None
            messages += answer.feedback(str(exc))
            continue
        yield {"output": value}
        return


class _Answer:
    """What one streamed turn answered: the call to the output tool (its id and JSON text), or else text."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.text = ""
        self.call_id: str | None = None
        self.arguments: str | None = None

    def read(self, event: dict[str, Any]) -> None:
        start = event.get("contentBlockStart", {}).get("start", {})
        if "toolUse" in start and start["toolUse"]["name"] == self.name and self.arguments is None:
            self.call_id, self.arguments = start["toolUse"]["toolUseId"], ""
            return
        delta = event.get("contentBlockDelta", {}).get("delta", {})
        if "toolUse" in delta and self.arguments is not None and self.call_id is not None:
            self.arguments += delta["toolUse"].get("input", "")
        elif "text" in delta:
            self.text += delta["text"]

    @property
    def raw(self) -> str:
        return self.arguments if self.arguments is not None else self.text

    def value(self, spec: OutputSpec) -> Any:
        if self.arguments is None:
            return spec.parse_text(self.text)
        try:
            data = json.loads(self.arguments or "{}")
        except ValueError as exc:
            raise RetryTool(f"the {self.name} arguments are not JSON ({exc})") from exc
        return spec.validate(data)

    def feedback(self, error: str) -> list[dict[str, Any]]:
        """The failed answer and the error, as the next two Strands messages."""
        if self.arguments is None or self.call_id is None:
            reply = [{"text": self.text or "(no answer)"}]
            return [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": [{"text": f"{error}. Answer again."}]},
            ]
        try:
            arguments = json.loads(self.arguments or "{}")
        except ValueError:
            arguments = {}
        use = {"toolUseId": self.call_id, "name": self.name, "input": arguments}
        result = {"toolUseId": self.call_id, "status": "error", "content": [{"text": f"{error}. Call it again."}]}
        return [
            {"role": "assistant", "content": [{"toolUse": use}]},
            {"role": "user", "content": [{"toolResult": result}]},
        ]


def _with_text(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The conversation with `text` added to its last user message (or as a new one)."""
    if messages and messages[-1].get("role") == "user":
        last = messages[-1]
        return [*messages[:-1], {**last, "content": [*last.get("content", []), {"text": text}]}]
    return [*messages, {"role": "user", "content": [{"text": text}]}]
