"""Parsing throughput: one-shot vs streaming (4-character deltas) vs re-parsing the whole buffer per delta.

For each format it builds a ~1 MB model output holding 1,000 tool calls (each ~1 KB: a short preamble and a
write_file call whose content is code-like text), then measures:
- one-shot: `parse(text)`, in MB/s;
- streaming: `StreamParser.feed()` on 4-character deltas, then `close()`, in MB/s, and streaming/one-shot;
- growth: streaming time at 1 MB divided by that at 100 KB (linear is about 10x);
- baseline: what serving parsers do today, re-parsing the whole text so far on every delta (modelled here by
  calling our own one-shot `parse` on the growing buffer). It is quadratic, so it runs on small inputs and
  the 1 MB figure is extrapolated from a fit t = a*n + c*n^2 through the 10- and 20-call timings (printed).

Times are CPU time of this process (time.process_time, best of 3), so other work on a shared machine does
not inflate them. Run: /work/venv/bin/python benchmarks/bench_parse.py
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from agentkit.parsing import StreamParser, parse

TOOLS = [
    {
        "name": "write_file",
        "parameters": {
            "properties": {"path": {"type": "string"}, "content": {"type": "string"}, "mode": {"type": "integer"}}
        },
    }
]
DELTA = 4
CODE = "def handler(event):\n    return {'status': 200, 'body': event.get('x', 0) + 1}  # <tag> & \"quotes\"\n"


def _content(i: int, size: int) -> str:
    return (CODE * (size // len(CODE) + 1))[:size] + f"# file {i}\n"


def qwen3_coder_call(i: int) -> str:
    return (
        f"Writing file {i}.\n<tool_call>\n<function=write_file>\n<parameter=path>\nsrc/m{i}.py\n</parameter>\n"
        f"<parameter=mode>\n420\n</parameter>\n<parameter=content>\n{_content(i, 830)}\n</parameter>\n"
        "</function>\n</tool_call>\n"
    )


def hermes_call(i: int) -> str:
    import json

    args = json.dumps({"path": f"src/m{i}.py", "mode": 420, "content": _content(i, 800)})
    return f'Writing file {i}.\n<tool_call>\n{{"name": "write_file", "arguments": {args}}}\n</tool_call>\n'


def harmony_call(i: int) -> str:
    import json

    args = json.dumps({"path": f"src/m{i}.py", "mode": 420, "content": _content(i, 760)})
    return (
        f"<|start|>assistant<|channel|>analysis<|message|>Write file {i}.<|end|>"
        f"<|start|>assistant<|channel|>commentary to=functions.write_file <|constrain|>json<|message|>{args}<|call|>"
    )


BUILDERS: dict[str, Callable[[int], str]] = {
    "qwen3_coder": qwen3_coder_call,
    "hermes": hermes_call,
    "harmony": harmony_call,
}


def build(fmt: str, calls: int) -> tuple[str, int]:
    return "".join(BUILDERS[fmt](i) for i in range(calls)), calls


def one_shot(fmt: str, text: str) -> float:
    start = time.process_time()
    result = parse(text, fmt, TOOLS, thinking=False)
    elapsed = time.process_time() - start
    assert not result.invalid_calls, result.invalid_calls[:1]
    return elapsed


def streaming(fmt: str, text: str) -> tuple[float, int]:
    deltas = [text[i : i + DELTA] for i in range(0, len(text), DELTA)]
    start = time.process_time()
    parser = StreamParser(fmt, TOOLS, thinking=False)
    for delta in deltas:
        parser.feed(delta)
    result = parser.close()
    return time.process_time() - start, len(result.calls)


def reparse_baseline(fmt: str, text: str) -> float:
    """Parse the whole buffer again after every delta (the approach of today's serving parsers)."""
    start = time.process_time()
    for end in range(DELTA, len(text) + DELTA, DELTA):
        parse(text[:end], fmt, TOOLS, thinking=False)
    return time.process_time() - start


def best(fn: Callable[[], float], repeat: int = 3) -> float:
    return min(fn() for _ in range(repeat))


def main() -> None:
    rows = []
    for fmt in BUILDERS:
        text, calls = build(fmt, 1000)  # about 1 MB
        small, _ = build(fmt, 100)  # about 100 KB
        t_one = best(lambda f=fmt, t=text: one_shot(f, t))
        _, found = streaming(fmt, text)
        assert found == calls, (fmt, found, calls)
        t_stream = best(lambda f=fmt, t=text: streaming(f, t)[0])
        t_stream_small = best(lambda f=fmt, t=small: streaming(f, t)[0])
        # quadratic baseline: two small sizes, extrapolated to 1 MB with the measured exponent
        b1_text, _ = build(fmt, 10)
        b2_text, _ = build(fmt, 20)
        b1 = reparse_baseline(fmt, b1_text)
        b2 = reparse_baseline(fmt, b2_text)
        # fit t = a*n + c*n^2 through both points (per-delta overhead plus the re-scan), then extrapolate
        n1, n2 = len(b1_text), len(b2_text)
        c = (b2 / n2 - b1 / n1) / (n2 - n1)
        a = b1 / n1 - c * n1
        exponent = math.log(b2 / b1, n2 / n1)
        b_full = a * len(text) + c * len(text) ** 2
        rows.append((fmt, len(text), calls, t_one, t_stream, t_stream / t_stream_small, b1, b2, exponent, b_full))

    print(
        f"{'format':<12} {'size':>9} {'calls':>5} {'one-shot MB/s':>13} {'stream MB/s':>11} {'stream/one':>10} "
        f"{'1MB/100KB':>9} {'reparse 1MB s (extrap.)':>24} {'reparse/stream':>14}"
    )
    for fmt, size, calls, t_one, t_stream, growth, _b1, _b2, _exponent, b_full in rows:
        print(
            f"{fmt:<12} {size:>9} {calls:>5} {size / t_one / 1e6:>13.1f} {size / t_stream / 1e6:>11.1f} "
            f"{t_stream / t_one:>9.2f}x {growth:>8.1f}x {b_full:>24.0f} {b_full / t_stream:>13.0f}x"
        )
    print()
    print("re-parse baseline measured on small inputs (4-char deltas), fitted as a*n + c*n^2, extrapolated to 1 MB:")
    for fmt, _size, _calls, _t1, _ts, _g, b1, b2, exponent, _bf in rows:
        print(f"  {fmt:<12} 10 KB: {b1:.2f} s   20 KB: {b2:.2f} s   growth exponent {exponent:.2f}")


if __name__ == "__main__":
    main()
