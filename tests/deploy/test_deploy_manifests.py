"""`agentkit deploy agentcore`: the manifests, their validation, and the checked-in deploy/ folder."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from agentkit import deploy
from agentkit.cli import cli
from agentkit.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
FILE_AGENT = "tests/serve/agent_fixture.py"
SHIPPED = {"assistant": "assistant", "repo-optimizer": "repo_optimizer"}  # agent -> runtime name
# The account deploy/ is generated for (`agentkit deploy agentcore AGENT --account 123456789012`).
ACCOUNT = "123456789012"
DEPLOY = [sys.executable, "-m", "agentkit", "deploy", "agentcore"]


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    config = deploy.DeployConfig(agent=FILE_AGENT, name="example", account=ACCOUNT, agent_file=REPO / FILE_AGENT)
    return deploy.render(config)


def run_cli(args: list[str], cwd: Path = REPO, env: dict[str, str] | None = None) -> tuple[int, str]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, args, env=env)
    finally:
        os.chdir(old)
    return result.exit_code, result.output


def test_deploy_folder_holds_the_shipped_agents() -> None:
    assert sorted(p.name for p in (REPO / "deploy").iterdir()) == sorted(SHIPPED.values())


@pytest.mark.parametrize("agent", sorted(SHIPPED))
def test_checked_in_deploy_folder_matches_a_fresh_generation(agent: str, tmp_path: Path) -> None:
    # This runs the whole validation, cfn-lint included, before anything is written.
    code, output = run_cli(["deploy", "agentcore", agent, "--account", ACCOUNT, "--out", str(tmp_path)])
    assert code == 0, output
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    folder = REPO / "deploy" / SHIPPED[agent]
    checked_in = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert sorted(fresh) == sorted(checked_in)
    # requirements.txt pins the versions installed where the generator runs; a CI machine that resolved a
    # newer patch release must not fail here, so that file is compared by package names (all still pinned).
    stale = [name for name in fresh if name != "requirements.txt" and fresh[name] != checked_in[name]]
    assert not stale, f"deploy/{SHIPPED[agent]} is stale ({stale}): rerun `agentkit deploy agentcore {agent}`"
    fresh_pins = _pins(fresh["requirements.txt"].decode())
    checked_pins = _pins(checked_in["requirements.txt"].decode())
    assert sorted(fresh_pins) == sorted(checked_pins), "the dependency set changed: rerun `agentkit deploy`"
    assert all(checked_pins.values()), "every requirement must be pinned with =="
    assert os.access(tmp_path / "build.sh", os.X_OK)
    assert f'"serve", "{agent}"' in checked_in["Dockerfile"].decode()


def _pins(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {line.split("==")[0].lower(): line.partition("==")[2] for line in lines}


def test_rendering_is_deterministic(files: dict[str, str]) -> None:
    config = deploy.DeployConfig(agent=FILE_AGENT, name="example", account=ACCOUNT, agent_file=REPO / FILE_AGENT)
    again = deploy.render(config)
    assert again == files
    dates = {d for text in files.values() for d in re.findall(r"20\d\d-\d\d-\d\d", text)}
    assert dates <= {"2012-10-17", "2010-09-09"}  # only the IAM and CloudFormation format versions


def test_dockerfile_is_arm64_non_root_on_8080(files: dict[str, str]) -> None:
    lines = files["Dockerfile"].splitlines()
    assert any(line.startswith("FROM --platform=linux/arm64 ") for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert "EXPOSE 8080" in lines
    cmd = json.loads(next(line for line in lines if line.startswith("CMD "))[4:])
    assert cmd[0] == "opentelemetry-instrument"  # observability is on by default
    assert cmd[1:] == ["agentkit", "serve", "/app/agent.py", "--host", "0.0.0.0", "--port", "8080"]
    assert "COPY --chown=1000:1000 agent.py /app/agent.py" in lines


def test_requirements_are_all_pinned_and_cover_the_server(files: dict[str, str]) -> None:
    pins = [line for line in files["requirements.txt"].splitlines() if line and not line.startswith("#")]
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9.-]*==[\w.+!-]+", p) for p in pins), pins
    names = {p.split("==")[0] for p in pins}
    assert {"uvicorn", "httptools", "uvloop", "boto3", "botocore", "pydantic", "pydantic-core", "h11"} <= names
    assert pins == sorted(pins, key=lambda p: p.split("==")[0])


def test_build_script_is_valid_bash_building_arm64_for_ecr(files: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "build.sh"
    script.write_text(files["build.sh"])
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = files["build.sh"]
    assert "docker buildx build --platform linux/arm64" in text
    assert "--push" in text and "aws ecr get-login-password" in text


def test_iam_policies_follow_the_agentcore_docs(files: dict[str, str]) -> None:
    trust = json.loads(files["iam/trust-policy.json"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    policy = json.loads(files["iam/execution-policy.json"])
    actions = {a for st in policy["Statement"] for a in st["Action"]}
    for needed in ("ecr:BatchGetImage", "ecr:GetAuthorizationToken", "logs:PutLogEvents", "xray:PutTraceSegments"):
        assert needed in actions
    assert {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"} <= actions
    assert {"bedrock-agentcore:GetWorkloadAccessToken", "cloudwatch:PutMetricData"} <= actions


def test_template_has_the_role_and_the_runtime(files: dict[str, str]) -> None:
    template = yaml.safe_load(files["template.yaml"])
    resources = template["Resources"]
    assert resources["ExecutionRole"]["Type"] == "AWS::IAM::Role"
    runtime = resources["Runtime"]
    assert runtime["Type"] == "AWS::BedrockAgentCore::Runtime"
    assert runtime["Properties"]["RoleArn"] == {"Fn::GetAtt": ["ExecutionRole", "Arn"]}
    assert runtime["Properties"]["ProtocolConfiguration"] == "HTTP"  # a string in CloudFormation
    trust = resources["ExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Fn::Sub": "${AWS::AccountId}"}


def test_starter_toolkit_reads_the_bedrock_agentcore_yaml(files: dict[str, str], tmp_path: Path) -> None:
    from bedrock_agentcore_starter_toolkit.utils.runtime.config import load_config

    path = tmp_path / ".bedrock_agentcore.yaml"
    path.write_text(files[".bedrock_agentcore.yaml"])
    config = load_config(path, autofill_missing_aws=False)
    agent = config.get_agent_config("example")
    assert agent.platform == "linux/arm64"
    assert agent.deployment_type == "container"
    assert agent.aws.region == "us-west-2"
    assert agent.aws.protocol_configuration.server_protocol == "HTTP"


def test_runtime_json_is_a_valid_create_request(files: dict[str, str]) -> None:
    request = json.loads(files["runtime.json"])
    deploy.validate_request("CreateAgentRuntime", request)  # raises on any problem
    assert request["agentRuntimeName"] == "example"


@pytest.mark.parametrize("name", ["agentkit-demo", "1agent", "a" * 49, "", "has space"])
def test_bad_runtime_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=r"runtime name .* is invalid"):
        deploy.render(deploy.DeployConfig(agent="x", name=name, account=ACCOUNT))


def test_default_runtime_names_are_valid() -> None:
    assert deploy.default_runtime_name("repo-optimizer") == "repo_optimizer"
    assert deploy.default_runtime_name("agents/my.agent.py") == "my_agent"
    assert deploy.default_runtime_name("pkg.mod:make_agent") == "make_agent"
    assert deploy.default_runtime_name("9lives") == "agent_9lives"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["networkConfiguration"].update(networkMode="PRIVATE"), "not one of PUBLIC, VPC"),
        (lambda r: r["protocolConfiguration"].update(serverProtocol="http"), "serverProtocol"),
        (lambda r: r.update(roleArn="role/agentkit"), "roleArn"),
        (lambda r: r["lifecycleConfiguration"].update(idleRuntimeSessionTimeout=10), "idleRuntimeSessionTimeout"),
        (lambda r: r.pop("roleArn"), "roleArn"),
        (lambda r: r.update(agentRuntimeName="agentkit-demo"), "runtime name 'agentkit-demo' is invalid"),
    ],
)
def test_bad_runtime_requests_are_refused(files: dict[str, str], change, message: str) -> None:
    request = json.loads(files["runtime.json"])
    change(request)
    with pytest.raises(ConfigError, match=message):
        deploy.validate({**files, "runtime.json": json.dumps(request)}, lint=False)


def test_service_model_patterns_are_checked_where_botocore_skips_them(files: dict[str, str]) -> None:
    request = json.loads(files["runtime.json"]) | {"agentRuntimeName": "agentkit-demo"}
    with pytest.raises(ConfigError, match=r"CreateAgentRuntime.agentRuntimeName 'agentkit-demo' does not match"):
        deploy.validate_request("CreateAgentRuntime", request)
    request = json.loads(files["runtime.json"])
    request["agentRuntimeArtifact"]["containerConfiguration"]["containerUri"] = "docker.io/library/python:3.11"
    with pytest.raises(ConfigError, match=r"containerUri 'docker\.io/library/python:3\.11' does not match"):
        deploy.validate_request("CreateAgentRuntime", request)


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        ("iam/trust-policy.json", lambda p: p.pop("Version"), "Version"),
        ("iam/trust-policy.json", lambda p: p["Statement"][0].pop("Principal"), "Principal"),
        ("iam/execution-policy.json", lambda p: p.update(Statement=[]), "non-empty list"),
        ("iam/execution-policy.json", lambda p: p["Statement"][0].update(Effect="Maybe"), "Effect"),
        ("iam/execution-policy.json", lambda p: p["Statement"][1].update(Action=["ecr"]), "Action"),
        ("iam/execution-policy.json", lambda p: p["Statement"][2].pop("Resource"), "Resource"),
    ],
)
def test_bad_iam_documents_are_refused(files: dict[str, str], path: str, change, message: str) -> None:
    policy = json.loads(files[path])
    change(policy)
    with pytest.raises(ConfigError, match=f"{path}: .*{message}"):
        deploy.validate({**files, path: json.dumps(policy)}, lint=False)


def test_cfn_lint_failures_are_refused(files: dict[str, str]) -> None:
    template = yaml.safe_load(files["template.yaml"])
    broken = copy.deepcopy(template)
    broken["Resources"]["Runtime"]["Properties"]["ProtocolConfiguration"] = {"ServerProtocol": "HTTP"}
    with pytest.raises(ConfigError, match=r"template\.yaml fails cfn-lint: E"):
        deploy.validate({**files, "template.yaml": yaml.safe_dump(broken)})


def test_cli_bad_input_is_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    for args, expected in [
        (["--name", "bad-name"], "runtime name 'bad-name' is invalid"),
        (["--region", "mars"], "region 'mars' is not an AWS region"),
    ]:
        out = tmp_path / "out"
        result = subprocess.run(
            [*DEPLOY, "assistant", "--out", str(out), "--account", ACCOUNT, *args],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ")
        assert expected in lines[0]
        assert not out.exists()  # nothing written
    missing = str(tmp_path / "missing.py")
    code, _ = run_cli(["deploy", "agentcore", missing, "--account", ACCOUNT, "--out", str(tmp_path / "o")])
    assert code != 0
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("length", [46, 47, 48])
def test_long_runtime_names_keep_every_derived_name_in_its_limits(length: int) -> None:
    name = "a" * length
    config = deploy.DeployConfig(agent=FILE_AGENT, name=name, account=ACCOUNT, agent_file=REPO / FILE_AGENT)
    assert len(config.role_name) <= 64 and config.role_name.startswith("agentkit-")
    assert config.role_name.endswith("-runtime")
    other = deploy.DeployConfig(agent=FILE_AGENT, name=name[:-1] + "b", account=ACCOUNT, agent_file=REPO / FILE_AGENT)
    assert other.role_name != config.role_name
    rendered = deploy.render(config)
    deploy.validate(rendered)
    assert json.loads(rendered["runtime.json"])["roleArn"].endswith(f":role/{config.role_name}")


def test_an_out_folder_under_a_regular_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    result = subprocess.run(
        [*DEPLOY, "assistant", "--account", ACCOUNT, "--out", str(blocker / "sub")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write "), result.stderr
    assert str(blocker / "sub") in lines[0]
