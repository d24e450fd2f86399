"""Agent: a model, tools, a system prompt and limits, with the call shapes users know from Strands.

    agent = Agent(model="qwen.qwen3-coder-480b-a35b-v1:0", tools=[add], system_prompt="Be brief.")
    result = agent("What is 2 + 3?")              # sync
    result = await agent.invoke_async("...")       # async
    async for event in agent.stream("..."):        # events for UIs; the last is RunEnd
        ...

An Agent keeps its conversation across calls. With `session=NAME` (or a pathlib.Path, or a store's URL such as
"s3://bucket/prefix/ID"), every step is written to a durable transcript first (see agentkit.sessions and
agentkit.session_stores), and a new Agent on the same session continues it, on this machine or another.

Resuming after a crash: if the transcript stops inside a tool batch, `resume()` runs the calls that have
no recorded result again (calls that finished are never re-run, so tools with side effects should be
idempotent or check their own state); giving a new prompt instead answers those calls with an
"interrupted" error result, so the model knows they did not complete.

Long runs: each turn is sent a view of the conversation that fits the model's window (`context=`, default: old
tool results cleared, then the oldest turns left out; `context_window=` overrides the model's window; see
agentkit.context). `agent.messages` and the session keep every message.

One run at a time: a second `invoke_async`/`stream` on an Agent whose run is still going raises
SessionBusy, as does a run on a session another run (of this process or another) is writing; the session's
writer lock is held from the run's first record to its last (see agentkit.sessions).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import socket
import threading
import types
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio

from agentkit.context import ContextManager, ContextReduced, ContextStrategy
from agentkit.errors import AgentkitError, ConfigError, SessionBusy, SessionError
from agentkit.hooks import Hooks
from agentkit.loop import (
    AgentEvent,
    AgentLoop,
    AgentResult,
    ApprovalRequired,
    Decision,
    Limits,
    MessageEvent,
    RunEnd,
    ToolCallStarted,
)
from agentkit.messages import Message, ToolCall, ToolResult
from agentkit.models import resolve_model
from agentkit.models.base import Model, ModelSettings, ToolChoice
from agentkit.sessions import Session
from agentkit.sync_runner import run_sync
from agentkit.telemetry import run_trace
from agentkit.tooling import Tool, ToolExecutor, ToolRegistry, ToolSource

__all__ = ["Agent"]


class Agent:
    """A configured agent. Cheap to create; holds the conversation between calls."""

    def __init__(
        self,
        model: Model | str | None = None,
        tools: Iterable[Tool | Callable[..., Any] | str | types.ModuleType | ToolSource] = (),
        *,
        system_prompt: str | None = None,
        name: str = "agent",
        limits: Limits | None = None,
        settings: ModelSettings | None = None,
        session: str | os.PathLike[str] | Session | None = None,
        executor: ToolExecutor | None = None,
        hooks: Hooks | None = None,
        context: ContextStrategy | bool = True,
        context_window: int | None = None,
    ) -> None:
        # None is resolved when first needed (from the environment), so a caller such as `agentkit run
        # FILE --model X` can still set the model of an agent file that names none.
        self._model: Model | None = None if model is None else resolve_model(model)
        self.tools = ToolRegistry(tools)
        self.system_prompt = system_prompt
        self.name = name
        self.limits = limits or Limits()
        self.settings = settings or ModelSettings()
        self.executor = executor
        self.hooks = hooks or Hooks()  # before/after each model call and tool call (see agentkit.hooks)
        # What each turn sends, within the model's window (see agentkit.context): True uses the default
        # strategy, False sends the whole conversation every turn; `context_window` overrides the model's.
        self.context: ContextManager | None = None
        if context is not False:
            self.context = ContextManager(None if context is True else context, window=context_window)
        self.approval_required: set[str] = set()  # tool names that wait for approval besides their own flag
        self.messages: list[Message] = []
        self._completed: dict[str, ToolResult] = {}
        self._loop: AgentLoop | None = None
        self._running = False
        self.paused_output: Any = None  # (OutputSpec, call ids) of a typed run paused for approval (output.py)
        self.session: Session | None = None
        if system_prompt:
            self.messages.append(Message.system(system_prompt))
        if session is not None:
            self.attach_session(session if isinstance(session, Session) else Session.open(session))

    @property
    def model(self) -> Model:
        """The backend; an agent made without one resolves it from the environment on first use."""
        if self._model is None:
            self._model = resolve_model(None)
        return self._model

    @model.setter
    def model(self, model: Model) -> None:
        self._model = model

    # ---- the public call shapes ----------------------------------------------------------------------

    def __call__(
        self, prompt: str | None = None, *, tool_choice: ToolChoice | None = None, output: Any = None
    ) -> AgentResult:
        """Run synchronously. Inside a running event loop, the run happens in a helper thread.

        `tool_choice` ("auto", "none", "required" or a tool's name) applies to this call's first model turn.
        `output` (a pydantic model, dataclass or JSON schema) puts a validated answer in `result.output`
        (see agentkit.output)."""
        box: dict[str, Any] = {}

        async def run() -> None:  # returns None: the event loop never holds (or reprs) the result
            box["result"] = await self.invoke_async(prompt, tool_choice=tool_choice, output=output)

        try:  # a loop running in this thread (inside a task, or a callback of one) cannot run another
            asyncio.get_running_loop()
        except RuntimeError:
            run_sync(run)
            result: AgentResult = box["result"]
            return result

        def target() -> None:
            try:
                anyio.run(run)
            except BaseException as exc:
                box["error"] = exc

        thread = threading.Thread(target=target, name=f"agentkit-{self.name}")
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]
        threaded: AgentResult = box["result"]
        return threaded

    async def invoke_async(
        self, prompt: str | None = None, *, tool_choice: ToolChoice | None = None, output: Any = None
    ) -> AgentResult:
        if output is not None:
            from agentkit.output import run_with_output

            return await run_with_output(self, prompt, output)
        async with contextlib.aclosing(self.stream(prompt, tool_choice=tool_choice)) as events:
            async for event in events:
                if isinstance(event, RunEnd):
                    return event.result
        raise RuntimeError("the agent loop ended without a result")  # unreachable: RunEnd is always last

    async def stream(
        self,
        prompt: str | None = None,
        *,
        tool_choice: ToolChoice | None = None,
        decisions: dict[str, Decision] | None = None,
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run the agent on a new prompt (or continue the conversation when prompt is None); `tool_choice`
        applies to the first model turn (the agent's `settings.tool_choice` to every turn). `decisions`
        answers pending approvals by call id (True runs the call, a string denies it with that reason)."""
        self._begin_run()
        end: RunEnd | None = None
        try:
            completed: dict[str, ToolResult] = {}
            if prompt is not None:
                self._close_interrupted_batch()
                self._append(Message.user(prompt))
            elif self._has_pending_calls():
                completed = dict(self._completed)
            elif not self.messages or self.messages[-1].role == "assistant":
                raise ConfigError("nothing to run: pass a prompt (the conversation has no unanswered turn)")
            if self.tools.pending:  # an MCP server starts and lists its tools: off the event loop
                await anyio.to_thread.run_sync(self.tools.expand)
            loop = self._new_loop()
            self._loop = loop
            run = loop.run(self.messages, completed=completed, tool_choice=tool_choice, decisions=decisions)
            async with contextlib.aclosing(run) as events:
                async for event in events:
                    self._record(event)
                    if isinstance(event, RunEnd):
                        end = event
                    else:
                        yield event
        except AgentkitError as exc:
            if self.session is not None:  # so `sessions list` says why the run stopped
                self.session.add_error(" ".join(str(exc).split()))
            raise
        finally:
            self._end_run()
        # Last, once the run is wound up: a caller that stops at RunEnd, as
        # invoke_async does, leaves nothing open behind it.
        if end is not None:
            yield end

    async def resume(self, *, approve: Decision | dict[str, Decision] | None = None, output: Any = None) -> AgentResult:
        """Continue an interrupted or paused run from where its transcript stops.

        A run paused for approval (stop reason "approval_required", `pending_approvals`) continues with
        `approve=True` (run them all), a string (deny them all; the model reads the reason) or a dict of
        decisions by call id. A typed run (`output=T`) paused so continues as one, its result's `output` filled;
        in a new process, pass `output=T` again unless T was a JSON schema (see agentkit.output)."""
        if self.messages and self.messages[-1].role == "assistant" and not self.messages[-1].tool_calls:
            raise SessionError("the session's last run finished; pass a new prompt instead of resuming")
        waiting = self.pending_approvals
        if waiting and approve is None:
            names = ", ".join(c.name for c in waiting)
            raise ConfigError(f"calls wait for approval ({names}); resume with approve=True or a deny reason")
        decisions = approve if isinstance(approve, dict) else {c.id: approve for c in waiting if approve is not None}
        from agentkit.output import paused_output, run_with_output

        spec = paused_output(self, output)
        if spec is not None:
            return await run_with_output(self, None, spec, decisions=decisions)
        return await self.continue_run(decisions)

    async def continue_run(self, decisions: dict[str, Decision]) -> AgentResult:
        """Run the conversation on from where it stops, with these approval decisions (resume's plain part)."""
        async with contextlib.aclosing(self.stream(None, decisions=decisions)) as events:
            async for event in events:
                if isinstance(event, RunEnd):
                    return event.result
        raise RuntimeError("the agent loop ended without a result")

    def as_tool(self, *, name: str | None = None, description: str | None = None) -> Tool:
        """This agent as a tool another agent can call (see agentkit.agent_tool)."""
        from agentkit.agent_tool import agent_as_tool

        return agent_as_tool(self, name=name, description=description)

    @property
    def pending_approvals(self) -> list[ToolCall]:
        """The calls of the unanswered batch that wait for a person's approval (kept across restarts)."""
        if not self._has_pending_calls():
            return []
        calls = self.messages[-1].tool_calls
        return [c for c in calls if c.id not in self._completed and self._needs_approval(c)]

    def _needs_approval(self, call: ToolCall) -> bool:
        if call.name in self.approval_required:
            return True
        tool = self.tools.get(call.name)
        return tool is not None and tool.requires_approval

    def close(self) -> None:
        """Close the session transcript and stop the tool sources (MCP servers); the agent can still run:
        the next record reopens the transcript and the next call starts a server again."""
        self.tools.close()
        if self.session is not None:
            self.session.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Agent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await anyio.to_thread.run_sync(self.close)

    def cancel(self, *, now: bool = False) -> None:
        """Stop the current run at its next step (stop reason "cancelled").

        Cancelling the run's task instead stops it at once, except that tool calls running on threads
        (which cannot be stopped) are waited for, within their timeouts, so their results are recorded and
        a resumed run never repeats a finished call. `now=True` gives that wait up as well."""
        if self._loop is not None:
            self._loop.cancel(now=now)

    @contextmanager
    def override(self, *, model: Model | str | None = None) -> Iterator[Agent]:
        """Swap the model for the duration of a `with` block (for tests)."""
        previous = self._model
        self._model = resolve_model(model)
        try:
            yield self
        finally:
            self._model = previous

    def clone(self, *, session: str | os.PathLike[str] | Session | None = None) -> Agent:
        """The same configuration (model, tools, limits, and whatever a subclass adds) with a conversation of
        its own: a fresh one, or the given session's. The original is left untouched."""
        twin = copy.copy(self)
        twin.messages = [Message.system(self.system_prompt)] if self.system_prompt else []
        twin._completed, twin._loop, twin.session, twin._running = {}, None, None, False
        twin.paused_output = None
        if self.context is not None:
            twin.context = ContextManager(self.context.strategy, window=self.context.window_override)
        if session is not None:
            twin.attach_session(session if isinstance(session, Session) else Session.open(session))
        return twin

    def attach_session(self, session: Session) -> None:
        """Make `session` this agent's transcript: continue it if it has messages, else start it."""
        state = session.load()
        self.session = session
        if state.messages:
            self.messages = state.messages
            self._completed = state.completed
            if self.context is not None:
                self.context.restore(state.context)
        else:
            for message in self.messages:
                session.add_message(message)

    def on_tool_result(self, result: ToolResult) -> None:
        """The first `on_tool_result` hook of every run (see agentkit.hooks): called on the event loop as each
        tool result is ready (after the `after_tool_call` hooks), before its batch ends; records it in the
        session. A subclass that keeps state beside the conversation (files a tool edited) extends this to put
        that state on disk, before calling super(), so a result is never recorded without it."""
        self._completed[result.call_id] = result  # until its batch is in the conversation (see _record)
        if self.session is not None:
            self.session.add_result(result)

    # ---- internals -----------------------------------------------------------------------------------

    def _begin_run(self) -> None:
        """Claim the agent (one run at a time) and its session's writer lock; reload the transcript when
        another writer added to it since this agent last read or wrote it."""
        if self._running:
            label = self.session.id if self.session is not None else self.name
            raise SessionBusy(label, f"another run of this Agent, pid {os.getpid()} on {socket.gethostname()}")
        if self.session is not None and self.session.acquire():
            try:
                state = self.session.load()
            except BaseException:
                self.session.release()
                raise
            if state.messages:
                self.messages, self._completed = state.messages, state.completed
                if self.context is not None:
                    self.context.restore(state.context)
        self._running = True

    def _end_run(self) -> None:
        self._loop = None
        self._running = False
        if self.session is not None:
            self.session.release()

    def _new_loop(self) -> AgentLoop:
        return AgentLoop(
            self.model,
            self.tools,
            settings=self.settings,
            limits=self.limits,
            executor=self.executor or _default_executor(),
            hooks=self.hooks.with_first("on_tool_result", self.on_tool_result),
            needs_approval=self._needs_approval,
            trace=run_trace(self.name, self.model, self.session.id if self.session is not None else None),
            context=self.context,
        )

    def _has_pending_calls(self) -> bool:
        return bool(self.messages) and self.messages[-1].role == "assistant" and bool(self.messages[-1].tool_calls)

    def _close_interrupted_batch(self) -> None:
        """A new prompt arrives while calls are unanswered: answer them as interrupted, keep what finished."""
        if not self._has_pending_calls():
            return
        results = []
        for call in self.messages[-1].tool_calls:
            done = self._completed.get(call.id)
            results.append(
                done
                or ToolResult(
                    call_id=call.id,
                    name=call.name,
                    content="interrupted: this call did not complete (the run was stopped); call it again if needed",
                    is_error=True,
                )
            )
        self._append(Message.tool(results))
        self._completed = {}

    def _append(self, message: Message) -> None:
        self.messages.append(message)
        if self.session is not None:
            self.session.add_message(message)

    def _record(self, event: AgentEvent) -> None:
        if isinstance(event, MessageEvent):
            if self.session is not None:
                self.session.add_message(event.message)
            if event.message.role == "tool":
                self._completed = {}  # the batch is answered in the conversation now
        elif isinstance(event, ToolCallStarted) and self.session is not None:
            self.session.call_started(event.call.id)
        elif isinstance(event, ContextReduced) and self.session is not None:
            self.session.append(event.record)
        elif isinstance(event, ApprovalRequired) and self.session is not None:
            self.session.append({"type": "approval_required", "call_ids": [c.id for c in event.calls]})


def _default_executor() -> ToolExecutor:
    try:
        from agentkit.sandbox import default_executor
    except ImportError:
        from agentkit.tooling import InProcessExecutor

        return InProcessExecutor()
    executor: ToolExecutor = default_executor()
    return executor
