"""The `assistant` agent: calculator, weather and the read-only repo reader.

agentkit run assistant "Tell me the square root of 42 ^ 9"
"""

from __future__ import annotations

import os
from typing import Any

from agentkit.agent import Agent
from agentkit.agents import AgentDefinition, AgentOption
from agentkit.loop import Limits

SYSTEM_PROMPT = """You are a precise assistant with tools.
- For any arithmetic, call the calculator; never compute in your head. Quote its exact result, and the
  decimal approximation when the exact form is not a plain number.
- For weather, call the weather tool with a place name or coordinates.
- For questions about the files in the working directory, use list_files, search, read_file and file_info.
Answer briefly, in plain text."""


def build(model: Any = None, root: str | None = None) -> Agent:
    from agentkit.tools.calculator import calculator_tool
    from agentkit.tools.repo import repo_tools
    from agentkit.tools.weather import weather_tool

    tools = [calculator_tool(), weather_tool(), *repo_tools(root or os.getcwd())]
    return Agent(
        model=model,
        tools=tools,
        system_prompt=SYSTEM_PROMPT,
        name="assistant",
        limits=Limits(max_turns=20, max_tool_calls=50, deadline=600),
    )


AGENT = AgentDefinition(
    name="assistant",
    description="Answers with a calculator, a weather tool and a read-only view of the current directory.",
    build=build,
    options=(AgentOption(name="root", help="folder the file tools may read (default: the current directory)"),),
)
