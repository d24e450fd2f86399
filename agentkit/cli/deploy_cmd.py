"""`agentkit deploy agentcore AGENT`: write (and optionally apply) Amazon Bedrock AgentCore manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from agentkit.errors import AgentkitError, ConfigError

__all__ = ["deploy_group"]


@click.group(name="deploy")
def deploy_group() -> None:
    """Generate and apply deployment manifests."""


@deploy_group.command(name="agentcore")
@click.argument("agent")
@click.option("--name", help="Runtime name: a letter, then letters, digits, underscores (default: from AGENT).")
@click.option("--region", default="us-west-2", show_default=True, help="AWS region of the runtime.")
@click.option("--out", "out", type=click.Path(file_okay=False), help="Output folder (default: deploy/NAME).")
@click.option("--apply", "do_apply", is_flag=True, help="Create or update the runtime with boto3 and wait for READY.")
@click.option("--account", help="AWS account id of the runtime, its role and image (default: asked of STS).")
@click.option("--image-uri", help="Container image for --apply (default: the ECR image build.sh pushes).")
@click.option(
    "--protocol",
    type=click.Choice(["HTTP", "MCP"], case_sensitive=False),
    default="HTTP",
    show_default=True,
    help="HTTP: `agentkit serve` on :8080; MCP: the agent as one MCP tool (`agentkit mcp serve`) on :8000/mcp.",
)
@click.option("--model", "-m", help="Model the deployed agent runs on (default: the agent's own).")
@click.option(
    "--sessions",
    metavar="URL",
    help="Session store: s3://BUCKET/PREFIX or agentcore-memory://MEMORY_ID (the role may use only that store).",
)
@click.option(
    "--no-observability",
    is_flag=True,
    help="Leave out ADOT (OpenTelemetry traces to X-Ray, logs and metrics to CloudWatch) and its permissions.",
)
def agentcore_command(
    agent: str,
    name: str | None,
    region: str,
    out: str | None,
    do_apply: bool,
    account: str | None,
    image_uri: str | None,
    protocol: str,
    model: str | None,
    sessions: str | None,
    no_observability: bool,
) -> None:
    """Write Dockerfile, requirements, IAM, CloudFormation and runtime.json for AGENT.

    AGENT is a ready-made agent's name, module:attribute, or a Python file (copied into the image).
    Everything is validated before anything is written.
    """
    from agentkit import deploy
    from agentkit.serve import load_agent_factory

    session = _aws_session(region) if do_apply else None  # no credentials: say so before doing any work
    if sessions is not None:
        deploy.parse_sessions_url(sessions)
    load_agent_factory(agent)  # fails early, with one line, on an agent that does not load
    agent_file = Path(agent) if agent.endswith(".py") else None
    runtime_name = name if name is not None else deploy.default_runtime_name(agent)
    config = deploy.DeployConfig(
        agent=agent,
        name=runtime_name,
        account=account or _account_from_sts(session or _credentialed_session(region)),
        region=region,
        agent_file=agent_file,
        protocol=protocol.upper(),
        model=model,
        sessions=sessions,
        observability=not no_observability,
    )
    files = deploy.render(config)
    deploy.validate(files)
    target = Path(out) if out else Path("deploy") / runtime_name
    for path in deploy.write(files, target):
        click.echo(f"wrote {path}")
    if session is not None:
        _apply(session, config, files, image_uri)


@deploy_group.command(name="wheel")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder to write the wheel to.")
def wheel_command(out: str) -> None:
    """Build a wheel of the agentkit installed here (what build.sh puts in the image)."""
    from agentkit import deploy

    click.echo(str(deploy.build_wheel(out)))


_NO_ACCOUNT = "no AWS account to deploy to: pass --account (12 digits), or configure AWS credentials so STS can tell"


def _credentialed_session(region: str) -> Any:
    """A boto3 session with credentials, or a ConfigError saying to pass --account."""
    try:
        import boto3
    except ImportError:
        raise ConfigError(_NO_ACCOUNT) from None
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        raise ConfigError(_NO_ACCOUNT)
    return session


def _account_from_sts(session: Any) -> str:
    return account_from_sts(session.client("sts"))


def account_from_sts(sts: Any) -> str:
    """The caller's account, from an STS client (GetCallerIdentity)."""
    try:
        return str(sts.get_caller_identity()["Account"])
    except Exception as exc:  # botocore raises many unrelated types here
        raise AgentkitError(f"cannot read the AWS account from STS ({type(exc).__name__}); pass --account") from None


def _aws_session(region: str) -> Any:
    try:
        import boto3
    except ImportError:
        from agentkit.errors import MissingExtra

        raise MissingExtra("boto3", "bedrock") from None
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        raise ConfigError("no AWS credentials found: configure them (aws configure, AWS_PROFILE) or drop --apply")
    return session


def _apply(session: Any, config: Any, files: dict[str, str], image_uri: str | None) -> None:
    import json

    from agentkit import deploy

    result = deploy.apply(
        json.loads(files["runtime.json"]),
        control=session.client("bedrock-agentcore-control"),
        account=config.account,
        image_uri=image_uri,
        progress=lambda line: click.echo(line, err=True),
    )
    click.echo(f"{'created' if result.created else 'updated'} {result.arn} (version {result.version})")
    click.echo("invoke it with:")
    click.echo("  " + result.invoke_command(config.region))
