"""agentkit tools as a Model Context Protocol server (`agentkit mcp serve`), over stdio or streamable HTTP.

The protocol is the official `mcp` SDK's low-level `Server`; agentkit answers `tools/list` from its registry and
runs `tools/call` the way the agent loop does: the arguments are validated against the tool's schema (every
violation listed), the call runs on the sandbox's executor (`Tool.needs` honoured) under a per-call timeout, and
a bad call, a failure or a timeout comes back as an `isError` result the client's model can read. An agent can
be served as one tool too (`agent_tool`: prompt in, answer out).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from agentkit.errors import MissingExtra, RetryTool, ToolArgumentsError, clip
from agentkit.tooling import Tool, ToolExecutor, ToolRegistry, tool_result_text

if TYPE_CHECKING:
    from agentkit.agent import Agent

__all__ = ["agent_tool", "create_server", "serve_http", "serve_stdio"]


def agent_tool(name: str, description: str, build: Callable[[], Agent]) -> Tool:
    """An agent as one tool, prompt in and answer out: each call runs a fresh agent from `build()`."""

    async def run(prompt: str) -> str:
        agent = build()
        try:
            result = await agent.invoke_async(prompt)
        finally:
            await asyncio.to_thread(agent.close)
        if result.stop_reason == "error":
            raise RetryTool(f"agent {name!r} failed: {result.detail or 'no detail'}")
        return result.text

    schema = {
        "type": "object",
        "properties": {"prompt": {"type": "string", "description": "the task or question for the agent"}},
        "required": ["prompt"],
        "additionalProperties": False,
    }
    return Tool(re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64], description, schema, run)


def create_server(
    tools: Iterable[Tool], *, name: str = "agentkit", executor: ToolExecutor | None = None, timeout: float = 120.0
) -> Any:
    """An `mcp.server.lowlevel.Server` offering `tools` with agentkit's validation and sandbox in front."""
    try:
        import mcp_types as types
        from mcp.server.lowlevel import Server
    except ImportError:
        raise MissingExtra("the MCP SDK (mcp)", "mcp") from None
    registry = ToolRegistry(tools)
    run_on = executor or _default_executor()
    listing = [types.Tool(name=t.name, description=t.description, input_schema=t.parameters) for t in registry]

    def error(text: str) -> Any:
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=listing)

    async def call_tool(ctx: Any, params: Any) -> Any:
        t = registry.get(params.name)
        if t is None:
            return error(f"unknown tool {clip(params.name)!r}; available: {', '.join(registry.names()) or '(none)'}")
        try:
            arguments = t.validate(params.arguments or {})
        except ToolArgumentsError as exc:
            return error(str(exc))
        own = t.timeout if t.timeout is not None else timeout
        try:
            value = await asyncio.wait_for(run_on.execute(t, arguments), own)
        except TimeoutError:
            return error(f"tool {t.name!r} timed out after {own:g} s")
        except RetryTool as exc:
            return error(str(exc))
        except Exception as exc:
            return error(f"tool {t.name!r} raised {type(exc).__name__}: {exc}")
        return types.CallToolResult(content=[types.TextContent(type="text", text=tool_result_text(value))])

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(server: Any) -> None:
    """Serve one client on this process's stdin and stdout until it closes them."""
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_http(server: Any, host: str, port: int) -> None:
    """Serve streamable HTTP at http://HOST:PORT/mcp, stateless (as AgentCore's MCP runtime expects)."""
    import uvicorn

    app = server.streamable_http_app(stateless_http=True, host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()


def _default_executor() -> ToolExecutor:
    try:
        from agentkit.sandbox import default_executor
    except ImportError:
        from agentkit.tooling import InProcessExecutor

        return InProcessExecutor()
    executor: ToolExecutor = default_executor()
    return executor
