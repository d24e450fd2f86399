"""Durable sessions: an append-only JSONL transcript, fsynced record by record, and resume.

A transcript holds one JSON object per line:

    {"type": "message", "message": {...}}           a user, assistant or tool message, once complete
    {"type": "call_started", "call_id": "..."}      a tool call is about to run
    {"type": "tool_result", "result": {...}}        one call finished (written as soon as it does)

Each record is written and fsynced before the run takes its next step, so a crash (even SIGKILL) loses at
most the step that was in flight. `Session.load()` rebuilds the conversation; results recorded for calls
of an unfinished tool batch come back in `completed`, and calls that started but never finished come back
in `interrupted`. What happens to those is the Agent's choice, documented there: `Agent.resume()` runs them
again, a new prompt answers them with an "interrupted" error result.

A torn last line (the process died mid-write) is ignored and cut off, so later appends start clean; a bad
line anywhere else is a SessionError naming the line.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit.errors import SessionError
from agentkit.messages import Message, ToolResult

__all__ = ["Session", "SessionInfo", "SessionState", "list_sessions", "new_session_id", "sessions_dir"]

_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


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


class Session:
    """One transcript file. Open it by id (under `sessions_dir()`) or by path."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.id = self.path.stem
        self._fd: int | None = None

    @classmethod
    def open(cls, id_or_path: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None) -> Session:
        text = os.fspath(id_or_path)
        if os.sep in text or text.endswith(".jsonl"):
            return cls(text)
        if not _SESSION_ID.match(text):
            raise SessionError(
                f"session id {text!r} is invalid: use letters, digits, '.', '_' or '-' (up to 128), or pass a path"
            )
        return cls(Path(directory or sessions_dir()) / f"{text}.jsonl")

    def exists(self) -> bool:
        return self.path.exists()

    # ---- writing -----------------------------------------------------------------------------------

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and fsync it before returning."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._repair_tail()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(self._fd, line)
        os.fsync(self._fd)

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

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

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
        try:
            lines = self.path.read_bytes().split(b"\n")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SessionError(f"cannot read session {self.path}: {exc.strerror}") from None
        records = []
        last = len(lines) - 1
        for number, raw in enumerate(lines):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError:
                if number == last:  # torn write at the very end: the step it held never completed
                    break
                raise SessionError(
                    f"session {self.path} line {number + 1} is not a JSON record; the transcript is damaged"
                ) from None
            records.append(record)
        return records

    def load(self) -> SessionState:
        state = SessionState()
        started: list[str] = []
        for number, record in enumerate(self.records(), start=1):
            try:
                self._apply(record, state, started)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise SessionError(
                    f"session {self.path} record {number} ({record.get('type')!r}) is malformed ({exc!r}); "
                    "the transcript is damaged"
                ) from None
        if not state.pending_calls:
            state.completed.clear()
            started.clear()
        state.interrupted = [cid for cid in started if cid not in state.completed]
        return state

    @staticmethod
    def _apply(record: dict[str, Any], state: SessionState, started: list[str]) -> None:
        kind = record.get("type")
        if kind == "message":
            message = Message.from_dict(record["message"])
            state.messages.append(message)
            if message.role != "assistant" or not message.tool_calls:
                state.completed.clear()
                started.clear()
        elif kind == "call_started":
            started.append(str(record["call_id"]))
        elif kind == "tool_result":
            result = ToolResult(**record["result"])
            state.completed[result.call_id] = result

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_record(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


def list_sessions(directory: str | os.PathLike[str] | None = None) -> list[SessionInfo]:
    """Sessions under the directory, newest first."""
    base = Path(directory or sessions_dir())
    infos = []
    for path in base.glob("*.jsonl"):
        session = Session(path)
        try:
            messages = session.load().messages
        except SessionError:
            messages = []
        first = next((m.content for m in messages if m.role == "user"), "")
        infos.append(
            SessionInfo(
                id=session.id,
                path=path,
                updated=path.stat().st_mtime,
                messages=len(messages),
                first_prompt=first[:80],
            )
        )
    return sorted(infos, key=lambda info: info.updated, reverse=True)


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid() % 100000:05d}"
