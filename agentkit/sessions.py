"""Durable sessions: an append-only JSONL transcript, fsynced record by record, and resume.

A transcript holds one JSON object per line:

    {"type": "message", "message": {...}}           a user, assistant or tool message, once complete
    {"type": "call_started", "call_id": "..."}      a tool call is about to run
    {"type": "tool_result", "result": {...}}        one call finished (written as soon as it does)
    {"type": "error", "error": "..."}               the run failed (a model it could not reach, ...)
    {"type": "context", "upto": N, "view": [...]}   the view sent to the model was reduced (agentkit.context)

Each record is written and fsynced before the run takes its next step, so a crash (even SIGKILL) loses at
most the step that was in flight. `Session.load()` rebuilds the conversation; results recorded for calls
of an unfinished tool batch come back in `completed`, and calls that started but never finished come back
in `interrupted`. What happens to those is the Agent's choice, documented there: `Agent.resume()` runs them
again, a new prompt answers them with an "interrupted" error result.

A torn last line (the process died mid-write) is ignored and cut off, so later appends start clean; a bad
record anywhere else is a SessionError naming the session and record (a file's line). Each record is read
with agentkit.strict_json (bounded: a 100,000-deep line is an error, never a RecursionError) and checked
against the record shapes above, so `{"role": 5}` is refused on load. Records of other types belong to
extensions (`agentkit run` writes "meta", an agent may add its own) and are kept as they are.

Where transcripts live is a store's business (agentkit.session_stores): a local folder (the default, one
fsynced JSONL file per session), S3 (one object per record) or AgentCore Memory (one event per record).
`Session` writes, reads and checks records the same way on each.

One writer at a time: a run holds the session's writer lock (locally an `fcntl.flock` on
`<transcript>.lock`, which records "pid N on HOST"; in S3 a lock object with a lease) from its first record
to its last, and a write outside a run takes it for that write. A second writer, in another process or this
one, gets `SessionBusy` naming the holder instead of interleaving its records. When a run takes the lock and
the transcript grew since this Session last read or wrote it (another process ran in between), `acquire()`
says so and the Agent reloads it first.

Session names are names, never paths: a `str` must be a plain name (letters, digits, '.', '_', '-'; not
starting with '.'; up to 128 characters) and always lives in the default store: `$AGENTKIT_SESSIONS` (a
store URL, see agentkit.session_stores) or else the folder `sessions_dir()`. A `str` URL names one session in
any store (`s3://BUCKET/PREFIX/ID`); a transcript elsewhere on disk is opened by passing a `pathlib.Path` (or
`Session(path)`), a choice made in code.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit import strict_json
from agentkit.errors import SessionBusy, SessionDamaged, SessionError
from agentkit.messages import Message, ToolResult
from agentkit.session_stores import SESSIONS_ENV, open_store, split_session_url
from agentkit.session_stores.base import SessionStore, Transcript
from agentkit.session_stores.local import LocalStore, LocalTranscript

__all__ = [
    "Session",
    "SessionInfo",
    "SessionState",
    "check_name",
    "default_store",
    "list_sessions",
    "new_session_id",
    "sessions_dir",
]

_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MAX_NAME = 128
# Records are written by us; the limits only bound what a damaged or hostile file can cost to read.
_RECORD_LIMITS = strict_json.Limits(max_depth=256, max_values=1_000_000, max_number_digits=4300)


def sessions_dir() -> Path:
    """$AGENTKIT_HOME/sessions, default ~/.agentkit/sessions."""
    home = os.environ.get("AGENTKIT_HOME")
    base = Path(home) if home else Path.home() / ".agentkit"
    return base / "sessions"


def default_store() -> SessionStore:
    """The store named by $AGENTKIT_SESSIONS (a URL or folder), else the folder `sessions_dir()`."""
    url = os.environ.get(SESSIONS_ENV, "").strip()
    return open_store(url) if url else LocalStore(sessions_dir())


def _store(where: str | os.PathLike[str] | SessionStore | None) -> SessionStore:
    if where is None:
        return default_store()
    if isinstance(where, SessionStore):
        return where
    return open_store(os.fspath(where))


@dataclass(slots=True, kw_only=True)
class SessionState:
    messages: list[Message] = field(default_factory=list)
    completed: dict[str, ToolResult] = field(default_factory=dict)  # results of the unfinished batch
    interrupted: list[str] = field(default_factory=list)  # call ids started but never finished
    error: str | None = None  # why the last run failed, until a later message
    context: dict[str, Any] | None = None  # the last "context" record: how the view sent was reduced

    @property
    def pending_calls(self) -> bool:
        """True when the last assistant turn has calls without a tool message answering them."""
        return bool(self.messages) and self.messages[-1].role == "assistant" and bool(self.messages[-1].tool_calls)


@dataclass(slots=True, kw_only=True)
class SessionInfo:
    id: str
    path: Path | None  # the transcript's file, for a local store
    location: str  # a path or URL
    updated: float
    messages: int
    first_prompt: str
    error: str | None = None  # why its last run failed (a model it could not reach, ...)
    problem: str | None = None  # why the transcript cannot be read (it is listed, marked, not skipped)


class Session:
    """One transcript in a store (see agentkit.session_stores). Open it by name (in the default store), by
    path, or by URL with `Session.open`; `Session(path)` is a local file, `Session(transcript)` any store's."""

    def __init__(self, where: str | os.PathLike[str] | Transcript) -> None:
        self.transcript = where if isinstance(where, Transcript) else LocalTranscript(where)
        self.id = self.transcript.id

    @classmethod
    def open(
        cls, name_or_path: str | os.PathLike[str], directory: str | os.PathLike[str] | SessionStore | None = None
    ) -> Session:
        """A session by name (a `str`: in `directory`, a folder or store URL, else `default_store()`), by URL
        (`s3://BUCKET/PREFIX/ID`, `agentcore-memory://MEMORY_ID/ACTOR/ID`), or by an explicit `pathlib.Path`."""
        if not isinstance(name_or_path, str):
            return cls(name_or_path)
        if "://" in name_or_path:
            store_url, name = split_session_url(name_or_path)
            check_name(name)
            return cls(open_store(store_url).transcript(name))
        check_name(name_or_path)
        return cls(_store(directory).transcript(name_or_path))

    @property
    def location(self) -> str:
        """Where the transcript lives: a path or URL."""
        return self.transcript.location

    @property
    def path(self) -> Path:
        """The transcript's file (SessionError for a session in a remote store: see `location`)."""
        if not isinstance(self.transcript, LocalTranscript):
            raise SessionError(f"session {self.location} is not a local file")
        return self.transcript.path

    @property
    def lock_path(self) -> Path:
        if not isinstance(self.transcript, LocalTranscript):
            raise SessionError(f"session {self.location} is not a local file")
        return self.transcript.lock_path

    def exists(self) -> bool:
        return self.transcript.exists()

    # ---- writing -----------------------------------------------------------------------------------

    def append(self, record: dict[str, Any]) -> None:
        """Write one record durably before returning (under the writer lock: this run's, or taken for this
        one write)."""
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate from a model or tool is not text: keep the rest
            data = text.encode("utf-8", "replace")
        if not self.transcript.held:
            with self.writing():
                self.transcript.append(data)
        else:
            self.transcript.append(data)

    # ---- the writer lock ---------------------------------------------------------------------------

    def acquire(self) -> bool:
        """Become the session's one writer until `release()`; SessionBusy if another run is. Returns True
        when the transcript changed since this Session last read or wrote it (reload it before writing)."""
        if self.transcript.held:
            raise SessionBusy(self.id, f"another run in this process, pid {os.getpid()} on {socket.gethostname()}")
        return self.transcript.acquire()

    def release(self) -> None:
        """Stop being the writer."""
        self.transcript.release()

    @contextmanager
    def writing(self) -> Iterator[bool]:
        """`acquire()` ... `release()`; yields whether the transcript changed since this Session saw it."""
        changed = self.acquire()
        try:
            yield changed
        finally:
            self.release()

    def add_message(self, message: Message) -> None:
        self.append({"type": "message", "message": message.to_dict()})

    def call_started(self, call_id: str) -> None:
        self.append({"type": "call_started", "call_id": call_id})

    def add_result(self, result: ToolResult) -> None:
        self.append(
            {
                "type": "tool_result",
                "result": {
                    "call_id": result.call_id,
                    "name": result.name,
                    "content": result.content,
                    "is_error": result.is_error,
                },
            }
        )

    def add_error(self, error: str) -> None:
        self.append({"type": "error", "error": error})

    def close(self) -> None:
        """Close the transcript and give up the writer lock (the next record reopens both)."""
        self.transcript.close()

    # ---- reading -----------------------------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        """Every record, each checked (SessionError naming the session and record of the first bad one)."""
        records = []
        for raw in self.transcript.read():
            try:
                record = strict_json.loads(raw.data, _RECORD_LIMITS)
            except strict_json.JSONError as exc:
                if raw.may_be_torn:  # torn write at the very end: the step it held never completed
                    break
                raise self._damaged(raw.where, f"is not a JSON record ({exc})") from None
            problem = _record_problem(record)
            if problem is not None:
                raise self._damaged(raw.where, problem)
            records.append(record)
        return records

    def _damaged(self, where: str, problem: str) -> SessionDamaged:
        return SessionDamaged(
            f"session {self.location} {where} {problem}; the transcript is damaged: "
            "repair or delete that record, or start a new session"
        )

    def load(self) -> SessionState:
        state = SessionState()
        started: list[str] = []
        for record in self.records():
            self._apply(record, state, started)
        if not state.pending_calls:
            state.completed.clear()
            started.clear()
        state.interrupted = [cid for cid in started if cid not in state.completed]
        return state

    @staticmethod
    def _apply(record: dict[str, Any], state: SessionState, started: list[str]) -> None:
        kind = record["type"]
        if kind == "message":
            message = Message.from_dict(record["message"])
            state.messages.append(message)
            state.error = None
            if message.role != "assistant" or not message.tool_calls:
                state.completed.clear()
                started.clear()
        elif kind == "call_started":
            started.append(record["call_id"])
        elif kind == "tool_result":
            result = ToolResult(**record["result"])
            state.completed[result.call_id] = result
        elif kind == "error":
            state.error = record["error"]
        elif kind == "context":
            state.context = record

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_name(name: str) -> None:
    """SessionError unless `name` is a plain session name (never a path)."""
    shown = repr(name[:60]) + ("..." if len(name) > 60 else "")
    if not name:
        problem = "is empty"
    elif "\x00" in name or not name.isprintable():
        problem = "holds a NUL or control character"
    elif "/" in name or "\\" in name or name in (".", ".."):
        problem = "is a path; a session name is a name"
    elif len(name) > _MAX_NAME:
        problem = f"is longer than {_MAX_NAME} characters"
    elif not _SESSION_ID.match(name):
        problem = "is invalid: use letters, digits, '.', '_' or '-', starting with a letter or digit"
    else:
        return
    raise SessionError(
        f"session name {shown} {problem}; sessions live under {sessions_dir()} "
        "(set AGENTKIT_HOME to move them, or pass a pathlib.Path in Python for a file elsewhere)"
    )


