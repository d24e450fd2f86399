"""Tools across the Strands border, both ways.

- `to_strands_tool(tool)`: an agentkit Tool as a Strands AgentTool. Strands checks only the tool name, so
  the arguments go through `Tool.validate` here; a bad call comes back as a ToolResult with status
  "error" and agentkit's list of violations, which the model reads.
- `from_strands_tool(obj)`: a Strands tool (an `@strands.tool` function, a module with TOOL_SPEC such as
  most of strands_tools, any AgentTool, or a module path) as an agentkit Tool, checked against its
  advertised JSON schema by agentkit before it runs; Strands itself never validates module tools.
"""

from __future__ import annotations

import importlib
import types
import uuid
from collections.abc import AsyncGenerator
from typing import Any, cast

import anyio
from strands.tools.loader import load_tools_from_module
from strands.types.events import ToolResultEvent
from strands.types.tools import AgentTool

from agentkit.errors import ConfigError, RetryTool, ToolArgumentsError
from agentkit.integrations._strands_convert import (
    INVALID_CALL_KEY,
    definition_to_spec,
    result_content_text,
    spec_schema,
    strands_tool_result,
)
from agentkit.tooling import InProcessExecutor, Tool, ToolExecutor, tool_result_text

__all__ = ["AgentkitStrandsTool", "from_strands_tool", "to_strands_tool"]


class AgentkitStrandsTool(AgentTool):
    """A Strands AgentTool that validates with agentkit and runs through an agentkit ToolExecutor."""

    def __init__(self, tool: Tool, executor: ToolExecutor | None = None) -> None:
        super().__init__()
        self.agentkit_tool = tool
        self.executor = executor or InProcessExecutor()
        self._spec: Any = definition_to_spec(tool.definition)

    @property
    def tool_name(self) -> str:
        return self.agentkit_tool.name

    @property
    def tool_spec(self) -> Any:
        return self._spec

    @property
    def tool_type(self) -> str:
        return "agentkit"

    async def stream(self, tool_use: Any, invocation_state: dict[str, Any], **kwargs: Any) -> AsyncGenerator[Any, None]:
        call_id = str(tool_use.get("toolUseId", ""))
        given = tool_use.get("input", {})
        if isinstance(given, dict) and INVALID_CALL_KEY in given:
            text = f"could not read this tool call: {given[INVALID_CALL_KEY]}. Send it again in the documented format."
            yield ToolResultEvent(_result(call_id, text, is_error=True))
            return
        try:
            arguments = self.agentkit_tool.validate(given)
            value = await self._run(arguments)
        except ToolArgumentsError as exc:
            text = f"{exc}\nFix the arguments and call {self.tool_name!r} again."
            yield ToolResultEvent(_result(call_id, text, is_error=True), exception=exc)
            return
        except RetryTool as exc:
            yield ToolResultEvent(_result(call_id, str(exc), is_error=True), exception=exc)
            return
        except TimeoutError as exc:
            text = f"Error: tool {self.tool_name!r} timed out after {self.agentkit_tool.timeout} s"
            yield ToolResultEvent(_result(call_id, text, is_error=True), exception=exc)
            return
        except Exception as exc:
            text = f"Error: {type(exc).__name__} - {exc}"
            yield ToolResultEvent(_result(call_id, text, is_error=True), exception=exc)
            return
        yield ToolResultEvent(_result(call_id, tool_result_text(value), is_error=False))

    async def _run(self, arguments: dict[str, Any]) -> Any:
        if self.agentkit_tool.timeout is None:
            return await self.executor.execute(self.agentkit_tool, arguments)
        with anyio.fail_after(self.agentkit_tool.timeout):
            return await self.executor.execute(self.agentkit_tool, arguments)


def _result(call_id: str, text: str, *, is_error: bool) -> Any:
    return cast(Any, strands_tool_result(call_id, text, is_error=is_error))


def to_strands_tool(tool: Tool, *, executor: ToolExecutor | None = None) -> AgentkitStrandsTool:
    """An agentkit Tool as a Strands AgentTool (pass it in `strands.Agent(tools=[...])`).

    `executor` decides where the tool runs (default: in this process); pass the sandbox's executor for
    tools that declare `Needs`.
    """
    if not isinstance(tool, Tool):
        raise ConfigError(
            f"to_strands_tool takes an agentkit Tool, got {type(tool).__name__}: decorate the function with "
            "@agentkit.tool or build it with Tool.from_schema"
        )
    tool.check()  # a bad schema fails here, where the Strands agent is built, as it would in an Agent
    return AgentkitStrandsTool(tool, executor)


def from_strands_tool(obj: Any) -> Tool:
    """A Strands tool as an agentkit Tool.

    `obj` may be an `@strands.tool` function, any Strands AgentTool, a module that Strands can load as
    exactly one tool (TOOL_SPEC plus a function named like the module, or one decorated function), or a
    module path such as "strands_tools.file_read". Calls are checked against the tool's JSON schema by
    agentkit first; a Strands result with status "error" becomes an agentkit error result.
    """
    strands_tool = _resolve(obj)
    spec = strands_tool.tool_spec
    name = strands_tool.tool_name
    schema = spec_schema(dict(spec))

    async def run(**arguments: Any) -> str:
        return await _call_strands(strands_tool, name, arguments)

    try:
        return Tool.from_schema(name, spec.get("description", ""), schema, run)
    except ConfigError as exc:
        raise ConfigError(f"Strands tool {name!r} cannot become an agentkit tool: {exc}") from None


async def _call_strands(strands_tool: AgentTool, name: str, arguments: dict[str, Any]) -> str:
    call_id = f"agentkit-{uuid.uuid4().hex[:16]}"
    tool_use: Any = {"toolUseId": call_id, "name": name, "input": arguments}
    last: Any = None
    async for event in strands_tool.stream(tool_use, {}):
        last = event
    result: Any = last.tool_result if isinstance(last, ToolResultEvent) else last
    if not isinstance(result, dict) or "content" not in result:
        raise RetryTool(f"Strands tool {name!r} returned no ToolResult (got {type(result).__name__})")
    text = result_content_text(result.get("content") or [])
    if result.get("status") == "error":
        raise RetryTool(text or f"Strands tool {name!r} failed without a message")
    return text


def _resolve(obj: Any) -> AgentTool:
    if isinstance(obj, AgentTool):
        return obj
    if isinstance(obj, str):
        try:
            obj = importlib.import_module(obj)
        except ImportError as exc:
            raise ConfigError(f"cannot import the Strands tool module {obj!r}: {exc}") from None
    if isinstance(obj, types.ModuleType):
        return _from_module(obj)
    raise ConfigError(
        f"from_strands_tool takes a Strands AgentTool, an @strands.tool function, a tool module or a module path; "
        f"got {type(obj).__name__}"
    )


def _from_module(module: types.ModuleType) -> AgentTool:
    short = module.__name__.rsplit(".", 1)[-1]
    try:
        found = load_tools_from_module(module, short)
    except (AttributeError, TypeError) as exc:
        raise ConfigError(f"module {module.__name__!r} is not a Strands tool: {exc}") from None
    if len(found) == 1:
        return found[0]
    named = [t for t in found if t.tool_name == short]
    if len(named) == 1:
        return named[0]
    names = ", ".join(sorted(t.tool_name for t in found))
    raise ConfigError(
        f"module {module.__name__!r} holds several Strands tools ({names}): pass one of them, e.g. module.<name>"
    )
