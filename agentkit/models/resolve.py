"""Turn a model name (or nothing) into a backend: `resolve_model(spec)`.

Accepted forms:

- a Model instance: returned as is;
- a Bedrock model id: `qwen.qwen3-coder-480b-a35b-v1:0`, `openai.gpt-oss-120b-1:0`, also with a cross-region
  prefix (`us.`, `eu.`, `apac.`, `global.`, ...), or any id as `bedrock:ID` (`bedrock:qwen3-coder-480b` takes the
  short names in `agentkit.models.bedrock.BEDROCK_MODELS`);
- `openai:MODEL`: an OpenAI-compatible server at OPENAI_BASE_URL with the key in OPENAI_API_KEY;
- `hf:ID` or a local directory: a local Transformers model;
- `replay:PATH`: replays a recorded session transcript (ScriptedModel.from_transcript), offline;
- a name a plugin resolves: packages register `resolver(spec: str) -> Model | None` under the entry-point
  group `agentkit.models`; the built-in forms are tried first.

`resolve_model(None)` uses AGENTKIT_MODEL when set, then picks the first backend that is configured:
Bedrock when AWS credentials are found (environment, profile or config files; nothing is fetched over the
network), an OpenAI-compatible server when OPENAI_BASE_URL is set, a local model named by
AGENTKIT_LOCAL_MODEL. The defaults are AGENTKIT_BEDROCK_MODEL (else Qwen3-Coder 480B) and OPENAI_MODEL (else
the first model the server lists).

Nothing here imports boto3, openai or transformers until a backend of that kind is asked for.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from agentkit.errors import ConfigError
from agentkit.models.base import Model

__all__ = ["ENTRY_POINT_GROUP", "FORMS", "aws_credentials_available", "resolve_model"]

ENTRY_POINT_GROUP = "agentkit.models"
DEFAULT_BEDROCK_MODEL = "qwen.qwen3-coder-480b-a35b-v1:0"
_REGION_PREFIXES = ("us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov.")
_BEDROCK_FAMILIES = ("qwen.", "openai.gpt-oss")

FORMS = (
    "a Bedrock model id such as 'qwen.qwen3-coder-480b-a35b-v1:0' or 'openai.gpt-oss-120b-1:0' "
    "(optionally with a 'us.'/'eu.' prefix), 'bedrock:ID', 'openai:MODEL' (OpenAI-compatible server at "
    "OPENAI_BASE_URL), 'hf:ID' or a local model directory, 'replay:TRANSCRIPT.jsonl', or a Model instance"
)

Resolver = Callable[[str], Any]


def resolve_model(spec: Any = None) -> Model:
    """A backend for `spec`; see the module docstring for the accepted forms."""
    if spec is None:
        return _from_environment()
    if not isinstance(spec, str):
        if hasattr(spec, "stream"):
            return spec
        raise ConfigError(f"cannot use {type(spec).__name__} as a model; pass {FORMS}")
    name = spec.strip()
    if not name:
        raise ConfigError(f"the model name is empty; pass {FORMS}")
    for resolver in (_builtin, *_plugin_resolvers()):
        model = resolver(name)
        if model is not None:
            return model
    raise ConfigError(f"unknown model {spec!r}; pass {FORMS}, or install a plugin that provides it")


def _builtin(spec: str) -> Model | None:
    if spec.startswith("bedrock:"):
        return _bedrock(spec.removeprefix("bedrock:"))
    if _is_bedrock_id(spec):
        return _bedrock(spec)
    if spec.startswith("openai:"):
        model_name = spec.removeprefix("openai:") or None
        return _load("agentkit.models.openai", "OpenAIModel")(model_name)
    if spec.startswith("hf:"):
        return _local(spec.removeprefix("hf:"))
    if spec.startswith("replay:"):
        return _replay(spec.removeprefix("replay:"))
    if spec.startswith(("/", "./", "../", "~")) or os.path.isdir(spec) or spec.lower().endswith(".gguf"):
        return _local(os.path.expanduser(spec))
    return None


def _is_bedrock_id(spec: str) -> bool:
    base = spec
    for prefix in _REGION_PREFIXES:
        if base.startswith(prefix):
            base = base[len(prefix) :]
            break
    return base.startswith(_BEDROCK_FAMILIES)


def _bedrock(model_id: str) -> Model:
    if not model_id:
        raise ConfigError("'bedrock:' needs a model id, for example 'bedrock:qwen.qwen3-coder-480b-a35b-v1:0'")
    return _load("agentkit.models.bedrock", "BedrockModel")(model_id)


def _local(model_id: str) -> Model:
    if not model_id:
        raise ConfigError("'hf:' needs a model id or path, for example 'hf:Qwen/Qwen3-0.6B'")
    return _load("agentkit.models.transformers", "TransformersModel")(model_id)


def _replay(path: str) -> Model:
    from agentkit.models.testing import ScriptedModel

    if not os.path.isfile(path):
        raise ConfigError(f"replay transcript {path!r} does not exist; record one with RecordingModel")
    return ScriptedModel.from_transcript(path, name=f"replay:{os.path.basename(path)}")


def _load(module: str, attribute: str) -> Any:
    return getattr(importlib.import_module(module), attribute)


def _plugin_resolvers() -> list[Resolver]:
    resolvers: list[Resolver] = []
    from importlib import metadata  # imported on demand: only plugin lookups need it

    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            resolvers.append(entry_point.load())
        except Exception as exc:
            raise ConfigError(
                f"the model plugin {entry_point.name!r} ({entry_point.value}) failed to load: {exc}; "
                "fix or uninstall that package"
            ) from exc
    return resolvers


# ---- resolve_model(None) ---------------------------------------------------------------------


def aws_credentials_available() -> bool:
    """Whether botocore's credential chain finds credentials without touching the network."""
    try:
        import botocore.credentials
        import botocore.session
    except ImportError:
        return False
    session = botocore.session.Session()
    resolver = botocore.credentials.create_credential_resolver(session)
    for method in ("iam-role", "container-role"):  # these two ask an HTTP endpoint
        resolver.remove(method)
    try:
        return resolver.load_credentials() is not None
    except Exception:
        return False  # a broken profile counts as "not configured" here; BedrockModel reports it in full


def _from_environment() -> Model:
    named = os.environ.get("AGENTKIT_MODEL")
    if named:
        return resolve_model(named)
    if aws_credentials_available():
        return _bedrock(os.environ.get("AGENTKIT_BEDROCK_MODEL") or DEFAULT_BEDROCK_MODEL)
    if os.environ.get("OPENAI_BASE_URL"):
        model_name = os.environ.get("OPENAI_MODEL") or None
        return _load("agentkit.models.openai", "OpenAIModel")(model_name)
    local = os.environ.get("AGENTKIT_LOCAL_MODEL")
    if local:
        return _local(local)
    raise ConfigError(
        "no model configured; name one with --model (in Python: model=), e.g. a Bedrock id such as "
        f"{DEFAULT_BEDROCK_MODEL}, openai:NAME, hf:ID or replay:TRANSCRIPT.jsonl (offline), or set AGENTKIT_MODEL "
        "to one of those; or configure a backend: AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID/"
        "AWS_SECRET_ACCESS_KEY, model from AGENTKIT_BEDROCK_MODEL) for Amazon Bedrock, OPENAI_BASE_URL (with "
        "OPENAI_MODEL, OPENAI_API_KEY) for an OpenAI-compatible server, or AGENTKIT_LOCAL_MODEL for a local model"
    )
