"""Sessions in S3: one object per record under `PREFIX/ID/records/`, one writer by conditional writes.

    PREFIX/ID/records/000000000001.json   the first record (one JSON object), ...
    PREFIX/ID/writer.lock                 {"holder": "pid N on HOST", "lease": 30}: who writes now,
                                          or {"released": true}

A record is acknowledged once PutObject has returned, so it is durable. Records are numbered, and each is
written with `If-None-Match: *`: if two writers ever both believed they held the session, only one of
them can write record N; the other gets SessionBusy and writes nothing more, so records never interleave.

The writer lock is the lock object, created with `If-None-Match: *` (a second writer finds it and gets
SessionBusy naming the holder). The holder renews it every lease/3 seconds from a daemon thread (PutObject
with `If-Match` on its last ETag) and, when done, overwrites it with `{"released": true}` (`If-Match`
again; never a delete, so the writer needs only s3:GetObject, s3:PutObject and s3:ListBucket). A writer
that died (SIGKILL, a lost machine) stops renewing: once the lock is older than its lease, by S3's own
clock (the object's Last-Modified against the response's Date, so the machines' clocks never matter; both
in whole seconds, so one more second is allowed), the next writer takes it over with `If-Match`; of two
that try at once, one wins.

Records never change once written, so a store keeps the bodies it wrote or read (up to `CACHE_BYTES`, by
key and ETag, which the listing gives): reading a session again, as `agentkit serve` does for each
invocation, costs one listing plus the records it has not seen.

What is read from the bucket is bounded: a record object over `MAX_RECORD_BYTES` or a lock object over
4 KiB is refused (by its listed size, and the read stops there anyway), and so is a session of more than
`MAX_RECORDS` records or `MAX_SESSION_BYTES` in all (by the listing, before any record is read); an object
that is not a numbered record, or a gap in the numbers, is a SessionError naming it. agentkit.sessions
checks each record.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import re
import socket
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NoReturn

from agentkit import strict_json
from agentkit.errors import SessionBusy, SessionDamaged, SessionError
from agentkit.session_stores._aws import LazyClient, aws_errors, error_said
from agentkit.session_stores.base import (
    MAX_SESSION_BYTES,
    RawRecord,
    RecordNumbers,
    SessionStore,
    StoredSession,
    Transcript,
)

__all__ = ["MAX_RECORDS", "MAX_RECORD_BYTES", "MAX_SESSION_BYTES", "S3Store", "S3Transcript"]

log = logging.getLogger("agentkit.sessions")

MAX_RECORD_BYTES = 64 * 1024 * 1024
MAX_RECORDS = 1_000_000
CACHE_BYTES = 64 * 1024 * 1024
_MAX_LOCK_BYTES = 4096
_RECORD_KEY = re.compile(r"^(\d{12})\.json$")
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CLOCK_STEP = 1.0  # Last-Modified and Date have whole seconds: a lock is stale only when surely past its lease
_READERS = 16  # records fetched at once when reading a session
_LOCK_LIMITS = strict_json.Limits(max_depth=4, max_values=20, max_number_digits=20)
_RELEASED = b'{"released":true}'  # a given-back lock: overwritten, not deleted, so the role needs no DeleteObject


class S3Store(SessionStore):
    """Sessions under `s3://BUCKET/PREFIX/`; `client` is a boto3 S3 client (default: made on first use)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        region: str | None = None,
        lease: float = 30.0,
        client: Any = None,
        url: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.region = region
        self.lease = lease
        self.url = url or f"s3://{bucket}/{self.prefix}"
        self._client = LazyClient("s3", region, client)
        self.cache = _RecordCache(CACHE_BYTES)

    @property
    def client(self) -> Any:
        return self._client.get()

    def key(self, session_id: str, name: str = "") -> str:
        return f"{self.prefix}/{session_id}/{name}" if self.prefix else f"{session_id}/{name}"

    def transcript(self, session_id: str) -> S3Transcript:
        return S3Transcript(self, session_id)

    def list(self) -> list[StoredSession]:
        base = self.key("")[:-1]  # "PREFIX/" (or "" at the bucket's top)
        ids = []
        with _s3_errors(f"list sessions in {self.url}"):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base, Delimiter="/"
            ):
                for entry in page.get("CommonPrefixes", []):
                    name = entry["Prefix"][len(base) :].rstrip("/")
                    if _SESSION_ID.match(name):  # anything else under the prefix is not ours
                        ids.append(name)
        return [StoredSession(id=name, updated=self.transcript(name).updated()) for name in ids]


