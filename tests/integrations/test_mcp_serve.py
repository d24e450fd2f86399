"""`agentkit mcp serve`, driven by the official MCP Python SDK's client over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp_support import free_port, npm_bin, require_sdk, wait_for_port

pytestmark = pytest.mark.integration


def stdio_params(*args: str) -> Any:
    require_sdk()
    import mcp

    return mcp.StdioServerParameters(command=sys.executable, args=["-m", "agentkit", "mcp", "serve", *args])


async def session_calls(target: Any) -> dict[str, Any]:
    import mcp

    async with mcp.Client(target) as client:
        tools = (await client.list_tools()).tools
        ok = await client.call_tool("calculator", {"expression": "6*7"})
        bad = await client.call_tool("calculator", {"expression": 42})
        unknown = await client.call_tool("nope", {})
        return {"tools": tools, "ok": ok, "bad": bad, "unknown": unknown}


def check(answers: dict[str, Any]) -> None:
    tools = {t.name: t for t in answers["tools"]}
    assert set(tools) == {"calculator", "read_file"}
    assert tools["calculator"].input_schema["required"] == ["expression"]
    ok = answers["ok"]
    assert not ok.is_error and json.loads(ok.content[0].text)["result"] == "42"
    bad = answers["bad"]
    assert bad.is_error and "$.expression: expected string, got integer" in bad.content[0].text
    assert answers["unknown"].is_error and "unknown tool 'nope'" in answers["unknown"].content[0].text


def test_serve_over_stdio_validates_and_runs_calls() -> None:
    check(asyncio.run(session_calls(stdio_params("calculator", "read_file"))))


def test_serve_over_streamable_http(tmp_path: Path) -> None:
    require_sdk()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "mcp", "serve", "calculator", "read_file", "--http", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        wait_for_port(port, proc, timeout=30)
        check(asyncio.run(session_calls(f"http://127.0.0.1:{port}/mcp")))
    finally:
        proc.terminate()
        proc.wait(10)


def test_hostile_http_bodies_get_json_rpc_errors_and_the_server_keeps_serving() -> None:
    """100,000 nested brackets and a 600,000-character argument: a parse error and a clipped argument error,
    then ordinary calls still work."""
    import httpx

    require_sdk()
    port = free_port()
    argv = [sys.executable, "-m", "agentkit", "mcp", "serve", "calculator", "read_file", "--http", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}/mcp"
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    huge = call | {"params": {"name": "calculator", "arguments": {"expression": "1+" * 300_000 + "1"}}}
    try:
        wait_for_port(port, proc, timeout=30)
        nested = httpx.post(url, content=b"[" * 100_000, headers=headers, timeout=30)
        assert nested.status_code == 400 and nested.json()["error"]["code"] == -32700
        answer = httpx.post(url, json=huge, headers=headers, timeout=30)
        assert answer.status_code == 200
        assert "at most 1,000 allowed" in answer.text and len(answer.text) < 5_000
        check(asyncio.run(session_calls(url)))
    finally:
        proc.terminate()
        proc.wait(10)


def test_agentkit_client_against_agentkit_server() -> None:
    require_sdk()
    from agentkit.integrations.mcp import MCPServer

    server = MCPServer.stdio(sys.executable, ["-m", "agentkit", "mcp", "serve", "calculator"], name="self")
    try:
        (calculator,) = server.tools()
        assert json.loads(asyncio.run(calculator.invoke({"expression": "2**10"})))["result"] == "1024"
    finally:
        server.close()


def test_unknown_tool_names_and_a_bad_address_are_clear_errors() -> None:
    require_sdk()
    run = subprocess.run(
        [sys.executable, "-m", "agentkit", "mcp", "serve", "nope"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1 and "unknown tool 'nope': give a registered tool (calculator" in run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "agentkit", "mcp", "serve", "--http", "localhost"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "expected HOST:PORT" in run.stderr


def test_the_http_server_accepts_agentcore_session_headers_from_agentkits_client() -> None:
    """AgentCore forwards a platform-made Mcp-Session-Id and its runtime session id; a stateless server takes both."""
    require_sdk()
    from agentkit.integrations.mcp import MCPServer

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "mcp", "serve", "calculator", "--http", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    headers = {"Mcp-Session-Id": "platform-made-0001", "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "s" * 33}
    server = MCPServer.http(f"http://127.0.0.1:{port}/mcp", headers=headers, startup_timeout=30)
    try:
        wait_for_port(port, proc, timeout=30)
        (calculator,) = server.tools()
        assert json.loads(asyncio.run(calculator.invoke({"expression": "1+1"})))["result"] == "2"
    finally:
        server.close()
        proc.terminate()
        proc.wait(10)


def test_an_agent_served_as_one_tool(tmp_path: Path) -> None:
    transcript = tmp_path / "answer.jsonl"
    transcript.write_text(json.dumps({"text": "forty-two"}) + "\n")
    params = stdio_params("--agent", "assistant", "-m", f"replay:{transcript}")
    params.env = {**os.environ, "AGENTKIT_HOME": str(tmp_path)}

    async def main() -> tuple[list[str], Any, Any]:
        import mcp

        async with mcp.Client(params) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            answer = await client.call_tool("assistant", {"prompt": "the answer?"})
            bad = await client.call_tool("assistant", {})
            return names, answer, bad

    names, answer, bad = asyncio.run(main())
    assert names == ["assistant"]
    assert not answer.is_error and answer.content[0].text == "forty-two"
    assert bad.is_error and "'prompt' is a required property" in bad.content[0].text


def inspector(*args: str) -> Any:
    launcher = npm_bin("mcp-inspector")
    command = [launcher, "--cli", sys.executable, "-m", "agentkit", "mcp", "serve", "calculator", *args]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_mcp_inspector_cli_lists_and_calls_our_tools() -> None:
    listed = inspector("--method", "tools/list")
    assert [t["name"] for t in listed["tools"]] == ["calculator"]
    answer = inspector("--method", "tools/call", "--tool-name", "calculator", "--tool-arg", "expression=6*7")
    assert answer["isError"] is False and json.loads(answer["content"][0]["text"])["result"] == "42"
    refused = inspector("--method", "tools/call", "--tool-name", "calculator", "--tool-arg", "nope=1")
    assert refused["isError"] is True and "'expression' is a required property" in refused["content"][0]["text"]


TOOLS_FILE = '''
from agentkit.tooling import Needs, tool


@tool
def shout(text: str) -> str:
    """The text in capitals."""
    return text.upper()


@tool(needs=Needs(isolated=True))
def peek(path: str) -> str:
    """The text of a file, read inside the sandbox (which grants no folder)."""
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _helper() -> None:
    pass
'''


def served_calls(*serve_args: str, calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[Any]]:
    async def main() -> tuple[list[str], list[Any]]:
        import mcp

        async with mcp.Client(stdio_params(*serve_args)) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            return names, [await client.call_tool(name, args) for name, args in calls]

    return asyncio.run(main())


def test_a_py_files_tools_are_served_with_the_sandbox_in_front(tmp_path: Path) -> None:
    """`agentkit mcp serve my_tools.py`: its Tools are offered; an isolated one runs in the sandbox, where a file
    we can read is out of its reach."""
    module = tmp_path / "my_tools.py"
    module.write_text(TOOLS_FILE)
    secret = tmp_path / "secret.txt"
    secret.write_text("host-only")
    names, (loud, peeked) = served_calls(
        str(module), calls=[("shout", {"text": "hi"}), ("peek", {"path": str(secret)})]
    )
    assert names == ["shout", "peek"]
    assert not loud.is_error and loud.content[0].text == "HI"
    assert peeked.is_error and "host-only" not in peeked.content[0].text
    assert "FileNotFoundError" in peeked.content[0].text or "PermissionError" in peeked.content[0].text


def test_a_modules_named_tools_and_an_agents_tools_are_served() -> None:
    names, (answer,) = served_calls(
        "agentkit.tools.calculator:calculator_tool", calls=[("calculator", {"expression": "2**5"})]
    )
    assert names == ["calculator"] and json.loads(answer.content[0].text)["result"] == "32"
    names, _ = served_calls("--agent-tools", "assistant", calls=[])
    assert {"calculator", "weather", "read_file", "list_files"} <= set(names)


def test_a_tool_spec_that_names_nothing_is_one_clear_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    for spec, message in [
        ("no_such_tool", "unknown tool 'no_such_tool'"),
        (str(empty), "holds no tools"),
        (f"{empty}:Y", "defines no 'Y'"),
        (str(tmp_path / "missing.py"), "does not exist"),
    ]:
        run = subprocess.run(
            [sys.executable, "-m", "agentkit", "mcp", "serve", spec], capture_output=True, text=True, timeout=60
        )
        assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
        assert message in run.stderr, run.stderr
