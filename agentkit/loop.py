"""The agent loop: model -> tool calls -> validate -> execute -> results -> model, as a flat async generator.

One run is `AgentLoop.run(messages)`. It appends to `messages` (never copies or rewrites them) and yields
`AgentEvent`s; the last one is `RunEnd` with the `AgentResult`. The loop never recurses and does no
whole-history work per turn, so a 10,000-turn run costs 10,000 times one turn.

Bad calls never reach a tool and never end the run: an unreadable call, an unknown tool, arguments that fail
the schema, a tool that raises or times out, each becomes an error `ToolResult` the model reads and can act
on. The same call failing the same way `max_repeated_failures` times stops the run ("repeated_tool_error").
Limits (turns, tool calls, tokens, a deadline) and `cancel()` stop the run with a stop reason and a result
holding everything done so far; they never raise.

Model text goes through `agentkit.parsing.recover_tool_calls` when the backend declares a `text_format`, so
a `<tool_call>` or Harmony call left in the text is still executed.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio

from agentkit import strict_json
from agentkit.context import ContextManager, ContextReduced
from agentkit.errors import ContextOverflow, RetryTool, ToolArgumentsError, clip
from agentkit.hooks import Hooks, ModelRequest
from agentkit.messages import (
    Message,
    ReasoningDelta,
    StopReason,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    ToolResult,
    TurnEnd,
    Usage,
    new_call_id,
)
from agentkit.models.base import Model, ModelSettings, ToolChoice, with_text_calls
from agentkit.tool_threads import Patience, patience
from agentkit.tooling import InProcessExecutor, ToolExecutor, ToolRegistry, tool_result_text

if TYPE_CHECKING:
    from agentkit.telemetry import RunTrace

__all__ = [
    "AgentEvent",
    "AgentLoop",
    "AgentResult",
    "ApprovalRequired",
    "ContextReduced",
    "Decision",
    "Limits",
    "MessageEvent",
    "NestedEvent",
    "ReasoningEvent",
    "RunEnd",
    "TextEvent",
    "ToolCallStarted",
    "ToolResultEvent",
]

_MAX_ERROR_CHARS = 4000  # an error result the model reads back, whatever a tool put in its message


@dataclass(slots=True, kw_only=True)
class Limits:
    """When a run stops. None means no limit."""

    max_turns: int | None = 100
    max_tool_calls: int | None = 1000
    max_total_tokens: int | None = None
    deadline: float | None = None  # seconds for the whole run
    tool_timeout: float | None = 120.0  # per call, unless the tool sets its own
    max_concurrent_tools: int = 8
    max_repeated_failures: int = 3


@dataclass(slots=True, kw_only=True)
class AgentResult:
    """What a run produced: the final text, the whole conversation, and what it cost."""

    text: str
    # repr=False: asyncio reprs finished tasks (signal.getsignal does, once per run); keep that O(1)
    messages: list[Message] = field(repr=False)
    tool_calls: list[ToolCall] = field(repr=False)
    tool_results: list[ToolResult] = field(repr=False)
    usage: Usage
    stop_reason: StopReason
    turns: int
    duration: float
    detail: str | None = None  # why a limit stopped the run, in words
    output: Any = None  # the validated answer of a run asked for a type (agent(prompt, output=...))

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "stop_reason": self.stop_reason,
            "detail": self.detail,
            "turns": self.turns,
            "duration": round(self.duration, 6),
            "usage": {"input_tokens": self.usage.input_tokens, "output_tokens": self.usage.output_tokens},
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls],
        }


# ---- events ----------------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class TextEvent:
    text: str
    kind: Literal["text"] = "text"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text}


@dataclass(slots=True, kw_only=True)
class ReasoningEvent:
    text: str
    kind: Literal["reasoning"] = "reasoning"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text}


@dataclass(slots=True, kw_only=True)
class ToolCallStarted:
    call: ToolCall
    kind: Literal["tool_call"] = "tool_call"

    def to_dict(self) -> dict[str, Any]:
        c = self.call
        return {"kind": self.kind, "id": c.id, "name": c.name, "arguments": c.arguments}


@dataclass(slots=True, kw_only=True)
class ToolResultEvent:
    result: ToolResult
    kind: Literal["tool_result"] = "tool_result"

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {"kind": self.kind, "id": r.call_id, "name": r.name, "content": r.content, "is_error": r.is_error}


@dataclass(slots=True, kw_only=True)
class MessageEvent:
    """A message was appended to the conversation (an assistant turn, or a batch of tool results)."""

    message: Message
    turn: int
    usage: Usage = field(default_factory=Usage)
    kind: Literal["message"] = "message"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "turn": self.turn, "message": self.message.to_dict()}


@dataclass(slots=True, kw_only=True)
class ApprovalRequired:
    """The run paused: these calls run only once a person approves them (Agent.resume(approve=...))."""

    calls: list[ToolCall]
    kind: Literal["approval_required"] = "approval_required"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.calls],
        }


@dataclass(slots=True, kw_only=True)
class NestedEvent:
    """An event of another agent that a tool call of this run ran (`Agent.as_tool`), yielded as it happens."""

    agent: str
    event: Any  # an AgentEvent of the inner run
    kind: Literal["nested"] = "nested"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "agent": self.agent, "event": self.event.to_dict()}


@dataclass(slots=True, kw_only=True)
class RunEnd:
    result: AgentResult
    kind: Literal["done"] = "done"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.result.to_dict()}


AgentEvent = (
    TextEvent
    | ReasoningEvent
    | ToolCallStarted
    | ToolResultEvent
    | MessageEvent
    | ApprovalRequired
    | NestedEvent
    | ContextReduced
    | RunEnd
)

# A decision on a call that needs approval: True runs it; a string denies it, and the model reads the reason.
Decision = bool | str


# ---- the loop --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _RunState:
    started: float
    turns: int = 0
    usage: Usage = field(default_factory=Usage)
    calls: list[ToolCall] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    failures: dict[tuple[str, str, str], int] = field(default_factory=dict)
    stop: StopReason | None = None
    detail: str | None = None
    first_settings: ModelSettings | None = None  # the first model turn's, when the call overrides them
    emit_nested: Callable[[NestedEvent], None] | None = None  # where agents run as tools send their events
    # cancel() reaches the agents running as this run's tools through these (agent_tool registers them)
    cancelled: bool = False
    cancel_nested: set[Callable[..., None]] = field(default_factory=set)


# The run whose tool calls are executing: an agent run as a tool adds its usage and events to it.
current_run: contextvars.ContextVar[_RunState | None] = contextvars.ContextVar("agentkit_current_run", default=None)


class AgentLoop:
    """Runs one agent run over a conversation; holds no conversation state of its own."""

    def __init__(
        self,
        model: Model,
        tools: ToolRegistry,
        *,
        settings: ModelSettings | None = None,
        limits: Limits | None = None,
        executor: ToolExecutor | None = None,
        hooks: Hooks | None = None,
        needs_approval: Callable[[ToolCall], bool] | None = None,
        trace: RunTrace | None = None,
        context: ContextManager | None = None,
    ) -> None:
        self.model = model
        self.tools = tools
        self.settings = settings or ModelSettings()
        self.limits = limits or Limits()
        self.executor = executor or InProcessExecutor()
        self.hooks = hooks if hooks else None  # None when empty; each kind is skipped when it has no hook
        self.needs_approval = needs_approval or self._tool_requires_approval
        self.trace = trace  # OpenTelemetry spans (agentkit.telemetry); None when off: no tracing work at all
        self._decisions: dict[str, Decision] = {}
        self._cancelled = False
        self._abandoned = False
        self._state: _RunState | None = None
        self._definitions = tools.definitions()
        self.context = context  # what each turn is sent, within the window (agentkit.context); None: everything

    def cancel(self, *, now: bool = False) -> None:
        """Stop at the next step; the run ends with stop reason "cancelled". With `now`, a task cancellation
        that follows no longer waits for tool calls already running on threads (their results are lost)."""
        self._cancelled = True
        self._abandoned = self._abandoned or now
        if self._state is not None:
            self._state.cancelled = True
            for cancel_nested in list(self._state.cancel_nested):
                cancel_nested(now=now)

    def run(
        self,
        messages: list[Message],
        *,
        completed: dict[str, ToolResult] | None = None,
        tool_choice: ToolChoice | None = None,
        decisions: dict[str, Decision] | None = None,
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run until the model answers without calls or a limit stops it.

        If the last message is an assistant turn whose calls have no results yet (a resumed session),
        those calls run first; `completed` holds results already recorded for some of them. `tool_choice`
        applies to this run's first model turn only; later turns use the settings'. A batch holding a call
        that `needs_approval` and has no entry in `decisions` is not run: the run yields ApprovalRequired and
        ends ("approval_required"), the batch left unanswered for a later run with the decisions.
        """
        events = self._run(messages, completed, tool_choice, decisions)
        return events if self.trace is None else self.trace.agent_run(events)

    async def _run(
        self,
        messages: list[Message],
        completed: dict[str, ToolResult] | None,
        tool_choice: ToolChoice | None,
        decisions: dict[str, Decision] | None,
    ) -> AsyncGenerator[AgentEvent, None]:
        self._decisions = dict(decisions or {})
        state = self._state = _RunState(started=time.monotonic())
        if tool_choice is not None:
            state.first_settings = dataclasses.replace(self.settings, tool_choice=tool_choice)
        last = messages[-1] if messages else None
        calls = last.tool_calls if last is not None and last.role == "assistant" else []
        done = completed or {}
        while True:
            if calls:  # one batch of tool calls (the phases are inlined: one generator fewer per turn)
                pending = self._admitted(calls, done, state)
                waiting = [c for c in pending if c.id not in self._decisions and self.needs_approval(c)]
                if waiting:
                    names = ", ".join(c.name for c in waiting)
                    state.stop, state.detail = "approval_required", f"waiting for approval of {names}"
                    yield ApprovalRequired(calls=waiting)
                    break
                for call in pending:
                    yield ToolCallStarted(call=call)
                if any(getattr(self.tools.get(c.name), "nests_events", False) for c in pending):
                    box: list[Message] = []
                    async for nested in self._run_batch_live(calls, pending, done, state, box):
                        yield nested
                    message = box[0]
                else:
                    message = await self._run_batch(calls, pending, done, state)
                for result in message.tool_results:
                    yield ToolResultEvent(result=result)
                # appended only now, next to its MessageEvent (which the session records): a consumer that
                # stops at a result leaves the conversation and its transcript alike
                messages.append(message)
                yield MessageEvent(message=message, turn=state.turns)
                done = {}
                if state.stop is None and self._answered(calls, message.tool_results):
                    state.stop = "end_turn"
            if state.stop is not None or self._limit_reached(state):
                break
            async for event in self._model_turn(messages, state):
                yield event
            if state.stop is not None:
                break
            calls = messages[-1].tool_calls
        yield RunEnd(result=self._result(messages, state))

    # ---- one model turn ---------------------------------------------------------------------------

    async def _model_turn(self, messages: list[Message], state: _RunState) -> AsyncIterator[AgentEvent]:
        """One model turn; when the backend finds it over the window, the view is reduced and it runs again once."""
        try:
            async for event in self._model_phase(messages, state):
                yield event
            return
        except ContextOverflow as exc:
            if self.context is None:
                raise
            self.context.overflowed(exc, self.settings)
            state.turns -= 1
        try:
            async for event in self._model_phase(messages, state):
                yield event
        except ContextOverflow as exc:
            state.stop, state.detail = "context_overflow", f"still over the context window after reducing: {exc}"

    async def _model_phase(self, messages: list[Message], state: _RunState) -> AsyncIterator[AgentEvent]:
        state.turns += 1
        text: list[str] = []
        reasoning: list[str] = []
        signature: str | None = None
        calls: list[ToolCall] = []
        end = TurnEnd()
        settings = state.first_settings if state.first_settings and state.turns == 1 else self.settings
        sent, definitions = messages, self._definitions
        if self.context is not None:
            sent, reduced = await self.context.prepare(messages, self.model, settings)
            if reduced is not None:
                state.usage.add(reduced.usage)  # a summary the model wrote
                yield reduced
        if self.hooks is not None and self.hooks.has("before_model_call"):
            request = await self.hooks.before_model_call(
                ModelRequest(messages=list(sent), tools=definitions, settings=settings)
            )
            sent, definitions, settings = request.messages, request.tools, request.settings
        raw = self.model.stream(sent, definitions, settings)
        stream = aiter(with_text_calls(raw, self.model, definitions))
        if self.trace is not None:
            stream = self.trace.chat(stream, self.model, settings)
        try:
            while (event := await self._next_event(stream, state)) is not None:
                if isinstance(event, TextDelta):
                    text.append(event.text)
                    yield TextEvent(text=event.text)
                elif isinstance(event, ReasoningDelta):
                    reasoning.append(event.text)
                    signature = event.signature or signature
                    yield ReasoningEvent(text=event.text)
                elif isinstance(event, ToolCallEvent):
                    calls.append(_bounded(_with_unique_id(event.call, calls)))
                elif isinstance(event, TurnEnd):
                    end = event
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        message = Message(
            role="assistant",
            content="".join(text),
            reasoning="".join(reasoning) or None,
            reasoning_signature=signature,
            tool_calls=calls,
            meta=end.meta,
        )
        if self.hooks is not None and self.hooks.has("after_model_call"):
            message = await self.hooks.after_model_call(message)
            calls = message.tool_calls
        messages.append(message)
        state.usage.add(end.usage)
        if self.context is not None:
            self.context.observe(end.usage)
        yield MessageEvent(message=message, turn=state.turns, usage=end.usage)
        if state.stop is None and not calls:
            state.stop = end.stop_reason if end.stop_reason not in ("tool_use", "stop_sequence") else "end_turn"

    async def _next_event(self, stream: AsyncIterator[StreamEvent], state: _RunState) -> StreamEvent | None:
        """The stream's next event; None at its end, or when cancel() or the deadline stops the turn."""
        if self._cancelled:
            state.stop, state.detail = "cancelled", "cancelled while the model was answering"
            return None
        deadline = self.limits.deadline
        try:
            if deadline is None:
                return await anext(stream)
            with anyio.move_on_after(max(deadline - (time.monotonic() - state.started), 0)):
                return await anext(stream)
        except StopAsyncIteration:
            return None
        state.stop, state.detail = "deadline", f"the {deadline:g} s deadline passed mid-turn"
        return None

    # ---- one batch of tool calls -------------------------------------------------------------------

    def _admitted(self, calls: list[ToolCall], done: dict[str, ToolResult], state: _RunState) -> list[ToolCall]:
        """The calls to run now: within the tool-call budget, and not already answered (a resumed batch)."""
        budget = self.limits.max_tool_calls
        allowed = len(calls) if budget is None else max(0, budget - len(state.calls))
        return [c for c in calls[:allowed] if c.id not in done]

    async def _run_batch(
        self, calls: list[ToolCall], pending: list[ToolCall], done: dict[str, ToolResult], state: _RunState
    ) -> Message:
        """Run `pending`, answer calls over the budget with an error, and return the results in call order."""
        results = dict(done)
        token = current_run.set(state)
        try:
            outcomes = await self._execute_all(pending, self._time_left(state))
        finally:
            current_run.reset(token)
        for call, result in zip(pending, outcomes, strict=True):
            results[call.id] = result
        budget = self.limits.max_tool_calls
        for call in calls:
            if call.id not in results:  # neither run now nor answered before: over the budget
                unrun = "not run: the tool-call limit was reached"
                results[call.id] = self._finished(
                    ToolResult(call_id=call.id, name=call.name, content=unrun, is_error=True)
                )
                state.stop, state.detail = "max_tool_calls", f"the limit of {budget} tool calls was reached"
        ordered = [results[c.id] for c in calls]
        state.calls.extend(calls)
        state.results.extend(ordered)
        self._count_failures(calls, ordered, state)
        return Message.tool(ordered)

    async def _run_batch_live(
        self,
        calls: list[ToolCall],
        pending: list[ToolCall],
        done: dict[str, ToolResult],
        state: _RunState,
        box: list[Message],
    ) -> AsyncIterator[NestedEvent]:
        """`_run_batch` (its message put in `box`), yielding the events of agents run as tools as they happen."""
        queue: asyncio.Queue[NestedEvent | None] = asyncio.Queue()
        state.emit_nested = queue.put_nowait
        batch = asyncio.ensure_future(self._run_batch(calls, pending, done, state))
        batch.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            box.append(await batch)
        finally:
            state.emit_nested = None
            if not batch.done():  # the run was cancelled or closed meanwhile: so is the batch
                batch.cancel()
                await asyncio.wait({batch})

    def _time_left(self, state: _RunState) -> float | None:
        if self.limits.deadline is None:
            return None
        return max(0.0, self.limits.deadline - (time.monotonic() - state.started))

    async def _execute_all(self, calls: list[ToolCall], time_left: float | None) -> list[ToolResult]:
        if len(calls) <= 1:
            return [await self._execute(call, time_left) for call in calls]
        results: list[ToolResult | None] = [None] * len(calls)
        limiter = anyio.CapacityLimiter(self.limits.max_concurrent_tools)

        async def run_one(index: int, call: ToolCall) -> None:
            async with limiter:
                results[index] = await self._execute(call, time_left)

        async with anyio.create_task_group() as group:
            for index, call in enumerate(calls):
                group.start_soon(run_one, index, call)
        return [r for r in results if r is not None]

    async def _execute(self, call: ToolCall, time_left: float | None = None) -> ToolResult:
        """Validate and run one call (through the tool-call hooks); every failure becomes an error result."""
        if self.trace is None:
            return await self._execute_call(call, time_left)
        with self.trace.tool(call) as span:
            return span.result(await self._execute_call(call, time_left))

    async def _execute_call(self, call: ToolCall, time_left: float | None) -> ToolResult:
        decision = self._decisions.get(call.id, True)
        if decision is not True:
            reason = decision if isinstance(decision, str) and decision else "no reason given"
            denied = f"the user denied this call: {reason}. Do not retry it as is."
            return self._finished(ToolResult(call_id=call.id, name=call.name, content=denied, is_error=True))
        if self.hooks is None or not (self.hooks.has("before_tool_call") or self.hooks.has("after_tool_call")):
            result, outlasted = await self._run_call(call, time_left)
        else:
            amended = await self.hooks.before_tool_call(call)
            if isinstance(amended, ToolResult):
                result, outlasted = dataclasses.replace(amended, call_id=call.id, name=call.name), False
            else:
                result, outlasted = await self._run_call(dataclasses.replace(amended, id=call.id), time_left)
            result = await self.hooks.after_tool_call(call, result)
        self._finished(result)
        if outlasted:  # recorded above; now honour the cancellation that came while it ran
            raise asyncio.CancelledError
        return result

    async def _run_call(self, call: ToolCall, time_left: float | None) -> tuple[ToolResult, bool]:
        """The call's result, and whether a cancellation came while it ran (tool_threads.patience)."""

        def error(text: str) -> ToolResult:
            content = clip(text, _MAX_ERROR_CHARS)
            return ToolResult(call_id=call.id, name=call.name, content=content, is_error=True)

        if call.invalid_reason:
            reason = f"could not read this tool call: {call.invalid_reason}. Send it again in the documented format."
            return error(reason), False
        tool = self.tools.get(call.name)
        if tool is None:
            available = ", ".join(self.tools.names()) or "(none)"
            return error(f"unknown tool {clip(repr(call.name), 100)}; available tools: {available}"), False
        try:
            arguments = tool.validate(call.arguments, coerce=call.strings_only)
        except ToolArgumentsError as exc:
            return error(f"{exc}\nFix the arguments and call {call.name!r} again."), False
        own = tool.timeout if tool.timeout is not None else self.limits.tool_timeout
        timeout = own if time_left is None else (time_left if own is None else min(own, time_left))
        # asyncio.timeout rather than anyio.move_on_after: same effect, at a third of the cost per call
        scope = asyncio.timeout(timeout)
        # A call on a thread cannot be stopped: if this run is cancelled meanwhile, wait for it (within its
        # timeout) so its result is recorded and a resumed run does not call it again (tool_threads.patience).
        deadline = math.inf if timeout is None else asyncio.get_running_loop().time() + timeout
        care = Patience(deadline, lambda: self._abandoned)
        token = patience.set(care)
        try:
            async with scope:
                value = await self.executor.execute(tool, arguments)
        except RetryTool as exc:
            result = error(str(exc))
        except Exception as exc:
            if not scope.expired():  # a tool's own TimeoutError is the tool's failure, not ours
                result = error(f"tool {call.name!r} raised {type(exc).__name__}: {exc}")
            elif own is None or (time_left is not None and time_left < own):
                result = error(f"tool {call.name!r} was stopped: the run's {self.limits.deadline:g} s deadline passed")
            else:
                result = error(f"tool {call.name!r} timed out after {own:g} s")
        else:
            result = ToolResult(call_id=call.id, name=call.name, content=tool_result_text(value))
        finally:
            patience.reset(token)
        return result, care.outlasted

    def _answered(self, calls: list[ToolCall], results: list[ToolResult]) -> bool:
        """Whether a call to a tool that ends the run (a final answer) succeeded."""
        for call, result in zip(calls, results, strict=True):
            tool = self.tools.get(call.name)
            if tool is not None and tool.ends_run and not result.is_error:
                return True
        return False

    def _tool_requires_approval(self, call: ToolCall) -> bool:
        tool = self.tools.get(call.name)
        return tool is not None and tool.requires_approval

    def _finished(self, result: ToolResult) -> ToolResult:
        if self.hooks is not None:
            self.hooks.tool_result(result)  # the Agent's session records it here (durable sessions)
        return result

    # ---- limits --------------------------------------------------------------------------------------

    def _count_failures(self, calls: Iterable[ToolCall], results: Iterable[ToolResult], state: _RunState) -> None:
        for call, result in zip(calls, results, strict=True):
            if not result.is_error:
                continue
            key = (call.name, _arguments_key(call.arguments), result.content)
            state.failures[key] = count = state.failures.get(key, 0) + 1
            if count >= self.limits.max_repeated_failures and state.stop is None:
                state.stop = "repeated_tool_error"
                state.detail = f"the call to {call.name!r} failed the same way {count} times: {result.content[:200]}"

    def _limit_reached(self, state: _RunState) -> bool:
        limits = self.limits
        if self._cancelled:
            state.stop, state.detail = "cancelled", "cancelled"
        elif limits.max_turns is not None and state.turns >= limits.max_turns:
            state.stop, state.detail = "max_turns", f"the limit of {limits.max_turns} model turns was reached"
        elif limits.max_total_tokens is not None and state.usage.total_tokens >= limits.max_total_tokens:
            state.stop, state.detail = "max_tokens", f"the budget of {limits.max_total_tokens} tokens was spent"
        elif limits.deadline is not None and time.monotonic() - state.started >= limits.deadline:
            state.stop, state.detail = "deadline", f"the {limits.deadline:g} s deadline passed"
        return state.stop is not None

    def _result(self, messages: list[Message], state: _RunState) -> AgentResult:
        text = ""
        for message in reversed(messages):
            if message.role == "assistant":
                text = message.content
                break
        return AgentResult(
            text=text,
            messages=messages,
            tool_calls=state.calls,
            tool_results=state.results,
            usage=state.usage,
            stop_reason=state.stop or "end_turn",
            turns=state.turns,
            duration=time.monotonic() - state.started,
            detail=state.detail,
        )


