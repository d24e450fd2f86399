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
@click.option("--account", help="AWS account id for --apply (default: from STS).")
@click.option("--image-uri", help="Container image for --apply (default: the ECR image build.sh pushes).")
@click.option(
    "--protocol",
    type=click.Choice(["HTTP", "MCP"], case_sensitive=False),
    default="HTTP",
    show_default=True,
    help="HTTP: `agentkit serve` on :8080; MCP: the agent as one MCP tool (`agentkit mcp serve`) on :8000/mcp.",
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
) -> None:
    """Write Dockerfile, requirements, IAM, CloudFormation and runtime.json for AGENT.

    AGENT is a ready-made agent's name, module:attribute, or a Python file (copied into the image).
    Everything is validated before anything is written.
    """
    from agentkit import deploy
    from agentkit.serve import load_agent_factory

    session = _aws_session(region) if do_apply else None  # no credentials: say so before doing any work
    load_agent_factory(agent)  # fails early, with one line, on an agent that does not load
    agent_file = Path(agent) if agent.endswith(".py") else None
    runtime_name = name if name is not None else deploy.default_runtime_name(agent)
    config = deploy.DeployConfig(
        agent=agent, name=runtime_name, region=region, agent_file=agent_file, protocol=protocol.upper()
    )
    files = deploy.render(config)
    deploy.validate(files)
    target = Path(out) if out else Path("deploy") / runtime_name
    for path in deploy.write(files, target):
        click.echo(f"wrote {path}")
    if session is not None:
        _apply(session, config, files, account, image_uri)


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


def _apply(session: Any, config: Any, files: dict[str, str], account: str | None, image_uri: str | None) -> None:
    import json

    from agentkit import deploy

    if account is None:
        try:
            account = session.client("sts").get_caller_identity()["Account"]
        except Exception as exc:  # botocore raises many unrelated types here
            problem = f"cannot read the AWS account from STS ({type(exc).__name__}); pass --account"
            raise AgentkitError(problem) from None
    result = deploy.apply(
        json.loads(files["runtime.json"]),
        control=session.client("bedrock-agentcore-control"),
        account=str(account),
        image_uri=image_uri,
        progress=lambda line: click.echo(line, err=True),
    )
    click.echo(f"{'created' if result.created else 'updated'} {result.arn} (version {result.version})")
    click.echo("invoke it with:")
    click.echo("  " + result.invoke_command(config.region))
