"""Tools from Model Context Protocol servers: `Agent(tools=[MCPServer.stdio("npx", [...]), ...])`.

The protocol is spoken by the official `mcp` SDK (its high-level `mcp.client.Client`), never by hand. Each
server's session lives on one daemon thread with its own event loop, as Strands' MCPClient does: the SDK's
transports are anyio task groups that must be entered and left by the same task, and an agent may be driven
from any loop (sync `agent(...)` calls, several `asyncio.run`s). Calls hop to that loop and back: the two
thread wake-ups are most of what agentkit adds to a call (benchmarks/RESULTS.md, "MCP client"), so the outcome
is handed straight to the caller's loop (`_Handoff`), without the concurrent Future that
`run_coroutine_threadsafe` and `wrap_future` put between.

- A server starts on first use (the agent lists its tools when a run first needs them) and stops with
  `close()` (the agent's `close()` / `with` block closes it).
- Every call is validated by agentkit against the server's input schema before it is sent.
- Startup, tool listing and each call have their own timeout. A call that times out, or a server that died,
  gives an error result naming the server; the connection is dropped and made again on the next call.
- Names: a server's tools keep their names unless the name is taken (by an agent tool or an earlier server);
  then the tool is offered as `<server name>_<tool name>`. `prefix=True` prefixes every tool of a server.
- Results: text parts as they are, images and audio as a one-line note (type and size), embedded text resources
  as their text, structured content as JSON when there is no text; `isError` becomes an error result; past
  `max_result_chars` a result is cut, with a note.
- Stdio servers are programs we start: `sandbox=` (a Policy or Sandbox) confines one like an isolated tool
  (`_mcp_confined.py` starts it from the sandbox's launch and moves JSON-RPC lines for the SDK's session).
- Transports: stdio, streamable HTTP (`headers=`, `auth=` an httpx2.Auth; for an AgentCore Gateway `SigV4(region)`
  with IAM authorization, a bearer token in `headers`, or `oauth_client_credentials(...)`, see `_mcp_auth.py`)
  and the legacy HTTP+SSE one. Redirects are followed within the server's origin only (`_same_origin_client`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from agentkit.errors import AgentkitError, ConfigError, MissingExtra, RetryTool
from agentkit.integrations._mcp_auth import SigV4, oauth_client_credentials, sigv4_auth
from agentkit.tooling import TOOL_NAME, Tool

if TYPE_CHECKING:
    from agentkit.sandbox import Policy, Sandbox

__all__ = ["MCPServer", "MCPServerError", "SigV4", "oauth_client_credentials", "sigv4_auth"]

log = logging.getLogger(__name__)


class MCPServerError(AgentkitError):
    """An MCP server could not be started or did not list its tools."""


def _require_sdk() -> Any:
    try:
        import mcp
    except ImportError:
        raise MissingExtra("the MCP SDK (mcp)", "mcp") from None
    return mcp


class MCPServer:
    """One MCP server the agent may call. Build it with `MCPServer.stdio(...)`, `.http(...)` or `.sse(...)`."""

    def __init__(
        self,
        name: str,
        target: Callable[[], Any],
        *,
        timeout: float = 60.0,
        startup_timeout: float = 30.0,
        list_timeout: float = 30.0,
        prefix: bool = False,
        max_result_chars: int | None = 100_000,
        transport: str = "stdio",
    ) -> None:
        """`target()` returns what `mcp.client.Client` connects to (a StdioServerParameters, a Transport);
        `transport` says which kind, for display. A result longer than `max_result_chars` is cut there, with a
        note saying how much was dropped (None keeps it whole)."""
        self.name = name
        self.transport = transport
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        self.list_timeout = list_timeout
        self.prefix = prefix
        self.max_result_chars = max_result_chars
        self._target = target
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._stop: asyncio.Event | None = None
        self._session_task: asyncio.Task[None] | None = None
        self._connecting: asyncio.Lock | None = (
            None  # made on the server's loop: calls arriving together share one start
        )
        self._lock = threading.Lock()
        self._refusal: dict[str, str] = {}  # HTTP servers: the last refusal, to explain an SDK error
        self._start_hint = ""  # said when the server closes the connection before answering

    # ---- construction --------------------------------------------------------------------------

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        name: str | None = None,
        sandbox: Policy | Sandbox | None = None,
        **options: Any,
    ) -> MCPServer:
        """A server we start as a program and talk to over its stdin and stdout.

        `sandbox` confines the program like an isolated tool: a `Policy` (run with the strongest backend
        here; `mode="required"`) or a `Sandbox` (its backend, mode and policy). It then sees the system
        folders, the Python interpreter, `cwd` (read-only) and exactly the policy's grants; the network only
        if the policy allows it; the policy's environment plus `env`, never ours; and the policy's limits
        (`cpu_seconds` counts over the server's whole life: past it the server is killed, and restarted on
        the next call). Without `sandbox` the program runs as the SDK starts it, as the user who runs us."""
        sdk = _require_sdk()
        if not command:
            raise ConfigError("MCPServer.stdio needs a command to run, e.g. MCPServer.stdio('npx', ['-y', '...'])")
        server_name = name or _name_from(command, args)
        if sandbox is not None:
            server = cls(server_name, _confined_target(sandbox, command, args, env, cwd, server_name), **options)
            server._start_hint = (
                "if it printed that it cannot open a file, grant that file's folder in the sandbox policy "
                "(read_paths): a confined server sees the system folders, the interpreter, its cwd and its grants"
            )
            return server
        params = sdk.StdioServerParameters(command=command, args=list(args), env=dict(env) if env else None, cwd=cwd)
        return cls(server_name, lambda: params, **options)

    @classmethod
    def http(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        name: str | None = None,
        **options: Any,
    ) -> MCPServer:
        """A server at a streamable HTTP URL: `headers` for a bearer token or API key, `auth` for an
        `httpx2.Auth` (request signing, OAuth flows)."""
        _require_sdk()
        if not re.match(r"^https?://", url):
            raise ConfigError(f"MCPServer.http needs an http:// or https:// URL, got {url!r}")
        fixed = dict(headers or {})
        last: dict[str, str] = {}  # the last HTTP refusal, which the SDK's error does not carry

        async def remember(response: Any) -> None:
            if response.status_code >= 400:
                last["refusal"] = f"HTTP {response.status_code} {response.reason_phrase}".strip()
            else:
                last.pop("refusal", None)

        @contextlib.asynccontextmanager
        async def target() -> AsyncIterator[Any]:  # the SDK leaves a client it was given open: close ours
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            timeout = httpx2.Timeout(30.0, read=300.0)
            client = _same_origin_client(url, last, response_hooks=[remember])
            async with (
                client(headers=fixed, timeout=timeout, auth=auth) as http_client,
                streamable_http_client(url, http_client=http_client) as streams,
            ):
                yield streams

        server = cls(name or _name_from_url(url), target, transport="http", **options)
        server._refusal = last
        return server

    @classmethod
    def sse(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        name: str | None = None,
        **options: Any,
    ) -> MCPServer:
        """A server on the legacy HTTP+SSE transport (GET the SSE `url`, POST to the endpoint it names)."""
        _require_sdk()
        if not re.match(r"^https?://", url):
            raise ConfigError(f"MCPServer.sse needs an http:// or https:// URL, got {url!r}")
        fixed = dict(headers or {})
        last: dict[str, str] = {}

        def target() -> Any:
            from mcp.client.sse import sse_client

            return sse_client(url, headers=fixed, auth=auth, httpx_client_factory=_same_origin_client(url, last))

        server = cls(name or _name_from_url(url), target, transport="sse", **options)
        server._refusal = last
        return server

    def __repr__(self) -> str:
        return f"MCPServer({self.name!r})"

    # ---- the tool-source protocol the registry uses -----------------------------------------------

    def tools(self, taken: Collection[str] = ()) -> list[Tool]:
        """Start the server if needed and list its tools as agentkit Tools, renaming those whose name is taken."""
        listing = self._run(self._list(), self.startup_timeout + self.list_timeout, "list its tools")
        out: list[Tool] = []
        for spec in listing:
            public = self._public_name(spec.name, taken)
            try:
                t = Tool(public, spec.description or spec.title or "", dict(spec.input_schema), self._caller(spec.name))
                t.check()
            except ConfigError as exc:
                log.warning("MCP server %r: tool %r is skipped: %s", self.name, spec.name, exc)
                continue
            out.append(t)
        return out

    def close(self) -> None:
        """Stop the server and its thread; a later call starts it again."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._disconnect(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    # ---- calls ---------------------------------------------------------------------------------

    def _caller(self, remote: str) -> Callable[..., Any]:
        async def call(**arguments: Any) -> Any:
            return await self._on_server_loop(self._call(remote, arguments))

        call.__name__ = remote
        return call

    async def _call(self, remote: str, arguments: dict[str, Any]) -> Any:
        try:
            client = self._live_client() or await asyncio.wait_for(self._connect(), self.startup_timeout)
        except TimeoutError:
            await self._disconnect()
            raise RetryTool(f"MCP server {self.name!r} did not start within {self.startup_timeout:g} s") from None
        except Exception as exc:
            await self._disconnect()
            raise RetryTool(f"MCP server {self.name!r} could not start: {self._describe(exc, starting=True)}") from None
        try:
            async with asyncio.timeout(self.timeout):  # unlike wait_for, no task per call
                result = await client.call_tool(remote, arguments)
        except TimeoutError:
            await self._disconnect()  # a hung server: start afresh on the next call
            raise RetryTool(
                f"MCP server {self.name!r} did not answer {remote!r} within {self.timeout:g} s; "
                "it will be restarted on the next call"
            ) from None
        except Exception as exc:
            await self._disconnect()
            raise RetryTool(
                f"MCP server {self.name!r} failed on {remote!r} ({self._describe(exc)}); "
                "it will be restarted on the next call"
            ) from None
        return _capped(_result_value(self.name, result), self.max_result_chars)

    async def _list(self) -> list[Any]:
        try:
            client = await asyncio.wait_for(self._connect(), self.startup_timeout)
        except TimeoutError:
            await self._disconnect()
            raise MCPServerError(
                f"MCP server {self.name!r} did not start within {self.startup_timeout:g} s: "
                "check its command, or raise startup_timeout"
            ) from None
        except Exception as exc:
            await self._disconnect()
            raise MCPServerError(
                f"MCP server {self.name!r} could not start: {self._describe(exc, starting=True)}"
            ) from None
        tools: list[Any] = []
        cursor = None
        try:
            async with asyncio.timeout(self.list_timeout):
                while True:
                    page = await client.list_tools(cursor=cursor)
                    tools += page.tools
                    cursor = page.next_cursor
                    if not cursor:
                        return tools
        except TimeoutError:
            await self._disconnect()
            raise MCPServerError(
                f"MCP server {self.name!r} did not list its tools within {self.list_timeout:g} s"
            ) from None
        except Exception as exc:
            await self._disconnect()
            raise MCPServerError(
                f"MCP server {self.name!r} failed to list its tools: {self._describe(exc, starting=True)}"
            ) from None

    # ---- the connection, on the server's own loop ------------------------------------------------

    def _live_client(self) -> Any:
        if self._client is not None and self._session_task is not None and not self._session_task.done():
            return self._client
        return None

    async def _connect(self) -> Any:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            return self._live_client() or await self._start()

    async def _start(self) -> Any:
        ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._session_task = asyncio.create_task(self._hold_session(ready, self._stop))
        self._client = await ready
        return self._client

    async def _hold_session(self, ready: asyncio.Future[Any], stop: asyncio.Event) -> None:
        """Enter the SDK client, hand it over, and keep it open (in this one task) until told to stop."""
        sdk = _require_sdk()
        try:
            async with sdk.Client(self._target()) as client:
                ready.set_result(client)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            if not isinstance(exc, Exception):
                raise
            log.debug("MCP server %r closed with %s", self.name, self._describe(exc))

    async def _disconnect(self) -> None:
        task, stop = self._session_task, self._stop
        self._client = self._session_task = self._stop = None
        if task is None or stop is None:
            return
        stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), 5)
        except BaseException:
            task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5)

    def _server_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=f"agentkit-mcp-{self.name}", daemon=True)
                thread.start()
                self._loop, self._thread, self._connecting = loop, thread, None
            return self._loop

    def _submit(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._server_loop())

    async def _on_server_loop(self, coro: Any) -> Any:
        """Await `coro` run as a task on the server's loop (one wake-up each way, see the module doc); a caller
        that gives up cancels the task."""
        loop = self._server_loop()
        waiter = asyncio.get_running_loop().create_future()
        handoff = _Handoff(coro, waiter)
        loop.call_soon_threadsafe(handoff.start, loop)
        try:
            return await waiter
        except asyncio.CancelledError:
            loop.call_soon_threadsafe(handoff.cancel)
            raise

    def _run(self, coro: Any, timeout: float, what: str) -> Any:
        future = self._submit(coro)
        try:
            return future.result(timeout + 10)  # the coroutine keeps its own, tighter deadlines
        except TimeoutError:
            future.cancel()
            raise MCPServerError(f"MCP server {self.name!r} did not {what} in time") from None

    def _describe(self, exc: BaseException, *, starting: bool = False) -> str:
        refusal = self._refusal.get("refusal")
        if refusal is None:
            text = _describe(exc)
            closed = starting and bool(self._start_hint) and "Connection closed" in text
            return f"{text} ({self._start_hint})" if closed else text
        hint = ": check the token or credentials" if refusal.startswith(("HTTP 401", "HTTP 403")) else ""
        return f"{_describe(exc)}; the server answered {refusal}{hint}"

    def _public_name(self, remote: str, taken: Collection[str]) -> str:
        if self.prefix or remote in taken or not TOOL_NAME.match(remote):
            prefixed = f"{_safe(self.name)}_{_safe(remote)}"[:64]
            return prefixed
        return remote


