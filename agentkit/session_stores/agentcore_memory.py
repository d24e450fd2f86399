"""Sessions in Amazon Bedrock AgentCore Memory: one short-term event per record.

    agentcore-memory://MEMORY_ID[/ACTOR]/SESSION_ID

Each record is one `CreateEvent` for (memory, actor, session): its payload holds the record's JSON text as a
`blob`, and, for a message with text, the text again as a `conversational` item (role USER, ASSISTANT or
TOOL), so the memory's long-term strategies see the conversation. The event's metadata `agentkit-seq` numbers
the records; reading (`ListEvents`, every page) orders them by it, refuses a gap or a repeat, and skips
events without it (written by another client into the same session). A record is acknowledged once
CreateEvent has returned.

The writer lock is this process's only: AgentCore Memory has no conditional write, so two machines writing
one session at once are not stopped here (AgentCore Runtime sends a session to one microVM at a time; use
the S3 store where separate machines may write one session). Within a process a second writer gets
SessionBusy, as with the other stores.
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, NoReturn

from agentkit import strict_json
from agentkit.errors import SessionBusy, SessionDamaged, SessionError
from agentkit.session_stores._aws import LazyClient, aws_errors, error_said
from agentkit.session_stores.base import RawRecord, RecordNumbers, SessionStore, StoredSession, Transcript

__all__ = ["AgentCoreMemoryStore", "AgentCoreMemoryTranscript"]

SEQ_KEY = "agentkit-seq"
_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # the names agentkit gives sessions
MAX_PAGES = 10_000  # listing pages of 100 read at most: a session of a million records
_MAX_TEXT = 100_000  # the service's limit on a conversational item's text
_ROLES = {"user": "USER", "assistant": "ASSISTANT", "tool": "TOOL"}
_PEEK_LIMITS = strict_json.Limits(max_depth=256, max_values=1_000_000, max_number_digits=4300)

# (memory, actor, session) written by a run of this process now
_writers: set[tuple[str, str, str]] = set()
_writers_lock = threading.Lock()


class AgentCoreMemoryStore(SessionStore):
    """Sessions of one actor in one AgentCore memory; `client` is a boto3 `bedrock-agentcore` client
    (default: made on first use)."""

    def __init__(
        self,
        memory_id: str,
        actor_id: str = "agentkit",
        *,
        region: str | None = None,
        client: Any = None,
        url: str = "",
    ) -> None:
        self.memory_id = memory_id
        self.actor_id = actor_id
        self.region = region
        self.url = url or f"agentcore-memory://{memory_id}/{actor_id}"
        self._client = LazyClient("bedrock-agentcore", region, client)

    @property
    def client(self) -> Any:
        return self._client.get()

    def transcript(self, session_id: str) -> AgentCoreMemoryTranscript:
        return AgentCoreMemoryTranscript(self, session_id)

    def list(self) -> list[StoredSession]:
        found = []
        action = f"list sessions in {self.url}"
        with _memory_errors(action):
            for page in _pages(action, self.client.list_sessions, memoryId=self.memory_id, actorId=self.actor_id):
                for summary in page.get("sessionSummaries", []):
                    session_id, created = summary.get("sessionId"), summary.get("createdAt")
                    if isinstance(session_id, str) and _SESSION_ID.fullmatch(session_id):  # others are not ours
                        updated = created.timestamp() if isinstance(created, datetime.datetime) else 0.0
                        found.append(StoredSession(id=session_id, updated=updated))
        return found


class AgentCoreMemoryTranscript(Transcript):
    def __init__(self, store: AgentCoreMemoryStore, session_id: str) -> None:
        self.store = store
        self.id = session_id
        self.location = f"agentcore-memory://{store.memory_id}/{store.actor_id}/{session_id}"
        self._key = (store.memory_id, store.actor_id, session_id)
        self._held = False
        self._numbers = RecordNumbers()

    def append(self, data: bytes) -> None:
        number = self._numbers.next
        if not self._held or number is None:
            raise SessionError(f"session {self.location}: append without the writer lock (a bug in agentkit)")
        text = data.decode("utf-8", "replace")
        payload: list[dict[str, Any]] = [{"blob": text}]
        conversational = _conversational(data)
        if conversational is not None:
            payload.append({"conversational": conversational})
        with _memory_errors(f"write record {number} of session {self.location}"):
            self.store.client.create_event(
                memoryId=self.store.memory_id,
                actorId=self.store.actor_id,
                sessionId=self.id,
                eventTimestamp=time.time(),
                payload=payload,
                metadata={SEQ_KEY: {"stringValue": str(number)}},
            )
        self._numbers.wrote(number)

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> bool:
        with _writers_lock:
            if self._key in _writers:
                raise SessionBusy(self.id, "another run in this process")
            _writers.add(self._key)
        try:
            count = len(self._events(payloads=False))
        except BaseException:
            with _writers_lock:
                _writers.discard(self._key)
            raise
        self._held = True
        return self._numbers.start_writing(count)

    def release(self) -> None:
        if self._held:
            self._held = False
            self._numbers.stop_writing()
            with _writers_lock:
                _writers.discard(self._key)

    def exists(self) -> bool:
        with _memory_errors(f"read session {self.location}"):
            page = self.store.client.list_events(
                memoryId=self.store.memory_id,
                actorId=self.store.actor_id,
                sessionId=self.id,
                includePayloads=False,
                maxResults=1,
            )
        return bool(page.get("events"))

    def read(self) -> list[RawRecord]:
        records = []
        for seq, event in self._events(payloads=True):
            blob = next((item["blob"] for item in event.get("payload", []) if "blob" in item), None)
            if not isinstance(blob, str):
                raise self._damaged(f"record {seq} (event {event.get('eventId')}) holds no agentkit record")
            records.append(RawRecord(where=f"record {seq}", data=blob.encode("utf-8", "replace")))
        self._numbers.known = len(records)
        return records

    def _events(self, *, payloads: bool) -> list[tuple[int, dict[str, Any]]]:
        """agentkit's events of this session as (seq, event), in order, checked: numbered 1..N."""
        numbered = []
        action = f"read session {self.location}"
        with _memory_errors(action):
            for page in _pages(
                action,
                self.store.client.list_events,
                memoryId=self.store.memory_id,
                actorId=self.store.actor_id,
                sessionId=self.id,
                includePayloads=payloads,
            ):
                for event in page.get("events", []):
                    seq = event.get("metadata", {}).get(SEQ_KEY, {}).get("stringValue")
                    if isinstance(seq, str) and seq.isdigit() and len(seq) <= 12:
                        numbered.append((int(seq), event))
        numbered.sort(key=lambda item: item[0])
        for expected, (seq, _) in enumerate(numbered, start=1):
            if seq != expected:
                problem = "appears twice" if seq < expected else f"is missing (the next is record {seq})"
                raise self._damaged(f"record {min(seq, expected)} {problem}")
        return numbered

    def _damaged(self, problem: str) -> SessionDamaged:
        return SessionDamaged(
            f"session {self.location} {problem}; the transcript is damaged: start a new session, or delete "
            "the session's events"
        )