class S3Transcript(Transcript):
    def __init__(self, store: S3Store, session_id: str) -> None:
        self.store = store
        self.id = session_id
        self.location = f"s3://{store.bucket}/{store.key(session_id)}"[:-1]
        self._numbers = RecordNumbers()
        self._lock: _Lease | None = None

    # ---- writing -----------------------------------------------------------------------------------

    def append(self, data: bytes) -> None:
        lock = self._lock
        if lock is None or self._numbers.next is None:
            raise SessionError(f"session {self.location}: append without the writer lock (a bug in agentkit)")
        if lock.lost is not None:
            raise SessionBusy(self.id, lock.lost)
        number = self._numbers.next
        if len(data) > MAX_RECORD_BYTES:  # written, it would make the session unreadable (read refuses it)
            raise SessionError(
                f"session {self.location}: record {number} would be {len(data):,} bytes, over the "
                f"{MAX_RECORD_BYTES:,} an S3 session record may hold; nothing was written (a tool result that "
                "large: have the tool return less, such as a file's path or a part of it)"
            )
        key = self._record_key(number)
        try:
            with _s3_errors(f"write record {number} of session {self.location}"):
                put = self.store.client.put_object(
                    Bucket=self.store.bucket,
                    Key=key,
                    Body=data,
                    ContentType="application/json",
                    IfNoneMatch="*",
                )
        except _Conflict:
            lock.lost = f"another writer wrote record {number} first"
            raise SessionBusy(self.id, lock.lost) from None
        self.store.cache.put(key, put["ETag"], data)
        self._numbers.wrote(number)

    def _record_key(self, number: int) -> str:
        return self.store.key(self.id, f"records/{number:012d}.json")

    # ---- the writer lock ---------------------------------------------------------------------------

    @property
    def held(self) -> bool:
        return self._lock is not None

    def acquire(self) -> bool:
        lock = _Lease.take(self.store, self.store.key(self.id, "writer.lock"), self.id)
        try:
            count = len(self._listing())
        except BaseException:
            lock.give_back()
            raise
        self._lock = lock
        return self._numbers.start_writing(count)

    def release(self) -> None:
        lock, self._lock = self._lock, None
        self._numbers.stop_writing()
        if lock is not None:
            lock.give_back()

    # ---- reading -----------------------------------------------------------------------------------

    def exists(self) -> bool:
        with _s3_errors(f"read session {self.location}"):
            page = self.store.client.list_objects_v2(
                Bucket=self.store.bucket, Prefix=self.store.key(self.id, "records/"), MaxKeys=1
            )
        return bool(page.get("Contents"))

    def updated(self) -> float:
        """When the last record was written (0.0 when there is none, or the listing is damaged: reading the
        session says why)."""
        try:
            listing = self._listing()
        except SessionError:
            return 0.0
        return listing[-1][2] if listing else 0.0

    def _listing(self) -> list[tuple[int, str, float, str]]:
        """(number, key, last modified, ETag) of each record, checked: numbered 1..N, no gap, none too large."""
        base = self.store.key(self.id, "records/")
        found = []
        total = 0
        with _s3_errors(f"read session {self.location}"):
            for page in self.store.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.store.bucket, Prefix=base
            ):
                for entry in page.get("Contents", []):
                    key = entry["Key"]
                    match = _RECORD_KEY.match(key[len(base) :])
                    if match is None:
                        raise self._damaged(f"holds an object {key[:200]!r} that is not a numbered record")
                    if entry.get("Size", 0) > MAX_RECORD_BYTES:
                        raise self._damaged(f"record {int(match[1])} is over {MAX_RECORD_BYTES} bytes")
                    found.append((int(match[1]), key, entry["LastModified"].timestamp(), entry.get("ETag", "")))
                    total += entry.get("Size", 0)
                    if len(found) > MAX_RECORDS or total > MAX_SESSION_BYTES:
                        raise self._damaged(
                            f"holds more than {MAX_RECORDS:,} records or {MAX_SESSION_BYTES:,} bytes, more than "
                            "agentkit reads back"
                        )
        found.sort()
        for expected, (number, *_) in enumerate(found, start=1):
            if number != expected:
                raise self._damaged(f"record {expected} is missing (the next is record {number})")
        return found

    def read(self) -> list[RawRecord]:
        listing = self._listing()
        bodies = {key: self.store.cache.get(key, etag) for _, key, _, etag in listing}
        missing = [item for item in listing if bodies[item[1]] is None]
        if missing:
            with ThreadPoolExecutor(max_workers=min(_READERS, len(missing))) as pool:
                for (_, key, _, etag), body in zip(missing, pool.map(self._get, missing), strict=True):
                    bodies[key] = body
                    self.store.cache.put(key, etag, body)
        self._numbers.known = len(listing)
        return [RawRecord(where=f"record {number}", data=bodies[key] or b"") for number, key, _, _ in listing]

    def _get(self, item: tuple[int, str, float, str]) -> bytes:
        number, key = item[0], item[1]
        try:
            with _s3_errors(f"read record {number} of session {self.location}"):
                response = self.store.client.get_object(Bucket=self.store.bucket, Key=key)
                body = response["Body"]
                try:
                    data: bytes = body.read(MAX_RECORD_BYTES + 1)
                finally:
                    body.close()
        except _Missing:
            raise self._damaged(f"record {number} was deleted while being read") from None
        if len(data) > MAX_RECORD_BYTES:
            raise self._damaged(f"record {number} is over {MAX_RECORD_BYTES} bytes")
        return data

    def _damaged(self, problem: str) -> SessionDamaged:
        return SessionDamaged(
            f"session {self.location} {problem}; the transcript is damaged: repair it, or start a new session"
        )


