"""agentkit's built-in tools (installed as `agentkit.tools`).

`builtin_tools()` is the entry point the `agentkit.tools` group publishes; each tool module is imported
only when asked for.
"""

from __future__ import annotations

from agentkit.tooling import Tool

__all__ = ["builtin_tools"]


def builtin_tools() -> list[Tool]:
    """Every built-in tool (the `agentkit.tools` entry point)."""
    return []
