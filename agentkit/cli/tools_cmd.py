"""`agentkit tools list|call`: list the registered tools, or validate and run one call, printing JSON."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import anyio
import click

from agentkit.cli.mcp_options import mcp_options, mcp_servers
from agentkit.errors import AgentkitError, ToolArgumentsError
from agentkit.tooling import Tool, ToolExecutor, ToolRegistry, registered_tools, tool_result_text

__all__ = ["tools_group"]


@click.group(name="tools")
def tools_group() -> None:
    """List and call the registered tools."""


@tools_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the full definitions (name, description, schema).")
@mcp_options
def list_command(as_json: bool, mcp_commands: tuple[str, ...], mcp_config: str | None, mcp_sandbox: bool) -> None:
    """Print every registered tool (or, with --mcp / --mcp-config, the MCP servers' tools): its name and the
    first line of its description."""
    from_mcp = bool(mcp_commands or mcp_config)
    tools = _load_mcp(mcp_commands, mcp_config, mcp_sandbox) if from_mcp else _load()
    if as_json:
        click.echo(json.dumps([t.definition.to_json_schema() for t in tools.values()], indent=2, ensure_ascii=False))
        return
    workspace = {} if from_mcp else _workspace_tools()
    width = max((len(name) for name in [*tools, *workspace]), default=0)
    for name, t in tools.items():
        summary = _first_sentence(t.description)
        click.echo(f"{name.ljust(width)}  {summary}")
    for name, description in workspace.items():
        click.echo(f"{name.ljust(width)}  {_first_sentence(description)} [needs a workspace]")
    if workspace:
        click.echo(
            "[needs a workspace]: built on a scratch copy with agentkit.tools.edit.edit_tools(Workspace(repo)) "
            "(as repo-optimizer does); not callable with `tools call`",
            err=True,
        )


def _workspace_tools() -> dict[str, str]:
    """The editing tools: listed, though they exist only bound to a Workspace."""
    try:
        from agentkit.tools._edit_schemas import APPLY_PATCH, DIFF, EDIT_FILE, RUN, WRITE_FILE
    except ImportError:
        return {}
    specs = {"edit_file": EDIT_FILE, "write_file": WRITE_FILE, "apply_patch": APPLY_PATCH, "run": RUN, "diff": DIFF}
    return {name: spec[0] for name, spec in specs.items()}


@tools_group.command(name="call")
@click.argument("name")
@click.option("--args", "arguments", default="{}", show_default=True, help="The arguments as a JSON object.")
def call_command(name: str, arguments: str) -> None:
    """Validate ARGS against tool NAME's schema, run it, and print the result as JSON."""
    tools = _load()
    t = tools.get(name)
    if t is None:
        _fail(f"unknown tool {name!r}; registered tools: {', '.join(tools) or 'none'}")
    try:
        decoded = json.loads(arguments)
    except ValueError as exc:
        _fail(f'--args is not valid JSON ({exc}); pass an object such as \'{{"expression": "1+1"}}\'')
    try:
        validated = t.validate(decoded)
    except ToolArgumentsError as exc:
        _fail(f"invalid arguments for {name}: " + "; ".join(exc.violations))
    try:
        result = anyio.run(_execute, t, validated)
    except AgentkitError as exc:
        _fail(f"{name} failed: {_one_line(str(exc))}")
    except Exception as exc:  # a tool bug still ends in one readable line, not a traceback
        _fail(f"{name} crashed: {type(exc).__name__}: {_one_line(str(exc))}")
    click.echo(_render(result))


async def _execute(t: Tool, arguments: dict[str, Any]) -> Any:
    return await _executor().execute(t, arguments)


def _executor() -> ToolExecutor:
    from agentkit.sandbox import default_executor

    executor: ToolExecutor = default_executor()
    return executor


def _load_mcp(commands: tuple[str, ...], config: str | None, sandbox: bool) -> dict[str, Tool]:
    registry = ToolRegistry()
    for server in mcp_servers(commands, config, sandbox):
        registry.add_source(server)
    try:
        return {t.name: t for t in registry}
    finally:
        registry.close()


def _load() -> dict[str, Tool]:
    try:
        return registered_tools()
    except AgentkitError as exc:
        _fail(f"cannot load the registered tools: {_one_line(str(exc))}")


def _render(result: Any) -> str:
    if isinstance(result, str):
        return json.dumps(result, ensure_ascii=False)
    try:
        return json.dumps(result, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return tool_result_text(result)


def _first_sentence(description: str) -> str:
    line = (description.strip().splitlines() or [""])[0]
    head, dot, _ = line.partition(". ")
    return head + "." if dot else line


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)
