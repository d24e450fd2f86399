"""Recognising "the prompt did not fit the context window" in each backend's own words.

Every backend turns its overflow error into one `ContextOverflow` at its edge, so the loop can reduce what it
sends and retry (agentkit.context). The wordings, by server:

- Bedrock Converse: a ValidationException "Input is too long for requested model", or "too many input tokens",
  or "input length and `max_tokens` exceed context limit";
- OpenAI: error code `context_length_exceeded` ("This model's maximum context length is N tokens");
- vLLM: HTTP 400 "This model's maximum context length is N tokens. However, you requested M tokens", or (newer
  releases) "... is longer than the maximum model length of N";
- llama.cpp server: HTTP 400 type `exceed_context_size_error`, "the request exceeds the available context size,
  try increasing it" with `n_ctx` in the body; llama-cpp-python: "Requested tokens (M) exceed context window of N".

A plain substring list rather than one clever pattern: each line is one server's wording and can be read,
extended and tested on its own.
"""

from __future__ import annotations

import re
from typing import Any

from agentkit.errors import ContextOverflow
from agentkit.models.base import token_count

__all__ = ["overflow_error"]

_PHRASES = (
    "input is too long",
    "too many input tokens",
    "exceed context limit",
    "context_length_exceeded",
    "maximum context length",
    "maximum model length",
    "exceeds the max_model_len",
    "exceed_context_size_error",
    "exceeds the available context size",
    "exceed context window",
    "prompt is too long",
)
_LIMITS = (
    re.compile(r"maximum context length is (\d+)"),
    re.compile(r"maximum model length of (\d+)"),
    re.compile(r"context window of (\d+)"),
    re.compile(r"max_model_len[^\d]{0,10}(\d+)"),
)


def overflow_error(message: str, body: Any = None, *, code: str | None = None) -> ContextOverflow | None:
    """A ContextOverflow carrying `message` when the backend's error says the prompt was too long, else None.
    `body` is the decoded error body (llama.cpp puts the window in `n_ctx`), `code` the error code."""
    text = f"{message} {code or ''}".lower()
    if not any(phrase in text for phrase in _PHRASES):
        return None
    return ContextOverflow(message, limit=_limit(text, body))


def _limit(text: str, body: Any) -> int | None:
    """The window the error names; None when it names none, or a number no window is (0, negative, 5,000
    digits: the server's text is untrusted)."""
    inner = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get("n_ctx"), int):
        return token_count(inner["n_ctx"]) or None
    for pattern in _LIMITS:
        found = pattern.search(text)
        if found:
            return token_count(found.group(1)) or None
    return None
