"""`agentkit run ... --mcp` / `--mcp-config` and `agentkit tools list --mcp`, as a user runs them (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp_support import NPM_PREFIX, PY_SERVER, npm_bin, py_server_args

pytestmark = pytest.mark.integration


def agentkit(
    *args: str, home: Path, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTKIT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        input=stdin,
    )


def echo_transcript(tmp_path: Path) -> Path:
    turns = [
        {"text": '<tool_call>\n{"name": "echo", "arguments": {"message": "via mcp"}}\n</tool_call>'},
        {"text": "The server said it."},
    ]
    path = tmp_path / "echo.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in turns))
    return path


def tool_results(stdout: str) -> list[dict[str, object]]:
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [e for e in events if e.get("kind") == "tool_result"]


def test_run_with_an_npm_server_calls_its_tool(tmp_path: Path) -> None:
    server = npm_bin("mcp-server-everything")
    replay = f"replay:{echo_transcript(tmp_path)}"
    run = agentkit("run", "assistant", "echo it", "-m", replay, "--json", "--mcp", f"{server} stdio", home=tmp_path)
    assert run.returncode == 0, run.stderr
    results = tool_results(run.stdout)
    assert results and results[0]["content"] == "Echo: via mcp" and not results[0]["is_error"], run.stdout


def test_run_with_an_mcp_config_file(tmp_path: Path) -> None:
    server = npm_bin("mcp-server-everything")
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"everything": {"command": server, "args": ["stdio"]}}}))
    replay = f"replay:{echo_transcript(tmp_path)}"
    run = agentkit("run", "assistant", "echo", "-m", replay, "--json", "--mcp-config", str(config), home=tmp_path)
    assert run.returncode == 0, run.stderr
    assert tool_results(run.stdout)[0]["content"] == "Echo: via mcp"


def test_tools_list_shows_an_mcp_servers_tools(tmp_path: Path) -> None:
    command, args = py_server_args()
    run = agentkit("tools", "list", "--mcp", " ".join([command, *args]), home=tmp_path)
    assert run.returncode == 0, run.stderr
    names = [line.split()[0] for line in run.stdout.splitlines()]
    assert names == ["divide", "pid", "repeat", "read", "environment", "pixel"]  # in the order the server lists them


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"servers": {}}', 'expected an object with "mcpServers"'),
        ('{"mcpServers": {"x": {"args": []}}}', "server 'x': give it a \"command\""),
        ("[" * 100_000, "nesting is deeper than the limit"),  # hostile: was a RecursionError traceback
        ('{"mcpServers": {}, "pad": "' + "x" * (1 << 20) + '"}', "larger than 1048576 bytes"),
        ('{"mcpServers": {"x": {"command": "s", "sandbox": {"net": true}}}}', 'unknown "sandbox" key(s) net'),
        ('{"mcpServers": {"x": {"command": "s", "sandbox": {"read": "/a"}}}}', '"read" must be a list of paths'),
    ],
    ids=["truncated", "no-mcpServers", "no-command", "deeply-nested", "huge", "sandbox-key", "sandbox-read"],
)
def test_a_bad_mcp_config_is_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "bad.json"
    config.write_text(content)
    py_server_args()  # needs the SDK
    run = agentkit("tools", "list", "--mcp-config", str(config), home=tmp_path)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert message in run.stderr


def test_a_server_that_cannot_start_is_one_clear_line(tmp_path: Path) -> None:
    py_server_args()
    run = agentkit("tools", "list", "--mcp", "/nonexistent/server --flag", home=tmp_path)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "MCP server 'server' could not start: FileNotFoundError" in run.stderr


def test_config_entries_pick_their_transport() -> None:
    py_server_args()  # needs the SDK
    from agentkit.cli.mcp_options import mcp_servers

    config = {
        "mcpServers": {
            "local": {"command": "npx", "args": ["-y", "x"], "env": {"A": "1"}},
            "remote": {"url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer t"}},
            "old": {"type": "sse", "url": "http://127.0.0.1:1/sse"},
        }
    }
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
    try:
        servers = mcp_servers(("python3 s.py",), f.name)
    finally:
        os.unlink(f.name)
    assert [s.name for s in servers] == ["s", "local", "remote", "old"]
    assert [s.transport for s in servers] == ["stdio", "stdio", "http", "sse"]


def test_a_resumed_session_starts_the_same_mcp_servers(tmp_path: Path) -> None:
    server = npm_bin("mcp-server-everything")
    call = {"text": '<tool_call>\n{"name": "echo", "arguments": {"message": "again"}}\n</tool_call>'}
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(call) + "\n")  # no answer turn: the run stops with an error after the call
    args = ["run", "assistant", "go", "-m", f"replay:{first}", "--json", "--session", "mcp-resume"]
    run = agentkit(*args, "--mcp", f"{server} stdio", home=tmp_path)
    assert tool_results(run.stdout)[0]["content"] == "Echo: again"
    second = tmp_path / "second.jsonl"
    second.write_text(json.dumps(call) + "\n" + json.dumps({"text": "done"}) + "\n")
    resumed = agentkit(
        "sessions", "resume", "mcp-resume", "once more", "-m", f"replay:{second}", "--json", home=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    assert tool_results(resumed.stdout)[0]["content"] == "Echo: again"


def test_chat_with_an_npm_server_calls_its_tool(tmp_path: Path) -> None:
    server = npm_bin("mcp-server-everything")
    replay = f"replay:{echo_transcript(tmp_path)}"
    chat = agentkit("chat", "assistant", "-m", replay, "--mcp", f"{server} stdio", home=tmp_path, stdin="echo it\n")
    assert chat.returncode == 0, chat.stderr
    assert "Echo: via mcp" in chat.stdout + chat.stderr


def read_transcript(tmp_path: Path, *paths: str) -> Path:
    calls = [{"name": "read", "arguments": {"path": p}} for p in paths]
    turns = [{"text": "".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in calls)}, {"text": "read."}]
    path = tmp_path / "read.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in turns))
    return path


def test_mcp_sandbox_confines_a_stdio_server_to_its_folder(tmp_path: Path) -> None:
    """--mcp-sandbox: the server reads its working folder (read-only) and nothing beside it."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "server.py").write_text(PY_SERVER.read_text())
    (work / "inside.txt").write_text("inside text")
    (tmp_path / "secret.txt").write_text("outside text")
    for path in (tmp_path, work):
        path.chmod(0o755)
    command, _ = py_server_args()
    replay = f"replay:{read_transcript(tmp_path, 'inside.txt', str(tmp_path / 'secret.txt'))}"
    args = ["run", "assistant", "read", "-m", replay, "--json", "--mcp-sandbox", "--mcp", f"{command} server.py"]
    run = agentkit(*args, home=tmp_path, cwd=work)
    assert run.returncode == 0, run.stderr
    inside, outside = tool_results(run.stdout)
    assert inside["content"] == "inside text" and not inside["is_error"]
    assert outside["is_error"] and "outside text" not in str(outside["content"])


