"""The AgentCore Memory session store through botocore's Stubber, which checks every request (and our canned
responses) against the real `bedrock-agentcore` service model."""

from __future__ import annotations

import pytest

from agentkit import Agent, ScriptedModel
from agentkit.errors import SessionBusy, SessionError
from agentkit.session_stores import open_store
from agentkit.session_stores.agentcore_memory import AgentCoreMemoryStore
from agentkit.sessions import Session, list_sessions

pytest.importorskip("boto3")
from memory_stub import MEMORY, NOW, event, expect_list, expect_writes, stubbed


def test_an_agent_writes_one_event_per_record_and_a_new_agent_reads_them_back() -> None:
    client, stub, created = stubbed()
    store = AgentCoreMemoryStore(MEMORY, client=client)
    expect_list(stub, "s1", [], payloads=True)  # the agent loads the (empty) session
    expect_list(stub, "s1", [], payloads=False)  # the run takes the lock: how many records are there
    expect_writes(stub, created, 2)  # the prompt, the answer
    with stub:
        Agent(model=ScriptedModel(["hello back"]), session=Session(store.transcript("s1")))("hello")
        stub.assert_no_pending_responses()
    first = created[0]["payload"]
    assert first[1] == {"conversational": {"content": {"text": "hello"}, "role": "USER"}}
    assert created[1]["payload"][1]["conversational"]["role"] == "ASSISTANT"
    assert '"type":"message"' in first[0]["blob"]

    # another machine: the events, out of order, across two pages, with a foreign event between them
    client, stub, _ = stubbed()
    foreign = {**event(created[0], 9), "payload": [{"conversational": {"content": {"text": "x"}, "role": "OTHER"}}]}
    foreign.pop("metadata")
    stub.add_response(
        "list_events",
        {"events": [event(created[1], 2), foreign], "nextToken": "page-2"},
        {"memoryId": MEMORY, "actorId": "agentkit", "sessionId": "s1", "includePayloads": True, "maxResults": 100},
    )
    expect_list(stub, "s1", [event(created[0], 1)], payloads=True, token="page-2")
    with stub:
        state = Session(AgentCoreMemoryStore(MEMORY, client=client).transcript("s1")).load()
    assert [(m.role, m.content) for m in state.messages] == [("user", "hello"), ("assistant", "hello back")]


@pytest.mark.parametrize(
    ("seqs", "problem"),
    [(["1", "3"], "record 2 is missing"), (["1", "1"], "record 1 appears twice")],
)
def test_a_gap_or_a_repeat_in_the_records_is_a_session_error(seqs: list[str], problem: str) -> None:
    client, stub, _ = stubbed()
    params = {"memoryId": MEMORY, "actorId": "agentkit", "sessionId": "s1", "payload": [{"blob": '{"type":"x"}'}]}
    events = [event(params | {"metadata": {"agentkit-seq": {"stringValue": s}}}, n) for n, s in enumerate(seqs)]
    expect_list(stub, "s1", events, payloads=True)
    with stub, pytest.raises(SessionError, match=f"agentcore-memory://{MEMORY}/agentkit/s1 {problem}"):
        Session(AgentCoreMemoryStore(MEMORY, client=client).transcript("s1")).load()


def test_an_invalid_record_in_an_event_is_refused_naming_it() -> None:
    client, stub, _ = stubbed()
    params = {
        "memoryId": MEMORY,
        "actorId": "agentkit",
        "sessionId": "s1",
        "payload": [{"blob": '{"type":"message","message":{"role":"root"}}'}],
        "metadata": {"agentkit-seq": {"stringValue": "1"}},
    }
    expect_list(stub, "s1", [event(params, 1)], payloads=True)
    with stub, pytest.raises(SessionError, match="s1 record 1 has a message whose role 'root'"):
        Session(AgentCoreMemoryStore(MEMORY, client=client).transcript("s1")).load()


def test_list_sessions_and_a_second_writer_in_this_process() -> None:
    client, stub, _ = stubbed()
    stub.add_response(
        "list_sessions",
        {"sessionSummaries": [{"sessionId": "s1", "actorId": "agentkit", "createdAt": NOW}]},
        {"memoryId": MEMORY, "actorId": "agentkit", "maxResults": 100},
    )
    expect_list(stub, "s1", [], payloads=True)
    expect_list(stub, "s1", [], payloads=False)
    store = AgentCoreMemoryStore(MEMORY, client=client)
    with stub:
        (info,) = list_sessions(store)
        assert info.id == "s1" and info.updated == NOW.timestamp() and info.messages == 0
        first = Session(store.transcript("s1"))
        first.acquire()
        with pytest.raises(SessionBusy, match="another run in this process"):
            Session(store.transcript("s1")).acquire()
        first.release()


def test_service_errors_become_session_errors_that_say_what_to_check() -> None:
    client, stub, _ = stubbed()
    stub.add_client_error("list_events", "ResourceNotFoundException", "Memory not found", 404)
    with stub, pytest.raises(SessionError, match="AgentCore Memory said ResourceNotFoundException: Memory not found"):
        Session(AgentCoreMemoryStore(MEMORY, client=client).transcript("s1")).load()


def test_the_url_names_the_memory_the_actor_and_the_session() -> None:
    session = Session.open(f"agentcore-memory://{MEMORY}/users/alice/chat-7?region=eu-west-1")
    store = session.transcript.store  # type: ignore[attr-defined]
    assert (store.memory_id, store.actor_id, store.region, session.id) == (MEMORY, "users/alice", "eu-west-1", "chat-7")
    assert session.location == f"agentcore-memory://{MEMORY}/users/alice/chat-7"
    default_actor = open_store(f"agentcore-memory://{MEMORY}")
    assert isinstance(default_actor, AgentCoreMemoryStore) and default_actor.actor_id == "agentkit"
