"""An MCP server protected by OAuth, written with the official Python SDK (its resource-server auth: bearer tokens
checked by a TokenVerifier, 401 with protected-resource metadata), with a tiny authorization server on the same
origin that issues tokens for the client_credentials grant: `python oauth_server.py PORT`.

Client `agentkit` / secret `s3cret` gets a token; the MCP endpoint is http://127.0.0.1:PORT/mcp."""

from __future__ import annotations

import base64
import secrets
import sys

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from starlette.requests import Request
from starlette.responses import JSONResponse

PORT = int(sys.argv[1])
ORIGIN = f"http://127.0.0.1:{PORT}"
CLIENTS = {"agentkit": "s3cret"}
STATIC = "static-bearer-token"  # what a user with a token from elsewhere (a gateway's IdP) sends as a header
issued: set[str] = {STATIC}


class Verifier:
    async def verify_token(self, token: str) -> AccessToken | None:
        if token not in issued:
            return None
        return AccessToken(token=token, client_id="agentkit", scopes=["tools"], resource=f"{ORIGIN}/mcp")


server = MCPServer(
    "oauth-server",
    token_verifier=Verifier(),
    auth=AuthSettings(issuer_url=ORIGIN, resource_server_url=f"{ORIGIN}/mcp", required_scopes=["tools"]),
)


@server.tool()
def whoami() -> str:
    """Says that the call was authorized."""
    return "authorized"


@server.custom_route("/.well-known/oauth-authorization-server", methods=["GET"])
async def metadata(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "issuer": ORIGIN,
            "authorization_endpoint": f"{ORIGIN}/authorize",
            "token_endpoint": f"{ORIGIN}/token",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["code"],
        }
    )


@server.custom_route("/token", methods=["POST"])
async def token(request: Request) -> JSONResponse:
    form = await request.form()
    client_id, secret = form.get("client_id"), form.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.startswith("Basic "):
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    if form.get("grant_type") != "client_credentials" or CLIENTS.get(str(client_id)) != secret:
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    access = secrets.token_urlsafe(16)
    issued.add(access)
    return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "scope": "tools"})


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(server.streamable_http_app(stateless_http=True), host="127.0.0.1", port=PORT, log_level="warning")
