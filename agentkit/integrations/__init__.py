"""Bridges to other agent frameworks. Each bridge loads on first use, so its SDK is imported only then.

`from agentkit.integrations import StrandsModel` (or `agentkit.integrations.strands`) needs the `strands` extra;
`MCPServer` (`agentkit.integrations.mcp`) needs the `mcp` extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "MCPServer": "agentkit.integrations.mcp",
    "MCPServerError": "agentkit.integrations.mcp",
    "SigV4": "agentkit.integrations.mcp",
    "oauth_client_credentials": "agentkit.integrations.mcp",
    "sigv4_auth": "agentkit.integrations.mcp",
    "AgentkitModelProvider": "agentkit.integrations.strands",
    "AgentkitStrandsTool": "agentkit.integrations.strands",
    "StrandsModel": "agentkit.integrations.strands",
    "from_strands_tool": "agentkit.integrations.strands",
    "to_strands_tool": "agentkit.integrations.strands",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from agentkit.integrations.mcp import MCPServer as MCPServer
    from agentkit.integrations.mcp import MCPServerError as MCPServerError
    from agentkit.integrations.mcp import SigV4 as SigV4
    from agentkit.integrations.mcp import oauth_client_credentials as oauth_client_credentials
    from agentkit.integrations.mcp import sigv4_auth as sigv4_auth
    from agentkit.integrations.strands import (
        AgentkitModelProvider as AgentkitModelProvider,
    )
    from agentkit.integrations.strands import (
        AgentkitStrandsTool as AgentkitStrandsTool,
    )
    from agentkit.integrations.strands import (
        StrandsModel as StrandsModel,
    )
    from agentkit.integrations.strands import (
        from_strands_tool as from_strands_tool,
    )
    from agentkit.integrations.strands import (
        to_strands_tool as to_strands_tool,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit.integrations' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