def _arguments_key(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    try:
        return json.dumps(arguments, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(arguments)


# A call's arguments are recorded in the session: within these, so the record always reads back (sessions read
# records within depth 256 and 1,000,000 values) and no tool is handed a structure no schema describes.
_ARGUMENT_LIMITS = strict_json.Limits(max_depth=64, max_values=100_000, max_number_digits=4300)


def _bounded(call: ToolCall) -> ToolCall:
    """`call`, or, when its arguments nest deeper or hold more than `_ARGUMENT_LIMITS`, an invalid call without
    them (the model is told why, as for arguments that are not JSON)."""
    if isinstance(call.arguments, str) or call.invalid_reason or _plainly_small(call.arguments):
        return call
    try:
        strict_json.loads(json.dumps(call.arguments), _ARGUMENT_LIMITS)
    except (strict_json.JSONError, ValueError, TypeError, RecursionError) as exc:
        reason = f"its arguments are outside what agentkit accepts ({exc})"
        return dataclasses.replace(call, arguments={}, raw=None, invalid_reason=reason)
    return call


def _plainly_small(arguments: object) -> bool:
    """The common call, checked without `_bounded`'s round trip (which costs ~20 us a call): a dict of at most
    1,000 scalars, every string encodable (no lone surrogate), every number finite and short."""
    if not isinstance(arguments, dict) or len(arguments) > 1000:
        return False
    for key, value in arguments.items():
        for text in (key, value) if isinstance(value, str) else (key,):
            if not isinstance(text, str) or (not text.isascii() and not _encodable(text)):
                return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if isinstance(value, int) and value.bit_length() > 4000:  # about 1,200 digits
            return False
        if not isinstance(value, (str, int, float)) and value is not None:  # bool is an int
            return False
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _with_unique_id(call: ToolCall, earlier: list[ToolCall]) -> ToolCall:
    """A backend that repeats a call id (or sends none) would make results overwrite each other."""
    if call.id and all(c.id != call.id for c in earlier):
        return call
    return dataclasses.replace(call, id=new_call_id())