class _Handoff:
    """One coroutine run as a task on a server's loop for a caller waiting on `waiter`, on its own loop."""

    __slots__ = ("coro", "task", "waiter")

    def __init__(self, coro: Any, waiter: asyncio.Future[Any]) -> None:
        self.coro = coro
        self.waiter = waiter
        self.task: asyncio.Task[Any] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:  # on the server's loop
        self.task = loop.create_task(self.coro)
        self.task.add_done_callback(self._reply)

    def cancel(self) -> None:  # on the server's loop, after start
        if self.task is not None:
            self.task.cancel()

    def _reply(self, task: asyncio.Task[Any]) -> None:
        error = None if task.cancelled() else task.exception()  # retrieved here, so never logged as lost
        with contextlib.suppress(RuntimeError):  # the caller's loop has closed: nobody waits any more
            self.waiter.get_loop().call_soon_threadsafe(_settle, self.waiter, task, error)


def _settle(waiter: asyncio.Future[Any], task: asyncio.Task[Any], error: BaseException | None) -> None:
    if waiter.done():  # the caller gave up
        return
    if task.cancelled():
        waiter.cancel()
    elif error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(task.result())


def _confined_target(
    sandbox: Policy | Sandbox,
    command: str,
    args: Sequence[str],
    env: Mapping[str, str] | None,
    cwd: str | None,
    name: str,
) -> Callable[[], Any]:
    from agentkit.sandbox import Policy, Sandbox

    if not isinstance(sandbox, Policy | Sandbox):
        raise ConfigError(
            f"MCPServer.stdio(sandbox=...) takes an agentkit.sandbox.Policy or Sandbox, got {type(sandbox).__name__}"
        )
    made: list[Sandbox] = [sandbox] if isinstance(sandbox, Sandbox) else []

    def target() -> Any:
        from agentkit.integrations._mcp_confined import confined_stdio

        if not made:  # probing the machine's sandbox waits for the first start
            made.append(Sandbox(sandbox) if isinstance(sandbox, Policy) else sandbox)
        program = shutil.which(command)  # found on our PATH, as an unconfined server would be
        if program is None:
            raise FileNotFoundError(f"no program {command!r} (not a file, nor on PATH)")
        return confined_stdio(made[0], [program, *args], env=env, cwd=cwd, what=f"MCP server {name!r}")

    return target


