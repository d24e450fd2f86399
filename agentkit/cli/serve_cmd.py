"""`agentkit serve AGENT`: run an agent behind the AgentCore HTTP contract (POST /invocations, GET /ping)."""

from __future__ import annotations

import click

__all__ = ["serve_command"]


@click.command(name="serve")
@click.argument("agent")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 in a container.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--model", help="Model for the agent (default: the agent's own, or $AGENTKIT_MODEL).")
@click.option(
    "--max-payload-bytes",
    default=100_000_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Larger request bodies get HTTP 413.",
)
@click.option(
    "--max-receiving-bytes",
    default=None,
    type=click.IntRange(min=1),
    help="Bodies being received at once, all requests together; past it requests get HTTP 503 "
    "[default: the larger of 200 MB and --max-payload-bytes].",
)
@click.option(
    "--body-timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds a request body may take to arrive (HTTP 408 after).",
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds a request's headers may take to arrive (HTTP 408 after).",
)
@click.option(
    "--sessions",
    envvar="AGENTKIT_SESSIONS",
    help="Where sessions live: a folder, s3://BUCKET/PREFIX or agentcore-memory://MEMORY_ID[/ACTOR] "
    "[default: $AGENTKIT_SESSIONS, else $AGENTKIT_HOME/sessions].",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Server log level.",
)
def serve_command(
    agent: str,
    host: str,
    port: int,
    model: str | None,
    max_payload_bytes: int,
    max_receiving_bytes: int | None,
    body_timeout: float,
    header_timeout: float,
    sessions: str | None,
    log_level: str,
) -> None:
    """Serve AGENT (a ready-made agent's name, module:attribute, or a Python file) over HTTP.

    Sessions: the X-Amzn-Bedrock-AgentCore-Runtime-Session-Id header names a durable session kept in
    --sessions (default $AGENTKIT_HOME/sessions), so a conversation continues across invocations; in S3 it
    also continues on another machine.
    """
    import logging

    from agentkit.serve import create_app, load_agent_factory, serve

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    factory = load_agent_factory(agent, model=model, sessions=sessions or None)
    factory(None)  # build one agent now: a broken agent fails here, with one line, not on the first request
    app = create_app(
        factory,
        max_payload_bytes=max_payload_bytes,
        max_receiving_bytes=max_receiving_bytes,
        body_timeout=body_timeout,
        header_timeout=header_timeout,
    )

    def ready(bound_host: str, bound_port: int) -> None:
        click.echo(
            f"agentkit: serving {agent} on http://{bound_host}:{bound_port} (POST /invocations, GET /ping)", err=True
        )

    serve(app, host=host, port=port, log_level=log_level, ready=ready)
