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
    if _sandbox_runs_as_nobody_on_the_host():
        config.option.basetemp = tempfile.mkdtemp(prefix="agentkit-pytest-")  # opened by _reachable_tmp_path
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


def _sandbox_runs_as_nobody_on_the_host() -> bool:
    """Root where no user namespace can be made (a container's defaults): sandboxed commands run as uid 65534 on
    the host's files, so a test's folders must be reachable by it, as a user's project folder is (/app, /srv)."""
    if os.name != "posix" or os.geteuid() != 0:
        return False
    from agentkit.sandbox.detect import probe

    return probe().platform == "linux" and not probe().root_userns


@pytest.fixture(autouse=True)
def _reachable_tmp_path(request: pytest.FixtureRequest) -> None:
    """See `_sandbox_runs_as_nobody_on_the_host`: pytest makes each tmp_path and the base folder above it (the
    suite's own there, see pytest_configure) 0700; both are opened for passing, not for reading."""
    if "tmp_path" in request.fixturenames and _sandbox_runs_as_nobody_on_the_host():
        tmp_path = request.getfixturevalue("tmp_path")
        os.chmod(tmp_path.parent, 0o711)
        os.chmod(tmp_path, 0o711)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
