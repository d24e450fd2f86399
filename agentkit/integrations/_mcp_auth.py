"""Authentication for MCP servers over HTTP (an AgentCore Gateway, or any OAuth-protected server).

- `SigV4(region)` (also `sigv4_auth`): signs each request with AWS SigV4 by botocore's own signer, for a gateway
  created with IAM authorization.
- `oauth_client_credentials(url, client_id, client_secret)`: the official SDK's OAuth client (protected-resource
  and authorization-server discovery, the client_credentials grant, a fresh token when one is refused), for a
  gateway whose inbound authorizer takes JWTs (a Cognito or other IdP app client). A token obtained elsewhere goes
  in `headers={"Authorization": "Bearer ..."}` instead.

Both are `httpx2.Auth` objects for `MCPServer.http(url, auth=...)`; their libraries are imported when one is made.
"""

from __future__ import annotations

from typing import Any

from agentkit.errors import ConfigError, MissingExtra

__all__ = ["SigV4", "oauth_client_credentials", "sigv4_auth"]


def sigv4_auth(region: str, *, service: str = "bedrock-agentcore", session: Any = None) -> Any:
    """An `httpx2.Auth` that signs each request with AWS SigV4, for an AgentCore Gateway created with IAM
    authorization: `MCPServer.http(gateway_url, auth=sigv4_auth("us-west-2"))`. Credentials come from `session`
    (a boto3 Session), else boto3's default chain, and are read afresh per request (so refreshed ones are used)."""
    try:
        import boto3
        import httpx2
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
    except ImportError:
        raise MissingExtra("boto3", "bedrock") from None
    credentials = (session or boto3.Session()).get_credentials()
    if credentials is None:
        raise ConfigError("no AWS credentials found for SigV4 signing: configure them (aws configure, AWS_PROFILE)")

    class _SigV4(httpx2.Auth):
        requires_request_body = True

        def auth_flow(self, request: Any) -> Any:
            signed = AWSRequest(
                method=request.method, url=str(request.url), data=request.content, headers=dict(request.headers)
            )
            SigV4Auth(credentials.get_frozen_credentials(), service, region).add_auth(signed)
            request.headers.update(dict(signed.headers))
            yield request

    return _SigV4()


SigV4 = sigv4_auth  # `MCPServer.http(gateway_url, auth=SigV4("us-west-2"))` reads as the issue of this feature wrote it


def oauth_client_credentials(url: str, client_id: str, client_secret: str, *, scope: str | None = None) -> Any:
    """An `httpx2.Auth` that gets (and renews) an OAuth access token for the MCP server at `url` with the
    client_credentials grant, through the SDK's `ClientCredentialsOAuthProvider`; tokens are kept in memory."""
    try:
        from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
    except ImportError:
        raise MissingExtra("the MCP SDK (mcp)", "mcp") from None
    if not client_id or not client_secret:
        raise ConfigError("oauth_client_credentials needs the app client's id and secret (from your IdP)")
    return ClientCredentialsOAuthProvider(url, _MemoryTokens(), client_id, client_secret, scope=scope)


class _MemoryTokens:
    """The SDK's TokenStorage, in memory: tokens live as long as the server object."""

    def __init__(self) -> None:
        self.tokens: Any = None
        self.client_info: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info
