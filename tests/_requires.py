"""Optional parts a test needs: skipped on a developer's machine without them, a failure in CI (CI=true), which
installs every one of them."""

from __future__ import annotations

import os

import pytest


def require(available: bool, what: str, how: str) -> None:
    """Skip (locally) or fail (in CI) when `what` is missing; `how` says how to get it."""
    if available:
        return
    message = f"{what} is not available here ({how})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI installs it, so this is a CI setup error")
    pytest.skip(message)