def _conversational(data: bytes) -> dict[str, Any] | None:
    """A message record's text, as AgentCore Memory's conversational item (None: not a message with text)."""
    try:
        record = strict_json.loads(data, _PEEK_LIMITS)
    except strict_json.JSONError:
        return None
    message = record.get("message") if isinstance(record, dict) and record.get("type") == "message" else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), str) or not message["content"]:
        return None
    role = _ROLES.get(message.get("role", ""), "OTHER")
    return {"content": {"text": message["content"][:_MAX_TEXT]}, "role": role}


def _pages(action: str, call: Any, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a listing, 100 items each, up to `MAX_PAGES`; a SessionError for a service that hands the
    same token back or never stops (a session is at most MAX_PAGES * 100 records)."""
    token: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page: dict[str, Any] = call(**params, maxResults=100, **({"nextToken": token} if token else {}))
        yield page
        token = page.get("nextToken")
        if not token:
            return
        if token in seen:
            raise SessionError(f"cannot {action}: AgentCore Memory gave the same page token twice; try again later")
        seen.add(token)
    raise SessionError(f"cannot {action}: it is more than {MAX_PAGES:,} pages of 100, more than agentkit reads")


def _memory_errors(action: str) -> AbstractContextManager[None]:
    def refused(exc: Any) -> NoReturn:
        code, message = error_said(exc)
        raise SessionError(
            f"cannot {action}: AgentCore Memory said {code}: {message}; check the memory id, region and credentials"
        ) from None

    return aws_errors(action, refused)
