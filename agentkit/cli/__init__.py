"""The `agentkit` command: a thin click layer over the public API.

Each command group lives in its own module and is imported only when it runs, so `agentkit --help`
stays fast and one broken extra never breaks the others. Every AgentkitError becomes one readable line
on stderr and exit status 1 (`main` is the one place that happens); usage errors exit with 2.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from typing import Any

import click

from agentkit import __version__
from agentkit.errors import AgentkitError

__all__ = ["cli", "main"]

# command name -> (module, attribute, one-line help)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "agents": ("agentkit.cli.run_cmd", "agents_group", "List the ready-made agents."),
    "chat": ("agentkit.cli.run_cmd", "chat_command", "Chat with an agent interactively."),
    "deploy": ("agentkit.cli.deploy_cmd", "deploy_group", "Generate and apply deployment manifests."),
    "mcp": ("agentkit.cli.mcp_cmd", "mcp_group", "Serve agentkit tools over the Model Context Protocol."),
    "parse": ("agentkit.cli.parse_cmd", "parse_command", "Parse raw model output into tool calls."),
    "run": ("agentkit.cli.run_cmd", "run_command", "Run an agent on a prompt."),
    "sandbox": ("agentkit.cli.sandbox_cmd", "sandbox_group", "Inspect the sandbox and run commands in it."),
    "serve": ("agentkit.cli.serve_cmd", "serve_command", "Serve an agent over the AgentCore HTTP contract."),
    "sessions": ("agentkit.cli.run_cmd", "sessions_group", "List, show and resume sessions."),
    "tools": ("agentkit.cli.tools_cmd", "tools_group", "List and call the registered tools."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = _COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module_name, attribute, short_help = spec
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return _unavailable(cmd_name, short_help)
        command: click.Command = getattr(module, attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _unavailable(name: str, short_help: str) -> click.Command:
    @click.command(name=name, help=short_help)
    def command() -> None:
        raise click.ClickException(f"'agentkit {name}' is not available in this build")

    return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agentkit")
def cli() -> None:
    """agentkit: tool-calling agents on Qwen3-Coder, Qwen3 and gpt-oss."""


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    click.echo(f"warning: {message}", err=True)


def main(argv: list[str] | None = None) -> Any:
    warnings.showwarning = _show_warning  # one `warning:` line, not Python's file:line form
    try:
        return cli.main(args=argv, prog_name="agentkit", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # one line, in the same `error:` form as every other error
        command = exc.ctx.command_path if exc.ctx is not None else "agentkit"
        click.echo(f"error: {exc.format_message().rstrip('.')}; see `{command} --help`", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except AgentkitError as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        click.echo(f"error: {message}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
