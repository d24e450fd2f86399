"""Prompt rendering cost: agentkit.prompts vs the reference renderers, on the same tool-loop conversations.

    python benchmarks/bench_prompts.py [--quick] [--templates DIR]

Peers, side by side:
- harmony: agentkit `render(..., family="harmony")` (text) vs openai-harmony (build its Message objects,
  `render_conversation_for_completion` to tokens, and `decode_utf8` back to text). openai-harmony needs the
  o200k vocabulary offline; it is rebuilt from quicktok-v1 as in tests/prompts/conftest.py.
- hermes / qwen3_coder: agentkit vs transformers' Jinja rendering of the real Qwen3 / Qwen3-Coder chat
  templates. The templates are not in this repository: pass `--templates DIR` holding `qwen3.jinja` and
  `qwen3coder.jinja`, or those rows are left out.
Each row is a conversation of N tool turns (user query, then N x [assistant reasoning + call, tool result])
with 5 tools; the outputs are checked to be identical before timing. Times are the best of 5 repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "prompts"))

from conftest import build_o200k_tiktoken  # the same rebuild the tests use
from template_diff import as_template_messages

from agentkit.messages import Message, ToolCall, ToolResult
from agentkit.prompts import render
from agentkit.tooling import ToolDefinition

TOOLS = [
    ToolDefinition(
        f"tool_{i}",
        f"Tool number {i}.\nSecond line.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "A path"},
                "limit": {"type": "integer", "default": 10},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["path"],
        },
    )
    for i in range(5)
]


def conversation(turns: int) -> list[Message]:
    messages = [Message.system("You are a careful coding agent."), Message.user("Fix the failing test.")]
    for t in range(turns):
        call = ToolCall(name=f"tool_{t % 5}", arguments={"path": f"src/file_{t}.py", "limit": t, "tags": ["x"]})
        messages.append(
            Message(role="assistant", content="", reasoning=f"Step {t}: look at file {t}.", tool_calls=[call])
        )
        messages.append(Message.tool([ToolResult(call_id=call.id, name=call.name, content="line\n" * 40)]))
    return messages


def best(fn: Callable[[], Any], repeat: int, number: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def harmony_reference(encoding: Any, messages: list[Message]) -> Callable[[], str]:
    import openai_harmony as oh

    def run() -> str:
        out = [oh.Message.from_role_and_content(oh.Role.SYSTEM, oh.SystemContent.new())]
        developer = oh.DeveloperContent.new().with_instructions(messages[0].content)
        tools = [oh.ToolDescription.new(t.name, t.description, t.parameters) for t in TOOLS]
        out.append(oh.Message.from_role_and_content(oh.Role.DEVELOPER, developer.with_function_tools(tools)))
        for m in messages[1:]:
            if m.role == "user":
                out.append(oh.Message.from_role_and_content(oh.Role.USER, m.content))
            elif m.role == "tool":
                for r in m.tool_results:
                    author = oh.Author.new(oh.Role.TOOL, f"functions.{r.name}")
                    msg = oh.Message.from_author_and_content(author, r.content)
                    out.append(msg.with_recipient("assistant").with_channel("commentary"))
            else:
                out.append(oh.Message.from_role_and_content(oh.Role.ASSISTANT, m.reasoning).with_channel("analysis"))
                for c in m.tool_calls:
                    body = json.dumps(c.arguments, separators=(",", ":"))
                    msg = oh.Message.from_role_and_content(oh.Role.ASSISTANT, body).with_channel("commentary")
                    out.append(msg.with_recipient(f"functions.{c.name}").with_content_type("json"))
        tokens = encoding.render_conversation_for_completion(oh.Conversation.from_messages(out), oh.Role.ASSISTANT)
        return str(encoding.decode_utf8(tokens))

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--templates", type=Path, default=None)
    args = parser.parse_args()
    repeat, number = (3, 20) if args.quick else (5, 100)

    import openai_harmony as oh

    folder = Path(tempfile.mkdtemp(prefix="o200k-"))
    build_o200k_tiktoken(folder)
    os.environ["TIKTOKEN_ENCODINGS_BASE"] = str(folder)
    encoding = oh.load_harmony_encoding(oh.HarmonyEncodingName.HARMONY_GPT_OSS)

    peers: list[tuple[str, str, Callable[[list[Message]], Callable[[], str]]]] = [
        ("harmony", "openai-harmony", lambda msgs: harmony_reference(encoding, msgs))
    ]
    if args.templates is not None:
        from transformers.utils.chat_template_utils import render_jinja_template

        for family, file in (("hermes", "qwen3.jinja"), ("qwen3_coder", "qwen3coder.jinja")):
            template = (args.templates / file).read_text()

            def jinja(msgs: list[Message], template: str = template) -> Callable[[], str]:
                hf_tools = [t.to_openai() for t in TOOLS]
                return lambda: render_jinja_template(
                    [as_template_messages(msgs)], tools=hf_tools, chat_template=template, add_generation_prompt=True
                )[0][0]

            peers.append((family, "transformers Jinja", jinja))

    print(
        f"{'family':<12} {'turns':>5} {'chars':>7} {'agentkit µs':>12} {'reference':<20} {'ref µs':>10} {'ref/agentkit':>13}"
    )
    for family, name, make in peers:
        for turns in (1, 10, 50):
            msgs = conversation(turns)
            ours = render(msgs, TOOLS, family=family)
            reference = make(msgs)
            assert reference() == ours, f"{family}: outputs differ at {turns} turns"
            a = best(lambda msgs=msgs, family=family: render(msgs, TOOLS, family=family), repeat, number)
            r = best(reference, repeat, number)
            print(
                f"{family:<12} {turns:>5} {len(ours):>7} {a * 1e6:>12.1f} {name:<20} {r * 1e6:>10.1f} {r / a:>12.2f}x"
            )


if __name__ == "__main__":
    main()
