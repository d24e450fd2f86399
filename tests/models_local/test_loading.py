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
    with pytest.raises(ConfigError, match=r"cannot load model .*empty.* from its local folder"):
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


def test_gguf_paths_are_read_or_refused_clearly(tmp_path: Path) -> None:
    from agentkit.models.transformers import gguf_source

    one = tmp_path / "one"
    one.mkdir()
    (one / "m.Q4_1.gguf").write_bytes(b"")
    assert gguf_source(one) == (one, "m.Q4_1.gguf")
    assert gguf_source(one / "m.Q4_1.gguf") == (one, "m.Q4_1.gguf")
    (one / "config.json").write_text("{}")
    assert gguf_source(one) == (one, None)  # a save_pretrained folder loads as it is
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.gguf", "b.gguf"):
        (two / name).write_bytes(b"")
    with pytest.raises(ConfigError, match=r"several \.gguf files \(a\.gguf, b\.gguf\); pass the one to load"):
        gguf_source(two)
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"is a file but not a \.gguf"):
        gguf_source(tmp_path / "weights.bin")


def test_missing_gguf_file_is_named(network_attempts: list[Any]) -> None:
    with pytest.raises(ConfigError, match=r"model path 'no-such-model\.gguf' does not exist.*\.gguf file"):
        TransformersModel("no-such-model.gguf")
    assert network_attempts == []


def test_gguf_without_its_packages_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real(name, *a))
    (tmp_path / "m.gguf").write_bytes(b"")
    with pytest.raises(MissingExtra, match=r"gguf is not installed; run: pip install 'agentkit\[local\]'"):
        TransformersModel(tmp_path / "m.gguf")


def test_a_local_folder_that_does_not_load_is_not_sent_to_the_hub(network_attempts: list[Any], tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        TransformersModel(tmp_path)
    message = str(caught.value)
    assert "from its local folder" in message and "config.json" in message and ".gguf" in message
    assert "huggingface-cli" not in message and network_attempts == []
