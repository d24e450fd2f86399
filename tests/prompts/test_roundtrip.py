"""Render an assistant turn with calls, parse the rendered text back with agentkit.parsing: the same calls.

The completion is what the model would have written: the text the assistant turn adds after the generation
prompt, without the ChatML turn end (a stop sequence, so never part of the model's output).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit.messages import Message, ToolCall
from agentkit.parsing import parse
from agentkit.prompts import FAMILIES, render
from agentkit.tooling import ToolDefinition

TOOLS = [
    ToolDefinition(
        "edit",
        "Edit a file.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "count": {"type": "integer"},
                "ratio": {"type": ["number", "null"]},
                "force": {"type": "boolean"},
                "lines": {"type": "array", "items": {"type": "string"}},
                "meta": {"type": "object"},
            },
        },
    ),
    ToolDefinition("ping", "No arguments.", {"type": "object", "properties": {}}),
]

# Values may hold markup, quotes, braces and newlines; only the formats' own delimiters are left out, because
# none of the three formats escapes them (a value holding `</parameter>` is ambiguous by design).
_DELIMITERS = ("<parameter", "</parameter", "<function", "</function", "<tool_call", "</tool_call", "<|")
text = st.text(st.sampled_from(list("ab z\n\t<>/={}[]\"'\\é😀")), max_size=16).filter(
    lambda s: not any(d in s for d in _DELIMITERS)
)
scalar = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | text
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3))
edit_arguments = st.fixed_dictionaries(
    {},
    optional={
        "path": text,
        "count": st.integers(-(10**15), 10**15),
        "ratio": st.none() | st.floats(allow_nan=False, allow_infinity=False),
        "force": st.booleans(),
        "lines": st.lists(text, max_size=3),
        "meta": st.dictionaries(text, json_value, max_size=3),
    },
)
calls = st.lists(
    st.one_of(
        st.builds(lambda a: ToolCall(name="edit", arguments=a), edit_arguments),
        st.just(ToolCall(name="ping", arguments={})),
    ),
    min_size=1,
    max_size=3,
)


def _completion(family: str, message: Message) -> str:
    history = [Message.user("please")]
    prompt = render(history, TOOLS, family=family)
    full = render([*history, message], TOOLS, family=family, add_generation_prompt=False)
    assert full.startswith(prompt)
    completion = full[len(prompt) :]
    return completion.removesuffix("<|im_end|>\n")


def _parsed(family: str, message: Message) -> Any:
    return parse(_completion(family, message), format=FAMILIES[family].parser_format, tools=TOOLS)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=calls, content=st.sampled_from(["", "Let me do that."]))
def test_rendered_calls_parse_back_to_the_same_calls(family: str, calls: list[ToolCall], content: str) -> None:
    result = _parsed(family, Message.assistant(content, tool_calls=calls))
    assert result.invalid_calls == []
    assert [(c.name, c.arguments) for c in result.calls] == [(c.name, c.arguments) for c in calls]
    assert (result.content or "").strip() == content


@pytest.mark.parametrize("family", ["hermes", "harmony"])
def test_reasoning_parses_back(family: str) -> None:
    message = Message(
        role="assistant",
        content="Checking.",
        reasoning="The user wants an edit.\nDo it.",
        tool_calls=[ToolCall(name="edit", arguments={"path": "a.py", "force": False})],
    )
    result = _parsed(family, message)
    assert (result.reasoning or "").strip() == "The user wants an edit.\nDo it."
    assert [(c.name, c.arguments) for c in result.calls] == [("edit", {"path": "a.py", "force": False})]
