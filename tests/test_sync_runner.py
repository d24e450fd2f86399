"""Sync agent() calls on the main thread share one event loop, yet each behaves as under asyncio.run."""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import textwrap

from agentkit import Agent, ScriptedModel, ToolCall, tool
from agentkit.sync_runner import run_sync

REQUEST = contextvars.ContextVar("request", default="none")


def _answer() -> str:
    result: list[str] = []

    async def main() -> None:
        result.append(REQUEST.get())

    run_sync(main)
    return result[0]


def test_each_call_sees_the_callers_context_variables_and_leaks_none() -> None:
    seen = []
    for request in ("r1", "r2", "r3"):
        REQUEST.set(request)
        seen.append(_answer())
    assert seen == ["r1", "r2", "r3"]

    async def set_inside() -> None:
        REQUEST.set("set inside a call")

    run_sync(set_inside)
    assert REQUEST.get() == "r3" and _answer() == "r3"


def test_tasks_a_call_leaves_behind_are_cancelled_before_it_returns() -> None:
    state = {"started": False, "cancelled": False}

    async def forever() -> None:
        state["started"] = True
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise

    keep = set()

    @tool
    async def spawn() -> str:
        """Start background work and return at once."""
        keep.add(asyncio.ensure_future(forever()))
        await asyncio.sleep(0)
        return "started"

    Agent(model=ScriptedModel([ToolCall(name="spawn", arguments={}), "ok"]), tools=[spawn])("go")
    assert state == {"started": True, "cancelled": True}


def test_a_closed_loop_is_replaced_by_the_next_call() -> None:
    from agentkit import sync_runner

    assert Agent(model=ScriptedModel(["one"]))("go").text == "one"
    assert sync_runner._runner is not None
    sync_runner._runner.get_loop().close()  # as a test plugin that closes "the current loop" does
    assert Agent(model=ScriptedModel(["two"]))("go").text == "two"


def test_a_sync_call_from_a_callback_of_the_running_loop_uses_a_thread_and_spares_the_outer_run() -> None:
    answers: list[str] = []

    async def outer() -> str:
        loop = asyncio.get_running_loop()
        loop.call_soon(lambda: answers.append(Agent(model=ScriptedModel(["inner"]))("go").text))
        await asyncio.sleep(0.05)
        return "outer finished"

    assert asyncio.run(outer()) == "outer finished"
    assert answers == ["inner"]


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=60)


def test_a_forked_child_that_exits_leaves_the_parents_loop_working() -> None:
    run = _run(
        """
        import os, sys, time
        from agentkit import Agent, ScriptedModel, ToolCall, tool

        @tool
        def slow() -> str:
            \"\"\"Longer than the quick wait: its result comes back through the loop's wake-up pipe.\"\"\"
            time.sleep(0.05)
            return "slow"

        def run():
            model = ScriptedModel([ToolCall(name="slow", arguments={}), "done"])
            return Agent(model=model, tools=[slow], limits=__import__("agentkit").Limits(deadline=10))("go").stop_reason

        print(run())
        pid = os.fork()
        if pid == 0:  # the child makes calls of its own, collects garbage, and runs atexit on exit
            import gc
            run()
            gc.collect()
            sys.exit(0)
        os.waitpid(pid, 0)
        print(run())
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["end_turn", "end_turn"]


def test_a_sync_call_from_an_atexit_handler_still_runs() -> None:
    run = _run(
        """
        import atexit
        from agentkit import Agent, ScriptedModel

        atexit.register(lambda: print(Agent(model=ScriptedModel(["bye"]))("go").text))
        print(Agent(model=ScriptedModel(["hi"]))("go").text)
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["hi", "bye"]


def test_ctrl_c_while_a_calls_leftovers_are_cancelled_closes_the_loop_too() -> None:
    run = _run(
        """
        import asyncio, os, signal, threading
        from agentkit import sync_runner
        from agentkit.sync_runner import run_sync

        signal.signal(signal.SIGINT, signal.default_int_handler)  # even where the test runner ignores Ctrl-C

        async def slow_cleanup():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                await asyncio.sleep(0.5)  # a leftover whose cleanup takes a moment
                raise

        async def main():
            asyncio.get_running_loop().create_task(slow_cleanup())
            await asyncio.sleep(0)

        threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        try:
            run_sync(main)
        except KeyboardInterrupt:
            print("interrupted", sync_runner._runner is None)

        async def again():
            print("next call runs")

        run_sync(again)
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["interrupted True", "next call runs"]
