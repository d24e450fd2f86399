"""`--apply`: create or update the runtime and wait for READY, against botocore's Stubber (no network)."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from agentkit import deploy
from agentkit.cli import cli
from agentkit.errors import AgentkitError

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
ARN = f"arn:aws:bedrock-agentcore:us-west-2:{ACCOUNT}:runtime/assistant-AbCdEf1234"
NOW = datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)


@pytest.fixture
def request_body() -> dict:
    return json.loads((REPO / "deploy" / "assistant" / "runtime.json").read_text())


@pytest.fixture
def control():
    client = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-west-2"
    ).client("bedrock-agentcore-control")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expected_create(body: dict) -> dict:
    return json.loads(json.dumps(body))  # botocore fills clientToken in after the Stubber has checked the request


def status(state: str, **extra: object) -> dict:
    return {
        "agentRuntimeArn": ARN,
        "agentRuntimeName": "assistant",
        "agentRuntimeId": "assistant-AbCdEf1234",
        "agentRuntimeVersion": "1",
        "createdAt": NOW,
        "lastUpdatedAt": NOW,
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/agentkit-assistant-runtime",
        "networkConfiguration": {"networkMode": "PUBLIC"},
        "lifecycleConfiguration": {"idleRuntimeSessionTimeout": 900, "maxLifetime": 28800},
        "status": state,
        **extra,
    }


def accepted(state: str) -> dict:
    """What create/update_agent_runtime return."""
    keys = ("agentRuntimeArn", "agentRuntimeId", "agentRuntimeVersion", "createdAt", "status")
    return {k: v for k, v in status(state).items() if k in keys}


GET = {"agentRuntimeId": "assistant-AbCdEf1234"}


def run(body: dict, client) -> deploy.ApplyResult:
    return deploy.apply(body, control=client, account=ACCOUNT, poll_interval=0, sleep=lambda _: None)


def test_create_path_waits_until_ready(control, request_body: dict) -> None:
    client, stubber = control
    stubber.add_response("list_agent_runtimes", {"agentRuntimes": []}, {})
    created = accepted("CREATING")
    stubber.add_response("create_agent_runtime", created, expected_create(request_body))
    stubber.add_response("get_agent_runtime", status("CREATING"), GET)
    stubber.add_response("get_agent_runtime", status("READY"), GET)
    result = run(request_body, client)
    assert result.created
    assert result.arn == ARN
    assert ARN in result.invoke_command("us-west-2")


def test_update_path_when_the_name_exists(control, request_body: dict) -> None:
    client, stubber = control
    other = {
        "agentRuntimeArn": ARN + "x",
        "agentRuntimeId": "other-1",
        "agentRuntimeVersion": "3",
        "agentRuntimeName": "other",
        "description": "another runtime",
        "lastUpdatedAt": NOW,
        "status": "READY",
    }
    mine = other | {"agentRuntimeArn": ARN, "agentRuntimeId": "assistant-AbCdEf1234", "agentRuntimeName": "assistant"}
    stubber.add_response("list_agent_runtimes", {"agentRuntimes": [other], "nextToken": "page2"}, {})
    stubber.add_response("list_agent_runtimes", {"agentRuntimes": [mine]}, {"nextToken": "page2"})
    update = expected_create(request_body)
    del update["agentRuntimeName"]
    update["agentRuntimeId"] = "assistant-AbCdEf1234"
    stubber.add_response("update_agent_runtime", accepted("UPDATING") | {"lastUpdatedAt": NOW}, update)
    stubber.add_response("get_agent_runtime", status("READY", agentRuntimeVersion="2"), GET)
    result = run(request_body, client)
    assert not result.created
    assert result.version == "2"


def test_a_failed_status_is_an_error_naming_the_reason(control, request_body: dict) -> None:
    client, stubber = control
    stubber.add_response("list_agent_runtimes", {"agentRuntimes": []}, {})
    created = accepted("CREATING")
    stubber.add_response("create_agent_runtime", created, expected_create(request_body))
    stubber.add_response(
        "get_agent_runtime",
        status("CREATE_FAILED", failureReason="image not found: agentkit-assistant:latest"),
        {"agentRuntimeId": "assistant-AbCdEf1234"},
    )
    with pytest.raises(AgentkitError, match="CREATE_FAILED: image not found"):
        run(request_body, client)


def test_access_denied_is_one_clear_error(control, request_body: dict) -> None:
    client, stubber = control
    stubber.add_client_error(
        "list_agent_runtimes", "AccessDeniedException", "User is not authorized to perform ListAgentRuntimes", 403
    )
    with pytest.raises(AgentkitError, match=r"ListAgentRuntimes failed: AccessDeniedException: .*iam:PassRole"):
        run(request_body, client)


def test_a_custom_image_uri_is_sent(control, request_body: dict) -> None:
    client, stubber = control
    image = f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/agentkit-assistant:v7"
    sent = expected_create(request_body)
    sent["agentRuntimeArtifact"]["containerConfiguration"]["containerUri"] = image
    stubber.add_response("list_agent_runtimes", {"agentRuntimes": []}, {})
    stubber.add_response(
        "create_agent_runtime",
        accepted("READY"),
        sent,
    )
    stubber.add_response("get_agent_runtime", status("READY"), GET)
    deploy.apply(request_body, control=client, account=ACCOUNT, image_uri=image, sleep=lambda _: None)


def test_cli_apply_without_credentials_says_so(tmp_path: Path) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SESSION_TOKEN": "",
        "AWS_PROFILE": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
    }
    old = os.getcwd()
    os.chdir(REPO)
    try:
        result = CliRunner().invoke(
            cli,
            [
                "deploy",
                "agentcore",
                "assistant",
                "--out",
                str(tmp_path / "o"),
                "--apply",
            ],
            env={k: (v or None) for k, v in env.items()},
        )
    finally:
        os.chdir(old)
    assert result.exit_code != 0
    assert "no AWS credentials found" in str(result.exception) + result.output
    assert not (tmp_path / "o").exists()  # refused before anything was written
