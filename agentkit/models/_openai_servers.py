"""What OpenAI-compatible servers do differently, as data: one `ServerQuirks` per known server, read by the
one request path in `openai.py` (no per-server branches there).

Every field's default is the OpenAI behaviour. A quirk is either declared (`OpenAIModel(server="...")`, or
`AGENTKIT_OPENAI_SERVER`) or learned from the server's answer during a run (an empty stream for a streamed
"auto" tool turn). Facts behind the table: shared/reference/real-servers.md (llama-cpp-python 0.3.36,
transformers serve 5.24). "llama.cpp" is llama.cpp's own `llama-server`, not the Python package's server:
only the former answers `GET /props` (llama-cpp-python 0.3.36 serves no such route, and its `/v1/models`
says no window, so a model there learns its window from the first overflow).

Token usage a server does not report is counted here at about 4 characters a token (no tokenizer is at hand
for a remote model) and marked `Usage.estimated`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any, Literal

from agentkit.errors import ConfigError

__all__ = ["KNOWN_SERVERS", "ServerQuirks", "estimate_tokens", "quirks_for"]

_CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class ServerQuirks:
    """How one server departs from the OpenAI chat-completions behaviour."""

    # False: a streamed turn with tools and tool_choice "auto" fails (llama-cpp-python answers an empty 200
    # stream), so such turns are asked without streaming.
    streams_auto_tool_choice: bool = True
    # False: tool_choice "required" is refused (HTTP 500); with one tool offered it is sent as that tool's
    # name (the same effect), with several as "auto" (the closest the server allows).
    accepts_required: bool = True
    # Where the server says the model's context window: "models" (`/v1/models` lists `max_model_len`), "props"
    # (`GET /props` at the server's root: `default_generation_settings.n_ctx`, the window it runs with), or
    # None: not asked, so no request is spent on a server that would not say.
    window_from: Literal["models", "props"] | None = None


KNOWN_SERVERS: dict[str, ServerQuirks] = {
    "openai": ServerQuirks(),
    "vllm": ServerQuirks(window_from="models"),
    "sglang": ServerQuirks(window_from="models"),
    "llama.cpp": ServerQuirks(window_from="props"),
    "ollama": ServerQuirks(),
    "transformers-serve": ServerQuirks(),
    "llama-cpp-python": ServerQuirks(streams_auto_tool_choice=False, accepts_required=False),
}


def quirks_for(server: str | ServerQuirks | None) -> ServerQuirks:
    """The quirks for a server name (`server=`, then AGENTKIT_OPENAI_SERVER), or OpenAI's behaviour."""
    if isinstance(server, ServerQuirks):
        return server
    name = server or os.environ.get("AGENTKIT_OPENAI_SERVER") or "openai"
    try:
        return KNOWN_SERVERS[name]
    except KeyError:
        known = ", ".join(sorted(KNOWN_SERVERS))
        raise ConfigError(
            f"unknown OpenAI-compatible server {name!r}; use one of {known}, or pass server=ServerQuirks(...)"
        ) from None


def estimate_tokens(*parts: Any) -> int:
    """About how many tokens `parts` (strings, or JSON-able values) take: characters / 4, rounded up."""
    chars = 0
    for part in parts:
        chars += len(part) if isinstance(part, str) else len(json.dumps(part, ensure_ascii=False))
    return math.ceil(chars / _CHARS_PER_TOKEN)
