"""agentkit: tool-calling agents on Qwen3-Coder, Qwen3 and gpt-oss models.

The public names load on first use (PEP 562), so `import agentkit` costs almost nothing and never
imports boto3, openai, torch, transformers or strands.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Agent": "agentkit.agent",
    "AgentEvent": "agentkit.loop",
    "AgentResult": "agentkit.loop",
    "AgentkitError": "agentkit.errors",
    "ConfigError": "agentkit.errors",
    "Limits": "agentkit.loop",
    "Message": "agentkit.messages",
    "ModelError": "agentkit.errors",
    "ModelSettings": "agentkit.models.base",
    "Needs": "agentkit.tooling",
    "RetryTool": "agentkit.errors",
    "ScriptedModel": "agentkit.models.testing",
    "FunctionModel": "agentkit.models.testing",
    "Hooks": "agentkit.hooks",
    "ModelRequest": "agentkit.hooks",
    "Tool": "agentkit.tooling",
    "ToolCall": "agentkit.messages",
    "ToolResult": "agentkit.messages",
    "Turn": "agentkit.models.testing",
    "Usage": "agentkit.messages",
    "tool": "agentkit.tooling",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from agentkit.agent import Agent  # noqa: F401
    from agentkit.errors import AgentkitError, ConfigError, ModelError, RetryTool  # noqa: F401
    from agentkit.hooks import Hooks, ModelRequest  # noqa: F401
    from agentkit.loop import AgentEvent, AgentResult, Limits  # noqa: F401
    from agentkit.messages import Message, ToolCall, ToolResult, Usage  # noqa: F401
    from agentkit.models.base import ModelSettings  # noqa: F401
    from agentkit.models.testing import FunctionModel, ScriptedModel, Turn  # noqa: F401
    from agentkit.tooling import Needs, Tool, tool  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
