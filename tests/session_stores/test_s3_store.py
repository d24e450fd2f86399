"""The S3 session store against a real S3 HTTP endpoint on loopback (moto in server mode)."""

from __future__ import annotations

import json
import time

import pytest
from s3_support import s3_client

from agentkit import Agent, ScriptedModel, ToolCall, tool
from agentkit.errors import SessionBusy, SessionError
from agentkit.session_stores import open_store
from agentkit.session_stores import s3 as s3_module
from agentkit.session_stores.s3 import S3Store
from agentkit.sessions import Session, list_sessions

pytestmark = pytest.mark.integration


@tool
def note(text: str) -> str:
    """Record a note."""
    return f"noted {text}"


def keys(endpoint: str, bucket: str, prefix: str = "") -> list[str]:
    listing = s3_client(endpoint).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [entry["Key"] for entry in listing.get("Contents", [])]


def put(endpoint: str, bucket: str, key: str, body: bytes) -> None:
    s3_client(endpoint).put_object(Bucket=bucket, Key=key, Body=body)


def test_an_agent_on_an_s3_url_writes_one_object_per_record_and_a_new_agent_continues_it(
    bucket: str, moto_endpoint: str
) -> None:
    url = f"s3://{bucket}/team/chats/first"
    model = ScriptedModel([ToolCall(name="note", arguments={"text": "a"}), "done"])
    Agent(model=model, tools=[note], session=url)("hello")
    names = keys(moto_endpoint, bucket, "team/chats/first/")
    records = [k for k in names if "/records/" in k]
    assert records[0] == "team/chats/first/records/000000000001.json"
    assert len(records) == 6  # user, assistant (a call), call_started, tool_result, tool message, the answer
    assert "team/chats/first/writer.lock" not in names  # given back at the end of the run

    # a new Agent (a new client, as on another machine) continues the conversation
    again = Agent(model=ScriptedModel(["second answer"]), tools=[note], session=url)
    assert [m.role for m in again.messages] == ["user", "assistant", "tool", "assistant"]
    again("and again")
    assert [m.content for m in Session.open(url).load().messages][-2:] == ["and again", "second answer"]


def test_a_second_writer_gets_session_busy_naming_the_first(bucket: str) -> None:
    first = Session.open(f"s3://{bucket}/p/shared")
    second = Session.open(f"s3://{bucket}/p/shared")
    first.acquire()
    try:
        with pytest.raises(SessionBusy, match=r"in use by another run \(pid \d+ on "):
            second.acquire()
        with pytest.raises(SessionBusy):  # a write outside a run needs the lock too
            second.append({"type": "note"})
        first.append({"type": "note"})
    finally:
        first.release()
    second.append({"type": "note"})  # free again
    assert [r["type"] for r in Session.open(f"s3://{bucket}/p/shared").records()] == ["note", "note"]


def test_two_writers_that_both_think_they_hold_the_session_cannot_both_write_record_n(
    bucket: str, moto_endpoint: str
) -> None:
    """The lock was taken over under a live writer (it stalled past its lease): If-None-Match on the record key
    still lets only one of them write each record."""
    store = open_store(f"s3://{bucket}/p?lease=1")
    stalled, taker = store.transcript("s"), store.transcript("s")
    stalled.acquire()
    s3_client(moto_endpoint).delete_object(Bucket=bucket, Key="p/s/writer.lock")  # as if its lease ran out
    taker.acquire()
    taker.append(b'{"type":"note","by":"taker"}')
    with pytest.raises(SessionBusy, match="another writer wrote record 1 first"):
        stalled.append(b'{"type":"note","by":"stalled"}')
    with pytest.raises(SessionBusy):  # and it stays out
        stalled.append(b'{"type":"note","by":"stalled"}')
    taker.append(b'{"type":"note","by":"taker"}')
    stalled.release()
    taker.release()
    assert [json.loads(r.data)["by"] for r in store.transcript("s").read()] == ["taker", "taker"]


def test_a_crashed_writers_lock_is_taken_over_after_its_lease_and_a_live_one_is_renewed(
    bucket: str, moto_endpoint: str
) -> None:
    lock = json.dumps({"holder": "pid 4242 on lost-host", "lease": 1}).encode()
    put(moto_endpoint, bucket, "p/s/writer.lock", lock)  # left by a writer that was killed
    session = Session.open(f"s3://{bucket}/p/s?lease=1")
    with pytest.raises(SessionBusy, match="pid 4242 on lost-host"):
        session.acquire()
    time.sleep(3.1)  # past its 1 s lease (+1 s, as S3's clock has whole seconds)
    session.acquire()  # taken over
    try:
        time.sleep(2.5)  # the holder renews its lease every lease/3 s: still its own
        with pytest.raises(SessionBusy, match=r"pid \d+ on "):
            Session.open(f"s3://{bucket}/p/s?lease=1").acquire()
        session.append({"type": "note"})
    finally:
        session.release()
    assert "p/s/writer.lock" not in keys(moto_endpoint, bucket)


