"""`--mcp 'CMD ARGS'` (repeatable) and `--mcp-config FILE` for commands that give an agent MCP servers' tools.

The config file is the common `{"mcpServers": {"name": {"command": ..., "args": [...], "env": {...}, "cwd": ...}}}`
shape (Claude Desktop, Cursor, VS Code); an entry with `"url"` (and optional `"headers"`) is a streamable HTTP server,
or a legacy HTTP+SSE one with `"type": "sse"`.

Stdio servers are programs we start: `--mcp-sandbox` starts every one of them in agentkit's sandbox (no network,
none of our environment, the system folders and its working folder read-only, a private /tmp); an entry's own
`"sandbox": {"read": [...], "write": [...], "network": true}` (or `true`) confines that one server with those grants.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from agentkit import strict_json
from agentkit.errors import ConfigError, clip

__all__ = ["mcp_options", "mcp_servers"]


def mcp_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--mcp-sandbox",
        "mcp_sandbox",
        is_flag=True,
        help="start the stdio MCP servers in agentkit's sandbox: no network, none of our environment, their working "
        'folder read-only (grant more per server in --mcp-config with "sandbox": {"read": [...], "write": [...]})',
    )(fn)
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


def mcp_servers(commands: tuple[str, ...], config: str | None, sandbox: bool = False) -> list[Any]:
    """The MCPServers named on the command line (none started yet); `sandbox` confines every stdio one."""
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
        confined = {"sandbox": _policy({}, "--mcp"), "cwd": os.getcwd()} if sandbox else {}
        servers.append(MCPServer.stdio(words[0], words[1:], **confined))
    if config:
        for name, entry in _read_config(Path(config)).items():
            servers.append(_from_entry(MCPServer, name, entry, config, sandbox))
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


def _from_entry(factory: Any, name: str, entry: Any, path: str, sandbox: bool = False) -> Any:
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
    env = _strings(entry.get("env"), where, "env")
    grants = entry.get("sandbox", sandbox)
    if grants is False:
        return factory.stdio(command, args, env=env, cwd=cwd, name=name)
    if grants is not True and not isinstance(grants, dict):
        raise ConfigError(
            f'{where}: "sandbox" must be true, false or {{"read": [...], "write": [...], "network": ...}}'
        )
    policy = _policy(grants if isinstance(grants, dict) else {}, where)
    return factory.stdio(command, args, env=env, cwd=cwd or os.getcwd(), name=name, sandbox=policy)


_SANDBOX_KEYS = {"read", "write", "network"}


def _policy(grants: dict[str, Any], where: str) -> Any:
    """The sandbox policy of a server: the default one (a server runs for the whole agent run, so its CPU
    budget is larger than a tool call's) plus the entry's grants."""
    from agentkit.sandbox import Policy

    unknown = sorted(set(grants) - _SANDBOX_KEYS)
    if unknown:
        raise ConfigError(f'{where}: unknown "sandbox" key(s) {", ".join(unknown)}; known: read, write, network')
    paths = {}
    for key in ("read", "write"):
        value = grants.get(key, [])
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise ConfigError(f'{where}: "sandbox" "{key}" must be a list of paths')
        paths[key] = tuple(os.path.abspath(os.path.expanduser(p)) for p in value)
    network = grants.get("network", False)
    if not isinstance(network, bool):
        raise ConfigError(f'{where}: "sandbox" "network" must be true or false')
    try:
        return Policy(
            cpu_seconds=3600,
            memory_bytes=2 << 30,
            read_paths=paths["read"],
            write_paths=paths["write"],
            network=network,
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _strings(value: Any, where: str, key: str) -> dict[str, str] | None:
    """An object of strings, each usable as what `key` names: an environment (a name without "=", nothing
    holding NUL, which the OS cannot pass) or HTTP headers (nothing holding a line break or NUL)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f'{where}: "{key}" must be an object of strings')
    for name, text in value.items():
        bad = "\0\r\n" if key == "headers" else "\0"
        if not name or any(c in name or c in text for c in bad) or (key == "env" and "=" in name):
            what = 'a variable name without "="' if key == "env" else "a header name"
            raise ConfigError(
                f'{where}: "{key}" entry {clip(name)!r} cannot be passed on: give {what} and a value with no NUL'
                + (" or line break" if key == "headers" else "")
            )
    return value
