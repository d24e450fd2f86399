"""`agentkit parse`: raw model output in, the parse result out as JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from agentkit.errors import ConfigError
from agentkit.tooling import ToolDefinition

__all__ = ["parse_command"]

_FORMATS = ("auto", "qwen3_coder", "hermes", "harmony")


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        with open(source, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise click.ClickException(f"input file not found: {source}") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"input file is not UTF-8 text: {source}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot read input file {source}: {exc.strerror}") from None


def _read_tools(path: str) -> list[Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            tools = json.load(handle)
    except FileNotFoundError:
        raise click.ClickException(f"tools file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read tools file {path}: {exc}") from None
    except ValueError as exc:
        raise click.ClickException(f"tools file {path} is not valid JSON ({exc})") from None
    if not isinstance(tools, list):
        raise click.ClickException(
            f"tools file {path} must hold a JSON list of tool definitions (OpenAI tool dicts or Bedrock toolSpecs)"
        )
    definitions = []
    for number, spec in enumerate(tools, start=1):
        try:
            definitions.append(ToolDefinition.from_any(spec))
        except KeyError as exc:
            raise click.ClickException(f"tool #{number} in {path} has no {exc.args[0]!r} field") from None
        except (ConfigError, TypeError, AttributeError) as exc:
            raise click.ClickException(f"tool #{number} in {path} is not a tool definition: {exc}") from None
    return definitions


@click.command(name="parse")
@click.argument("source", default="-", metavar="[FILE|-]")
@click.option(
    "--format", "-f", "format_", default="auto", show_default=True, help="auto, qwen3_coder, hermes or harmony."
)
@click.option("--tools", "tools_path", metavar="FILE", help="JSON list of tool definitions (types the values).")
@click.option("--model", "model_name", metavar="NAME", help="Model name, to pick the format (qwen3-coder, gpt-oss…).")
@click.option(
    "--thinking/--no-thinking", default=None, help="Whether the prompt opened a <think> block (default: from text)."
)
def parse_command(
    source: str, format_: str, tools_path: str | None, model_name: str | None, thinking: bool | None
) -> None:
    """Parse raw model output (FILE, or stdin) into tool calls, content and reasoning; print JSON."""
    from agentkit.parsing import parse

    if format_ not in _FORMATS:
        raise click.ClickException(f"unknown format {format_!r}; use one of: {', '.join(_FORMATS)}")
    text = _read_text(source)
    tools = _read_tools(tools_path) if tools_path else None
    result = parse(text, format_, tools, model_name=model_name, thinking=thinking)
    click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