def test_an_mcp_config_entry_confined_with_its_grants(tmp_path: Path) -> None:
    server = npm_bin("mcp-server-everything")
    entry = {"command": server, "args": ["stdio"], "sandbox": {"read": [str(NPM_PREFIX)]}}
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"everything": entry}}))
    replay = f"replay:{echo_transcript(tmp_path)}"
    run = agentkit("run", "assistant", "echo", "-m", replay, "--json", "--mcp-config", str(config), home=tmp_path)
    assert run.returncode == 0, run.stderr
    assert tool_results(run.stdout)[0]["content"] == "Echo: via mcp"


@pytest.mark.parametrize(
    "entry, named",
    [
        ({"command": "x", "env": {"A=B": "1"}}, "'A=B'"),
        ({"command": "x", "env": {"": "1"}}, "''"),
        ({"command": "x", "env": {"A": "1\u0000"}}, "'A'"),
        ({"url": "http://127.0.0.1:1/mcp", "headers": {"X-A": "v\r\nInjected: 1"}}, "'X-A'"),
    ],
)
def test_a_config_env_or_header_the_os_or_http_cannot_carry_is_named(
    tmp_path: Path, entry: dict[str, object], named: str
) -> None:
    from agentkit.cli.mcp_options import mcp_servers
    from agentkit.errors import ConfigError

    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"s": entry}}))
    with pytest.raises(ConfigError) as caught:
        mcp_servers((), str(config))
    assert "server 's'" in str(caught.value) and f"entry {named}" in str(caught.value)
