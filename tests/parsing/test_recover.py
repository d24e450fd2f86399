"""recover_tool_calls: tool calls left in a model's text stream become ToolCallEvents for the loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from agentkit.messages import (
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEvent,
    TurnEnd,
    Usage,
)
from agentkit.models.testing import ScriptedModel
from agentkit.parsing.recover import recover_tool_calls

TOOLS = [
    {"name": "read_file", "parameters": {"properties": {"path": {"type": "string"}, "limit": {"type": "integer"}}}}
]
CODER_CALL = (
    "<tool_call>\n<function=read_file>\n<parameter=path>\na.py\n</parameter>\n<parameter=limit>\n5\n</parameter>\n"
)


async def _source(events: list[StreamEvent]) -> AsyncIterator[StreamEvent]:
    for event in events:
        yield event


def run(events: list[StreamEvent], **kwargs: object) -> list[StreamEvent]:
    async def collect() -> list[StreamEvent]:
        return [e async for e in recover_tool_calls(_source(events), **kwargs)]  # type: ignore[arg-type]

    return asyncio.run(collect())


def test_text_call_becomes_tool_call_event_before_turn_end_with_tool_use() -> None:
    usage = Usage(input_tokens=3, output_tokens=4)
    text = "Reading.\n" + CODER_CALL + "</function>\n</tool_call>"
    deltas: list[StreamEvent] = [TextDelta(text=text[i : i + 7]) for i in range(0, len(text), 7)]
    out = run([*deltas, TurnEnd(stop_reason="end_turn", usage=usage)], tools=TOOLS, model_name="qwen3-coder")
    assert "".join(e.text for e in out if isinstance(e, TextDelta)) == "Reading.\n"
    [event] = [e for e in out if isinstance(e, ToolCallEvent)]
    assert (event.call.name, event.call.arguments) == ("read_file", {"path": "a.py", "limit": 5})
    assert event.call.strings_only is True and event.call.raw is not None
    assert isinstance(out[-1], TurnEnd) and out[-1].stop_reason == "tool_use" and out[-1].usage is usage


def test_unclosed_call_after_a_normal_stop_is_salvaged_at_turn_end() -> None:
    out = run([TextDelta(text=CODER_CALL), TurnEnd(stop_reason="end_turn")], tools=TOOLS, format="qwen3_coder")
    assert isinstance(out[-2], ToolCallEvent) and out[-2].call.arguments == {"path": "a.py", "limit": 5}
    assert out[-2].call.invalid_reason is None
    assert out[-1].stop_reason == "tool_use"  # type: ignore[union-attr]


def test_call_cut_off_by_the_token_limit_is_reported_not_run() -> None:
    out = run([TextDelta(text=CODER_CALL), TurnEnd(stop_reason="max_tokens")], tools=TOOLS, format="qwen3_coder")
    assert isinstance(out[-2], ToolCallEvent)
    assert "token limit cut the output inside this call" in (out[-2].call.invalid_reason or "")
    assert out[-1].stop_reason == "tool_use"  # type: ignore[union-attr]


def test_plain_text_passes_through_as_the_same_events() -> None:
    deltas = [TextDelta(text="Hello "), TextDelta(text="world.")]
    out = run([*deltas, TurnEnd()], model_name="Qwen3-Coder-30B-A3B-Instruct")
    assert out[0] is deltas[0] and out[1] is deltas[1]
    assert isinstance(out[2], TurnEnd) and out[2].stop_reason == "end_turn"


def test_non_text_events_pass_through_unchanged() -> None:
    native = ToolCallEvent(call=ToolCall(name="x", arguments={}))
    others: list[StreamEvent] = [ReasoningDelta(text="r"), ToolCallDelta(index=0, name="x"), native]
    out = run([*others, TurnEnd(stop_reason="tool_use")])
    assert out[:3] == others and out[2] is native


def test_invalid_call_carries_its_reason() -> None:
    text = '<tool_call>\n{"name": "a", "arguments": {\n</tool_call>'
    out = run([TextDelta(text=text), TurnEnd()], format="hermes")
    [event] = [e for e in out if isinstance(e, ToolCallEvent)]
    assert event.call.invalid_reason and event.call.arguments == event.call.raw == text
    assert event.call.name == "a" or event.call.name == ""


def test_harmony_reasoning_and_call() -> None:
    text = "<|channel|>analysis<|message|>Plan.<|end|><|start|>assistant<|channel|>commentary"
    text += ' to=functions.read_file <|constrain|>json<|message|>{"path": "b"}<|call|>'
    out = run([TextDelta(text=text), TurnEnd()], model_name="gpt-oss-120b")
    assert [e.text for e in out if isinstance(e, ReasoningDelta)] == ["Plan."]
    [event] = [e for e in out if isinstance(e, ToolCallEvent)]
    assert event.call.arguments == {"path": "b"} and event.call.strings_only is False


def test_each_turn_gets_a_fresh_parser() -> None:
    first = [TextDelta(text=CODER_CALL + "</function>\n</tool_call>"), TurnEnd()]
    second = [TextDelta(text="All done."), TurnEnd()]
    out = run(first + second, tools=TOOLS, model_name="qwen3-coder")
    assert [type(e).__name__ for e in out] == ["ToolCallEvent", "TurnEnd", "TextDelta", "TurnEnd"]
    assert out[-1].stop_reason == "end_turn"  # type: ignore[union-attr]


def test_with_the_shipped_scripted_model() -> None:
    model = ScriptedModel(["Sure.\n" + CODER_CALL + "</function>\n</tool_call>"])

    async def collect() -> list[StreamEvent]:
        stream = model.stream([], [], None)  # type: ignore[arg-type]
        return [e async for e in recover_tool_calls(stream, tools=TOOLS, model_name="qwen3-coder")]

    out = asyncio.run(collect())
    calls = [e.call for e in out if isinstance(e, ToolCallEvent)]
    assert len(calls) == 1 and calls[0].name == "read_file"
