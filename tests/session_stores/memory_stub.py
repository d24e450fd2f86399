"""A bedrock-agentcore client behind botocore's Stubber, and canned AgentCore Memory events, for the tests."""

from __future__ import annotations

import datetime
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

MEMORY = "agentkit_mem-AbCdE12345"
NOW = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.UTC)


def stubbed() -> tuple[Any, Stubber, list[dict[str, Any]]]:
    """A bedrock-agentcore client behind a Stubber, and the list every create_event's parameters go to."""
    client = boto3.session.Session().client(
        "bedrock-agentcore", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    created: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.bedrock-agentcore.CreateEvent", lambda params, **_: created.append(dict(params))
    )
    return client, Stubber(client), created


def event(params: dict[str, Any], number: int) -> dict[str, Any]:
    """The event the service stores for one create_event call."""
    return {
        "memoryId": params["memoryId"],
        "actorId": params["actorId"],
        "sessionId": params["sessionId"],
        "eventId": f"{number}#abc{number:03x}",
        "eventTimestamp": NOW,
        "payload": params["payload"],
        **({"metadata": params["metadata"]} if "metadata" in params else {}),
    }


def expect_list(stub: Stubber, session: str, events: list[dict[str, Any]], *, payloads: bool, token: str = "") -> None:
    params = {
        "memoryId": MEMORY,
        "actorId": "agentkit",
        "sessionId": session,
        "includePayloads": payloads,
        "maxResults": 100,
    }
    if token:
        params["nextToken"] = token
    stub.add_response("list_events", {"events": events}, params)


def expect_writes(stub: Stubber, created: list[dict[str, Any]], count: int) -> None:
    for number in range(1, count + 1):
        stub.add_response(
            "create_event",
            {
                "event": {
                    "memoryId": MEMORY,
                    "actorId": "agentkit",
                    "sessionId": "s1",
                    "eventId": f"{number}#ab",
                    "eventTimestamp": NOW,
                    "payload": [],
                }
            },
            {
                "memoryId": MEMORY,
                "actorId": "agentkit",
                "sessionId": "s1",
                "eventTimestamp": ANY,
                "payload": ANY,
                "metadata": {"agentkit-seq": {"stringValue": str(number)}},
            },
        )
