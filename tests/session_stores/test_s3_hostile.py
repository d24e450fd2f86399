"""Objects someone else wrote into an S3 session: reading it back stays bounded in records and bytes (checked on
the listing, before any record is read), and a lock's holder never puts control characters in a message."""

from __future__ import annotations

import json

import pytest
from s3_support import s3_client

from agentkit.errors import SessionBusy, SessionError
from agentkit.session_stores import s3 as s3_module
from agentkit.sessions import Session, list_sessions

pytestmark = pytest.mark.integration

NOTE = b'{"type":"note","pad":"' + b"x" * 500 + b'"}'


def put_records(endpoint: str, bucket: str, count: int) -> None:
    client = s3_client(endpoint)
    for number in range(1, count + 1):
        client.put_object(Bucket=bucket, Key=f"p/s/records/{number:012d}.json", Body=NOTE)


def test_a_session_of_too_many_bytes_in_all_is_refused_before_any_record_is_read(
    bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "MAX_SESSION_BYTES", 2000)  # each record is under MAX_RECORD_BYTES
    put_records(moto_endpoint, bucket, 5)
    fetched: list[str] = []
    monkeypatch.setattr(s3_module.S3Transcript, "_get", lambda self, item: fetched.append(item[1]) or b"{}")
    with pytest.raises(SessionError, match="more than 1,000,000 records or 2,000 bytes"):
        Session.open(f"s3://{bucket}/p/s").load()
    assert fetched == []
    (info,) = list_sessions(f"s3://{bucket}/p")
    assert info.problem is not None and "2,000 bytes" in info.problem


def test_a_session_of_too_many_records_is_refused(
    bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "MAX_RECORDS", 3)
    put_records(moto_endpoint, bucket, 4)
    with pytest.raises(SessionError, match="more than 3 records"):
        Session.open(f"s3://{bucket}/p/s").load()
    s3_client(moto_endpoint).delete_object(Bucket=bucket, Key="p/s/records/000000000004.json")
    assert len(Session.open(f"s3://{bucket}/p/s").records()) == 3


def test_a_lock_holder_with_control_characters_is_shown_without_them(bucket: str, moto_endpoint: str) -> None:
    body = json.dumps({"holder": "evil\x1b[2J\x1b]0;pwned\x07\nline", "lease": 3600}).encode()
    s3_client(moto_endpoint).put_object(Bucket=bucket, Key="p/s/writer.lock", Body=body)
    with pytest.raises(SessionBusy) as caught:
        Session.open(f"s3://{bucket}/p/s").acquire()
    message = str(caught.value)
    assert "evil" in message and not any(c in message for c in "\x1b\x07\n")


@pytest.mark.parametrize("date", ["not a date", "", "Sun, 06 Dec 2026 12:00:00", None])
def test_a_lock_read_with_a_date_header_that_is_not_one_uses_this_clock(date: object) -> None:
    import datetime
    import io
    import time

    from agentkit.session_stores.s3 import S3Store, _read_lock

    class Client:
        def get_object(self, **params: object) -> dict[str, object]:
            headers = {} if date is None else {"date": date}
            return {
                "Body": io.BytesIO(b'{"holder": "pid 1 on h", "lease": 30}'),
                "ETag": '"e"',
                "LastModified": datetime.datetime.fromtimestamp(time.time() - 100, tz=datetime.UTC),
                "ResponseMetadata": {"HTTPHeaders": headers},
            }

    state = _read_lock(S3Store("bucket", "p", client=Client()), "p/s/writer.lock")
    assert state is not None and 99 <= state.age <= 110 and state.holder == "pid 1 on h"


def test_a_record_too_large_to_read_back_is_never_written(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentkit import Agent, ScriptedModel, ToolCall, tool

    @tool
    def dump() -> str:
        """Return a lot."""
        return "x" * 5000

    monkeypatch.setattr(s3_module, "MAX_RECORD_BYTES", 2000)
    url = f"s3://{bucket}/p/big"
    agent = Agent(model=ScriptedModel([ToolCall(name="dump", arguments={}), "done"]), tools=[dump], session=url)
    with pytest.raises(SessionError, match=r"would be .* bytes, over the 2,000 an S3 session record may hold"):
        agent("go")
    records = Session.open(url).records()  # the session stays readable
    assert records and all(len(json.dumps(r)) <= 2000 for r in records)
