"""Confined file access: open files beneath a root directory without trusting path strings.

Every path is resolved by the kernel relative to an open directory fd of the root:

- `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)` (Linux 5.6+, via ctypes) refuses `..`
  escapes, absolute symlinks, symlinks that leave the root, /proc magic links and mount crossings, and it is
  immune to symlink-swap races because resolution and open are one system call. Symlinks that stay inside
  the root are followed.
- Where openat2 is missing (ENOSYS, or a container's seccomp filter says EPERM), the fallback walks the
  path one component at a time with `O_NOFOLLOW` (`O_DIRECTORY` for directories), so *every* symlink is
  refused there, including harmless ones inside the root.

Paths never go through realpath: a checked string can be swapped for a symlink before it is opened. Files
are opened with `O_NONBLOCK` and checked with `fstat`, so FIFOs, sockets and devices are refused without
blocking. Regular files with more than one hard link are refused unless `allow_hardlinks=True` (a hard link
made by someone else can point anywhere on the same filesystem).

Every refusal is a `ConfinedPathError`, a `ToolError` (the agent loop turns it into an error result the model
can act on); its `reason` is one of `REASONS` and its message names the path.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import stat as statmod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from agentkit.errors import ToolError

__all__ = ["REASONS", "ConfinedEntry", "ConfinedPathError", "ConfinedRoot", "openat2_available"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024

REASONS = (
    "absolute",  # an absolute path was given
    "denied",  # the operating system refused (EACCES / EPERM)
    "escape",  # resolution would leave the root (symlink, magic link or mount crossing)
    "hardlink",  # a regular file with more than one link
    "invalid",  # not a string, empty, or a NUL byte
    "not_a_directory",
    "not_found",
    "not_regular",  # FIFO, socket, device or directory where a file was expected
    "symlink",  # a symlink refused by the strict fallback, or a symlink loop
    "too_large",
    "traversal",  # a `..` component
)

_SYS_OPENAT2 = 437  # the same number on x86_64 and aarch64 (the unified syscall table)
_RESOLVE_NO_XDEV = 0x01
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_BENEATH = 0x08
_RESOLVE = _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS | _RESOLVE_NO_XDEV
_O_PATH = getattr(os, "O_PATH", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_EAGAIN_RETRIES = 8


class ConfinedPathError(ToolError):
    """A path that cannot be opened beneath the root; `reason` is one of `REASONS`."""

    def __init__(self, path: object, reason: str, detail: str) -> None:
        super().__init__(f"refused path {path!r}: {detail}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ConfinedEntry:
    """One directory entry, described with lstat (symlinks are not followed)."""

    name: str
    path: str  # relative to the root
    is_dir: bool
    is_file: bool
    is_symlink: bool
    size: int


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@functools.cache
def _how(flags: int) -> _OpenHow:
    return _OpenHow(flags, 0, _RESOLVE)


def _openat2(dir_fd: int, path: str, flags: int) -> int:
    """Raw openat2; raises OSError with the errno (EAGAIN from a concurrent rename is retried)."""
    how = _how(flags)
    raw = path.encode("utf-8", "surrogateescape")
    syscall = _libc().syscall
    for _ in range(_EAGAIN_RETRIES):
        fd = syscall(_SYS_OPENAT2, dir_fd, raw, ctypes.byref(how), 24)
        if fd >= 0:
            return int(fd)
        err = ctypes.get_errno()
        if err != errno.EAGAIN:
            raise OSError(err, os.strerror(err), path)
    raise OSError(errno.EAGAIN, "path kept changing during resolution", path)


@functools.cache
def openat2_available() -> bool:
    """Whether this kernel (and any seccomp filter around us) lets openat2 run; probed once."""
    if not hasattr(os, "O_PATH") or os.uname().sysname != "Linux":
        return False
    try:
        fd = os.open("/", _DIR_FLAGS)
    except OSError:
        return False
    try:
        os.close(_openat2(fd, ".", _DIR_FLAGS))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _components(path: object) -> list[str]:
    """Check a relative path string and split it; never touches the filesystem."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise ConfinedPathError(path, "invalid", "the path must be a string")
    if "\x00" in path:
        raise ConfinedPathError(path, "invalid", "the path contains a NUL byte")
    if path.startswith("/"):
        raise ConfinedPathError(path, "absolute", "absolute paths are not allowed; give a path relative to the root")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ConfinedPathError(path, "traversal", "'..' components are not allowed; give a path inside the root")
    return parts


