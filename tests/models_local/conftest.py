"""Session fixtures: tiny Qwen3 / Qwen3-MoE / GPT-OSS models, trained once on the weather episode."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from local_tiny_models import FAMILIES, build_trained


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """family name -> folder of a model that plays the episode (built and trained once per session)."""
    # One thread while these tests run: tiny models gain nothing from more, and on a shared 2-core
    # machine two OpenMP threads stall badly under contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("tiny_models")
    yield {name: build_trained(name, root / name)["path"] for name in FAMILIES}
    torch.set_num_threads(threads)


@pytest.fixture(params=sorted(FAMILIES))
def family_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)
