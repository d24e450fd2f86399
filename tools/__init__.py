"""agentkit's built-in tools (installed as `agentkit.tools`).

`builtin_tools()` is the entry point the `agentkit.tools` group publishes: the calculator, the weather tool
and the read-only repository tools (`list_files`, `read_file`, `search`, `file_info`) rooted at
$AGENTKIT_REPO_ROOT or the current directory. The editing tools need a scratch copy, so they are built
with `agentkit.tools.edit.edit_tools(Workspace(repo))` instead. Each tool module is imported only when asked for.
"""

from __future__ import annotations

from agentkit.tooling import Tool

__all__ = ["builtin_tools"]


def builtin_tools() -> list[Tool]:
    """Every built-in tool that needs no setup (the `agentkit.tools` entry point)."""
    from agentkit.tools.calculator import calculator_tool
    from agentkit.tools.repo import repo_tools
    from agentkit.tools.weather import weather_tool

    return [calculator_tool(), weather_tool(), *repo_tools()]
