"""`agentkit deploy agentcore AGENT --protocol MCP`: manifests for AgentCore's MCP protocol contract (the agent as
one MCP tool on 0.0.0.0:8000/mcp, stateless streamable HTTP), validated like the HTTP ones, and the image's command
run here on loopback and driven by the official SDK's client with the headers AgentCore forwards."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mcp_support import free_port, require_sdk, wait_for_port

from agentkit import deploy
from agentkit.errors import ConfigError


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    require_sdk()  # requirements.txt pins the mcp extra, so it must be installed here
    return deploy.render(
        deploy.DeployConfig(
            agent="assistant", name="assistant_mcp", account="123456789012", protocol="MCP", observability=False
        )
    )


def test_mcp_manifests_name_the_protocol_port_and_command(files: dict[str, str]) -> None:
    deploy.validate(files)  # botocore's model of CreateAgentRuntime, the IAM checks, cfn-lint
    assert json.loads(files["runtime.json"])["protocolConfiguration"] == {"serverProtocol": "MCP"}
    template = yaml.safe_load(files["template.yaml"].split("\n", 1)[1])
    assert template["Resources"]["Runtime"]["Properties"]["ProtocolConfiguration"] == "MCP"
    toolkit = yaml.safe_load(files[".bedrock_agentcore.yaml"])["agents"]["assistant_mcp"]
    assert toolkit["aws"]["protocol_configuration"] == {"server_protocol": "MCP"}
    assert "EXPOSE 8000" in files["Dockerfile"]
    assert 'CMD ["agentkit", "mcp", "serve", "--agent", "assistant", "--http", "0.0.0.0:8000"]' in files["Dockerfile"]
    pins = files["requirements.txt"]
    assert "agentkit[bedrock,serve,mcp]" in pins and "\nmcp==" in pins
    assert "--protocol MCP" in files["README.md"] and "POST /mcp" in files["README.md"]


def test_an_unknown_protocol_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="protocol 'A2A' is not one of HTTP, MCP"):
        deploy.render(deploy.DeployConfig(agent="assistant", name="x", account="123456789012", protocol="A2A"))


def test_the_images_command_serves_the_agent_as_a_tool_with_agentcore_headers(
    files: dict[str, str], tmp_path: Path
) -> None:
    import mcp

    command = json.loads(files["Dockerfile"].rsplit("CMD ", 1)[1])
    port = free_port()
    command[-1] = f"127.0.0.1:{port}"  # loopback here; 0.0.0.0 in the container
    transcript = tmp_path / "answer.jsonl"
    transcript.write_text(json.dumps({"text": "served"}) + "\n")
    argv = [sys.executable, "-m", *command, "--model", f"replay:{transcript}"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    headers = {"Mcp-Session-Id": "platform-0001", "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "r" * 40}

    async def main() -> tuple[list[str], str]:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        async with (
            httpx2.AsyncClient(headers=headers) as http,
            mcp.Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client,
        ):
            names = [t.name for t in (await client.list_tools()).tools]
            answer = await client.call_tool("assistant", {"prompt": "hi"})
            return names, answer.content[0].text

    try:
        wait_for_port(port, proc, timeout=30)
        assert asyncio.run(main()) == (["assistant"], "served")
    finally:
        proc.terminate()
        proc.wait(10)
