"""`agentkit run`, `agentkit chat`, `agentkit agents list` and `agentkit sessions list|show|resume`.

Every run is a durable session (an id is made up when --session is not given), so Ctrl-C, a crash or a
closed terminal leaves it resumable with `agentkit sessions resume ID`. The first Ctrl-C asks the agent
to stop at its next step; a second one stops at once (the transcript holds every finished step either way).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import anyio
import click

from agentkit.agent import Agent
from agentkit.agents import AgentDefinition, available_agents, load_definition
from agentkit.cli.display import JsonDisplay, LiveDisplay, summarize
from agentkit.cli.mcp_options import mcp_options, mcp_servers
from agentkit.errors import AgentkitError, ConfigError
from agentkit.loop import AgentResult, Decision, RunEnd
from agentkit.sessions import Session, list_sessions, new_session_id

__all__ = ["agents_group", "chat_command", "run_command", "sessions_group"]


# ---- shared: building the agent and running it with a display -------------------------------------


_family_option = click.option(
    "--family",
    help="a local model's tool-call format (hermes, qwen3_coder, harmony) when agentkit cannot tell it from "
    "the chat template and config (sets AGENTKIT_MODEL_FAMILY)",
)


_window_option = click.option(
    "--context-window",
    type=click.IntRange(min=256),
    help="the model's context window in tokens, when agentkit's figure is wrong or unknown (what each turn sends "
    "is reduced to fit it; the session keeps everything)",
)


def _use_window(agent: Agent, window: int | None) -> None:
    if window and agent.context is not None:
        agent.context.window_override = window


def _use_family(family: str | None) -> None:
    if family:
        os.environ["AGENTKIT_MODEL_FAMILY"] = family  # read by the local backend when the agent loads its model


def _agent_command(definition: AgentDefinition) -> click.Command:
    """The agent's own options (declared in its definition) as a click command."""
    params: list[click.Parameter] = []
    for option in definition.options:
        if option.positional:
            extra = {} if option.default is None else {"default": option.default}
            params.append(click.Argument([option.name], required=option.required, **extra))
        else:
            flag = "--" + option.name.replace("_", "-")
            params.append(
                click.Option(
                    [flag, option.name],
                    help=option.help,
                    default=option.default,
                    is_flag=option.is_flag,
                    required=option.required,
                )
            )
    if definition.takes_prompt:
        params.append(click.Argument(["prompt_words"], nargs=-1, metavar="PROMPT"))
    return click.Command(definition.name, params=params)


def _parse_agent_options(definition: AgentDefinition, args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Parse the agent's own options from the leftover command line."""
    command = _agent_command(definition)
    try:
        ctx = command.make_context(f"agentkit run {definition.name}", list(args), resilient_parsing=False)
    except click.UsageError as exc:
        raise click.UsageError(f"{definition.name}: {exc.format_message()}") from None
    values = dict(ctx.params)
    words = list(values.pop("prompt_words", ()) or ())
    return values, words


def _build(definition: AgentDefinition, model: str | None, session: Session, options: dict[str, Any]) -> Agent:
    agent = definition.create(model, **options)
    agent.attach_session(session)
    return agent


# Tools that change things: a person approves each call when the CLI runs interactively (unless --yes).
APPROVED_BY_DEFAULT = frozenset({"run", "write_file", "apply_patch", "edit_file"})

_yes_option = click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="approve every tool call without asking (tools that need approval are "
    f"{', '.join(sorted(APPROVED_BY_DEFAULT))} when interactive, and any marked requires_approval)",
)


def _drive(agent: Agent, prompt: str | None, display: LiveDisplay | JsonDisplay, *, yes: bool = False) -> AgentResult:
    """Run one prompt with the display, asking on the terminal for calls that need approval."""
    if not yes and sys.stdin.isatty():
        agent.approval_required |= APPROVED_BY_DEFAULT
    result = _drive_once(agent, prompt, display, None)
    while result.stop_reason == "approval_required":
        decisions = _decide(agent, yes)
        if decisions is None:
            break
        result = _drive_once(agent, None, display, decisions)
    return result


