"""The warm worker's own code: runs inside the sandbox, started as `python -S -I -c <this file> CONFIG`.

Standard library only. It reads one JSON request per line on stdin, imports the function by module and
qualified name, calls it, and writes one JSON reply per line on a private copy of stdout (fd 1 itself is
pointed at stderr, so a tool that prints cannot corrupt the channel).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import importlib.util
import inspect
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from typing import Any


def _resolve(module: str, qualname: str) -> Any:
    if "<locals>" in qualname:
        raise TypeError(f"{module}.{qualname} is defined inside a function; isolated tools must be module-level")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _call(target: Any, kwargs: dict[str, Any]) -> Any:
    binder = getattr(target, "_binder", None)
    fn = getattr(target, "fn", None)
    if fn is not None and callable(fn) and hasattr(target, "definition"):  # an agentkit Tool
        kwargs = binder(kwargs) if binder else kwargs
        target = fn
    result = target(**kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump()
    return repr(value)


def _cpu_budget(seconds: int) -> None:
    """Give the next call `seconds` of CPU on top of what the worker has used so far."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = spent + seconds + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


class _ExactLocations:
    """A meta path finder for the modules the parent loaded from outside the interpreter's folders: each is
    imported from its own file or package folder, since the folder around it cannot be listed here."""

    def __init__(self, locations: dict[str, str]) -> None:
        self.locations = locations

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        location = self.locations.get(fullname)
        if location is None:
            return None
        if os.path.isdir(location):
            init = os.path.join(location, "__init__.py")
            return importlib.util.spec_from_file_location(fullname, init, submodule_search_locations=[location])
        return importlib.util.spec_from_file_location(fullname, location)


def _private_tmp(base: str) -> str:
    """The calls' temp dir (TMPDIR and tempfile point at it); `_empty` clears it after each call."""
    path = tempfile.mkdtemp(prefix="call-", dir=base)
    os.environ["TMPDIR"] = path
    tempfile.tempdir = path
    return path


def _empty(path: str) -> None:
    """Remove what a call left in the temp dir, so the next call finds it empty. The folder itself stays:
    removing and making it again cost milliseconds per call on some host file systems (Landlock's TMPDIR
    is on the host's /tmp), and most calls leave nothing."""
    with os.scandir(path) as entries:
        leftovers = [entry.path for entry in entries]
    for item in leftovers:
        if os.path.isdir(item) and not os.path.islink(item):
            shutil.rmtree(item, ignore_errors=True)
        else:
            try:
                os.unlink(item)
            except OSError:
                pass


_REAP_SECONDS = 2.0


def _reap_namespace() -> None:
    """Kill what the call left running (a setsid daemon too), where no cgroup finds it for the parent.

    Only where the parent says the worker started in a PID namespace of its own and the worker's pid proves it
    (1 as the namespace's init, 2 under bubblewrap's init: numbers no process of the host namespace can have):
    kill(-1) there reaches this namespace only, never the user's other processes. Then wait (at most
    `_REAP_SECONDS`) until they are gone: a killed process still counts against the namespace's process limit
    until it is reaped, by us (our children, and orphans when we are init) or by bubblewrap's init."""
    if os.getpid() not in (1, 2):
        return
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    deadline = time.monotonic() + _REAP_SECONDS
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.001)
    while os.getpid() == 2 and time.monotonic() < deadline and _others_in_namespace():
        time.sleep(0.001)


def _others_in_namespace() -> bool:
    """Under bubblewrap (whose /proc is the namespace's own): whether a process besides its init and us is
    still there, a zombie included."""
    try:
        return any(name.isdigit() and name not in ("1", "2") for name in os.listdir("/proc"))
    except OSError:
        return False


def main() -> None:
    config = json.loads(sys.argv[1])
    sys.path[:0] = config["path"]
    sys.meta_path.insert(0, _ExactLocations(config["modules"]))
    if config["site_dirs"]:  # .pth files, such as an editable install's import hook
        import site

        for directory in config["site_dirs"]:
            site.addsitedir(directory)
    reply = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    reply.write('{"ready": true}\n')
    reply.flush()
    call_tmp = _private_tmp(os.environ.get("TMPDIR") or "/tmp")
    for line in requests:
        request = json.loads(line)
        _empty(call_tmp)  # again: a process of the last call may have written there before it was killed
        try:
            _cpu_budget(int(config["cpu_seconds"]))
            result = _call(_resolve(request["module"], request["qualname"]), request["kwargs"])
            text = json.dumps({"id": request["id"], "ok": True, "result": result}, default=_jsonable)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            error = {"type": type(exc).__name__, "module": type(exc).__module__, "message": str(exc)}
            text = json.dumps({"id": request["id"], "ok": False, "error": error})
        finally:
            if request.get("reap"):
                _reap_namespace()
            _empty(call_tmp)
        reply.write(text + "\n")
        reply.flush()


main()
