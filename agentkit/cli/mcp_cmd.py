"""`agentkit mcp serve [TOOLS...] [--http HOST:PORT]`: agentkit tools as an MCP server (stdio by default).

TOOLS are registered tool names (the built-ins), modules' tools (`mypkg.tools`, `mypkg.tools:TOOLS`,
`my_tools.py`, `my_tools.py:search`) and, with `--agent-tools AGENT`, every tool of an agent; `--agent AGENT`
serves an agent as one tool.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any

import anyio
import click

from agentkit.errors import ConfigError
from agentkit.tooling import Tool, registered_tools

__all__ = ["mcp_group"]


@click.group(name="mcp")
def mcp_group() -> None:
    """Model Context Protocol: serve agentkit tools to MCP clients."""


@mcp_group.command(name="serve")
@click.argument("tool_names", nargs=-1, metavar="[TOOLS]...")
@click.option(
    "--http",
    "http",
    metavar="HOST:PORT",
    help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (0.0.0.0:8000 in an AgentCore container)",
)
@click.option(
    "--agent",
    "agent_specs",
    multiple=True,
    metavar="AGENT",
    help="also serve an agent as one tool, prompt in and answer out (repeatable; a shipped agent's name, "
    "a .py file or module:attribute)",
)
@click.option(
    "--agent-tools",
    "agent_tool_specs",
    multiple=True,
    metavar="AGENT",
    help="also serve every tool of an agent (repeatable; a shipped agent's name, a .py file or module:attribute)",
)
@click.option("--model", "-m", help="the model for --agent (default: the agent's own, or $AGENTKIT_MODEL)")
@click.option(
    "--timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="seconds a call may run (a tool's own timeout wins)",
)
def serve_command(
    tool_names: tuple[str, ...],
    http: str | None,
    agent_specs: tuple[str, ...],
    agent_tool_specs: tuple[str, ...],
    model: str | None,
    timeout: float,
) -> None:
    """Serve TOOLS: registered tool names, or a module's tools (`mypkg.tools`, `mypkg.tools:TOOLS`, `file.py`,
    `file.py:name`: the attribute's Tool, function or list of them; without one, the module's TOOLS list or
    else every Tool it defines). Default: every registered tool, the built-ins included, unless --agent or
    --agent-tools is given. Each call is validated against the tool's schema and runs in the sandbox (as its
    Needs ask), as in an agent run."""
    from agentkit.integrations.mcp_server import create_server, serve_http, serve_stdio

    tools = _pick(tool_names) if tool_names or not (agent_specs or agent_tool_specs) else []
    tools += [t for spec in agent_tool_specs for t in _agent_tools(spec, model)]
    tools += [_agent(spec, model) for spec in agent_specs]
    server = create_server(tools, timeout=timeout)
    if http is None:
        anyio.run(serve_stdio, server)
        return
    host, port = _host_port(http)
    anyio.run(serve_http, server, host, port)


def _pick(names: tuple[str, ...]) -> list[Tool]:
    tools = registered_tools()
    if not names:
        return list(tools.values())
    picked: list[Tool] = []
    for name in names:
        if name in tools:
            picked.append(tools[name])
        elif ":" in name or name.endswith(".py") or os.sep in name or _is_module(name):
            picked += _module_tools(name)
        else:
            raise ConfigError(
                f"unknown tool {name!r}: give a registered tool ({', '.join(tools) or 'none'}), "
                "a module (mypkg.tools, mypkg.tools:TOOLS) or a .py file"
            )
    return picked


def _is_module(name: str) -> bool:
    if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _module_tools(spec: str) -> list[Tool]:
    """The tools a `module[:attribute]` or `file.py[:attribute]` names (see `serve_command`)."""
    where, _, attribute = spec.rpartition(":") if ":" in spec else (spec, "", "")
    namespace = _load_module(where, spec)
    if attribute:
        if attribute not in namespace:
            raise ConfigError(f"{spec!r}: {where} defines no {attribute!r}")
        found = namespace[attribute]
    elif "TOOLS" in namespace:
        found = namespace["TOOLS"]
    else:
        found = [v for k, v in namespace.items() if isinstance(v, Tool) and not k.startswith("_")]
    items = list(found) if isinstance(found, list | tuple) else [found]
    if not items:
        raise ConfigError(f"{spec!r} holds no tools: define Tools (@tool), or a TOOLS list, or name one")
    tools: list[Tool] = []
    for item in items:
        if _is_factory(item):  # as in an `agentkit.tools` entry point: a function that makes the Tool(s)
            made = item()
            tools += [t for t in (made if isinstance(made, list | tuple) else [made]) if isinstance(t, Tool)]
        elif isinstance(item, Tool) or callable(item):
            tools.append(item if isinstance(item, Tool) else Tool.from_function(item))
        else:
            raise ConfigError(f"{spec!r}: {item!r} is not a Tool nor a function")
    return tools


def _is_factory(item: Any) -> bool:
    """A function of no parameters whose return annotation names Tool (`def calculator_tool() -> Tool`)."""
    if isinstance(item, Tool) or not callable(item):
        return False
    try:
        signature = inspect.signature(item)
    except (TypeError, ValueError):
        return False
    return not signature.parameters and "Tool" in str(signature.return_annotation)


def _load_module(where: str, spec: str) -> dict[str, Any]:
    if not (where.endswith(".py") or os.sep in where):
        try:
            return vars(importlib.import_module(where))
        except ImportError as exc:
            raise ConfigError(f"cannot import {where!r} for {spec!r}: {exc}") from None
    path = Path(where).resolve()
    if not path.is_file():
        raise ConfigError(f"tool file {where!r} does not exist")
    name = "agentkit_served_" + re.sub(r"\W", "_", path.stem)
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ConfigError(f"cannot load {where!r} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # an isolated tool's worker imports its function by module name
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ConfigError(f"tool file {where!r} failed to load: {type(exc).__name__}: {exc}") from None
    return vars(module)


def _agent_tools(spec: str, model: str | None) -> list[Tool]:
    from agentkit.agents import load_definition

    agent = load_definition(spec).create(model)
    try:
        return list(agent.tools)
    finally:
        agent.tools.close()  # an agent's MCP servers start again on their next call


def _agent(spec: str, model: str | None) -> Tool:
    from agentkit.agents import load_definition
    from agentkit.integrations.mcp_server import agent_tool

    definition = load_definition(spec)
    if not definition.takes_prompt:
        raise ConfigError(f"agent {definition.name!r} takes no prompt, so it cannot be served as a tool")
    return agent_tool(definition.name, definition.description, lambda: definition.create(model))


def _host_port(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[?([^\]]*?)\]?:(\d{1,5})", text)
    if not match or int(match.group(2)) > 65535:
        raise click.UsageError(f"--http {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8000")
    return match.group(1) or "127.0.0.1", int(match.group(2))
