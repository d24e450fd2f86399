"""The store interface under `agentkit.sessions.Session`: where a session's records live.

A `SessionStore` is one place (a local folder, an S3 prefix, an AgentCore Memory actor) holding many
sessions; `store.transcript(id)` is one session in it. A `Transcript` does four things: append one record
durably, read every record back, and take and give back the session's one writer lock. What a record
means (and whether it is valid) is agentkit.sessions' business: stores move bytes, each record one JSON
object, and report where each came from so an error can point at it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

__all__ = ["MAX_SESSION_BYTES", "RawRecord", "RecordNumbers", "SessionStore", "StoredSession", "Transcript"]

MAX_SESSION_BYTES = 1024 * 1024 * 1024  # all of a session's records: what reading it back may hold in memory


@dataclass(slots=True, frozen=True)
class RawRecord:
    where: str  # "line 3", "record 7": follows the session's location in an error message
    data: bytes  # one JSON object, as written
    may_be_torn: bool = False  # the last write may have been cut short (a local file's unterminated last line)


@dataclass(slots=True, frozen=True)
class StoredSession:
    id: str
    updated: float  # seconds since the epoch


class RecordNumbers:
    """How a store that numbers its records (S3, AgentCore Memory) keeps count: the next record's number while
    this handle is the writer, and how many records there were when it last read or wrote (to tell whether
    another writer added some since)."""

    def __init__(self) -> None:
        self.next: int | None = None
        self.known: int | None = None

    def start_writing(self, stored: int) -> bool:
        """The writer lock was taken with `stored` records there: number the next one after them. True when
        that is not the count this handle last saw (the caller then reads the transcript again)."""
        changed = self.known is not None and stored != self.known
        self.next = stored + 1
        return changed

    def wrote(self, number: int) -> None:
        self.next, self.known = number + 1, number

    def stop_writing(self) -> None:
        self.next = None


class Transcript(ABC):
    """One session in one store, with this handle's writer state (the lock, an open file, the next record)."""

    id: str
    location: str  # a path or URL, for messages

    @abstractmethod
    def append(self, data: bytes) -> None:
        """Store one record (a JSON object, no newline) durably before returning. The caller holds the lock."""

    @abstractmethod
    def read(self) -> list[RawRecord]:
        """Every record, oldest first (SessionError when the store cannot be read or holds something else)."""

    @abstractmethod
    def exists(self) -> bool: ...

    @abstractmethod
    def acquire(self) -> bool:
        """Become the session's one writer; SessionBusy when another writer is. True when records were added
        since this handle last read or wrote (the caller reloads before writing)."""

    @abstractmethod
    def release(self) -> None:
        """Stop being the writer (a no-op when not)."""

    @property
    @abstractmethod
    def held(self) -> bool:
        """Whether this handle holds the writer lock."""

    def close(self) -> None:
        """Give up the lock and anything open; the next record reopens what it needs."""
        self.release()


class SessionStore(ABC):
    """A place holding sessions, named by a URL (see agentkit.session_stores.open_store)."""

    url: str

    @abstractmethod
    def transcript(self, session_id: str) -> Transcript: ...

    @abstractmethod
    def list(self) -> list[StoredSession]:
        """The sessions held here (any order)."""
