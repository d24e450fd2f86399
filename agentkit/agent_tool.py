"""`Agent.as_tool()`: one agent callable by another as a tool.

Each call runs a fresh clone of the agent (its own model, tools, limits and conversation), so concurrent calls
never share a conversation. When the agent has a session, each call is recorded in a session of its own beside
it (`<session>.<call id>.jsonl`, listed by `agentkit sessions list`); the caller's transcript holds only the call
and its answer. The inner run's usage is
added to the calling run's, and its events reach the caller's stream as `NestedEvent`s as they happen (the loop
runs a batch holding such a call as a task and yields what it sends meanwhile). The caller's `cancel()` reaches
the inner run (through `loop.current_run`), which stops with "cancelled" at its next step; its session, when it
has one, can be resumed.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from agentkit.errors import RetryTool
from agentkit.loop import AgentResult, NestedEvent, RunEnd, current_run
from agentkit.tooling import Tool

if TYPE_CHECKING:
    from agentkit.agent import Agent

__all__ = ["agent_as_tool"]


def agent_as_tool(agent: Agent, *, name: str | None = None, description: str | None = None) -> Tool:
    tool_name = name or agent.name
    summary = description or agent.system_prompt or f"Ask the {agent.name} agent."
    schema = {
        "type": "object",
        "properties": {"prompt": {"type": "string", "description": "what to ask the agent"}},
        "required": ["prompt"],
    }

    async def ask(prompt: str) -> str:
        parent = current_run.get()
        result: AgentResult | None = None
        inner = _clone(agent)
        if parent is not None:  # the caller's cancel() stops this run at its next step too
            parent.cancel_nested.add(inner.cancel)
        try:
            async for event in inner.stream(prompt):
                if parent is not None and parent.cancelled:  # a cancel that came before the inner run began
                    inner.cancel()
                if isinstance(event, RunEnd):
                    result = event.result
                elif parent is not None and parent.emit_nested is not None:
                    parent.emit_nested(NestedEvent(agent=tool_name, event=event))
        finally:
            if parent is not None:
                parent.cancel_nested.discard(inner.cancel)
            if inner.session is not None:
                inner.session.close()  # only the session: the clone shares the agent's tool sources
        if result is None:  # unreachable: a run always ends with RunEnd
            raise RetryTool(f"the {tool_name} agent ended without an answer")
        if parent is not None:
            parent.usage.add(result.usage)
        if result.stop_reason not in ("end_turn", "max_tokens"):
            resumable = f" (its session {inner.session.id} can be resumed)" if inner.session is not None else ""
            raise RetryTool(
                f"the {tool_name} agent stopped ({result.stop_reason}: {result.detail}){resumable}; {result.text}"
            )
        return result.text

    wrapped = Tool.from_schema(tool_name, summary, schema, ask)
    wrapped.nests_events = True  # the loop streams this call's events as they come
    return wrapped


def _clone(agent: Agent) -> Agent:
    """A fresh clone; with a session of its own beside the agent's, when the agent has one."""
    if agent.session is None:
        return agent.clone()
    path = agent.session.path
    return agent.clone(session=path.with_name(f"{path.stem}.{uuid.uuid4().hex[:12]}.jsonl"))
