"""Checks of the manifests `agentkit deploy agentcore` renders, before anything is written or sent: botocore's
own model of the bedrock-agentcore-control API (its validator plus the patterns and enums it leaves out), the
IAM policies' structure, and cfn-lint on the CloudFormation template."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from agentkit.errors import ConfigError

__all__ = ["RUNTIME_NAME_PATTERN", "check_account", "check_name", "validate", "validate_request"]

RUNTIME_NAME_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,47}")


def check_name(name: str) -> None:
    if not RUNTIME_NAME_PATTERN.fullmatch(name):
        raise ConfigError(
            f"runtime name {name!r} is invalid: AgentCore needs a letter, then up to 47 letters, digits or "
            "underscores (no hyphens); pass --name"
        )


def check_account(account: str) -> None:
    if not re.fullmatch(r"\d{12}", account or ""):
        raise ConfigError(f"AWS account id {account!r} is not 12 digits; pass --account")


def validate(files: dict[str, str], *, lint: bool = True) -> None:
    """Check the rendered manifests; raise ConfigError with one line naming the first problem."""
    request = json.loads(files["runtime.json"])
    check_name(request.get("agentRuntimeName", ""))
    validate_request("CreateAgentRuntime", request)
    for path in ("iam/trust-policy.json", "iam/execution-policy.json"):
        problem = _iam_problem(json.loads(files[path]), trust=path.endswith("trust-policy.json"))
        if problem:
            raise ConfigError(f"{path}: {problem}")
    if lint:
        _cfn_lint(files["template.yaml"], _region_of(request))


def _region_of(request: dict[str, Any]) -> str:
    uri = request["agentRuntimeArtifact"]["containerConfiguration"]["containerUri"]
    return str(uri.split(".")[3])


def validate_request(operation: str, params: dict[str, Any]) -> None:
    """botocore's own validator for the bedrock-agentcore-control model, plus its patterns and enums."""
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    model = botocore.session.get_session().get_service_model("bedrock-agentcore-control")
    shape = model.operation_model(operation).input_shape
    try:
        validate_parameters(params, shape)
    except ParamValidationError as exc:
        raise ConfigError(f"{operation} request is invalid: {' '.join(str(exc).split())}") from None
    for where, problem in _pattern_problems(params, shape, operation):
        raise ConfigError(f"{operation} request is invalid: {where} {problem}")


def _pattern_problems(value: Any, shape: Any, where: str) -> Iterator[tuple[str, str]]:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                yield from _pattern_problems(item, shape.members[key], f"{where}.{key}")
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from _pattern_problems(item, shape.member, f"{where}[{i}]")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from _pattern_problems(key, shape.key, f"{where} key {key!r}")
            yield from _pattern_problems(item, shape.value, f"{where}[{key!r}]")
    elif kind == "string" and isinstance(value, str):
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            yield where, f"is {value!r}, not one of {', '.join(enum)}"
        pattern = shape.metadata.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(value):
            yield where, f"{value!r} does not match the pattern {pattern}"


_PATTERNS: dict[str, re.Pattern[str] | None] = {}


def _compiled(pattern: str) -> re.Pattern[str] | None:
    if pattern not in _PATTERNS:
        try:
            _PATTERNS[pattern] = re.compile(pattern)
        except re.error:  # a dialect Python cannot read: botocore does not check it either
            _PATTERNS[pattern] = None
    return _PATTERNS[pattern]


def _iam_problem(policy: Any, *, trust: bool) -> str | None:
    if not isinstance(policy, dict) or policy.get("Version") != "2012-10-17":
        return 'the policy needs "Version": "2012-10-17"'
    statements = policy.get("Statement")
    if not isinstance(statements, list) or not statements:
        return '"Statement" must be a non-empty list'
    for i, st in enumerate(statements):
        if not isinstance(st, dict):
            return f"statement {i} is not an object"
        if st.get("Effect") not in ("Allow", "Deny"):
            return f'statement {i}: "Effect" must be Allow or Deny'
        actions = st.get("Action")
        if not actions or not all(isinstance(a, str) and ":" in a for a in _as_list(actions)):
            return f'statement {i}: "Action" must name service:action strings'
        needed = "Principal" if trust else "Resource"
        if not st.get(needed):
            return f'statement {i}: "{needed}" is missing'
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _cfn_lint(template: str, region: str) -> None:
    try:
        from cfnlint.api import ManualArgs, lint
    except ImportError:
        raise ConfigError(
            "cfn-lint is not installed, so template.yaml cannot be checked: pip install cfn-lint"
        ) from None
    matches = lint(template, config=ManualArgs(regions=[region]))
    errors = [m for m in matches if m.rule.id.startswith("E")]
    if errors:
        first = errors[0]
        raise ConfigError(f"template.yaml fails cfn-lint: {first.rule.id} {first.message} (line {first.linenumber})")
