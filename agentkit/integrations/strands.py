"""Strands Agents interop, both ways, for tools and for models (extra: `pip install 'agentkit[strands]'`).

- `to_strands_tool(tool)`: an agentkit Tool inside `strands.Agent(tools=[...])`, validated by agentkit.
- `from_strands_tool(obj)`: an `@strands.tool` function, a TOOL_SPEC module (e.g. `strands_tools.file_read`)
  or any Strands AgentTool inside `agentkit.Agent(tools=[...])`, validated against its JSON schema.
- `AgentkitModelProvider(model)`: an agentkit backend as a `strands.models.Model`, with text tool-call
  recovery, so `strands.Agent(model=AgentkitModelProvider(local_qwen))` runs tools a model wrote as text.
- `StrandsModel(strands_model)`: a Strands provider (BedrockModel, OpenAIModel, ...) as an agentkit Model.

Importing this module imports strands; `import agentkit` and `import agentkit.integrations` do not.
"""

from __future__ import annotations

try:
    import strands  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from agentkit.errors import MissingExtra

    raise MissingExtra("strands-agents", "strands") from exc

from agentkit.integrations._strands_model import StrandsModel
from agentkit.integrations._strands_provider import AgentkitModelProvider
from agentkit.integrations._strands_tools import AgentkitStrandsTool, from_strands_tool, to_strands_tool

__all__ = ["AgentkitModelProvider", "AgentkitStrandsTool", "StrandsModel", "from_strands_tool", "to_strands_tool"]
