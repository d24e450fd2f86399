"""agentkit's MCP client against servers we did not write (npm's server-everything and server-filesystem), a
server written with the official Python SDK, and a crashed and a hung server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from mcp_support import free_port, npm_bin, py_server_args, require_sdk, wait_for_port

from agentkit import Agent
from agentkit.errors import RetryTool, ToolArgumentsError
from agentkit.messages import ToolCall
from agentkit.models.testing import ScriptedModel

pytestmark = pytest.mark.integration


def mcp() -> Any:
    require_sdk()
    from agentkit.integrations import mcp as module

    return module


def by_name(server: Any) -> dict[str, Any]:
    return {t.name: t for t in server.tools()}


def call(tool: Any, arguments: dict[str, Any]) -> Any:
    return asyncio.run(tool.invoke(tool.validate(arguments)))


@pytest.fixture
def py_server() -> Any:
    command, args = py_server_args()
    server = mcp().MCPServer.stdio(command, args, name="calc")
    yield server
    server.close()


def test_a_python_sdk_server_lists_typed_tools_and_answers(py_server: Any) -> None:
    tools = by_name(py_server)
    assert {"divide", "pid", "pixel", "repeat"} <= set(tools)
    assert tools["divide"].parameters["required"] == ["a", "b"]
    assert call(tools["divide"], {"a": 1, "b": 4}) == "0.25"
    assert call(tools["pixel"], {}) == "[image image/png, 70 bytes]"


def test_long_results_are_cut_with_a_note() -> None:
    command, args = py_server_args()
    server = mcp().MCPServer.stdio(command, args, max_result_chars=1000)
    try:
        text = call(by_name(server)["repeat"], {"text": "ab", "times": 5000})
        assert text.startswith("abab") and len(text) < 1100
        assert text.endswith("[... 9,000 more characters cut: the result was 10,000 long]")
    finally:
        server.close()


def test_result_parts_map_to_text() -> None:
    import mcp_types as types

    module = mcp()
    resource = types.TextResourceContents(uri="file:///a.txt", text="inside")
    result = types.CallToolResult(
        content=[
            types.TextContent(type="text", text="hello"),
            types.AudioContent(type="audio", data="AAAA", mime_type="audio/wav"),
            types.EmbeddedResource(type="resource", resource=resource),
            types.ResourceLink(type="resource_link", name="b", uri="file:///b.txt"),
        ]
    )
    assert module._result_value("s", result) == "hello\n[audio audio/wav, 3 bytes]\ninside\n[resource file:///b.txt]"
    structured = types.CallToolResult(content=[], structured_content={"sum": 3})
    assert module._result_value("s", structured) == '{"sum": 3}'
    failed = types.CallToolResult(content=[], is_error=True)
    with pytest.raises(RetryTool, match=r"MCP server 's' reported an error: \(no message\)"):
        module._result_value("s", failed)


def test_arguments_are_validated_by_agentkit_before_they_are_sent(py_server: Any) -> None:
    divide = by_name(py_server)["divide"]
    with pytest.raises(ToolArgumentsError, match=r"\$\.a: expected number, got string"):
        divide.validate({"a": "x", "b": 2})


def test_an_is_error_result_becomes_an_error_naming_the_server(py_server: Any) -> None:
    with pytest.raises(RetryTool, match="MCP server 'calc' reported an error"):
        call(by_name(py_server)["divide"], {"a": 1, "b": 0})


def test_a_crashed_server_gives_an_error_result_and_is_restarted_on_the_next_call() -> None:
    command, args = py_server_args("crash")
    server = mcp().MCPServer.stdio(command, args, name="crashy", timeout=20)
    try:
        tools = by_name(server)
        first = call(tools["pid"], {})
        with pytest.raises(RetryTool, match=r"MCP server 'crashy' failed on 'divide'.*restarted on the next call"):
            call(tools["divide"], {"a": 1, "b": 0})
        second = call(tools["pid"], {})
        assert second != first  # a new process
    finally:
        server.close()


def test_a_hung_call_times_out_with_an_error_and_the_server_is_restarted() -> None:
    command, args = py_server_args("hang")
    server = mcp().MCPServer.stdio(command, args, name="slow", timeout=1.0)
    try:
        tools = by_name(server)
        first = call(tools["pid"], {})
        started = time.monotonic()
        with pytest.raises(RetryTool, match=r"MCP server 'slow' did not answer 'divide' within 1 s"):
            call(tools["divide"], {"a": 1, "b": 0})
        assert time.monotonic() - started < 10
        assert call(tools["pid"], {}) != first
    finally:
        server.close()


def test_a_server_that_never_starts_fails_listing_with_its_name(tmp_path: Path) -> None:
    script = tmp_path / "silent.py"
    script.write_text("import time\ntime.sleep(60)\n")
    module = mcp()
    server = module.MCPServer.stdio(
        py_server_args()[0], [str(script)], name="silent", startup_timeout=1.0, list_timeout=1.0
    )
    try:
        started = time.monotonic()
        with pytest.raises(module.MCPServerError, match="MCP server 'silent' did not start within 1 s"):
            server.tools()
        assert time.monotonic() - started < 15
    finally:
        server.close()


def test_a_missing_program_is_a_clear_error() -> None:
    module = mcp()
    server = module.MCPServer.stdio("/nonexistent/mcp-server", name="ghost")
    with pytest.raises(module.MCPServerError, match="MCP server 'ghost' could not start: FileNotFoundError"):
        server.tools()
    server.close()


def test_colliding_names_get_the_server_name_as_prefix(py_server: Any) -> None:
    command, args = py_server_args()
    other = mcp().MCPServer.stdio(command, args, name="calc2")
    try:
        from agentkit import tool

        @tool
        def pid() -> str:
            """Ours."""
            return "mine"

        agent = Agent(model=ScriptedModel(["done"]), tools=[pid, py_server, other])
        names = agent.tools.names()
        assert names[0] == "pid"
        assert {"calc_pid", "divide", "calc2_divide", "calc2_pid", "pixel", "calc2_pixel"} <= set(names)
        prefixed = mcp().MCPServer.stdio(command, args, name="p", prefix=True)
        assert all(t.name.startswith("p_") for t in prefixed.tools())
        prefixed.close()
    finally:
        other.close()


def test_an_agent_lists_lazily_calls_the_server_and_closes_it(py_server: Any) -> None:
    model = ScriptedModel([[ToolCall(id="c1", name="divide", arguments={"a": 9, "b": 3})], "three"])
    agent = Agent(model=model, tools=[py_server])
    assert py_server._loop is None  # nothing started yet
    result = agent("9/3?")
    assert result.text == "three"
    results = [r for m in agent.messages for r in m.tool_results]
    assert results[0].content == "3.0" and not results[0].is_error
    agent.close()
    assert py_server._loop is None
    model.turns += model.turns  # the same two turns again: after close, the next call starts the server anew
    assert agent("again").text == "three"
    assert py_server._loop is not None


def test_async_with_an_agent_stops_its_servers(py_server: Any) -> None:
    model = ScriptedModel([[ToolCall(id="c1", name="divide", arguments={"a": 9, "b": 3})], "three"])

    async def main() -> str:
        async with Agent(model=model, tools=[py_server]) as agent:
            result = await agent.invoke_async("9/3?")
            assert py_server._loop is not None  # started by the run
        return result.text

    assert asyncio.run(main()) == "three"
    assert py_server._loop is None and py_server._thread is None


def test_calls_arriving_together_share_one_server_start(py_server: Any) -> None:
    pid = by_name(py_server)["pid"]
    py_server.close()

    async def together() -> set[str]:
        return set(await asyncio.gather(*(pid.invoke({}) for _ in range(8))))

    assert len(asyncio.run(together())) == 1


def in_memory_server() -> Any:
    """agentkit's client on an SDK server running in the client's own loop (the SDK's in-memory transport)."""
    import anyio
    from mcp.server.mcpserver import MCPServer as SDKServer

    app = SDKServer("memory")

    @app.tool()
    async def wait() -> str:
        """Answers after a minute."""
        await anyio.sleep(60)
        return "late"

    @app.tool()
    def ping() -> str:
        """pong"""
        return "pong"

    return mcp().MCPServer("memory", lambda: app)


def test_a_caller_that_gives_up_cancels_its_call_and_the_server_stays_usable(caplog: Any) -> None:
    server = in_memory_server()
    cancelled = threading.Event()
    original = server._call

    async def watched(remote: str, arguments: dict[str, Any]) -> Any:
        try:
            return await original(remote, arguments)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server._call = watched
    try:
        tools = by_name(server)

        async def give_up() -> None:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(tools["wait"].invoke({}), 0.2)

        asyncio.run(give_up())  # the caller's loop is closed before the server's task ends
        assert cancelled.wait(10), "the call kept running on the server's loop"
        assert call(tools["ping"], {}) == "pong"
    finally:
        server.close()
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


def test_a_call_hops_once_each_way_without_concurrent_futures(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_coroutine_threadsafe + wrap_future put a concurrent Future and two chained callbacks between the loops;
    handing the outcome straight back measured about 25 us less per call (benchmarks/RESULTS.md)."""
    server = in_memory_server()
    try:
        tools = by_name(server)

        def refused(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("a tool call went through a concurrent Future")

        monkeypatch.setattr(asyncio, "run_coroutine_threadsafe", refused)
        monkeypatch.setattr(asyncio, "wrap_future", refused)
        assert call(tools["ping"], {}) == "pong"
        assert call(tools["ping"], {}) == "pong"  # a second loop
    finally:
        monkeypatch.undo()
        server.close()


def test_everything_server_over_stdio() -> None:
    server = mcp().MCPServer.stdio(npm_bin("mcp-server-everything"), ["stdio"])
    try:
        tools = by_name(server)
        assert server.name == "mcp-server-everything"
        assert call(tools["echo"], {"message": "hi"}) == "Echo: hi"
        assert "3" in call(tools["get-sum"], {"a": 1, "b": 2})
        assert "[image image/png" in call(tools["get-tiny-image"], {})
        with pytest.raises(ToolArgumentsError, match="'message' is a required property"):
            tools["echo"].validate({})
    finally:
        server.close()


@pytest.mark.parametrize(("transport", "path"), [("streamableHttp", "/mcp"), ("sse", "/sse")])
def test_everything_server_over_http(transport: str, path: str) -> None:
    launcher = npm_bin("mcp-server-everything")
    port = free_port()
    proc = subprocess.Popen(
        [launcher, transport],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, timeout=20)
        module = mcp()
        make = module.MCPServer.http if transport == "streamableHttp" else module.MCPServer.sse
        server = make(f"http://127.0.0.1:{port}{path}", headers={"X-Test": "1"})
        assert server.name == "127_0_0_1"
        tools = by_name(server)
        assert call(tools["echo"], {"message": "over http"}) == "Echo: over http"
        server.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_filesystem_server_reads_a_file_in_its_root(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("hello from a file\n")
    server = mcp().MCPServer.stdio(npm_bin("mcp-server-filesystem"), [str(tmp_path)])
    try:
        tools = by_name(server)
        assert server.name == "mcp-server-filesystem"
        assert "hello from a file" in call(tools["read_text_file"], {"path": str(tmp_path / "note.txt")})
        with pytest.raises(RetryTool, match=r"reported an error.*(denied|outside)"):
            call(tools["read_text_file"], {"path": "/etc/hostname"})
    finally:
        server.close()


def refused_listing(server: Any, match: str, *servers: Any) -> pytest.ExceptionInfo[Exception]:
    """List `server`'s tools, which must fail with an MCPServerError matching `match`; then close it and shut the
    HTTP `servers` down."""
    try:
        with pytest.raises(mcp().MCPServerError, match=match) as caught:
            server.tools()
        return caught
    finally:
        server.close()
        for httpd in servers:
            httpd.shutdown()


def recording_server() -> tuple[Any, list[dict[str, Any]], str]:
    """A plain HTTP server that records each request and refuses it (HTTP 500); see `http_server`."""
    httpd, seen, origin = http_server({})
    return httpd, seen, origin + "/mcp"


def test_http_headers_and_auth_are_sent() -> None:
    """The listing fails with the server's name, and the headers we asked for were on the wire."""
    import httpx2

    httpd, seen, url = recording_server()
    module = mcp()
    server = module.MCPServer.http(url, headers={"X-Api-Key": "k1"}, auth=httpx2.BasicAuth("u", "p"), name="gw")
    refused_listing(server, "MCP server 'gw'", httpd)
    assert seen and seen[0]["X-Api-Key"] == "k1" and seen[0]["Authorization"].startswith("Basic ")


def test_sigv4_signs_requests_for_an_agentcore_gateway() -> None:
    """What arrived carries a SigV4 signature for bedrock-agentcore that botocore's own signer, verifying the
    request as received (method, path, signed headers, body) with the same secret, computes identically."""
    boto3 = pytest.importorskip("boto3")
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    httpd, seen, url = recording_server()
    module = mcp()
    session = boto3.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalrXUtnFEMI", aws_session_token="tok"
    )
    server = module.MCPServer.http(url, auth=module.SigV4("us-west-2", session=session), name="gateway")
    refused_listing(server, "MCP server 'gateway'", httpd)
    got = seen[0]
    algorithm, _, fields = got["Authorization"].partition(" ")
    parts = dict(field.strip().split("=", 1) for field in fields.split(","))
    assert algorithm == "AWS4-HMAC-SHA256"
    assert parts["Credential"] == f"AKIDEXAMPLE/{got['X-Amz-Date'][:8]}/us-west-2/bedrock-agentcore/aws4_request"
    assert got["X-Amz-Security-Token"] == "tok"
    signed = parts["SignedHeaders"].split(";")
    assert {"host", "x-amz-date", "content-type", "x-amz-security-token"} <= set(signed)
    received = {k: v for k, v in got.items() if k.lower() in signed}
    origin = url.rsplit("/", 1)[0]
    request = AWSRequest(method=got["_method"], url=origin + got["_path"], data=got["_body"], headers=received)
    request.context["timestamp"] = got["X-Amz-Date"]
    signer = SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI", "tok"), "bedrock-agentcore", "us-west-2")
    canonical = signer.canonical_request(request)
    assert signer.signed_headers(signer.headers_to_sign(request)) == parts["SignedHeaders"]
    assert signer.signature(signer.string_to_sign(request, canonical), request) == parts["Signature"]
    wrong = SigV4Auth(Credentials("AKIDEXAMPLE", "other-secret", "tok"), "bedrock-agentcore", "us-west-2")
    assert wrong.signature(wrong.string_to_sign(request, canonical), request) != parts["Signature"]


def http_server(redirects: dict[str, str]) -> tuple[Any, list[dict[str, Any]], str]:
    """A server that answers a path in `redirects` with a 307 to its target, and records every other request
    (its headers, and its method, path and body under `_method`, `_path` and `_body`) and refuses it (HTTP
    500); also returns its origin."""
    import http.server

    seen: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = redirects.get(self.path)
            if target is None:
                seen.append({**dict(self.headers), "_method": self.command, "_path": self.path, "_body": body})
            self.send_response(307 if target else 500)
            if target:
                self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, seen, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_a_redirect_to_another_origin_is_refused_and_sends_no_credentials_there(transport: str) -> None:
    """httpx drops only `Authorization` on a cross-origin redirect; a SigV4 session token or an API key would
    have gone along. The redirect is refused and the error says why."""
    elsewhere, reached, elsewhere_origin = http_server({})
    here, _, here_origin = http_server({"/mcp": elsewhere_origin + "/mcp"})
    module = mcp()
    make = module.MCPServer.http if transport == "http" else module.MCPServer.sse
    server = make(here_origin + "/mcp", headers={"X-Api-Key": "secret", "X-Amz-Security-Token": "tok"}, name="gw")
    caught = refused_listing(server, "redirect to another origin", here, elsewhere)
    assert "MCP server 'gw'" in str(caught.value)
    assert reached == []  # nothing at all reached the other origin


def test_a_redirect_within_the_servers_origin_is_followed_with_its_headers() -> None:
    httpd, seen, origin = http_server({"/old": "/mcp"})
    module = mcp()
    server = module.MCPServer.http(origin + "/old", headers={"X-Api-Key": "k1"}, name="gw")
    refused_listing(server, "MCP server 'gw'", httpd)
    assert seen and (seen[0]["_method"], seen[0]["_path"], seen[0]["X-Api-Key"]) == ("POST", "/mcp", "k1")
