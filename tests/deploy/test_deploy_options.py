"""`agentkit deploy agentcore` options: --model, --sessions (and the IAM grant for exactly that store),
observability (on by default, --no-observability), the account (never a placeholder: --account or STS), and the
third-party imports of a .py agent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from click.testing import CliRunner

from agentkit import deploy
from agentkit.cli import cli, deploy_cmd
from agentkit.errors import AgentkitError, ConfigError

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
DEPLOY = [sys.executable, "-m", "agentkit", "deploy", "agentcore"]
MODEL = "qwen.qwen3-coder-480b-a35b-v1:0"
MEMORY = "agentkit_sessions-a1B2c3D4e5"
NO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask the instance metadata service (no network here)
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
}


def render(**options: object) -> dict[str, str]:
    config = deploy.DeployConfig(agent="assistant", name="assistant", account=ACCOUNT, **options)  # type: ignore[arg-type]
    files = deploy.render(config)
    deploy.validate(files)  # botocore model, IAM structure and cfn-lint, for every variant
    return files


def statements(files: dict[str, str]) -> dict[str, dict]:
    return {st["Sid"]: st for st in json.loads(files["iam/execution-policy.json"])["Statement"]}


def command(files: dict[str, str]) -> list[str]:
    return json.loads(files["Dockerfile"].rsplit("CMD ", 1)[1])


def template_env(files: dict[str, str]) -> dict[str, str]:
    return yaml.safe_load(files["template.yaml"])["Resources"]["Runtime"]["Properties"]["EnvironmentVariables"]


def test_model_goes_into_the_command_the_environment_and_the_readme() -> None:
    files = render(model=MODEL)
    assert command(files)[-7:] == ["assistant", "--model", MODEL, "--host", "0.0.0.0", "--port", "8080"]
    assert json.loads(files["runtime.json"])["environmentVariables"]["AGENTKIT_MODEL"] == MODEL
    assert template_env(files)["AGENTKIT_MODEL"] == MODEL
    assert f"--model {MODEL}" in files["README.md"]
    mcp = render(model=MODEL, protocol="MCP")
    assert command(mcp)[1:] == [
        "agentkit",
        "mcp",
        "serve",
        "--agent",
        "assistant",
        "--model",
        MODEL,
        "--http",
        "0.0.0.0:8000",
    ]


def test_s3_sessions_are_granted_exactly_that_bucket_and_prefix() -> None:
    files = render(sessions="s3://team-agents/prod/assistant/")
    assert json.loads(files["runtime.json"])["environmentVariables"]["AGENTKIT_SESSIONS"] == (
        "s3://team-agents/prod/assistant/"
    )
    sts = statements(files)
    # DeleteObject: the S3 store deletes its writer lock when a run ends
    assert sts["SessionObjects"]["Action"] == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert sts["SessionObjects"]["Resource"] == ["arn:aws:s3:::team-agents/prod/assistant/*"]
    assert sts["SessionList"]["Action"] == ["s3:ListBucket"]
    assert sts["SessionList"]["Resource"] == ["arn:aws:s3:::team-agents"]
    assert sts["SessionList"]["Condition"] == {"StringLike": {"s3:prefix": ["prod/assistant", "prod/assistant/*"]}}
    s3_actions = [a for st in sts.values() for a in st["Action"] if a.startswith("s3:")]
    assert sorted(s3_actions) == ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"]
    # the CloudFormation role says the same, with the partition substituted
    role = yaml.safe_load(files["template.yaml"])["Resources"]["ExecutionRole"]["Properties"]
    cfn = {st["Sid"]: st for st in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert cfn["SessionObjects"]["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:s3:::team-agents/prod/assistant/*"}]


def test_a_whole_bucket_is_listed_without_a_prefix_condition() -> None:
    sts = statements(render(sessions="s3://team-agents"))
    assert sts["SessionObjects"]["Resource"] == ["arn:aws:s3:::team-agents/*"]
    assert "Condition" not in sts["SessionList"]


def test_agentcore_memory_sessions_are_granted_exactly_that_memory() -> None:
    files = render(sessions=f"agentcore-memory://{MEMORY}", region="eu-west-1")
    memory = statements(files)["SessionMemory"]
    listed = ["bedrock-agentcore:CreateEvent", "bedrock-agentcore:ListEvents", "bedrock-agentcore:ListSessions"]
    assert memory["Action"] == listed
    assert memory["Resource"] == [f"arn:aws:bedrock-agentcore:eu-west-1:{ACCOUNT}:memory/{MEMORY}"]
    assert not [s for s in statements(files) if s.startswith("Session") and s != "SessionMemory"]
    assert template_env(files)["AGENTKIT_SESSIONS"] == f"agentcore-memory://{MEMORY}"


def test_store_urls_read_as_the_session_stores_read_them() -> None:
    memory = statements(render(sessions=f"agentcore-memory://{MEMORY}/team-a?region=us-east-1"))["SessionMemory"]
    assert memory["Resource"] == [f"arn:aws:bedrock-agentcore:us-east-1:{ACCOUNT}:memory/{MEMORY}"]
    objects = statements(render(sessions="s3://team-agents/prod?region=eu-west-1&lease=60"))["SessionObjects"]
    assert objects["Resource"] == ["arn:aws:s3:::team-agents/prod/*"]


def test_no_sessions_no_store_permissions() -> None:
    files = render()
    assert not [s for s in statements(files) if s.startswith("Session")]
    assert "AGENTKIT_SESSIONS" not in json.loads(files["runtime.json"])["environmentVariables"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://Bad_Bucket/x", "has no valid bucket name"),
        ("s3://bucket/a b", "is not a plain S3 key name"),
        ("s3://bucket/x?color=red", "unknown option 'color'"),
        ("agentcore-memory://nope", "has no valid memory id"),
        ("file:///tmp/sessions", "is a local folder, which a deployed agent loses"),
        ("bucket/prefix", "is a local folder"),
    ],
)
def test_bad_sessions_urls_are_one_line(url: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        deploy.parse_sessions_url(url)
    result = subprocess.run(
        [*DEPLOY, "assistant", "--account", ACCOUNT, "--sessions", url, "--out", str(tmp_path / "o")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "o").exists()


def test_observability_is_on_by_default() -> None:
    files = render()
    assert command(files)[:3] == ["opentelemetry-instrument", "agentkit", "serve"]
    assert deploy.ADOT_REQUIREMENT in files["requirements.txt"].splitlines()
    env = json.loads(files["runtime.json"])["environmentVariables"]
    assert env["AGENT_OBSERVABILITY_ENABLED"] == "true"
    assert env["OTEL_PYTHON_DISTRO"] == "aws_distro"
    assert env["OTEL_PYTHON_CONFIGURATOR"] == "aws_configurator"
    assert "DISABLE_ADOT_OBSERVABILITY" not in env
    assert template_env(files)["OTEL_PYTHON_DISTRO"] == "aws_distro"
    sts = statements(files)
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= set(sts["XRay"]["Action"])
    assert sts["Metrics"]["Action"] == ["cloudwatch:PutMetricData"]
    assert {"logs:PutLogEvents", "logs:CreateLogStream"} <= set(sts["LogStreams"]["Action"])
    toolkit = yaml.safe_load(files[".bedrock_agentcore.yaml"])
    assert toolkit["agents"]["assistant"]["aws"]["observability"] == {"enabled": True}


def test_no_observability_leaves_adot_and_its_permissions_out() -> None:
    files = render(observability=False)
    assert command(files)[:2] == ["agentkit", "serve"]
    assert "aws-opentelemetry-distro" not in files["requirements.txt"]
    env = json.loads(files["runtime.json"])["environmentVariables"]
    assert not [k for k in env if k.startswith("OTEL_") or k == "AGENT_OBSERVABILITY_ENABLED"]
    assert env["DISABLE_ADOT_OBSERVABILITY"] == "true"
    assert "XRay" not in statements(files) and "Metrics" not in statements(files)
    assert "LogStreams" in statements(files)  # the runtime's own logs still go to CloudWatch
    code, output = run_cli(["--no-observability"])
    assert code == 0, output


def run_cli(extra: list[str], env: dict[str, str | None] | None = None) -> tuple[int, str]:
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        old = os.getcwd()
        os.chdir(REPO)
        try:
            args = ["deploy", "agentcore", "assistant", "--out", out, "--account", ACCOUNT, *extra]
            result = CliRunner().invoke(cli, args, env=env)
        finally:
            os.chdir(old)
        return result.exit_code, result.output + str(result.exception or "")


def test_the_runtime_never_carries_a_placeholder_account() -> None:
    for path in ("runtime.json", "iam/trust-policy.json", "iam/execution-policy.json", ".bedrock_agentcore.yaml"):
        for shipped in ("assistant", "repo_optimizer"):
            text = (REPO / "deploy" / shipped / path).read_text()
            assert "000000000000" not in text
            assert ACCOUNT in text
    with pytest.raises(ConfigError, match=r"AWS account id '0000' is not 12 digits; pass --account"):
        deploy.render(deploy.DeployConfig(agent="assistant", name="assistant", account="0000"))


def test_without_credentials_or_account_the_command_says_to_pass_account(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({k: v for k, v in NO_CREDENTIALS.items() if v is not None})
    env["AWS_SHARED_CREDENTIALS_FILE"] = env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    result = subprocess.run(
        [sys.executable, "-m", "agentkit", "deploy", "agentcore", "assistant", "--out", str(tmp_path / "o")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pass --account" in lines[0], result.stderr
    assert not (tmp_path / "o").exists()


def sts_client():
    return boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-west-2").client("sts")


def test_the_account_comes_from_sts_get_caller_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    client = sts_client()
    identity = {"UserId": "AIDAEXAMPLE", "Account": "210987654321", "Arn": "arn:aws:iam::210987654321:user/dev"}
    with Stubber(client) as stubber:
        stubber.add_response("get_caller_identity", identity, {})
        session = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-west-2")
        monkeypatch.setattr(session, "client", lambda name, **_: client)
        monkeypatch.setattr(deploy_cmd, "_credentialed_session", lambda region: session)
        old = os.getcwd()
        os.chdir(REPO)
        try:
            result = CliRunner().invoke(cli, ["deploy", "agentcore", "assistant", "--out", str(tmp_path / "o")])
        finally:
            os.chdir(old)
        stubber.assert_no_pending_responses()
    assert result.exit_code == 0, result.output
    request = json.loads((tmp_path / "o" / "runtime.json").read_text())
    assert request["roleArn"] == "arn:aws:iam::210987654321:role/agentkit-assistant-runtime"
    assert request["agentRuntimeArtifact"]["containerConfiguration"]["containerUri"].startswith("210987654321.dkr.")
    assert 'account="${AWS_ACCOUNT_ID:-210987654321}"' in (tmp_path / "o" / "build.sh").read_text()


def test_an_sts_failure_says_to_pass_account() -> None:
    client = sts_client()
    with Stubber(client) as stubber:
        stubber.add_client_error("get_caller_identity", "ExpiredToken", "The security token included has expired")
        with pytest.raises(AgentkitError, match=r"cannot read the AWS account from STS .*; pass --account"):
            deploy_cmd.account_from_sts(client)


AGENT_WITH_IMPORTS = """
import json, os.path
from collections import abc
import yaml
from yaml import safe_load
import nonexistent_helper_pkg.sub
from agentkit import Agent, FunctionModel

