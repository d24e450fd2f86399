"""Loading errors: a missing model or a missing extra says what to do, and nothing touches the network."""

from __future__ import annotations

import importlib
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from agentkit.errors import ConfigError, MissingExtra
from agentkit.models.transformers import TransformersModel


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt to resolve or connect, recorded (and refused)."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_hub_id_not_in_cache_says_how_to_download(network_attempts: list[Any]) -> None:
    with pytest.raises(ConfigError) as info:
        TransformersModel("agentkit-tests/no-such-model")
    message = str(info.value)
    assert "huggingface-cli download agentkit-tests/no-such-model" in message
    assert "local model folder" in message
    assert network_attempts == []


def test_missing_folder_is_named(network_attempts: list[Any], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        TransformersModel(str(tmp_path / "nowhere" / "model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"cannot load model .*empty.* from the local folder"):
        TransformersModel(tmp_path / "empty")
    assert network_attempts == []


def test_without_torch_the_extra_and_the_cpu_wheel_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    monkeypatch.delitem(sys.modules, "agentkit.models.transformers")
    monkeypatch.delitem(sys.modules, "agentkit.models._local_decode", raising=False)
    with pytest.raises(MissingExtra) as info:
        importlib.import_module("agentkit.models.transformers")
    assert info.value.extra == "local"
    assert "pip install 'agentkit[local]'" in str(info.value)
    assert "pip install torch==2.13.0" in str(info.value)
