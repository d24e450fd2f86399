"""Running a coroutine to completion for a sync caller (`agent("...")`), as `asyncio.run` would.

The main thread keeps one event loop for all its sync calls: a new loop per call costs about 0.3 ms, which a
program making many short calls (a chat, a test suite) would pay each time. Each call still behaves as
under `asyncio.run`: it runs as its own task in a copy of the caller's context variables, Ctrl-C cancels
it, and tasks it leaves behind are cancelled before it returns. A call ended by Ctrl-C or SystemExit closes
the loop (it may have stopped mid-step); the next call then starts a new one, as it does when anything else
closed the loop, and in a forked child, which must not touch its parent's loop. Other threads get a loop
per call, so no loop outlives its thread.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

__all__ = ["run_sync"]

_runner: asyncio.Runner | None = None
_owner_pid = 0
_orphans: list[asyncio.Runner] = []  # a forked child's copy of its parent's runner, kept from the GC


def run_sync(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `main()` on an event loop in this thread, which has none running."""
    if threading.current_thread() is not threading.main_thread():
        anyio.run(main)
        return
    runner = _kept_runner()
    try:
        runner.run(main(), context=contextvars.copy_context())
    except Exception:
        _settle(runner)
        raise
    except BaseException:
        _close()
        raise
    _settle(runner)


def _settle(runner: asyncio.Runner) -> None:
    """Cancel what the call left running; a Ctrl-C meanwhile closes the loop like one during the call."""
    try:
        _cancel_leftovers(runner.get_loop())
    except BaseException:
        _close()
        raise


def _kept_runner() -> asyncio.Runner:
    global _runner, _owner_pid
    if _runner is None or _owner_pid != os.getpid() or not _usable(_runner):
        _runner, _owner_pid = asyncio.Runner(), os.getpid()
    return _runner


def _usable(runner: asyncio.Runner) -> bool:
    try:
        return not runner.get_loop().is_closed()
    except RuntimeError:  # the runner itself was closed
        return False


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not leftovers:
        return
    for task in leftovers:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))


def _close() -> None:
    global _runner
    runner, _runner = _runner, None
    if runner is not None and _owner_pid == os.getpid():
        runner.close()


def _forget() -> None:
    """In a forked child: stop using the parent's loop, and never close it, not even by garbage collection
    (closing would unregister the parent's wake-up pipe from the epoll instance both processes share)."""
    global _runner
    if _runner is not None:
        _orphans.append(_runner)  # collected, its loop's __del__ would close it, and so the parent's wake-up
    _runner = None


atexit.register(_close)
os.register_at_fork(after_in_child=_forget)