agent = Agent(model=FunctionModel(lambda m, t: "ok"))
"""


def test_a_py_agents_third_party_imports_become_pinned_requirements(tmp_path: Path) -> None:
    import importlib.metadata

    agent = tmp_path / "my_agent.py"
    agent.write_text(AGENT_WITH_IMPORTS)
    config = deploy.DeployConfig(agent=str(agent), name="my_agent", account=ACCOUNT, agent_file=agent)
    with pytest.warns(UserWarning) as caught:
        files = deploy.render(config)
    messages = [str(w.message) for w in caught]
    (warning,) = [m for m in messages if "my_agent.py imports" in m]
    assert "nonexistent_helper_pkg" in warning and "yaml" not in warning.split("imports ")[1].split(",")[0]
    pins = files["requirements.txt"].splitlines()
    assert f"pyyaml=={importlib.metadata.version('PyYAML')}" in pins
    names = {p.split("==")[0] for p in pins if not p.startswith("#")}
    assert not names & {"json", "collections", "os", "agentkit", "nonexistent-helper-pkg"}
    assert files["agent.py"] == AGENT_WITH_IMPORTS


def test_the_cli_shows_the_missing_import_warning_as_one_line(tmp_path: Path) -> None:
    agent = tmp_path / "my_agent.py"
    guarded = "try:\n    import nonexistent_helper_pkg\nexcept ImportError:\n    pass\n"
    agent.write_text(AGENT_WITH_IMPORTS.replace("import nonexistent_helper_pkg.sub\n", guarded))
    result = subprocess.run(
        [*DEPLOY, str(agent), "--account", ACCOUNT, "--out", str(tmp_path / "o")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "nonexistent_helper_pkg" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: my_agent.py imports nonexistent_helper_pkg")
    assert "pyyaml==" in (tmp_path / "o" / "requirements.txt").read_text()
