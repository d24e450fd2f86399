"""Typed results: `agent(prompt, output=MyType)` puts a validated instance in `result.output`.

`MyType` is a pydantic model, a dataclass (or any type pydantic's TypeAdapter takes) or a JSON schema dict
(validated with jsonschema; `result.output` is then the decoded JSON).

Two ways to get it, by what the backend can do:

- a backend that can force a tool call (`supports_tool_choice = True`: Bedrock, OpenAI-compatible servers)
  is offered one more tool, `final_answer`, whose parameters are the output schema, with tool_choice
  "required"; a valid `final_answer` call ends the run. Invalid arguments come back to the model as an error
  result naming each problem, and the loop's `max_repeated_failures` bounds the retries. A server that ignores
  the forced choice and answers with the JSON as text is read as the other way does;
- any other backend (local models, the three text formats, servers without tool_choice) is asked to answer
  with the JSON object alone; the text is parsed and validated, and a failure goes back to the model with the
  exact errors, `retries` times at most.

When no valid answer comes, OutputError says why and keeps the raw answer (`exc.raw`).

A run that pauses for an approval returns its paused result (stop reason "approval_required", no `output`);
`agent.resume(approve=...)` continues the protocol and fills `output`. The type is remembered on the agent and,
with a session, an "output" record keeps its schema beside the pause. A Python type cannot be kept in a
transcript: a new process resumes a JSON-schema output by itself, but needs `resume(..., output=T)` for a
pydantic model or dataclass (a ConfigError says so).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agentkit import strict_json
from agentkit.errors import ConfigError, OutputError, RetryTool, clip
from agentkit.loop import AgentResult, Decision
from agentkit.tooling import Tool, ToolRegistry

if TYPE_CHECKING:
    from agentkit.agent import Agent

__all__ = ["ANSWER_TOOL", "OutputSpec", "paused_output", "run_with_output"]

ANSWER_TOOL = "final_answer"
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


class OutputSpec:
    """An output type: its JSON schema and how to validate decoded JSON into it."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.exact = isinstance(target, dict)  # the schema is the whole type: a session can keep it
        self.name = "a JSON schema" if self.exact else getattr(target, "__qualname__", repr(target))
        if isinstance(target, dict):
            import jsonschema

            try:
                jsonschema.Draft202012Validator.check_schema(target)
            except jsonschema.SchemaError as exc:
                raise ConfigError(f"output= is not a valid JSON schema: {exc.message}") from exc
            self.schema: dict[str, Any] = target
            self._validator: Any = jsonschema.Draft202012Validator(target)
            self._adapter: Any = None
            return
        from pydantic import PydanticSchemaGenerationError, TypeAdapter

        try:
            self._adapter = TypeAdapter(target)
            self.schema = self._adapter.json_schema()
        except (PydanticSchemaGenerationError, TypeError) as exc:
            raise ConfigError(
                f"output={target!r} is not a type agentkit can validate; pass a pydantic model, a dataclass "
                "or a JSON schema dict"
            ) from exc
        self._validator = None

    def validate(self, data: Any) -> Any:
        """The validated value; RetryTool naming every problem when `data` does not fit."""
        if self._validator is not None:
            problems = [
                f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                for e in self._validator.iter_errors(data)
            ]
            if problems:
                raise RetryTool("the answer does not match the schema: " + "; ".join(problems))
            return data
        from pydantic import ValidationError

        try:
            return self._adapter.validate_python(data)
        except ValidationError as exc:
            problems = [f"{'/'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()]
            raise RetryTool("the answer does not match the schema: " + "; ".join(problems)) from exc

    def parse_text(self, text: str) -> Any:
        body = text.strip()
        fenced = _FENCE.match(body)
        if fenced:
            body = fenced.group(1)
        elif not body.startswith(("{", "[")) and "{" in body:
            body = body[body.index("{") : body.rindex("}") + 1]
        try:
            data = strict_json.loads(body)
        except ValueError as exc:
            raise RetryTool(f"the answer is not JSON ({exc})") from exc
        return self.validate(data)

    def instructions(self) -> str:
        schema = json.dumps(self.schema, ensure_ascii=False)
        return f"Answer with only a JSON value (no other text) that matches this JSON schema:\n{schema}"


async def run_with_output(
    agent: Agent,
    prompt: str | None,
    output: Any,
    *,
    retries: int = 2,
    decisions: dict[str, Decision] | None = None,
) -> AgentResult:
    """A typed run; with `decisions`, the continuation of one paused for approval (Agent.resume)."""
    spec = output if isinstance(output, OutputSpec) else OutputSpec(output)
    by_tool = getattr(agent.model, "supports_tool_choice", False)
    first: Callable[[], Awaitable[AgentResult]]
    if decisions is not None:
        first = functools.partial(agent.continue_run, decisions)
    elif by_tool:
        first = functools.partial(agent.invoke_async, prompt)
    else:
        request = spec.instructions() if prompt is None else f"{prompt}\n\n{spec.instructions()}"
        first = functools.partial(agent.invoke_async, request)
    result = await (_by_tool(agent, spec, first) if by_tool else _by_text(agent, spec, first, retries))
    if result.stop_reason == "approval_required":
        _remember_pause(agent, spec)
    else:
        agent.paused_output = None
    return result


async def _by_tool(agent: Agent, spec: OutputSpec, run: Callable[[], Awaitable[AgentResult]]) -> AgentResult:
    box: dict[str, Any] = {}

    def final_answer(**arguments: Any) -> str:
        box["value"] = spec.validate(arguments)
        return "answer accepted"

    answer = Tool.from_schema(
        ANSWER_TOOL, "Give the final answer. Call this once you are done.", spec.schema, final_answer
    )
    answer.ends_run = True
    tools, settings = agent.tools, agent.settings
    agent.tools = ToolRegistry([*tools, answer])
    agent.settings = dataclasses.replace(settings, tool_choice="required")
    try:
        result = await run()
    finally:
        agent.tools, agent.settings = tools, settings
    if result.stop_reason == "approval_required":  # paused: resume(approve=...) continues the protocol
        return result
    if "value" not in box and result.stop_reason == "end_turn" and result.text.strip():
        try:  # a server that ignored the forced choice and answered with the JSON as text
            box["value"] = spec.parse_text(result.text)
        except RetryTool:
            pass
    if "value" not in box:
        raw = next((json.dumps(c.arguments) for c in reversed(result.tool_calls) if c.name == ANSWER_TOOL), result.text)
        why = next((r.content for r in reversed(result.tool_results) if r.name == ANSWER_TOOL), result.detail)
        raise OutputError(f"the model gave no valid {ANSWER_TOOL} ({result.stop_reason}: {clip(str(why), 500)})", raw)
    result.output = box["value"]
    return result


async def _by_text(
    agent: Agent, spec: OutputSpec, run: Callable[[], Awaitable[AgentResult]], retries: int
) -> AgentResult:
    result = await run()
    for attempt in range(retries + 1):
        if result.stop_reason == "approval_required":  # paused: resume(approve=...) continues the protocol
            return result
        try:
            result.output = spec.parse_text(result.text)
            return result
        except RetryTool as exc:
            if result.stop_reason != "end_turn":
                raise OutputError(
                    f"the run stopped before a typed answer ({result.stop_reason}: {result.detail})", result.text
                ) from None
            if attempt == retries:
                raise OutputError(
                    f"the model's answer did not match the output type after {attempt + 1} tries: {exc}", result.text
                ) from None
            spent = result.usage
            result = await agent.invoke_async(f"{exc}. Answer again with only the JSON value.")
            result.usage.add(spent)
    raise AssertionError("unreachable")


def _remember_pause(agent: Agent, spec: OutputSpec) -> None:
    ids = sorted(c.id for c in agent.pending_approvals)
    agent.paused_output = (spec, ids)
    if agent.session is not None:
        record = {"type": "output", "call_ids": ids, "name": spec.name, "schema": spec.schema, "exact": spec.exact}
        agent.session.append(record)


def paused_output(agent: Agent, output: Any) -> OutputSpec | None:
    """The output type a run paused for approval was asked for (None: an untyped run); `output` is the one
    `resume(output=...)` gives, checked against the one the session recorded."""
    given = None if output is None else output if isinstance(output, OutputSpec) else OutputSpec(output)
    ids = sorted(c.id for c in agent.pending_approvals)
    if not ids:
        return given
    memo = agent.paused_output
    if given is None and memo is not None and memo[1] == ids:
        spec: OutputSpec = memo[0]
        return spec
    record = _pause_record(agent, ids)
    if record is None:
        return given
    if given is not None:
        if _canonical(given.schema) != _canonical(record["schema"]):
            raise ConfigError(
                f"resume(output={given.name}) does not match the type the paused run was asked for "
                f"({record['name']}); pass that type"
            )
        return given
    if record.get("exact"):
        return OutputSpec(record["schema"])
    name = record.get("name", "T")
    raise ConfigError(
        f"the paused run was asked for a typed result ({name}), which a session cannot keep: "
        f"resume with the type as well, agent.resume(approve=..., output={name})"
    )


def _pause_record(agent: Agent, ids: list[str]) -> dict[str, Any] | None:
    if agent.session is None:
        return None
    for record in reversed(agent.session.records()):
        if record.get("type") == "output" and record.get("call_ids") == ids and isinstance(record.get("schema"), dict):
            return record
    return None


def _canonical(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, default=str)