def test_a_garbage_lock_object_is_a_busy_session_with_an_unknown_holder(bucket: str, moto_endpoint: str) -> None:
    put(moto_endpoint, bucket, "p/s/writer.lock", b"[" * 100_000)
    with pytest.raises(SessionBusy, match="an unknown writer"):
        Session.open(f"s3://{bucket}/p/s").acquire()


def test_list_show_and_updated_on_an_s3_store(bucket: str) -> None:
    Agent(model=ScriptedModel(["one"]), session=f"s3://{bucket}/p/alpha")("first prompt")
    Agent(model=ScriptedModel(["two"]), session=f"s3://{bucket}/p/beta")("second prompt")
    infos = {info.id: info for info in list_sessions(f"s3://{bucket}/p")}
    assert set(infos) == {"alpha", "beta"}
    assert infos["alpha"].first_prompt == "first prompt" and infos["alpha"].messages == 2
    assert infos["beta"].location == f"s3://{bucket}/p/beta" and infos["beta"].path is None
    assert infos["alpha"].updated > 0
    assert list_sessions(f"s3://{bucket}/nothing-here") == []


@pytest.mark.parametrize(
    ("objects", "problem"),
    [
        ({"records/000000000001.json": b'{"type":"message","message":{"role":5}}'}, "record 1 has a message whose"),
        ({"records/000000000001.json": b"[" * 900}, "record 1 is not a JSON record"),
        ({"records/000000000001.json": b'{"type":"note"}', "records/000000000003.json": b"{}"}, "record 2 is missing"),
        ({"records/000000000001.json": b'{"type":"note"}', "records/evil.json": b"{}"}, "'p/s/records/evil.json'"),
        ({"records/000000000001.json": b'{"type":"note","pad":"' + b"x" * 2000 + b'"}'}, "record 1 is over 1000 bytes"),
    ],
)
def test_hostile_objects_are_refused_with_the_record_they_are(
    bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, objects: dict[str, bytes], problem: str
) -> None:
    monkeypatch.setattr(s3_module, "MAX_RECORD_BYTES", 1000)
    for name, body in objects.items():
        put(moto_endpoint, bucket, f"p/s/{name}", body)
    with pytest.raises(SessionError, match=problem) as caught:
        Session.open(f"s3://{bucket}/p/s").load()
    assert f"s3://{bucket}/p/s " in str(caught.value)
    (info,) = list_sessions(f"s3://{bucket}/p")  # listed, marked, not hidden
    assert info.problem is not None and info.messages == 0


def test_s3_errors_say_what_could_not_be_done(bucket: str) -> None:
    with pytest.raises(SessionError, match=r"cannot .* S3 said NoSuchBucket: .*create the bucket"):
        Session.open("s3://no-such-bucket-here/p/s").append({"type": "note"})


def test_a_store_made_in_code_takes_a_client(bucket: str, moto_endpoint: str) -> None:
    store = S3Store(bucket, "in/code", client=s3_client(moto_endpoint))
    Agent(model=ScriptedModel(["hi"]), session=Session(store.transcript("x")))("hello")
    assert keys(moto_endpoint, bucket, "in/code/x/records/")


def test_reading_a_session_again_fetches_only_the_records_it_has_not_seen(bucket: str, moto_endpoint: str) -> None:
    store = open_store(f"s3://{bucket}/p")
    gets: list[str] = []
    store.client.meta.events.register("before-call.s3.GetObject", lambda params, **_: gets.append(params["url_path"]))
    writer = Session(store.transcript("s"))
    writer.append({"type": "note", "n": 1})  # written by this store: known without a GET
    assert Session(store.transcript("s")).records() == [{"type": "note", "n": 1}] and gets == []
    put(moto_endpoint, bucket, "p/s/records/000000000002.json", b'{"type":"note","n":2}')  # another machine's
    assert len(Session(store.transcript("s")).records()) == 2 and len(gets) == 1
    put(moto_endpoint, bucket, "p/s/records/000000000002.json", b'{"type":"note","n":"changed"}')  # a new ETag
    assert Session(store.transcript("s")).records()[1] == {"type": "note", "n": "changed"} and len(gets) == 2