def _decide(agent: Agent, yes: bool) -> dict[str, Decision] | None:
    """The decisions on the pending approvals: all yes with --yes, asked on a terminal, else None."""
    waiting = agent.pending_approvals
    if yes:
        return {c.id: True for c in waiting}
    if not sys.stdin.isatty():
        return None
    decisions: dict[str, Decision] = {}
    for call in waiting:
        arguments = json.dumps(call.arguments, ensure_ascii=False, default=str)
        answer = click.prompt(
            f"allow {call.name}({arguments})? y = yes, n = no, or type why not", default="n", err=True
        ).strip()
        decisions[call.id] = (
            True if answer.lower() in ("y", "yes") else ("" if answer.lower() in ("n", "no") else answer)
        )
    return decisions


def _drive_once(
    agent: Agent, prompt: str | None, display: LiveDisplay | JsonDisplay, decisions: dict[str, Decision] | None
) -> AgentResult:
    """Run one prompt with the display; Ctrl-C once asks the agent to stop, twice stops at once."""
    interrupts = 0

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            click.echo("\nstopping after the current step (Ctrl-C again to stop now)…", err=True)
            agent.cancel()
        else:
            agent.cancel(now=True)  # do not wait for a tool call still running on a thread
            raise KeyboardInterrupt

    async def consume() -> AgentResult:
        display.waiting()
        async for event in agent.stream(prompt, decisions=decisions):
            display.handle(event)
            if isinstance(event, RunEnd):
                return event.result
        raise RuntimeError("the run ended without a result")

    previous: Callable[..., Any] | int | None = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, on_sigint)
    try:
        return anyio.run(consume)
    finally:
        display.close()
        signal.signal(signal.SIGINT, previous)


def _open_session(session_id: str | None) -> Session:
    session = Session.open(session_id or new_session_id())
    return session


# Exit statuses of `run` and `sessions resume` (in the README and `agentkit run --help`).
EXIT_FAILED, EXIT_LIMIT, EXIT_APPROVAL, EXIT_CANCELLED = 1, 3, 4, 130
_LIMIT_STOPS = frozenset(
    {"max_turns", "max_tool_calls", "deadline", "max_tokens", "repeated_tool_error", "context_overflow"}
)
EXIT_HELP = (
    "Exit status: 0 when the model finished, 1 on an error, 3 when a limit stopped the run (turns, tool calls, "
    "time, tokens, repeated tool errors, a conversation still over the context window after reducing it), 4 when "
    "a tool call waits for approval and nobody could be asked (resume with `agentkit sessions resume ID --yes`), "
    "130 when it was cancelled (Ctrl-C)."
)


def _exit_status(result: AgentResult) -> int:
    if result.stop_reason == "cancelled":
        return EXIT_CANCELLED
    if result.stop_reason in _LIMIT_STOPS:
        return EXIT_LIMIT
    if result.stop_reason == "approval_required":
        return EXIT_APPROVAL
    if result.stop_reason in ("error", "content_filtered"):
        return EXIT_FAILED
    return 0


def _exit(result: AgentResult) -> None:
    """Exit non-zero, saying why, unless the model finished."""
    status = _exit_status(result)
    if status == 0:
        return
    why = {
        EXIT_CANCELLED: "cancelled",
        EXIT_LIMIT: "stopped by a limit",
        EXIT_APPROVAL: "paused for approval (resume it with `agentkit sessions resume ID --yes`)",
    }.get(status, "failed")
    click.echo(f"agentkit: run {why} ({result.stop_reason}); exit status {status}", err=True)
    sys.exit(status)


