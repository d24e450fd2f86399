"""resolve_model: names, plugins, the environment, and the lazy-import promise."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

import agentkit.models
from agentkit.errors import ConfigError
from agentkit.models import ScriptedModel, resolve_model
from agentkit.models.bedrock import BedrockModel
from agentkit.models.openai import OpenAIModel
from agentkit.models.resolve import aws_credentials_available


class FakeLocal:
    """Stands in for agentkit.models.transformers.TransformersModel (no torch needed)."""

    text_format = "auto"

    def __init__(self, path_or_id: str) -> None:
        self.path_or_id = path_or_id
        self.name = f"local:{path_or_id}"

    async def stream(self, *args: Any) -> Any:  # pragma: no cover - never streamed here
        raise NotImplementedError


@pytest.fixture
def fake_local(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("agentkit.models.transformers")
    module.TransformersModel = FakeLocal  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agentkit.models.transformers", module)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AGENTKIT_MODEL", "AGENTKIT_BEDROCK_MODEL", "OPENAI_MODEL", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


def test_a_model_instance_passes_through() -> None:
    model = ScriptedModel(["x"])
    assert resolve_model(model) is model


@pytest.mark.parametrize(
    ("spec", "model_id"),
    [
        ("qwen.qwen3-coder-480b-a35b-v1:0", "qwen.qwen3-coder-480b-a35b-v1:0"),
        ("qwen.qwen3-coder-30b-a3b-v1:0", "qwen.qwen3-coder-30b-a3b-v1:0"),
        ("qwen.qwen3-235b-a22b-2507-v1:0", "qwen.qwen3-235b-a22b-2507-v1:0"),
        ("us.qwen.qwen3-32b-v1:0", "us.qwen.qwen3-32b-v1:0"),
        ("eu.openai.gpt-oss-120b-1:0", "eu.openai.gpt-oss-120b-1:0"),
        ("openai.gpt-oss-20b-1:0", "openai.gpt-oss-20b-1:0"),
        ("bedrock:anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"),
        ("bedrock:qwen3-coder-480b", "qwen.qwen3-coder-480b-a35b-v1:0"),
    ],
)
def test_bedrock_ids(spec: str, model_id: str) -> None:
    model = resolve_model(spec)
    assert isinstance(model, BedrockModel)
    assert model.model_id == model_id


def test_openai_prefix_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    model = resolve_model("openai:Qwen/Qwen3-Coder-30B-A3B-Instruct")
    assert isinstance(model, OpenAIModel)
    assert (model.model, model.base_url) == ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "http://127.0.0.1:8000/v1/")
    assert model._client.api_key == "sk-env"
    assert model.text_format == "qwen3_coder"


def test_hf_ids_and_local_paths_load_the_transformers_backend(fake_local: None, tmp_path: Path) -> None:
    model = resolve_model("hf:Qwen/Qwen3-0.6B")
    assert isinstance(model, FakeLocal) and model.path_or_id == "Qwen/Qwen3-0.6B"
    local = resolve_model(str(tmp_path))
    assert isinstance(local, FakeLocal) and local.path_or_id == str(tmp_path)
    gguf = resolve_model("SmolLM2-135M-Instruct.Q4_1.gguf")  # a .gguf file in the current folder
    assert isinstance(gguf, FakeLocal) and gguf.path_or_id == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_unknown_names_list_the_accepted_forms() -> None:
    with pytest.raises(ConfigError, match="unknown model 'gpt-4o'") as caught:
        resolve_model("gpt-4o")
    for form in ("bedrock:ID", "openai:MODEL", "hf:ID", "qwen.qwen3-coder-480b-a35b-v1:0"):
        assert form in str(caught.value)
    with pytest.raises(ConfigError, match="cannot use int as a model"):
        resolve_model(3)


def test_plugins_register_resolvers_through_entry_points(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "demo_agentkit_plugin.py").write_text(
        textwrap.dedent(
            """
            from agentkit.models import ScriptedModel

            def resolve(spec):
                if spec.startswith("demo:"):
                    return ScriptedModel(["from the plugin"], name=spec)
                return None
            """
        )
    )
    dist = tmp_path / "demo_agentkit_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-agentkit-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[agentkit.models]\ndemo = demo_agentkit_plugin:resolve\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    model = resolve_model("demo:anything")
    assert isinstance(model, ScriptedModel) and model.name == "demo:anything"
    # built-in forms still win, and a plugin that declines leaves the usual error
    assert isinstance(resolve_model("qwen.qwen3-32b-v1:0"), BedrockModel)
    with pytest.raises(ConfigError, match="unknown model"):
        resolve_model("other:thing")


# ---- resolve_model(None) ----------------------------------------------------------------------


def test_nothing_configured_names_the_three_ways(clean_env: None) -> None:
    assert not aws_credentials_available()
    with pytest.raises(ConfigError) as caught:
        resolve_model(None)
    message = str(caught.value)
    assert "AWS credentials" in message and "OPENAI_BASE_URL" in message and "AGENTKIT_LOCAL_MODEL" in message


def test_aws_credentials_pick_bedrock(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")  # Bedrock comes first
    model = resolve_model(None)
    assert isinstance(model, BedrockModel) and model.model_id == "qwen.qwen3-coder-480b-a35b-v1:0"
    monkeypatch.setenv("AGENTKIT_BEDROCK_MODEL", "openai.gpt-oss-120b-1:0")
    assert resolve_model(None).name == "bedrock:openai.gpt-oss-120b-1:0"


def test_a_credentials_file_counts_as_configured(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    assert aws_credentials_available()
    assert isinstance(resolve_model(None), BedrockModel)


def test_openai_server_then_local_model(clean_env: None, monkeypatch: pytest.MonkeyPatch, fake_local: None) -> None:
    monkeypatch.setenv("AGENTKIT_LOCAL_MODEL", "/models/qwen3")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("OPENAI_MODEL", "qwen3-coder")
    model = resolve_model(None)
    assert isinstance(model, OpenAIModel) and model.model == "qwen3-coder"
    monkeypatch.delenv("OPENAI_BASE_URL")
    local = resolve_model(None)
    assert isinstance(local, FakeLocal) and local.path_or_id == "/models/qwen3"


def test_agentkit_model_names_the_model(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_MODEL", "bedrock:gpt-oss-20b")
    assert resolve_model(None).name == "bedrock:openai.gpt-oss-20b-1:0"


# ---- the package face -------------------------------------------------------------------------


def test_all_is_sorted_and_every_name_resolves() -> None:
    names = agentkit.models.__all__
    assert names == sorted(names)
    for name in names:
        if name == "TransformersModel":  # importing it loads torch: only check that its module is there
            assert importlib.util.find_spec("agentkit.models.transformers") is not None
        else:
            assert getattr(agentkit.models, name).__name__ == name


def test_importing_agentkit_and_models_loads_no_sdk() -> None:
    code = (
        "import sys, agentkit, agentkit.models\n"
        "from agentkit.models import FallbackModel, resolve_model\n"
        "heavy = [m for m in ('boto3', 'botocore', 'openai', 'torch', 'transformers', 'strands') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
