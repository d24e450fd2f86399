"""Shared test setup: no test reaches a real model provider or the user's own agentkit home."""

from __future__ import annotations

import getpass
import os
import tempfile
from pathlib import Path

import pytest

_PROVIDER_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_BEARER_TOKEN_BEDROCK",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AGENTKIT_LOCAL_MODEL",
)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Use a private base temp folder when pytest's shared one belongs to someone else.

    pytest refuses to run at all when /tmp/pytest-of-USER exists with another owner (left by an earlier run under
    another uid, or by a tool that changed ownership); a fresh folder of our own keeps the suite runnable there.
    """
    if config.option.basetemp:
        return
    root = Path(os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir())
    shared = root / f"pytest-of-{getpass.getuser()}"
    try:
        stat = shared.lstat()
    except FileNotFoundError:
        return
    if stat.st_uid != os.getuid() or stat.st_mode & 0o077:
        config.option.basetemp = tempfile.mkdtemp(prefix="agentkit-pytest-")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AGENTKIT_SESSIONS", raising=False)  # the developer's session store stays theirs
    home = tmp_path_factory.mktemp("agentkit-home")
    monkeypatch.setenv("AGENTKIT_HOME", str(home))
    # botocore must not find the developer's ~/.aws files either
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
