"""Model backends behind one protocol, and the name resolution that picks one.

Backends load lazily (PEP 562): `agentkit.models.BedrockModel` imports boto3 only when first used, and
`OpenAIModel` / `TransformersModel` likewise import openai / transformers on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentkit.models.base import Model, ModelSettings
from agentkit.models.fallback import FallbackModel
from agentkit.models.resolve import resolve_model
from agentkit.models.testing import FunctionModel, RecordingModel, ScriptedModel, Turn

__all__ = [
    "BedrockModel",
    "FallbackModel",
    "FunctionModel",
    "Model",
    "ModelSettings",
    "OpenAIModel",
    "RecordingModel",
    "ScriptedModel",
    "TransformersModel",
    "Turn",
    "resolve_model",
]

_LAZY: dict[str, str] = {
    "BedrockModel": "agentkit.models.bedrock",
    "OpenAIModel": "agentkit.models.openai",
    "TransformersModel": "agentkit.models.transformers",
}

if TYPE_CHECKING:
    from agentkit.models.bedrock import BedrockModel
    from agentkit.models.openai import OpenAIModel
    from agentkit.models.transformers import TransformersModel  # type: ignore[import-not-found,unused-ignore]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
