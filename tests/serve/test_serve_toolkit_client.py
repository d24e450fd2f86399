"""The starter toolkit's own local-invoke client (`agentcore invoke --local`) against `agentkit serve`.

`invoke_bedrock_agentcore(local_mode=True)` cannot run offline: before sending anything it fetches a
workload access token from AWS (IdentityClient.get_workload_access_token) and always targets port 8080.
The HTTP step after that is `LocalBedrockAgentCoreClient.invoke_endpoint`, which is what runs here.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from bedrock_agentcore_starter_toolkit.services import runtime as toolkit_runtime

pytestmark = pytest.mark.integration

Server = Any


def test_toolkit_local_client_json_and_session(server: Server) -> None:
    client = toolkit_runtime.LocalBedrockAgentCoreClient(server.url)
    session = "toolkit-" + uuid.uuid4().hex
    first = client.invoke_endpoint(session, json.dumps({"prompt": "hi", "stream": False}), "", "")
    assert json.loads(first["response"])["text"] == "heard: hi"
    second = client.invoke_endpoint(session, json.dumps({"prompt": "again", "stream": False}), "", "")
    assert json.loads(second["response"])["text"] == "heard: hi | again"


def test_toolkit_local_client_streams(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    printed: list[str] = []

    class Console:
        def print(self, text: str = "", end: str = "\n") -> None:
            printed.append(str(text))

    monkeypatch.setattr(toolkit_runtime, "console", Console())
    client = toolkit_runtime.LocalBedrockAgentCoreClient(server.url)
    # The client asks for "text/event-stream, application/json", so the answer streams.
    assert client.invoke_endpoint("toolkit-" + uuid.uuid4().hex, '{"prompt": "streamed"}', "", "") == {}
    events = [json.loads(chunk) for chunk in printed if chunk.strip()]
    assert [e["kind"] for e in events] == ["text", "done"]
    assert events[-1]["text"] == "heard: streamed"
