"""Hooks: functions the loop calls before and after each model call and each tool call.

    agent = Agent(model=..., tools=[...])

    @agent.hooks.on("before_tool_call")
    def no_rm(call: ToolCall) -> ToolCall | ToolResult | None:
        if "rm -rf" in str(call.arguments):
            return ToolResult(call_id=call.id, name=call.name, content="refused: no rm -rf", is_error=True)
        return None  # None keeps the call as it is

A hook may be a plain function or a coroutine function. It returns None to keep what it was given, or a
replacement:

- `before_model_call(request: ModelRequest)`: a ModelRequest (other messages, tools or settings for this call
  only; the conversation itself is never changed, so build a new list rather than editing `request.messages`).
  `request.messages` is what the turn would be sent: the context view (agentkit.context), already reduced to
  fit the window; when the backend still finds it too long, the reduced retry comes through these hooks again;
- `after_model_call(message: Message)`: a Message (the assistant turn the conversation keeps, calls included);
- `before_tool_call(call: ToolCall)`: a ToolCall (amended arguments, validated as usual), or a ToolResult
  (the call does not run; the model reads that result instead);
- `after_tool_call(call: ToolCall, result: ToolResult)`: a ToolResult;
- `on_tool_result(result: ToolResult)`: nothing (it observes). Called as each result is final: after the
  `after_tool_call` hooks, for denied and unrun calls too. A plain function, not a coroutine: it runs at once,
  even while the run is being cancelled. The Agent's own `on_tool_result` method, which records the result in
  the session, is the first of these on every run (a subclass extends that method to keep state beside it).

Hooks run in the order they were added.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar, get_args

from agentkit.errors import ConfigError
from agentkit.messages import Message, ToolCall, ToolResult
from agentkit.models.base import ModelSettings
from agentkit.tooling import ToolDefinition

__all__ = ["HookName", "Hooks", "ModelRequest"]

HookName = Literal["before_model_call", "after_model_call", "before_tool_call", "after_tool_call", "on_tool_result"]
_NAMES: tuple[str, ...] = get_args(HookName)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(slots=True, kw_only=True)
class ModelRequest:
    """What one model call is about to be sent."""

    messages: list[Message]
    tools: list[ToolDefinition]
    settings: ModelSettings


class Hooks:
    """The hooks of one agent, by name."""

    def __init__(self) -> None:
        self._hooks: dict[str, list[Callable[..., Any]]] = {name: [] for name in _NAMES}

    def add(self, name: HookName, fn: Callable[..., Any]) -> None:
        if name not in self._hooks:
            raise ConfigError(f"unknown hook {name!r}; use one of {', '.join(_NAMES)}")
        if not callable(fn):
            raise ConfigError(f"a {name} hook must be callable, not {type(fn).__name__}")
        if name == "on_tool_result" and inspect.iscoroutinefunction(fn):
            raise ConfigError("an on_tool_result hook must be a plain function: it runs at once, not awaited")
        self._hooks[name].append(fn)

    def on(self, name: HookName) -> Callable[[F], F]:
        """Decorator form of `add`."""

        def register(fn: F) -> F:
            self.add(name, fn)
            return fn

        return register

    def __bool__(self) -> bool:
        return any(self._hooks.values())

    def has(self, name: HookName) -> bool:
        return bool(self._hooks[name])

    def copy(self) -> Hooks:
        twin = Hooks()
        twin._hooks = {name: list(fns) for name, fns in self._hooks.items()}
        return twin

    def with_first(self, name: HookName, fn: Callable[..., Any]) -> Hooks:
        """A copy with `fn` run before the hooks of `name` (the Agent's own on_tool_result, for one run)."""
        twin = self.copy()
        twin.add(name, fn)
        twin._hooks[name].insert(0, twin._hooks[name].pop())
        return twin

    def tool_result(self, result: ToolResult) -> None:
        for fn in self._hooks["on_tool_result"]:
            fn(result)

    async def before_model_call(self, request: ModelRequest) -> ModelRequest:
        for fn in self._hooks["before_model_call"]:
            request = _checked(await _call(fn, replace(request)), ModelRequest, "before_model_call") or request
        return request

    async def after_model_call(self, message: Message) -> Message:
        for fn in self._hooks["after_model_call"]:
            message = _checked(await _call(fn, message), Message, "after_model_call") or message
        return message

    async def before_tool_call(self, call: ToolCall) -> ToolCall | ToolResult:
        for fn in self._hooks["before_tool_call"]:
            amended = await _call(fn, call)
            if isinstance(amended, ToolResult):
                return amended
            call = _checked(amended, ToolCall, "before_tool_call") or call
        return call

    async def after_tool_call(self, call: ToolCall, result: ToolResult) -> ToolResult:
        for fn in self._hooks["after_tool_call"]:
            result = _checked(await _call(fn, call, result), ToolResult, "after_tool_call") or result
        return result


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    value = fn(*args)
    if inspect.isawaitable(value):
        value = await value
    return value


T = TypeVar("T")


def _checked(value: Any, kind: type[T], name: str) -> T | None:
    if value is None or isinstance(value, kind):
        return value
    raise ConfigError(f"a {name} hook returned {type(value).__name__}; return None or a {kind.__name__}")
