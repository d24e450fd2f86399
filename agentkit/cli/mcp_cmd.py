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
@click.option("--timeout", default=120.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
def serve_command(tool_names: tuple[str, ...], http: str | None, timeout: float) -> None:
    """Serve TOOLS (registered tool names; default: every registered tool, the built-ins included). Each call
    is validated against the tool's schema and runs in the sandbox, as in an agent run."""
    from agentkit.integrations.mcp_server import create_server, serve_http, serve_stdio

    server = create_server(_pick(tool_names), timeout=timeout)
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


def _host_port(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[?([^\]]*?)\]?:(\d{1,5})", text)
    if not match or int(match.group(2)) > 65535:
        raise click.UsageError(f"--http {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8000")
    return match.group(1) or "127.0.0.1", int(match.group(2))
