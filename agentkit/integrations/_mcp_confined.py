"""The stdio transport for an MCP server started inside agentkit's sandbox (`MCPServer.stdio(..., sandbox=...)`).

The SDK's own `stdio_client` starts the program with `anyio.open_process`, which cannot take what a sandbox
launch needs (a `preexec_fn` that sets rlimits, joins the cgroup and loads Landlock and seccomp; the seccomp
filter's pipe in `pass_fds`). So the program is started here from the sandbox's `Launch`, and this module
only moves newline-delimited JSON-RPC between its pipes and the SDK's session streams, as `stdio_client`
does; the protocol itself stays the SDK's (its message types parse and print every line).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from agentkit.errors import SandboxError

__all__ = ["confined_stdio"]

_LINE_LIMIT = 32 << 20  # one JSON-RPC message; a longer line ends the connection (the call gets an error result)
_EXIT_GRACE = 2.0  # after stdin closes, as the MCP lifecycle asks, before the process tree is killed


@contextlib.asynccontextmanager
async def confined_stdio(
    sandbox: Any,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    what: str,
) -> AsyncIterator[tuple[Any, Any]]:
    """Start `argv` under `sandbox` (a `agentkit.sandbox.Sandbox`; its policy, plus `env` over the policy's
    environment) and yield the (read, write) streams `mcp.client.Client` speaks over."""
    import anyio
    import mcp_types as types
    from mcp.shared.message import SessionMessage

    policy = sandbox.policy
    if env:
        policy = replace(policy, env={**policy.environment(), **env})
    launch = sandbox.launch(list(argv), cwd=cwd, policy=policy)
    try:
        proc = await asyncio.create_subprocess_exec(
            *launch.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=launch.cwd,
            env=launch.env,
            pass_fds=launch.pass_fds,
            start_new_session=True,
            preexec_fn=launch.preexec_fn,
            limit=_LINE_LIMIT,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        launch.release()
        raise SandboxError(f"could not start {what} in the {launch.backend} sandbox: {exc}") from None
    finally:
        launch.close_fds()
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout
    to_session, read_stream = anyio.create_memory_object_stream[Any](0)
    write_stream, from_session = anyio.create_memory_object_stream[Any](0)

    async def read_lines() -> None:
        async with to_session:
            while True:
                try:
                    line = await stdout.readline()
                except (ValueError, OSError):  # a line past the limit, or the pipe gone
                    return
                if not line:
                    return
                try:
                    message: Any = SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
                except ValueError as exc:
                    message = exc  # the session reports it, as the SDK's own transport does
                try:
                    await to_session.send(message)
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    return

    async def write_lines() -> None:
        async with from_session:
            try:
                async for item in from_session:
                    data = item.message.model_dump_json(by_alias=True, exclude_unset=True)
                    stdin.write(data.encode() + b"\n")
                    await stdin.drain()
            except (OSError, anyio.BrokenResourceError):
                await to_session.aclose()  # the server stopped reading: the session sees the end

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(read_lines)
            tasks.start_soon(write_lines)
            try:
                yield read_stream, write_stream
            finally:
                tasks.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await _stop(proc, launch)


async def _stop(proc: asyncio.subprocess.Process, launch: Any) -> None:
    """Close stdin, give the server a moment to exit, then kill its process group and whatever is left in
    its cgroup, and remove its private temp dir."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), _EXIT_GRACE)
    except TimeoutError:
        pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), 5)
    await asyncio.to_thread(launch.release)