class _RecordCache:
    """Record bodies by (key, ETag), the least recently used dropped past `limit` bytes; thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._bodies: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str, etag: str) -> bytes | None:
        with self._lock:
            body = self._bodies.get((key, etag))
            if body is not None:
                self._bodies.move_to_end((key, etag))
            return body

    def put(self, key: str, etag: str, body: bytes) -> None:
        if not etag or len(body) > self.limit // 4:
            return
        with self._lock:
            if (key, etag) not in self._bodies:
                self._bodies[(key, etag)] = body
                self._size += len(body)
            while self._size > self.limit:
                _, dropped = self._bodies.popitem(last=False)
                self._size -= len(dropped)


class _Lease:
    """A held lock object, renewed from a daemon thread until given back. `lost` says why it was lost."""

    def __init__(self, store: S3Store, key: str, etag: str) -> None:
        self.store, self.key, self.etag = store, key, etag
        self.lost: str | None = None
        self._pid = os.getpid()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, name=f"agentkit-lease {key}", daemon=True)
        self._thread.start()

    @classmethod
    def take(cls, store: S3Store, key: str, session_id: str) -> _Lease:
        holder = f"pid {os.getpid()} on {socket.gethostname()}"
        body = json.dumps({"holder": holder, "lease": store.lease}).encode()
        for _ in range(3):  # a lock given back or taken over between our steps: look again
            try:
                with _s3_errors(f"lock session {session_id} in {store.url}"):
                    put = store.client.put_object(Bucket=store.bucket, Key=key, Body=body, IfNoneMatch="*")
                return cls(store, key, put["ETag"])
            except _Conflict:
                pass
            current = _read_lock(store, key)
            if current is None:
                continue
            if not current.released:
                if current.age < current.lease + _CLOCK_STEP:
                    raise SessionBusy(session_id, f"{current.holder}, its lock renewed {current.age:.0f} s ago")
                log.warning(
                    "taking over session %s from %s: its lock is %.0f s old (lease %.0f s)",
                    key,
                    current.holder,
                    current.age,
                    current.lease,
                )
            try:
                with _s3_errors(f"lock session {session_id} in {store.url}"):
                    put = store.client.put_object(Bucket=store.bucket, Key=key, Body=body, IfMatch=current.etag)
                return cls(store, key, put["ETag"])
            except (_Conflict, _Missing):
                raise SessionBusy(session_id, "another writer that took over the lock just now") from None
        raise SessionBusy(session_id, "writers that keep taking and giving back its lock")

    def _renew_loop(self) -> None:
        body = json.dumps({"holder": f"pid {os.getpid()} on {socket.gethostname()}", "lease": self.store.lease})
        while not self._stop.wait(self.store.lease / 3):
            try:
                with _s3_errors(f"renew the lock {self.key}"):
                    put = self.store.client.put_object(
                        Bucket=self.store.bucket, Key=self.key, Body=body.encode(), IfMatch=self.etag
                    )
                self.etag = put["ETag"]
            except (_Conflict, _Missing):  # replaced, or removed (S3 answers If-Match on no object with 404)
                self.lost = "another writer took over its lock (this run stopped renewing it in time)"
                return
            except Exception as exc:  # S3 unreachable for a moment: try again at the next beat
                log.warning("cannot renew the session lock %s: %s", self.key, exc)

    def give_back(self) -> None:
        if os.getpid() != self._pid:  # a forked child: the lock (and its renewing thread) stays the parent's
            return
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        if self.lost is not None:
            return
        try:
            with _s3_errors(f"unlock {self.key}"):
                self.store.client.put_object(Bucket=self.store.bucket, Key=self.key, Body=_RELEASED, IfMatch=self.etag)
        except (_Conflict, _Missing, SessionError) as exc:  # taken over, or S3 unreachable: the lease ends it
            log.warning("could not give back the session lock %s: %s", self.key, exc)


@dataclass(slots=True, frozen=True)
class _LockState:
    etag: str
    holder: str
    lease: float
    age: float  # seconds since it was written, by S3's clock
    released: bool  # given back: free to take at once


def _read_lock(store: S3Store, key: str) -> _LockState | None:
    """The lock object as found (None when there is none)."""
    try:
        with _s3_errors(f"read the lock {key}"):
            response = store.client.get_object(Bucket=store.bucket, Key=key)
            body = response["Body"]
            try:
                raw = body.read(_MAX_LOCK_BYTES + 1)
            finally:
                body.close()
    except _Missing:
        return None
    holder, lease, released = "an unknown writer", store.lease, False
    try:
        fields = strict_json.loads(raw, _LOCK_LIMITS) if len(raw) <= _MAX_LOCK_BYTES else None
    except strict_json.JSONError:
        fields = None
    if isinstance(fields, dict):
        if isinstance(fields.get("holder"), str):  # shown in messages: no terminal control characters
            holder = "".join(c if c.isprintable() else "?" for c in fields["holder"][:200])
        if isinstance(fields.get("lease"), int | float) and 1 <= fields["lease"] <= 3600:
            lease = float(fields["lease"])
        released = fields.get("released") is True
    now = _server_time(response)
    age = now - response["LastModified"].timestamp()
    return _LockState(etag=response["ETag"], holder=holder, lease=lease, age=age, released=released)


def _server_time(response: dict[str, Any]) -> float:
    """The response's Date as seconds, else this machine's clock (an S3-compatible server or proxy that sends
    none, or one that is not a date)."""
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        when = email.utils.parsedate_to_datetime(date) if isinstance(date, str) else None
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        return time.time()
    return when.timestamp()


class _Conflict(Exception):
    """A conditional write lost (HTTP 412 PreconditionFailed, or 409 ConditionalRequestConflict)."""


class _Missing(Exception):
    """The object is not there."""


def _s3_errors(action: str) -> AbstractContextManager[None]:
    """boto3's errors become ours at this edge: a lost conditional write, a missing object, or a SessionError
    saying what could not be done and why."""

    def refused(exc: Any) -> NoReturn:
        code, message = error_said(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412):
            raise _Conflict(code) from None
        if code in ("NoSuchKey", "404"):
            raise _Missing(code) from None
        hint = "create the bucket" if code == "NoSuchBucket" else "check the bucket, prefix, region and credentials"
        raise SessionError(f"cannot {action}: S3 said {code or status}: {message}; {hint}") from None

    return aws_errors(action, refused)
