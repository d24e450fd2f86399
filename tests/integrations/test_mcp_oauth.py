"""agentkit's MCP client against an OAuth-protected server written with the official Python SDK (its resource-server
auth) and a loopback authorization server: a bearer token in headers, the client_credentials grant through
`oauth_client_credentials` (the SDK's OAuth client: discovery, token request, retry), and refusals that name
the server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp_support import free_port, require_sdk, wait_for_port

pytestmark = pytest.mark.integration

OAUTH_SERVER = Path(__file__).parent / "mcp_servers" / "oauth_server.py"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    require_sdk()
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(OAUTH_SERVER), str(port)], stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()
        proc.wait()


def whoami(server: Any) -> Any:
    try:
        tool = {t.name: t for t in server.tools()}["whoami"]
        return asyncio.run(tool.invoke({}))
    finally:
        server.close()


def test_a_bearer_token_in_headers_is_accepted(url: str) -> None:
    from agentkit.integrations.mcp import MCPServer

    server = MCPServer.http(url, headers={"Authorization": "Bearer static-bearer-token"}, name="gateway")
    assert whoami(server) == "authorized"


def test_the_client_credentials_grant_gets_a_token_and_calls(url: str) -> None:
    from agentkit.integrations.mcp import MCPServer, oauth_client_credentials

    auth = oauth_client_credentials(url, "agentkit", "s3cret", scope="tools")
    assert whoami(MCPServer.http(url, auth=auth, name="gateway")) == "authorized"
    assert auth.context.current_tokens is not None  # obtained through discovery and the token endpoint


def test_without_a_token_or_with_a_wrong_secret_the_error_names_the_server(url: str) -> None:
    from agentkit.integrations.mcp import MCPServer, MCPServerError, oauth_client_credentials

    refused = r"MCP server 'gateway' could not start: .*HTTP 401 Unauthorized: check the token or credentials"
    with pytest.raises(MCPServerError, match=refused):
        whoami(MCPServer.http(url, headers={"Authorization": "Bearer wrong"}, name="gateway"))
    auth = oauth_client_credentials(url, "agentkit", "wrong-secret")
    with pytest.raises(MCPServerError, match=refused):
        whoami(MCPServer.http(url, auth=auth, name="gateway", startup_timeout=10))


def test_client_credentials_need_an_id_and_a_secret() -> None:
    require_sdk()
    from agentkit.errors import ConfigError
    from agentkit.integrations.mcp import oauth_client_credentials

    with pytest.raises(ConfigError, match="needs the app client's id and secret"):
        oauth_client_credentials("http://127.0.0.1:1/mcp", "", "")