def _error_for(path: str, exc: OSError) -> ConfinedPathError:
    code = exc.errno
    if code == errno.EXDEV:
        return ConfinedPathError(path, "escape", "it resolves outside the root (symlink, /proc link or mount)")
    if code == errno.ELOOP:
        return ConfinedPathError(path, "symlink", "a symlink was refused (loop, /proc magic link, or strict mode)")
    if code == errno.ENOENT:
        return ConfinedPathError(path, "not_found", "no such file or directory beneath the root")
    if code == errno.ENOTDIR:
        return ConfinedPathError(path, "not_a_directory", "a component is not a directory")
    if code in (errno.EACCES, errno.EPERM):
        return ConfinedPathError(path, "denied", "permission denied")
    return ConfinedPathError(path, "denied", f"cannot open ({os.strerror(code or 0)})")


class ConfinedRoot:
    """A directory whose contents can be read without ever leaving it.

    Use as a context manager, or call `close()`; the root directory fd is held open, so renaming or
    replacing the root path afterwards does not redirect reads.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_hardlinks: bool = False,
        use_openat2: bool | None = None,
    ) -> None:
        self.root = os.fspath(root)
        self.max_bytes = max_bytes
        self.allow_hardlinks = allow_hardlinks
        self.uses_openat2 = openat2_available() if use_openat2 is None else use_openat2
        try:
            self._fd = os.open(self.root, _DIR_FLAGS)
        except OSError as exc:
            raise ConfinedPathError(
                self.root, "not_a_directory", f"the root cannot be opened ({exc.strerror})"
            ) from None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ConfinedRoot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except (AttributeError, OSError):
            pass

    def __repr__(self) -> str:
        mode = "openat2" if self.uses_openat2 else "nofollow-walk"
        return f"ConfinedRoot({self.root!r}, {mode})"

    # ---- opening ---------------------------------------------------------------------------------

    def _open(self, path: object, flags: int) -> int:
        parts = _components(path)
        rel = "/".join(parts) or "."
        if self._fd < 0:
            raise ConfinedPathError(path, "invalid", "this ConfinedRoot is closed")
        try:
            if self.uses_openat2:
                return _openat2(self._fd, rel, flags)
            return self._walk_open(parts, flags)
        except OSError as exc:
            raise _error_for(rel, exc) from None

    def _walk_open(self, parts: list[str], flags: int) -> int:
        """The fallback: one O_NOFOLLOW open per component, each relative to the previous fd."""
        current = os.dup(self._fd)
        try:
            for part in parts[:-1]:
                nxt = _open_dir_nofollow(part, current)
                os.close(current)
                current = nxt
            if not parts:
                fd = os.open(".", flags, dir_fd=current)
            else:
                fd = os.open(parts[-1], flags | os.O_NOFOLLOW, dir_fd=current)
            return fd
        finally:
            os.close(current)

    def open_fd(self, path: str, *, max_bytes: int | None = None) -> int:
        """Open a regular file beneath the root and return its fd (the caller closes it)."""
        fd = self._open(path, _FILE_FLAGS)
        try:
            self._check_file(path, os.fstat(fd), max_bytes)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def open_file(self, path: str, *, max_bytes: int | None = None) -> BinaryIO:
        """Open a regular file beneath the root as a binary file object."""
        return os.fdopen(self.open_fd(path, max_bytes=max_bytes), "rb")

    def _check_file(self, path: str, st: os.stat_result, max_bytes: int | None) -> None:
        if not statmod.S_ISREG(st.st_mode):
            kind = _kind(st.st_mode)
            raise ConfinedPathError(path, "not_regular", f"it is a {kind}, not a regular file")
        if st.st_nlink > 1 and not self.allow_hardlinks:
            raise ConfinedPathError(
                path, "hardlink", f"the file has {st.st_nlink} hard links and may alias another file"
            )
        limit = self.max_bytes if max_bytes is None else max_bytes
        if st.st_size > limit:
            raise ConfinedPathError(path, "too_large", f"{st.st_size} bytes is over the {limit}-byte limit")

    # ---- reading ---------------------------------------------------------------------------------

    def read_bytes(self, path: str, *, max_bytes: int | None = None) -> bytes:
        """The whole file, refused if larger than `max_bytes` (default: the root's limit)."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        fd = self._open(path, _FILE_FLAGS)
        try:
            st = os.fstat(fd)
            self._check_file(path, st, limit)
            chunks = []
            want, got = min(st.st_size, limit) + 1, 0
            while got < limit + 1:
                chunk = os.read(fd, want)
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
                want = max(limit + 1 - got, 1)
        finally:
            os.close(fd)
        data = b"".join(chunks) if len(chunks) != 1 else chunks[0]
        if len(data) > limit:  # the file grew after fstat
            raise ConfinedPathError(path, "too_large", f"the file grew past the {limit}-byte limit while being read")
        return data

    def read_text(
        self, path: str, *, max_bytes: int | None = None, encoding: str = "utf-8", errors: str = "replace"
    ) -> str:
        return self.read_bytes(path, max_bytes=max_bytes).decode(encoding, errors)

    def stat(self, path: str) -> os.stat_result:
        """fstat of the path opened beneath the root (in-root symlinks followed where openat2 is used)."""
        fd = self._open(path, _O_PATH | os.O_CLOEXEC)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except ConfinedPathError as exc:
            if exc.reason in ("not_found", "not_a_directory"):
                return False
            raise
        return True

    def scandir(self, path: str = ".") -> list[ConfinedEntry]:
        """The entries of a directory beneath the root, sorted by name."""
        fd = self._open(path, _DIR_FLAGS)
        prefix = "/".join(_components(path))
        try:
            entries = []
            for name in os.listdir(fd):
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed while listing
                entries.append(
                    ConfinedEntry(
                        name=name,
                        path=f"{prefix}/{name}" if prefix else name,
                        is_dir=statmod.S_ISDIR(st.st_mode),
                        is_file=statmod.S_ISREG(st.st_mode),
                        is_symlink=statmod.S_ISLNK(st.st_mode),
                        size=st.st_size,
                    )
                )
            return sorted(entries, key=lambda e: e.name)
        finally:
            os.close(fd)

    def walk(self, path: str = ".", *, max_entries: int = 100_000) -> Iterator[ConfinedEntry]:
        """Every entry beneath `path`, depth first; symlinked directories are listed, not entered."""
        pending = [path]
        seen = 0
        while pending:
            for entry in self.scandir(pending.pop()):
                seen += 1
                if seen > max_entries:
                    raise ConfinedPathError(path, "too_large", f"more than {max_entries} entries beneath it")
                yield entry
                if entry.is_dir:
                    pending.append(entry.path)


def _open_dir_nofollow(name: str, dir_fd: int) -> int:
    try:
        return os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)
    except NotADirectoryError:
        # O_DIRECTORY|O_NOFOLLOW on a symlink says ENOTDIR; report it as the symlink it is
        if statmod.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, "symlink refused", name) from None
        raise


def _kind(mode: int) -> str:
    if statmod.S_ISDIR(mode):
        return "directory"
    if statmod.S_ISFIFO(mode):
        return "FIFO"
    if statmod.S_ISSOCK(mode):
        return "socket"
    if statmod.S_ISCHR(mode) or statmod.S_ISBLK(mode):
        return "device"
    if statmod.S_ISLNK(mode):
        return "symlink"
    return "special file"
