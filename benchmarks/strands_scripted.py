"""A zero-latency scripted Strands model: K turns that each call add(a=turn, b=1), then an answer.

Its own module so that a fresh interpreter can time `import strands` plus one run without importing agentkit.
"""

from __future__ import annotations

import json
from typing import Any

from strands.models.model import Model


class ScriptModel(Model):
    """What every scripted Strands model needs besides `stream`: no configuration, no structured output."""

    def update_config(self, **config: Any) -> None:
        pass

    def get_config(self) -> Any:
        return {}

    async def structured_output(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError
        yield  # pragma: no cover


class ScriptedStrandsModel(ScriptModel):
    def __init__(self, k: int) -> None:
        self.k = k
        self.turn = 0

    async def stream(self, messages: Any, tool_specs: Any = None, system_prompt: Any = None, **kw: Any) -> Any:
        self.turn += 1
        yield {"messageStart": {"role": "assistant"}}
        if self.turn <= self.k:
            use = {"toolUseId": f"t{self.turn}", "name": "add"}
            yield {"contentBlockStart": {"start": {"toolUse": use}}}
            yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps({"a": self.turn, "b": 1})}}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "tool_use"}}
        else:
            yield {"contentBlockDelta": {"delta": {"text": f"done after {self.k} tool calls"}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "end_turn"}}
        yield {
            "metadata": {
                "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                "metrics": {"latencyMs": 0},
            }
        }