# ---- results -------------------------------------------------------------------------------------


def _result_value(server: str, result: Any) -> Any:
    """What the model reads: the text parts, a short note per image or audio part, and structured content
    when there is no text; an `isError` result becomes an error result."""
    parts: list[str] = []
    for item in result.content or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind in ("image", "audio"):
            size = len(base64.b64decode(item.data, validate=False)) if item.data else 0
            parts.append(f"[{kind} {item.mime_type}, {size:,} bytes]")
        elif kind == "resource":
            resource = item.resource
            text = getattr(resource, "text", None)
            parts.append(text if text is not None else f"[resource {resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource {item.uri}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    text = "\n".join(parts)
    if result.is_error:
        raise RetryTool(f"MCP server {server!r} reported an error: {text or '(no message)'}")
    return text


def _capped(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit:,} more characters cut: the result was {len(text):,} long]"


def _describe(exc: BaseException) -> str:
    group = getattr(exc, "exceptions", None)
    if group:  # anyio wraps transport failures in exception groups
        return _describe(group[0])
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _safe(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", text) or "mcp"


_LAUNCHERS = re.compile(r"^(npx|node|nodejs|deno|bun|uvx|uv|pipx|sh|bash|docker|python[\d.]*|pypy[\d.]*)(\.exe)?$")


def _name_from(command: str, args: Sequence[str]) -> str:
    """A readable server name: the program, or for a launcher (npx, python...) the package or script it runs
    (`npx -y @scope/server-filesystem /tmp` -> server-filesystem)."""
    program = _basename(command)
    words = [a for a in args if not a.startswith("-")]
    base = _basename(words[0]) if _LAUNCHERS.match(program) and words else program
    base = re.sub(r"@[\w.]+$|\.(py|js|mjs|ts)$", "", base)
    return _safe(base)[:32]


def _basename(path: str) -> str:
    return re.split(r"[\\/]", path.rstrip("/\\"))[-1]


def _same_origin_client(url: str, last: dict[str, str], response_hooks: Sequence[Any] = ()) -> Any:
    """A factory of the SDK's HTTP clients (`headers`, `timeout`, `auth` -> httpx2.AsyncClient) that follows
    redirects within the server's origin only. httpx drops `Authorization` on a redirect to another origin, but
    not the rest of a signed request (SigV4's `X-Amz-Security-Token`, an API-key header): such a redirect is
    refused, and the error says so (through `last`, like an HTTP refusal)."""
    import httpx2

    origin = httpx2.URL(url).origin

    async def guard(request: Any) -> None:
        if request.url.origin != origin:
            last["refusal"] = (
                f"a redirect to another origin ({request.url.scheme}://{request.url.host}), which agentkit does "
                "not follow with this server's headers and credentials; configure the URL it redirects to"
            )
            raise httpx2.RequestError("redirect to another origin refused", request=request)

    def make(headers: Any = None, timeout: Any = None, auth: Any = None) -> Any:
        hooks = {"request": [guard], "response": list(response_hooks)}
        return httpx2.AsyncClient(headers=headers, timeout=timeout, auth=auth, follow_redirects=True, event_hooks=hooks)

    return make


def _name_from_url(url: str) -> str:
    host = re.sub(r"^https?://", "", url).split("/")[0]
    return _safe(host.split(":")[0])[:32]