def _finish(
    definition: AgentDefinition, agent: Agent, result: AgentResult, session: Session, started: float, as_json: bool
) -> None:
    report = definition.finish(agent, result) if definition.finish else None
    if as_json:
        return
    if report:
        click.echo(report)
    click.echo(
        summarize(
            result,
            session=f"{session.location} (resume: agentkit sessions resume {_resume_name(session)})",
            elapsed=time.monotonic() - started,
        ),
        err=True,
    )


def _resume_name(session: Session) -> str:
    """What to pass to `agentkit sessions resume`: the id in the default store, else the session's URL."""
    try:
        in_default = Session.open(session.id).location == session.location
    except AgentkitError:  # not a plain name, or $AGENTKIT_SESSIONS names no store
        in_default = False
    return session.id if in_default else session.location


# ---- agentkit run ----------------------------------------------------------------------------------


class _RunCommand(click.Command):
    """`agentkit run AGENT --help` also lists AGENT's own options."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        before = args[: args.index("--")] if "--" in args else args
        # `run AGENT ... --help` only: in `run --model X --help`, X is no AGENT
        if any(a in ("-h", "--help") for a in before) and not before[0].startswith("-"):
            ctx.meta["agentkit.agent_spec"] = before[0]
        return super().parse_args(ctx, args)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        spec = ctx.meta.get("agentkit.agent_spec")
        if spec is not None:
            definition = load_definition(spec)
            agent_ctx = click.Context(_agent_command(definition), info_name=definition.name)
            rows = [p.get_help_record(agent_ctx) for p in agent_ctx.command.params]
            with formatter.section(f"Arguments and options of {definition.name}"):
                formatter.write_text(definition.description)
                formatter.write_dl([row for row in rows if row is not None])
        super().format_epilog(ctx, formatter)


@click.command(
    "run",
    cls=_RunCommand,
    epilog=EXIT_HELP,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    help="Run AGENT on a prompt. AGENT is a shipped agent (see `agentkit agents list`), a .py file, or "
    "module:attribute; options after AGENT that agentkit does not know go to the agent "
    "(e.g. `agentkit run repo-optimizer ./repo --test 'pytest -q'`).",
)
@click.argument("agent_spec", metavar="AGENT")
@click.option("--model", "-m", help="model name, e.g. qwen.qwen3-coder-480b-a35b-v1:0, openai:NAME, hf:ID, replay:FILE")
@click.option(
    "--session",
    "session_id",
    help="session name or URL (s3://BUCKET/PREFIX/ID; default: a new session); "
    "sessions live in $AGENTKIT_SESSIONS, else $AGENTKIT_HOME/sessions",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON lines of events instead of the live display")
@click.option("--hide-reasoning", is_flag=True, help="do not show the model's reasoning")
@_family_option
@_window_option
@mcp_options
@_yes_option
@click.pass_context
def run_command(
    ctx: click.Context,
    agent_spec: str,
    model: str | None,
    session_id: str | None,
    as_json: bool,
    hide_reasoning: bool,
    family: str | None,
    context_window: int | None,
    mcp_commands: tuple[str, ...],
    mcp_config: str | None,
    mcp_sandbox: bool,
    yes: bool,
) -> None:
    _use_family(family)
    servers = mcp_servers(mcp_commands, mcp_config, mcp_sandbox)
    definition = load_definition(agent_spec)
    options, words = _parse_agent_options(definition, ctx.args)
    prompt = " ".join(words) or None
    if definition.takes_prompt and prompt is None:
        if not sys.stdin.isatty():
            prompt = sys.stdin.read().strip() or None
        if prompt is None:
            raise click.UsageError(f'give {definition.name} a prompt: agentkit run {agent_spec} "..."')
    started = time.monotonic()
    agent = definition.create(model, **options)
    _use_window(agent, context_window)
    for server in servers:
        agent.tools.add_source(server)
    session = _open_session(session_id)
    meta: dict[str, Any] = {"type": "meta", "agent": agent_spec, "options": options, "model": model}
    if context_window:  # a resumed run rebuilds the same view
        meta["context_window"] = context_window
    if servers:  # a resumed run starts the same servers
        meta |= {"mcp": list(mcp_commands), "mcp_config": os.path.abspath(mcp_config) if mcp_config else None}
        meta |= {"mcp_sandbox": True} if mcp_sandbox else {}
    session.append(meta)
    agent.attach_session(session)
    display = JsonDisplay() if as_json else LiveDisplay(show_reasoning=not hide_reasoning)
    try:
        result = _drive(agent, prompt if definition.takes_prompt else _default_prompt(agent), display, yes=yes)
    finally:
        agent.tools.close()  # stops the MCP servers
    _finish(definition, agent, result, session, started, as_json)
    _exit(result)


def _default_prompt(agent: Agent) -> str:
    prompt = getattr(agent, "initial_prompt", None)
    if not isinstance(prompt, str):
        raise ConfigError("this agent takes no prompt but did not set one; fix its definition")
    return prompt


# ---- agentkit chat ---------------------------------------------------------------------------------


@click.command("chat", help="Chat with AGENT interactively (empty line or Ctrl-D ends; the session is kept).")
@click.argument("agent_spec", metavar="AGENT")
@click.option("--model", "-m", help="model name (see `agentkit run --help`)")
@click.option("--session", "session_id", help="session name or URL to continue (see `agentkit run --help`)")
@click.option("--hide-reasoning", is_flag=True, help="do not show the model's reasoning")
@_family_option
@mcp_options
@_yes_option
def chat_command(
    agent_spec: str,
    model: str | None,
    session_id: str | None,
    hide_reasoning: bool,
    family: str | None,
    mcp_commands: tuple[str, ...],
    mcp_config: str | None,
    mcp_sandbox: bool,
    yes: bool,
) -> None:
    _use_family(family)
    servers = mcp_servers(mcp_commands, mcp_config, mcp_sandbox)
    definition = load_definition(agent_spec)
    agent = definition.create(model)
    for server in servers:
        agent.tools.add_source(server)
    session = _open_session(session_id)
    meta: dict[str, Any] = {"type": "meta", "agent": agent_spec, "options": {}, "model": model}
    if servers:  # a resumed chat starts the same servers
        meta |= {"mcp": list(mcp_commands), "mcp_config": os.path.abspath(mcp_config) if mcp_config else None}
        meta |= {"mcp_sandbox": True} if mcp_sandbox else {}
    session.append(meta)
    agent.attach_session(session)
    click.echo(f"chatting with {definition.name} (session {session.id}); empty line or Ctrl-D to end", err=True)
    try:
        while True:
            try:
                line = input("you> ")
            except EOFError:
                break
            if not line.strip():
                break
            started = time.monotonic()
            result = _drive(agent, line, LiveDisplay(show_reasoning=not hide_reasoning), yes=yes)
            click.echo(summarize(result, session=None, elapsed=time.monotonic() - started), err=True)
    finally:
        agent.tools.close()  # stops the MCP servers
    click.echo(f"session kept: agentkit sessions resume {session.id}", err=True)


# ---- agentkit agents -------------------------------------------------------------------------------


@click.group("agents", help="The ready-made agents.")
def agents_group() -> None:
    pass


@agents_group.command("list", help="List the registered agents.")
def agents_list() -> None:
    for name, definition in available_agents().items():
        click.echo(f"{name:<16} {definition.description}")


# ---- agentkit sessions -----------------------------------------------------------------------------


@click.group("sessions", help="Durable sessions: list, show and resume them.")
def sessions_group() -> None:
    pass


_sessions_option = click.option(
    "--sessions",
    "store",
    envvar="AGENTKIT_SESSIONS",
    help="where sessions live: a folder, s3://BUCKET/PREFIX or agentcore-memory://MEMORY_ID[/ACTOR] "
    "[default: $AGENTKIT_SESSIONS, else $AGENTKIT_HOME/sessions]",
)


@sessions_group.command("list", help="List sessions, newest first (a failed run's error is shown).")
@click.option("--json", "as_json", is_flag=True, help="print one JSON array of sessions")
@_sessions_option
def sessions_list(as_json: bool, store: str | None) -> None:
    infos = list_sessions(store or None)
    if as_json:
        rows = [
            {
                "id": i.id,
                "path": str(i.path) if i.path is not None else None,
                "location": i.location,
                "updated": i.updated,
                "messages": i.messages,
                "first_prompt": i.first_prompt,
                "error": i.error,
                "problem": i.problem,
            }
            for i in infos
        ]
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not infos:
        click.echo("no sessions yet", err=True)
    for info in infos:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.updated))
        if info.problem is not None:
            click.echo(f"{info.id:<28} {when}  DAMAGED   {info.problem}")
            continue
        line = f"{info.id:<28} {when}  {info.messages:>4} msgs  {info.first_prompt}"
        click.echo(line + (f"  FAILED: {info.error}" if info.error else ""))


def _existing(session_id: str, store: str | None) -> Session:
    session = Session.open(session_id, store or None)
    if not session.exists():
        raise click.ClickException(f"no session {session_id!r} in {session.location} (see `agentkit sessions list`)")
    return session


@sessions_group.command("show", help="Print a session's conversation (SESSION_ID: an id, or a session's URL).")
@click.argument("session_id")
@click.option("--json", "as_json", is_flag=True)
@_sessions_option
def sessions_show(session_id: str, as_json: bool, store: str | None) -> None:
    state = _existing(session_id, store).load()
    for message in state.messages:
        if as_json:
            click.echo(json.dumps(message.to_dict(), ensure_ascii=False))
            continue
        if message.role == "tool":
            for r in message.tool_results:
                click.echo(f"[tool {r.name}{' error' if r.is_error else ''}] {r.content}")
            continue
        click.echo(f"[{message.role}] {message.content}")
        for call in message.tool_calls:
            click.echo(f"  → {call.name}({json.dumps(call.arguments, ensure_ascii=False, default=str)})")
    if state.pending_calls:
        click.echo(f"(interrupted inside a tool batch: agentkit sessions resume {session_id})", err=True)


@sessions_group.command("resume", help="Continue an interrupted session, or add a prompt to a finished one.")
@click.argument("session_id")
@click.argument("prompt", required=False)
@click.option("--model", "-m", help="model to continue with (default: the one the session started with)")
@click.option("--json", "as_json", is_flag=True, help="print JSON lines of events instead of the live display")
@_family_option
@_yes_option
@_sessions_option
def sessions_resume(
    session_id: str,
    prompt: str | None,
    model: str | None,
    as_json: bool,
    family: str | None,
    yes: bool,
    store: str | None,
) -> None:
    _use_family(family)
    session = _existing(session_id, store)
    meta = next((r for r in session.records() if r.get("type") == "meta"), None)
    if meta is None:
        raise click.ClickException(f"session {session_id!r} was not started by `agentkit run`; resume it in Python")
    definition = load_definition(meta["agent"])
    started = time.monotonic()
    agent = _build(definition, model or meta.get("model"), session, dict(meta.get("options") or {}))
    window = meta.get("context_window")
    _use_window(agent, window if isinstance(window, int) else None)
    for server in mcp_servers(tuple(meta.get("mcp") or ()), meta.get("mcp_config"), meta.get("mcp_sandbox") is True):
        agent.tools.add_source(server)
    last = agent.messages[-1] if agent.messages else None
    if prompt is None and last is not None and last.role == "assistant" and not last.tool_calls:
        raise click.ClickException(f"session {session_id!r} finished its run; give a new prompt to continue it")
    display = JsonDisplay() if as_json else LiveDisplay()
    try:
        result = _drive(agent, prompt, display, yes=yes)
    finally:
        agent.tools.close()
    _finish(definition, agent, result, session, started, as_json)
    _exit(result)