_MESSAGE_FIELDS = {"role", "content", "reasoning", "reasoning_signature", "tool_calls", "tool_results", "meta"}
_CALL_FIELDS = {"name", "arguments", "id", "raw", "strings_only", "invalid_reason"}
_RESULT_FIELDS = {"call_id", "name", "content", "is_error"}


def _record_problem(record: Any) -> str | None:
    """What is wrong with one transcript record (None: nothing), worded to follow "line N "."""
    if not isinstance(record, dict):
        return f"is a JSON {type(record).__name__}, not a record object"
    kind = record.get("type")
    if kind == "message":
        return _message_problem(record.get("message"))
    if kind == "call_started":
        return (
            None if isinstance(record.get("call_id"), str) else 'has a "call_started" record without a string "call_id"'
        )
    if kind == "tool_result":
        return _result_problem(record.get("result"), "tool_result")
    if kind == "error":
        return None if isinstance(record.get("error"), str) else 'has an "error" record without a string "error"'
    if isinstance(kind, str) and kind:
        return None  # an extension's record ("meta" from the CLI, an agent's own such as "workspace")
    return 'is a record without a "type" (message, call_started, tool_result or an extension\'s own)'


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return 'has a "message" record without a message object'
    if message.get("role") not in ("system", "user", "assistant", "tool"):
        return f"has a message whose role {str(message.get('role'))[:40]!r} is not system, user, assistant or tool"
    extra = set(message) - _MESSAGE_FIELDS
    if extra:
        return f"has a message with unknown fields {sorted(extra)[:5]}"
    if not isinstance(message.get("content", ""), str):
        return "has a message whose content is not a string"
    for name in ("reasoning", "reasoning_signature"):
        if not isinstance(message.get(name), str | None):
            return f"has a message whose {name} is not a string"
    if not isinstance(message.get("meta", {}), dict):
        return "has a message whose meta is not an object"
    calls, results = message.get("tool_calls", []), message.get("tool_results", [])
    if not isinstance(calls, list) or not isinstance(results, list):
        return "has a message whose tool_calls or tool_results is not a list"
    for call in calls:
        if not isinstance(call, dict) or set(call) - _CALL_FIELDS or not {"name", "arguments"} <= set(call):
            return "has a tool call that is not an object with a name and arguments (and only known fields)"
        if not isinstance(call["name"], str) or not isinstance(call.get("id", ""), str):
            return "has a tool call whose name or id is not a string"
    for result in results:
        problem = _result_problem(result, "tool message")
        if problem is not None:
            return problem
    return None


