"""Fuzz the serve payload decoder (hypothesis, fixed budget): any body, split into any chunks, is either a
prompt or a 4xx with a message; never another exception (which would be a 500)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import strict_json
from agentkit.serve import PAYLOAD_LIMITS, AgentCoreApp, _BadRequest, _parse_payload

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = ["[", "]", "{", "}", '"', "\\", ",", ":", "\\ud800", "\\udc00", "\\u0000", "NaN", "-Infinity", "1e999"]
TOKENS += ["9" * 120, "0", "-1.5e3", "true", "null", '"prompt"', '"stream"', " ", "é", "\U0001f600", "\x00", "\n"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(TOKENS), max_size=80).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps({"prompt": v, "stream": False}).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
)


def read(app: AgentCoreApp, body: bytes, cuts: list[int]) -> Any:
    points = sorted({min(c, len(body)) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def go() -> Any:
        payload = await app._read_payload({}, receive)
        return _parse_payload(payload, b"")

    return asyncio.run(go())


@SETTINGS
@given(body=bodies, cuts=st.lists(st.integers(0, 400), max_size=4))
def test_any_body_is_a_prompt_or_a_4xx_with_a_message(body: bytes, cuts: list[int]) -> None:
    app = AgentCoreApp(lambda key: None, max_payload_bytes=4096)  # type: ignore[arg-type,return-value]
    try:
        prompt, stream = read(app, body, cuts)
    except _BadRequest as exc:
        assert exc.status in (400, 413)
        assert exc.message and len(exc.message) < 400
    else:
        assert isinstance(prompt, str) and prompt and isinstance(stream, bool)
        prompt.encode("utf-8")  # no lone surrogate reaches the agent or its session
    assert app._receiving == 0  # every reservation was given back


@SETTINGS
@given(body=bodies)
def test_the_strict_decoder_agrees_with_json_or_names_the_problem(body: bytes) -> None:
    try:
        value = strict_json.loads(body, PAYLOAD_LIMITS)
    except strict_json.JSONError as exc:
        assert str(exc)
        return
    assert value == json.loads(body)  # what it accepts, it reads as the standard decoder does
