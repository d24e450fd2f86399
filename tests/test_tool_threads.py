"""Worker threads for sync tools: outcomes in both wait paths, no starvation, no exit hang, fork-safe."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from agentkit.tool_threads import QUICK_WAIT, run_in_thread


def _slow(value: str, seconds: float) -> str:
    time.sleep(seconds)
    return value


def _fail() -> None:
    raise KeyError("missing")


@pytest.mark.parametrize("wait", [True, False])
def test_results_and_exceptions_come_back_through_either_wait(wait: bool) -> None:
    async def scenario() -> None:
        assert await run_in_thread(lambda: 42, wait=wait) == 42
        assert await run_in_thread(lambda: _slow("late", QUICK_WAIT * 20), wait=wait) == "late"  # past the quick wait
        with pytest.raises(KeyError, match="missing"):
            await run_in_thread(_fail, wait=wait)

    asyncio.run(scenario())


def test_calls_run_concurrently_and_hung_ones_do_not_starve_the_rest() -> None:
    """A fixed pool of 32 threads stopped serving once 32 tools hung; this one grows instead."""
    release = threading.Event()

    async def scenario() -> str:
        hung = [asyncio.ensure_future(run_in_thread(lambda: release.wait(10))) for _ in range(40)]
        await asyncio.sleep(0.05)
        try:
            async with asyncio.timeout(5):
                return str(await run_in_thread(lambda: "still served"))
        finally:
            release.set()
            await asyncio.gather(*hung)

    assert asyncio.run(scenario()) == "still served"


async def _abandon_a_slow_call() -> None:
    """Time out waiting for a call that goes on for 0.1 s in its thread."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.02):
            await run_in_thread(lambda: _slow("ignored", 0.1))


def test_a_cancelled_wait_leaves_the_thread_to_finish_and_reusable() -> None:
    async def cancelled_then_reused() -> str:
        await _abandon_a_slow_call()
        await asyncio.sleep(0.15)  # the abandoned call finishes; its wake-up finds the future cancelled
        return str(await run_in_thread(lambda: "next"))

    assert asyncio.run(cancelled_then_reused()) == "next"


def test_a_call_that_outlives_its_event_loop_is_harmless() -> None:
    asyncio.run(_abandon_a_slow_call())  # the loop is closed before the call finishes and tries to wake it
    time.sleep(0.15)
    assert asyncio.run(run_in_thread(lambda: "fine")) == "fine"


def test_a_tool_hung_past_its_timeout_does_not_keep_the_program_alive() -> None:
    script = textwrap.dedent(
        """
        import time
        from agentkit import Agent, Limits, ScriptedModel, ToolCall, tool

        @tool
        def hang() -> str:
            \"\"\"Hang.\"\"\"
            time.sleep(60)
            return "late"

        model = ScriptedModel([ToolCall(name="hang", arguments={}), "ok"])
        result = Agent(model=model, tools=[hang], limits=Limits(tool_timeout=0.2))("go")
        print(result.tool_results[0].content)
        """
    )
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert "timed out after 0.2 s" in run.stdout
    assert time.monotonic() - started < 20  # it used to wait the full minute for the hung thread at exit


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_starts_threads_of_its_own() -> None:
    assert asyncio.run(run_in_thread(lambda: "parent")) == "parent"  # the parent has an idle worker now
    pid = os.fork()
    if pid == 0:  # the child: the parent's idle worker does not exist here
        try:
            ok = asyncio.run(asyncio.wait_for(run_in_thread(lambda: "child"), 5)) == "child"
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_an_idle_thread_keeps_nothing_of_its_last_call_and_idle_threads_end(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import weakref

    from agentkit import tool_threads

    class Big:
        pass

    def workers() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "agentkit-tool")

    result = asyncio.run(run_in_thread(Big))
    alive = weakref.ref(result)
    del result
    gc.collect()
    assert alive() is None  # the idle worker dropped the call (and so its result)

    monkeypatch.setattr(tool_threads, "IDLE_SECONDS", 0.05)
    before = workers()
    release = threading.Event()

    async def burst() -> None:
        await asyncio.gather(*(run_in_thread(lambda: release.wait(5)) for _ in range(12)))

    threading.Timer(0.1, release.set).start()
    asyncio.run(burst())
    assert workers() >= 12
    deadline = time.monotonic() + 5
    while workers() > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert workers() <= before
    assert asyncio.run(run_in_thread(lambda: "served after the crowd left")) == "served after the crowd left"