def _result_problem(result: Any, where: str) -> str | None:
    if (
        not isinstance(result, dict)
        or set(result) - _RESULT_FIELDS
        or not {"call_id", "name", "content"} <= set(result)
    ):
        return f"has a {where} result that is not an object with call_id, name and content (and only those)"
    if not all(isinstance(result[k], str) for k in ("call_id", "name", "content")):
        return f"has a {where} result whose call_id, name or content is not a string"
    if not isinstance(result.get("is_error", False), bool):
        return f"has a {where} result whose is_error is not true or false"
    return None


def list_sessions(directory: str | os.PathLike[str] | SessionStore | None = None) -> list[SessionInfo]:
    """Sessions in a store (a folder, a store URL or a SessionStore; default: `default_store()`), newest first.
    A transcript that cannot be read is listed with its `problem` set (and no messages): one bad transcript
    never hides the others."""
    store = _store(directory)
    infos = []
    for stored in store.list():
        session = Session(store.transcript(stored.id))
        problem = error = None
        updated = stored.updated
        try:
            state = session.load()
            messages, error = state.messages, state.error
        except SessionError as exc:
            messages, problem = [], str(exc)
        except OSError as exc:  # vanished or unreadable between the listing and now
            messages, problem, updated = [], f"cannot read session {session.location}: {exc.strerror}", 0.0
        first = next((m.content for m in messages if m.role == "user"), "")
        transcript = session.transcript
        infos.append(
            SessionInfo(
                id=session.id,
                path=transcript.path if isinstance(transcript, LocalTranscript) else None,
                location=session.location,
                updated=updated,
                messages=len(messages),
                first_prompt=first[:80],
                error=error,
                problem=problem,
            )
        )
    return sorted(infos, key=lambda info: info.updated, reverse=True)


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid() % 100000:05d}"
