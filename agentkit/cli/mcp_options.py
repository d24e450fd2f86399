"""`--mcp 'CMD ARGS'` (repeatable) and `--mcp-config FILE` for commands that give an agent MCP servers' tools.

The config file is the common `{"mcpServers": {"name": {"command": ..., "args": [...], "env": {...}, "cwd": ...}}}`
shape (Claude Desktop, Cursor, VS Code); an entry with `"url"` (and optional `"headers"`) is a streamable HTTP server,
or a legacy HTTP+SSE one with `"type": "sse"`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from agentkit import strict_json
from agentkit.errors import ConfigError

__all__ = ["mcp_options", "mcp_servers"]


def mcp_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--mcp-config",
        "mcp_config",
        type=click.Path(dir_okay=False),
        help='a JSON file of MCP servers: {"mcpServers": {"name": {"command": ..., "args": [...]} | {"url": ...}}}',
    )(fn)
    return click.option(
        "--mcp",
        "mcp_commands",
        multiple=True,
        metavar="'CMD ARGS'",
        help="an MCP server to start over stdio, whose tools the agent gets (repeatable), "
        "e.g. --mcp 'npx -y @modelcontextprotocol/server-filesystem .'",
    )(fn)


def mcp_servers(commands: tuple[str, ...], config: str | None) -> list[Any]:
    """The MCPServers named on the command line (none started yet)."""
    if not commands and not config:
        return []
    from agentkit.integrations.mcp import MCPServer

    servers: list[Any] = []
    for command in commands:
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise ConfigError(f"--mcp {command!r}: cannot split it into words ({exc})") from None
        if not words:
            raise ConfigError("--mcp needs a command, e.g. --mcp 'npx -y @modelcontextprotocol/server-everything'")
        servers.append(MCPServer.stdio(words[0], words[1:]))
    if config:
        for name, entry in _read_config(Path(config)).items():
            servers.append(_from_entry(MCPServer, name, entry, config))
    return servers


_MAX_CONFIG_BYTES = 1 << 20  # a server list; anything larger is not one


def _read_config(path: Path) -> dict[str, Any]:
    """The file's `mcpServers`, read within bounds: at most 1 MiB, decoded strictly (depth, size, numbers)."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(_MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"--mcp-config {path}: cannot read it ({exc.strerror})") from None
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(f"--mcp-config {path}: larger than {_MAX_CONFIG_BYTES} bytes; is it the right file?")
    try:
        data = strict_json.loads(raw)
    except strict_json.JSONError as exc:
        raise ConfigError(f"--mcp-config {path}: not valid JSON ({exc})") from None
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ConfigError(f'--mcp-config {path}: expected an object with "mcpServers": {{"name": {{...}}}}')
    return servers


def _from_entry(factory: Any, name: str, entry: Any, path: str) -> Any:
    where = f"--mcp-config {path}: server {name!r}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected an object with a command or a url")
    if isinstance(entry.get("url"), str):
        make = factory.sse if entry.get("type") == "sse" else factory.http
        return make(entry["url"], headers=_strings(entry.get("headers"), where, "headers"), name=name)
    command = entry.get("command")
    args = entry.get("args", [])
    if not isinstance(command, str) or not command:
        raise ConfigError(f'{where}: give it a "command" (with "args") or a "url"')
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConfigError(f'{where}: "args" must be a list of strings')
    cwd = entry.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise ConfigError(f'{where}: "cwd" must be a string')
    return factory.stdio(command, args, env=_strings(entry.get("env"), where, "env"), cwd=cwd, name=name)


def _strings(value: Any, where: str, key: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f'{where}: "{key}" must be an object of strings')
    return value
