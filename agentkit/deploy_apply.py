"""`agentkit deploy agentcore --apply`: create the AgentCore runtime a rendered `runtime.json` describes (or update
the one of that name) through the bedrock-agentcore-control API, and wait until it is READY."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentkit.deploy_checks import check_account, validate_request
from agentkit.errors import AgentkitError

__all__ = ["ApplyResult", "apply"]


@dataclass(slots=True, kw_only=True)
class ApplyResult:
    arn: str
    runtime_id: str
    version: str
    created: bool  # False: an existing runtime of that name was updated

    def invoke_command(self, region: str) -> str:
        return (
            f"aws bedrock-agentcore invoke-agent-runtime --region {region} --agent-runtime-arn {self.arn} "
            "--runtime-session-id \"$(python3 -c 'import uuid; print(uuid.uuid4())')\" "
            '--payload \'{"prompt": "hello"}\' --cli-binary-format raw-in-base64-out response.json'
        )


def apply(
    request: dict[str, Any],
    *,
    control: Any,
    account: str,
    image_uri: str | None = None,
    timeout: float = 900.0,
    poll_interval: float = 5.0,
    progress: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> ApplyResult:
    """Create the runtime, or update the one with the same name; wait until it is READY.

    `control` is a boto3 `bedrock-agentcore-control` client; `account` replaces the account the request names.
    """
    from botocore.exceptions import ClientError

    body = _for_account(request, account, image_uri)
    validate_request("CreateAgentRuntime", body)
    name = body["agentRuntimeName"]
    try:
        existing = _find_runtime(control, name)
        if existing is None:
            progress(f"creating runtime {name}")
            answer = control.create_agent_runtime(**body)
        else:
            progress(f"updating runtime {name} ({existing})")
            update = {k: v for k, v in body.items() if k != "agentRuntimeName"}
            answer = control.update_agent_runtime(agentRuntimeId=existing, **update)
        runtime_id = answer["agentRuntimeId"]
        status = _wait_ready(control, runtime_id, timeout, poll_interval, progress, sleep)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        hint = ""
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            hint = "; the caller needs bedrock-agentcore:*AgentRuntime* and iam:PassRole on the execution role"
        raise AgentkitError(f"{exc.operation_name} failed: {code}: {message}{hint}") from None
    return ApplyResult(
        arn=status["agentRuntimeArn"],
        runtime_id=runtime_id,
        version=str(status.get("agentRuntimeVersion", answer.get("agentRuntimeVersion", ""))),
        created=existing is None,
    )


def _for_account(request: dict[str, Any], account: str, image_uri: str | None) -> dict[str, Any]:
    """The request with `account` in place of the one it was rendered for."""
    check_account(account)
    body = copy.deepcopy(request)
    recorded = body["roleArn"].split(":")[4]
    body["roleArn"] = body["roleArn"].replace(f":{recorded}:", f":{account}:")
    container = body["agentRuntimeArtifact"]["containerConfiguration"]
    container["containerUri"] = image_uri or container["containerUri"].replace(recorded, account, 1)
    return body


def _find_runtime(control: Any, name: str) -> str | None:
    token: str | None = None
    while True:
        page = control.list_agent_runtimes(**({"nextToken": token} if token else {}))
        for runtime in page.get("agentRuntimes", []):
            if runtime.get("agentRuntimeName") == name:
                return str(runtime["agentRuntimeId"])
        token = page.get("nextToken")
        if not token:
            return None


def _wait_ready(
    control: Any,
    runtime_id: str,
    timeout: float,
    poll_interval: float,
    progress: Callable[[str], None],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    waited = 0.0
    while True:
        status: dict[str, Any] = control.get_agent_runtime(agentRuntimeId=runtime_id)
        state = status.get("status")
        if state == "READY":
            return status
        if state in ("CREATE_FAILED", "UPDATE_FAILED", "DELETING", "DELETE_FAILED"):
            reason = status.get("failureReason") or "no reason given"
            raise AgentkitError(f"runtime {runtime_id} is {state}: {reason}")
        if waited >= timeout:
            raise AgentkitError(f"runtime {runtime_id} is still {state} after {timeout:.0f} s; check the console")
        progress(f"runtime {runtime_id} is {state}")
        sleep(poll_interval)
        waited += poll_interval
