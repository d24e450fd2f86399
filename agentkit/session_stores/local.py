"""Sessions in a local folder: one JSONL file per session, fsynced record by record, one writer by flock.

A record is one line. Each is written and fsynced before `append()` returns, so a crash (even SIGKILL)
loses at most the record in flight; an unterminated last line (the process died mid-write) is reported as
possibly torn, and the first later write cuts it off, or gives it its newline when it is a whole record.

A session file is at most `MAX_SESSION_BYTES` (as an S3 session): its records are held in memory together when
it is read, so a larger file (a damaged or hostile one) is refused by its size before anything is read, and an
append that would grow it past the bound writes nothing and says so.

The writer lock is an advisory `fcntl.flock` on `<transcript>.lock`, which records "pid N on HOST" so a
second writer's SessionBusy can name the holder. The lock file stays when released: removing it would
race with the next writer. Change detection compares the file's size with what this handle last saw.
"""

from __future__ import annotations

import fcntl
import os
import socket
import weakref
from pathlib import Path
from typing import BinaryIO

from agentkit import strict_json
from agentkit.errors import SessionBusy, SessionError
from agentkit.session_stores.base import MAX_SESSION_BYTES, RawRecord, SessionStore, StoredSession, Transcript

__all__ = ["MAX_SESSION_BYTES", "LocalStore", "LocalTranscript"]

_TAIL_BLOCK = 64 * 1024

# Only used to tell a complete but unterminated last line from a torn one.
_TAIL_LIMITS = strict_json.Limits(max_depth=256, max_values=1_000_000, max_number_digits=4300)


class LocalStore(SessionStore):
    """`<directory>/<id>.jsonl` for each session."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.url = str(self.directory)

    def transcript(self, session_id: str) -> LocalTranscript:
        return LocalTranscript(self.directory / f"{session_id}.jsonl")

    def list(self) -> list[StoredSession]:
        return [StoredSession(id=path.stem, updated=_mtime(path)) for path in self.directory.glob("*.jsonl")]


class LocalTranscript(Transcript):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.id = self.path.stem
        self.location = str(self.path)
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._known_size: int | None = None  # the file's size when this handle last read or wrote it

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def exists(self) -> bool:
        return self.path.exists()

    # ---- writing -----------------------------------------------------------------------------------

    def append(self, data: bytes) -> None:
        if self._fd is None:
            self._refuse_growth(_size(self.path), data)  # before the repair, which reads the last line
            self._repair_tail()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._refuse_growth(os.fstat(self._fd).st_size, data)
        os.write(self._fd, data + b"\n")
        os.fsync(self._fd)
        self._known_size = os.fstat(self._fd).st_size

    def _refuse_growth(self, size: int, data: bytes) -> None:
        if size + len(data) + 1 > MAX_SESSION_BYTES:  # written, it would make the session unreadable
            raise SessionError(
                f"session {self.path} would grow to {size + len(data) + 1:,} bytes, past the {MAX_SESSION_BYTES:,} "
                "a session may hold; nothing was written: continue in a new session"
            )

    def _repair_tail(self) -> None:
        """Make the next record start on a line of its own: a torn last line is cut off, while a complete
        record that only lacks its newline (as `read()` accepts it) is kept and given one."""
        try:
            fh = self.path.open("r+b")
        except FileNotFoundError:
            return
        with fh:
            size = fh.seek(0, os.SEEK_END)
            tail = _last_line(fh, size)
            if tail is None:
                return
            if _is_record(tail):
                fh.write(b"\n")
            else:
                fh.truncate(size - len(tail))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.release()

    # ---- the writer lock ---------------------------------------------------------------------------

    @property
    def held(self) -> bool:
        return self._lock_fd is not None

    def acquire(self) -> bool:
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
        if self._lock_fd is not None:
            fd, self._lock_fd = self._lock_fd, None
            _holders.discard(self)
            os.close(fd)  # closing the last descriptor of the open file drops its flock

    # ---- reading -----------------------------------------------------------------------------------

    def read(self) -> list[RawRecord]:
        try:
            with self.path.open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size > MAX_SESSION_BYTES:
                    raise SessionError(
                        f"session {self.path} is {size:,} bytes, more than the {MAX_SESSION_BYTES:,} agentkit reads "
                        "back (its records are held in memory together); it was not read"
                    )
                data = fh.read(MAX_SESSION_BYTES + 1)
                if len(data) > MAX_SESSION_BYTES:  # it grew after the size was taken
                    raise SessionError(f"session {self.path} grew past the {MAX_SESSION_BYTES:,} bytes agentkit reads")
        except FileNotFoundError:
            self._known_size = 0
            return []
        except OSError as exc:
            raise SessionError(f"cannot read session {self.path}: {exc.strerror}") from None
        self._known_size = len(data)
        lines = data.split(b"\n")
        last = len(lines)  # the segment after the last newline: empty, or a line whose write may be torn
        return [
            RawRecord(where=f"line {number}", data=raw, may_be_torn=number == last)
            for number, raw in enumerate(lines, start=1)
            if raw.strip()
        ]


# Transcripts holding the writer lock. A forked child inherits their lock descriptors, and a flock lasts until
# every descriptor of it is closed: the child closes its copies, so it never keeps the parent's lock.
_holders: weakref.WeakSet[LocalTranscript] = weakref.WeakSet()


def _forget_locks_in_child() -> None:
    for transcript in list(_holders):
        if transcript._lock_fd is not None:
            os.close(transcript._lock_fd)
            transcript._lock_fd = None
    _holders.clear()


os.register_at_fork(after_in_child=_forget_locks_in_child)


def _last_line(fh: BinaryIO, size: int) -> bytes | None:
    """The bytes after the file's last newline, read from the end block by block (None when the file is empty
    or ends with a newline). A line is at most the whole file, which `append()` bounds before it calls this."""
    start = position = size
    while position > 0:
        step = min(_TAIL_BLOCK, position)
        position -= step
        fh.seek(position)
        newline = fh.read(step).rfind(b"\n")
        if newline >= 0:
            start = position + newline + 1
            break
        start = position
    fh.seek(start)
    tail = fh.read(size - start)
    fh.seek(0, os.SEEK_END)
    return tail or None


def _is_record(raw: bytes) -> bool:
    try:
        return isinstance(strict_json.loads(raw, _TAIL_LIMITS), dict)
    except strict_json.JSONError:
        return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
