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
line anywhere else is a SessionError naming the file and line. Each line is read with agentkit.strict_json
(bounded: a 100,000-deep line is an error, never a RecursionError) and checked against the record shapes
above, so `{"role": 5}` is refused on load. Records of other types belong to extensions (`agentkit run`
writes "meta", an agent may add its own) and are kept as they are.

One writer at a time: a run holds an advisory lock (`fcntl.flock` on `<transcript>.lock`, which records
"pid N on HOST") from its first record to its last, and a write outside a run takes it for that write. A
second writer, in another process or this one, gets `SessionBusy` naming the holder instead of
interleaving its records. When a run takes the lock and the transcript grew since this Session last read
or wrote it (another process ran in between), `acquire()` says so and the Agent reloads it first.

Session names are names, never paths: a `str` must be a plain file name (letters, digits, '.', '_', '-';
not starting with '.'; up to 128 characters) and always lives under `sessions_dir()`. A transcript
elsewhere is opened by passing a `pathlib.Path` (or `Session(path)`), a choice made in code.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit import strict_json
from agentkit.errors import SessionBusy, SessionError
from agentkit.messages import Message, ToolResult

__all__ = [
    "Session",
    "SessionInfo",
    "SessionState",
    "check_name",
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
    path: Path
    updated: float
    messages: int
    first_prompt: str
    error: str | None = None  # why its last run failed (a model it could not reach, ...)
    problem: str | None = None  # why the transcript cannot be read (it is listed, marked, not skipped)


class Session:
    """One transcript file. Open it by id (under `sessions_dir()`) or by path."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.id = self.path.stem
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._known_size: int | None = None  # the file's size when this Session last read or wrote it

    @classmethod
    def open(cls, name_or_path: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None) -> Session:
        """A session by name (a `str`: always `<directory or sessions_dir()>/<name>.jsonl`), or by an
        explicit `pathlib.Path`."""
        if not isinstance(name_or_path, str):
            return cls(name_or_path)
        check_name(name_or_path)
        return cls(Path(directory or sessions_dir()) / f"{name_or_path}.jsonl")

    def exists(self) -> bool:
        return self.path.exists()

    # ---- writing -----------------------------------------------------------------------------------

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and fsync it before returning (under the writer lock: this run's, or taken for
        this one write)."""
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            line = text.encode()
        except UnicodeEncodeError:  # a lone surrogate from a model or tool is not text: keep the rest
            line = text.encode("utf-8", "replace")
        if self._lock_fd is None:
            with self.writing():
                self._write(line)
        else:
            self._write(line)

    def _write(self, line: bytes) -> None:
        if self._fd is None:
            self._repair_tail()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(self._fd, line)
        os.fsync(self._fd)
        self._known_size = os.fstat(self._fd).st_size

    # ---- the writer lock ---------------------------------------------------------------------------

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def acquire(self) -> bool:
        """Become the session's one writer until `release()`; SessionBusy if another run is. Returns True
        when the transcript changed since this Session last read or wrote it (reload it before writing)."""
        if self._lock_fd is not None:
            raise SessionBusy(self.id, f"another run in this process, pid {os.getpid()} on {socket.gethostname()}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "a run that is starting"
            os.close(fd)
            raise SessionBusy(self.id, holder) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
        self._lock_fd = fd
        _holders.add(self)
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        return self._known_size is not None and size != self._known_size

    def release(self) -> None:
        """Stop being the writer (the lock file stays: removing it would race with the next writer)."""
        if self._lock_fd is not None:
            fd, self._lock_fd = self._lock_fd, None
            _holders.discard(self)
            os.close(fd)  # closing the last descriptor of the open file drops its flock

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
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.release()

    def _repair_tail(self) -> None:
        """Make the next record start on a line of its own: a torn last line is cut off, while a complete
        record that only lacks its newline (as `records()` accepts it) is kept and given one."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        if not data or data.endswith(b"\n"):
            return
        tail = data[data.rfind(b"\n") + 1 :]
        with self.path.open("r+b") as fh:
            if _is_record(tail):
                fh.seek(0, os.SEEK_END)
                fh.write(b"\n")
            else:
                fh.truncate(len(data) - len(tail))

    # ---- reading -----------------------------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        """Every record, each checked (SessionError naming the file and line of the first bad one)."""
        return [record for _, record in self._numbered_records()]

    def _numbered_records(self) -> list[tuple[int, dict[str, Any]]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self._known_size = 0
            return []
        except OSError as exc:
            raise SessionError(f"cannot read session {self.path}: {exc.strerror}") from None
        self._known_size = len(data)
        lines = data.split(b"\n")
        records = []
        last = len(lines) - 1
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                record = strict_json.loads(raw, _RECORD_LIMITS)
            except strict_json.JSONError as exc:
                if number == last + 1:  # torn write at the very end: the step it held never completed
                    break
                raise self._damaged(number, f"is not a JSON record ({exc})") from None
            problem = _record_problem(record)
            if problem is not None:
                raise self._damaged(number, problem)
            records.append((number, record))
        return records

    def _damaged(self, line: int, problem: str) -> SessionError:
        return SessionError(
            f"session {self.path} line {line} {problem}; the transcript is damaged: "
            "repair or delete that line, or start a new session"
        )

    def load(self) -> SessionState:
        state = SessionState()
        started: list[str] = []
        for _, record in self._numbered_records():
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


# Sessions holding the writer lock. A forked child inherits their lock descriptors, and a flock lasts until
# every descriptor of it is closed: the child closes its copies, so it never keeps the parent's lock.
_holders: weakref.WeakSet[Session] = weakref.WeakSet()


def _forget_locks_in_child() -> None:
    for session in list(_holders):
        if session._lock_fd is not None:
            os.close(session._lock_fd)
            session._lock_fd = None
    _holders.clear()


os.register_at_fork(after_in_child=_forget_locks_in_child)


def _is_record(raw: bytes) -> bool:
    try:
        return isinstance(strict_json.loads(raw, _RECORD_LIMITS), dict)
    except strict_json.JSONError:
        return False


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


def list_sessions(directory: str | os.PathLike[str] | None = None) -> list[SessionInfo]:
    """Sessions under the directory, newest first. A transcript that cannot be read is listed with its
    `problem` set (and no messages): one bad file never hides the others."""
    base = Path(directory or sessions_dir())
    infos = []
    for path in base.glob("*.jsonl"):
        session = Session(path)
        problem = error = None
        try:
            state = session.load()
            messages, error = state.messages, state.error
            updated = path.stat().st_mtime
        except SessionError as exc:
            messages, problem = [], str(exc)
            updated = _mtime(path)
        except OSError as exc:  # vanished or unreadable between the listing and now
            messages, problem, updated = [], f"cannot read session {path}: {exc.strerror}", 0.0
        first = next((m.content for m in messages if m.role == "user"), "")
        infos.append(
            SessionInfo(
                id=session.id,
                path=path,
                updated=updated,
                messages=len(messages),
                first_prompt=first[:80],
                error=error,
                problem=problem,
            )
        )
    return sorted(infos, key=lambda info: info.updated, reverse=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid() % 100000:05d}"
