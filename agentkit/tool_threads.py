"""Threads for sync tools: each call runs on an idle worker thread, or on a new one when all are busy.

Why not `concurrent.futures.ThreadPoolExecutor` (or anyio's pool):
- its threads are joined at interpreter exit, so a tool that hung past its timeout kept the program from
  exiting; ours are daemon threads, and a call still running when the program ends is abandoned, as its
  timeout had already abandoned it;
- its size is fixed, so as many hung tools as it has threads starved every later call; ours grows instead
  (the loop's `max_concurrent_tools` bounds how many calls one run starts at once), and a thread idle for
  IDLE_SECONDS ends;
- its hand-off costs a queue, a Condition and a semaphore per call; here it is two raw locks, the cheapest
  wake-up Python has, which matters for tools that take microseconds.

`run_in_thread(fn, wait=...)` is the one entry point. With `wait`, the event loop first blocks up to
QUICK_WAIT for the result: a quick tool then costs one thread hand-off and no event-loop wake-up. Past
that, the loop awaits the call like any other future, so a hang holds the loop for QUICK_WAIT at most and
per-call timeouts still hold.

A cancelled caller normally gives up on its call (the thread runs on; its outcome is dropped). The agent
loop cannot afford that: a tool that finished must be recorded, or a resumed run would call it again. So
a caller may set `patience` around a call: cancelled, it then keeps waiting for the outcome until the
call's deadline (or until `abandoned()` says to stop), and `outlasted` tells it to honour the
cancellation once it has recorded the outcome.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import anyio

__all__ = ["QUICK_WAIT", "Patience", "patience", "run_in_thread"]

QUICK_WAIT = 0.0005  # seconds the event loop may block on a call expected to be quick
IDLE_SECONDS = 30.0  # an idle worker thread ends after this long, so a burst of calls leaves no crowd behind


class Patience:
    """How long a cancelled caller still waits for its call's outcome (see the module doc)."""

    __slots__ = ("abandoned", "deadline", "outlasted")

    def __init__(self, deadline: float = math.inf, abandoned: Callable[[], bool] = lambda: False) -> None:
        self.deadline = deadline  # event-loop time (loop.time())
        self.abandoned = abandoned
        self.outlasted = False  # set when the outcome arrived after the caller was cancelled


patience: ContextVar[Patience | None] = ContextVar("agentkit_tool_patience", default=None)


class _Call:
    """One function call handed to a worker, and its outcome once `finished` is released."""

    __slots__ = ("_guard", "_settled", "_waiter", "error", "finished", "fn", "value")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished = threading.Lock()
        self.finished.acquire()  # released by the worker when the outcome is set
        self._guard = threading.Lock()
        self._settled = False
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def compute(self) -> None:  # on the worker
        try:
            self.value = self.fn()
        except BaseException as exc:  # the caller re-raises it; nothing may kill the worker
            self.error = exc

    def announce(self) -> None:  # on the worker, after compute()
        with self._guard:
            self._settled = True
            waiter = self._waiter
        self.finished.release()
        if waiter is not None:
            loop, future = waiter
            try:
                loop.call_soon_threadsafe(_wake, future)
            except RuntimeError:  # the loop closed: nobody is waiting any more
                pass

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value

    async def wait(self) -> Any:
        """Await the outcome without blocking the event loop."""
        try:
            await self._settling()
        except asyncio.CancelledError:
            care = patience.get()
            if care is None or not await self._outlast(care):
                raise  # the thread finishes on its own (threads cannot be killed); its outcome is dropped
            care.outlasted = True
        return self.outcome()

    async def _settling(self) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._guard:
            pending = not self._settled
            if pending:
                self._waiter = (loop, future)
        if pending:
            await future

    async def _outlast(self, care: Patience) -> bool:
        """Cancelled: wait on for the outcome while `care` allows; True if it arrived. Shielded from anyio's
        repeated cancellation; later native cancels are absorbed, and the deadline still ends the wait."""
        loop = asyncio.get_running_loop()
        with anyio.CancelScope(shield=True):
            while not self._settled and loop.time() < care.deadline and not care.abandoned():
                try:
                    await asyncio.wait_for(self._settling(), min(0.1, care.deadline - loop.time()))
                except (asyncio.CancelledError, TimeoutError):
                    pass
        return self._settled


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():  # done: the caller was cancelled (a timeout) and moved on
        future.set_result(None)


class _Worker:
    """A daemon thread that runs the calls it is given, one at a time, and is idle in between."""

    def __init__(self, pool: _Pool) -> None:
        self._pool = pool
        self._call: _Call | None = None
        self._wake = threading.Lock()
        self._wake.acquire()  # released by give()
        threading.Thread(target=self._serve, name="agentkit-tool", daemon=True).start()

    def give(self, call: _Call) -> None:
        self._call = call
        self._wake.release()

    def _serve(self) -> None:
        while self._next_call():
            call, self._call = self._call, None
            assert call is not None
            call.compute()
            self._pool.idle(self)  # idle before the caller hears, so its next call finds this thread free
            call.announce()
            del call  # an idle thread must not keep its last call's arguments and result alive

    def _next_call(self) -> bool:
        """Wait to be given a call; False once idle for IDLE_SECONDS (the thread then ends)."""
        if self._wake.acquire(timeout=IDLE_SECONDS):
            return True
        if self._pool.retire(self):
            return False
        self._wake.acquire()  # taken off the idle list just now: a call is on its way
        return True


class _Pool:
    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], Any]) -> _Call:
        call = _Call(fn)
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        (worker or _Worker(self)).give(call)
        return call

    def idle(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def retire(self, worker: _Worker) -> bool:
        """Take an idle worker off the list so it can end; False if a call was just given to it."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False

    def forget(self) -> None:
        """After fork(): the child has none of the parent's threads."""
        self._idle = []
        self._lock = threading.Lock()


_pool = _Pool()
os.register_at_fork(after_in_child=_pool.forget)


async def run_in_thread(fn: Callable[[], Any], *, wait: bool = False) -> Any:
    """Run `fn()` on a worker thread and return (or raise) its outcome.

    `wait=True` blocks the event loop up to QUICK_WAIT for the outcome first (for calls expected to be quick).
    """
    call = _pool.submit(fn)
    if wait and call.finished.acquire(timeout=QUICK_WAIT):
        return call.outcome()
    return await call.wait()
