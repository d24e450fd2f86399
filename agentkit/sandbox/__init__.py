"""Where tool code runs: confined file access, policies, isolation backends and warm workers."""

from __future__ import annotations

from agentkit.sandbox.confined import ConfinedEntry, ConfinedPathError, ConfinedRoot, openat2_available

__all__ = ["ConfinedEntry", "ConfinedPathError", "ConfinedRoot", "openat2_available"]
