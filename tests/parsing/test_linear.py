"""Every parser stays linear on floods of its special tokens, one-shot and streamed (issue 13, break 4).

`parse('<|channel|>' * n)` was quadratic (1.6 MB: 58.6 s): the Harmony header grew without a cap, and every
machine's text deltas grew by `+=`. The growth check asserts complexity, not speed: 10x the input may take
less than 20x the time (CPU time of this process, garbage collector off, best of three runs). A linear parser
measures 9x to 14x here (the large text no longer fits the CPU caches); the quadratic ones measured 30x to 100x.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import pytest

from agentkit.parsing import StreamParser, parse

HARMONY = ["<|start|>", "<|channel|>", "<|message|>", "<|constrain|>", "<|end|>", "<|call|>", "<|return|>"]
HARMONY += ["<|endoftext|>", "<|startoftext|>", "<|unknown|>"]
QWEN3_CODER = ["<tool_call>", "</tool_call>", "<function=", "<function=f>", "</function>", "<parameter="]
QWEN3_CODER += ["<parameter=a>", "</parameter>", "<think>", "</think>", " \n"]
HERMES = ["<tool_call>", "</tool_call>", "<think>", "</think>", "{", '"', "[", " \n"]
# a flood from the start of the text, and one inside a call that is being read
OPENERS = {
    "harmony": ("", "<|channel|>commentary to=functions.f <|message|>"),
    "qwen3_coder": ("", "<tool_call>\n<function=f>\n<parameter=b>\n"),
    "hermes": ("", '<tool_call>{"name": "f", "arguments": '),
}
# whitespace after a tag that waits to see what follows it (streaming rescanned it at every delta)
AFTER_TAG = {
    "harmony": ["<|channel|>", "<|start|>assistant"],
    "qwen3_coder": [
        "<tool_call>",
        "<think><tool_call>",
        "<tool_call>\n<function=f>",
        "<tool_call>\n<function=f>\n</function>",
        "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>",
    ],
    "hermes": ["<tool_call>", "<think><tool_call>", '<tool_call>{"name": "f", "arguments": {}}'],
}
CASES = [
    pytest.param(fmt, opener, token, id=f"{fmt}-{'in_call' if opener else 'bare'}-{token.strip() or 'whitespace'}")
    for fmt, tokens in (("harmony", HARMONY), ("qwen3_coder", QWEN3_CODER), ("hermes", HERMES))
    for opener in OPENERS[fmt]
    for token in tokens
]
CASES += [
    pytest.param(fmt, tag, " \n", id=f"{fmt}-whitespace-after-{tag.replace(chr(10), ' ')}")
    for fmt, tags in AFTER_TAG.items()
    for tag in tags
]
SMALL = 20_000
GROWTH = 10
LIMIT = 20


def _cpu_seconds(run: Callable[[], object]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        run()
        return time.process_time() - start
    finally:
        gc.enable()


def _streamed(text: str, fmt: str) -> None:
    parser = StreamParser(fmt, thinking=False)  # deltas reach the call machines at once, not at the end
    for at in range(0, len(text), 64):
        parser.feed(text[at : at + 64])
    parser.finish()
    parser.close()


def _growth(make: Callable[[int], str], run: Callable[[str], object]) -> float:
    """Time at GROWTH x the size over time at the base size (best of three each). A busy machine can make one
    measurement look slow, so a ratio over the limit is measured again, up to three times: a quadratic parser
    is over it every time (by 30x to 100x), noise is not."""
    small, large = make(SMALL), make(SMALL * GROWTH)
    ratio = float("inf")
    for _ in range(3):
        base = min(_cpu_seconds(lambda: run(small)) for _ in range(3))
        big = min(_cpu_seconds(lambda: run(large)) for _ in range(1 if ratio == float("inf") else 3))
        ratio = min(ratio, big / max(base, 1e-4))
        if ratio < LIMIT:
            break
    return ratio


def _flood(opener: str, token: str) -> Callable[[int], str]:
    return lambda size: opener + token * (size // len(token))


@pytest.mark.parametrize("fmt, opener, token", CASES)
def test_a_flood_of_one_special_token_parses_in_linear_time(fmt: str, opener: str, token: str) -> None:
    ratio = _growth(_flood(opener, token), lambda text: parse(text, fmt))
    assert ratio < LIMIT, f"{GROWTH}x the input took {ratio:.1f}x the time"


@pytest.mark.parametrize("fmt, opener, token", CASES)
def test_a_streamed_flood_of_one_special_token_stays_linear(fmt: str, opener: str, token: str) -> None:
    ratio = _growth(_flood(opener, token), lambda text: _streamed(text, fmt))
    assert ratio < LIMIT, f"{GROWTH}x the input took {ratio:.1f}x the time"
