"""Compare agentkit.prompts with a model's real Jinja chat template on generated conversations (a dev tool).

The Qwen templates are not committed here; point this at one you have (a model folder's
`chat_template.jinja`, or the `chat_template` string of its `tokenizer_config.json` saved to a file):

    python tests/prompts/template_diff.py --family hermes --template path/to/qwen3.jinja --examples 1000
    python tests/prompts/template_diff.py --family qwen3_coder --template path/to/qwen3coder.jinja

It renders each generated conversation (system, user, assistant turns with reasoning and calls, grouped tool
results, tools with assorted schema keys) with transformers' own Jinja setup and with `agentkit.prompts.render`,
and stops at the first difference. Conversations start with an optional system message and a user message:
the Qwen3-Coder template drops the user turn opener for tool results right after the system message, which
agentkit deliberately does not copy.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit.messages import Message, ToolCall, ToolResult
from agentkit.prompts import render
from agentkit.tooling import ToolDefinition


def as_template_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """agentkit messages in the shape HF chat templates read (one tool message per result)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            out.extend({"role": "tool", "content": r.content} for r in message.tool_results)
            continue
        item: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.reasoning is not None:
            item["reasoning_content"] = message.reasoning
        if message.tool_calls:
            item["tool_calls"] = [
                {"type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in message.tool_calls
            ]
        out.append(item)
    return out


_text = st.text(st.sampled_from(list("ab \n<>/{}\"'é😀")), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xyz"), inner, max_size=3),
    max_leaves=6,
)
_names = st.sampled_from(["read_file", "search", "f_1"])
_call = st.builds(
    lambda name, args: ToolCall(name=name, arguments=args),
    _names,
    st.dictionaries(st.sampled_from(["path", "q", "n", "opts"]), _json, max_size=3),
)
_property = st.fixed_dictionaries(
    {"type": st.sampled_from(["string", "integer", ["integer", "null"], "array", "object", "boolean"])},
    optional={
        "description": _text,
        "default": _json,
        "enum": st.lists(_text, min_size=1, max_size=3),
        "items": st.just({"type": "string"}),
        "minimum": st.integers(0, 3),
        "nullable": st.booleans(),
    },
)
_schema = st.builds(
    lambda props, required, extra: {"type": "object", "properties": props, "required": required, **extra},
    st.dictionaries(st.sampled_from(["path", "q", "n", "opts", "x-y"]), _property, max_size=4),
    st.lists(st.sampled_from(["path", "q"]), max_size=2, unique=True),
    st.sampled_from([{}, {"additionalProperties": False}, {"$defs": {"A": {"type": "string"}}}]),
)
_tool = st.builds(ToolDefinition, _names, _text, _schema)
_message = st.one_of(
    st.builds(Message.user, _text),
    st.builds(
        lambda text, reasoning, calls: Message(role="assistant", content=text, reasoning=reasoning, tool_calls=calls),
        _text,
        st.none() | _text,
        st.lists(_call, max_size=2),
    ),
    st.builds(
        lambda results: Message.tool([ToolResult(call_id="c", name="f", content=r) for r in results]),
        st.lists(_text, min_size=1, max_size=3),
    ),
    st.builds(Message.system, _text),
)
conversations = st.tuples(
    st.none() | st.builds(Message.system, _text), st.builds(Message.user, _text), st.lists(_message, max_size=6)
).map(lambda parts: ([parts[0]] if parts[0] else []) + [parts[1], *parts[2]])


def main() -> None:
    from transformers.utils.chat_template_utils import render_jinja_template

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", required=True, choices=["hermes", "qwen3_coder"])
    parser.add_argument("--template", required=True, type=Path)
    parser.add_argument("--examples", type=int, default=500)
    args = parser.parse_args()
    template = args.template.read_text()

    @settings(max_examples=args.examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(conversations, st.lists(_tool, max_size=2), st.booleans(), st.sampled_from([None, True, False]))
    def check(messages: list[Message], tools: list[ToolDefinition], generation: bool, thinking: bool | None) -> None:
        options = {"enable_thinking": thinking} if args.family == "hermes" and thinking is not None else {}
        rendered, _ = render_jinja_template(
            [as_template_messages(messages)],
            tools=[t.to_openai() for t in tools] or None,
            chat_template=template,
            add_generation_prompt=generation,
            **options,
        )
        ours = render(messages, tools, family=args.family, add_generation_prompt=generation, **options)
        assert ours == rendered[0], f"differs for {messages!r} with tools {tools!r}:\n{rendered[0]!r}\n{ours!r}"

    check()
    print(f"{args.family}: {args.examples} generated conversations render identically to {args.template}")


if __name__ == "__main__":
    main()
