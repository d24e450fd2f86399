"""`agentkit mcp serve [TOOLS...] [--http HOST:PORT]`: agentkit tools as an MCP server (stdio by default)."""

from __future__ import annotations

import re

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
@click.option("--model", "-m", help="the model for --agent (default: the agent's own, or $AGENTKIT_MODEL)")
@click.option(
    "--timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="seconds a call may run (a tool's own timeout wins)",
)
def serve_command(
    tool_names: tuple[str, ...], http: str | None, agent_specs: tuple[str, ...], model: str | None, timeout: float
) -> None:
    """Serve TOOLS (registered tool names; default: every registered tool, the built-ins included, unless only
    --agent is given). Each call is validated against the tool's schema and runs in the sandbox, as in an
    agent run."""
    from agentkit.integrations.mcp_server import create_server, serve_http, serve_stdio

    tools = _pick(tool_names) if tool_names or not agent_specs else []
    tools += [_agent(spec, model) for spec in agent_specs]
    server = create_server(tools, timeout=timeout)
    if http is None:
        anyio.run(serve_stdio, server)
        return
    host, port = _host_port(http)
    anyio.run(serve_http, server, host, port)


def _pick(names: tuple[str, ...]) -> list[Tool]:
    tools = registered_tools()
    unknown = [n for n in names if n not in tools]
    if unknown:
        raise ConfigError(f"unknown tool(s) {', '.join(unknown)}; registered: {', '.join(tools) or '(none)'}")
    return [tools[n] for n in names] if names else list(tools.values())


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
