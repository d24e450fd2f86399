"""`deploy agentcore` works in a plain install: a package not installed here goes in unpinned, with a warning."""

from __future__ import annotations

import importlib.metadata

import pytest

from agentkit import deploy


def test_a_package_missing_here_is_written_unpinned_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.distribution

    def without_uvloop(name: str) -> importlib.metadata.Distribution:
        if name.lower() == "uvloop":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", without_uvloop)
    with pytest.warns(UserWarning, match="uvloop not installed here, so requirements.txt leaves them unpinned"):
        text = deploy._requirements()
    lines = text.splitlines()
    assert any(line.startswith("uvloop") and "==" not in line for line in lines), lines
    assert any(line.startswith("uvicorn==") for line in lines)
