"""Model backends behind one protocol, and the name resolution that picks one.

Backends load lazily (PEP 562): `agentkit.models.BedrockModel` imports boto3 only when first used.
"""

from __future__ import annotations

from typing import Any

from agentkit.errors import ConfigError
from agentkit.models.base import Model, ModelSettings
from agentkit.models.testing import FunctionModel, RecordingModel, ScriptedModel, Turn

__all__ = ["FunctionModel", "Model", "ModelSettings", "RecordingModel", "ScriptedModel", "Turn", "resolve_model"]


def resolve_model(spec: Any) -> Model:
    """Turn a model, a model name or None into a backend (the backends issue fills this in)."""
    if spec is not None and not isinstance(spec, str) and hasattr(spec, "stream"):
        model: Model = spec
        return model
    raise ConfigError(f"no backend handles the model {spec!r}")
