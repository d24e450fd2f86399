"""The Agent's default executor routes tools by their Needs, and says clearly when it cannot isolate one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentkit import Agent, Needs, ScriptedModel, Tool, ToolCall


def test_a_closure_that_asks_for_isolation_gets_a_clear_error_result() -> None:
    def secret() -> str:
        return "ran"

    tool = Tool.from_schema("secret", "d", {"type": "object", "properties": {}}, secret, needs=Needs(isolated=True))
    result = Agent(model=ScriptedModel([ToolCall(name="secret", arguments={}), "ok"]), tools=[tool])("go")
    assert result.tool_results[0].is_error
    assert "cannot be imported by a worker" in result.tool_results[0].content


def test_the_workspace_run_tool_runs_through_the_default_executor(tmp_path: Path) -> None:
    from agentkit.tools.edit import Workspace, edit_tools

    (tmp_path / "hello.txt").write_text("hi from the scratch copy\n")
    with Workspace(tmp_path) as workspace:
        model = ScriptedModel([ToolCall(name="run", arguments={"command": "cat hello.txt"}), "done"])
        result = Agent(model=model, tools=edit_tools(workspace))("go")
    assert not result.tool_results[0].is_error, result.tool_results[0].content
    assert "hi from the scratch copy" in result.tool_results[0].content


def _own_cgroup() -> str:
    return Path("/proc/self/cgroup").read_text()


def _busy_sandbox_cgroups() -> list[str]:
    """This process's sandbox cgroups that hold processes right now (other than a launcher waiting for the
    next call: see agentkit.sandbox.prejoined)."""
    import os

    from agentkit.sandbox.cgroup import _targets
    from agentkit.sandbox.prejoined import launchers

    pool = launchers()
    waiting = {str(pid) for pid in pool.waiting().values()} if pool is not None else set()
    found = []
    for _, parent in _targets():
        for name in os.listdir(parent):
            procs = Path(parent, name, "cgroup.procs")
            mine = name.startswith(f"agentkit-{os.getpid()}-") and procs.exists()
            if mine and set(procs.read_text().split()) - waiting:
                found.append(name)
    return found


def test_the_agent_never_joins_a_cgroup_and_each_worker_has_its_own() -> None:
    from agentkit.sandbox import SandboxExecutor
    from agentkit.sandbox.cgroup import cgroup_support

    from . import toolmods

    seen: list[tuple[str, list[str]]] = []

    def where() -> str:
        seen.append((_own_cgroup(), _busy_sandbox_cgroups()))
        return "ok"

    inproc = Tool.from_schema("where", "d", {"type": "object", "properties": {}}, where)
    isolated = Tool.from_function(toolmods.add, needs=Needs(isolated=True))
    calls = [ToolCall(name="add", arguments={"a": 1, "b": 2}), ToolCall(name="where", arguments={}), "done"]
    before = _own_cgroup()

    async def go() -> None:
        async with SandboxExecutor() as executor:
            await Agent(model=ScriptedModel(calls), tools=[inproc, isolated], executor=executor).invoke_async("go")

    asyncio.run(go())
    ((during, groups),) = seen
    assert during == before and _own_cgroup() == before  # the agent stays where it was, during the run too
    if cgroup_support()[0]:  # root with a writable cgroup hierarchy: CI and this machine
        assert groups  # the warm worker, in its own group
    assert not _busy_sandbox_cgroups()  # closing the executor removed them


@pytest.mark.parametrize("cgroup", [True, False], ids=["cgroup", "no-cgroup"])
def test_a_fork_bomb_in_a_tool_cannot_starve_the_agent(cgroup: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point 3: the tool's processes count against its own limit, its worker's cgroup or, without one, its PID
    namespace (root: its pid_max; an ordinary user: RLIMIT_NPROC in its user namespace); the agent still starts
    threads and calls."""
    import os
    import threading

    from agentkit.sandbox import Policy, SandboxExecutor
    from agentkit.sandbox.cgroup import cgroup_support
    from agentkit.sandbox.detect import probe

    from . import toolmods
    from .switches import switch_off_cgroups

    if cgroup and not cgroup_support()[0]:
        pytest.skip(f"no cgroup can be made here: {cgroup_support()[1]}")
    if not cgroup:
        if os.geteuid() == 0 and not probe().root_pid_limit:
            pytest.skip("as root without a cgroup, only a PID namespace's own pid_max (Linux 6.14+) bounds a tool")
        switch_off_cgroups(monkeypatch)

    def threads() -> int:
        started = [threading.Thread(target=lambda: None) for _ in range(50)]
        for thread in started:
            thread.start()
        for thread in started:
            thread.join()
        return len(started)

    bomb = Tool.from_function(toolmods.fork_many, needs=Needs(code_execution=True))
    spawn = Tool.from_schema("threads", "d", {"type": "object", "properties": {}}, threads)
    add = Tool.from_function(toolmods.add, needs=Needs(isolated=True, read_paths=("/usr",)))
    calls = [
        ToolCall(name="fork_many", arguments={"count": 200, "hold": 3}),
        ToolCall(name="threads", arguments={}),
        ToolCall(name="add", arguments={"a": 1, "b": 2}),
        "done",
    ]

    async def go() -> list[str]:
        async with SandboxExecutor(Policy(max_processes=64)) as executor:
            agent = Agent(model=ScriptedModel(calls), tools=[bomb, spawn, add], executor=executor)
            agent.limits.max_concurrent_tools = 1
            result = await agent.invoke_async("go")
        assert not any(r.is_error for r in result.tool_results), result.tool_results
        return [r.content for r in result.tool_results]

    made, started, total = asyncio.run(go())
    assert 30 < int(made) < 64 and started == "50" and total == "3"


def test_pure_in_process_tools_never_touch_cgroups() -> None:
    seen: list[str] = []

    def where() -> str:
        seen.append(_own_cgroup())
        return "ok"

    probe = Tool.from_schema("where", "d", {"type": "object", "properties": {}}, where)
    Agent(model=ScriptedModel([ToolCall(name="where", arguments={}), "done"]), tools=[probe])("go")
    assert "agentkit-" not in seen[0]


def test_a_cancelled_run_records_an_isolated_call_that_finished(tmp_path: Path) -> None:
    """Like a thread tool's, a sandboxed call that finishes while its run is being cancelled is recorded, so a
    resumed run does not repeat it (the sandbox executor waits on the same tool threads as plain tools)."""
    from agentkit.sessions import Session

    from . import toolmods

    done = tmp_path / "done"
    done.mkdir()
    done.chmod(0o777)  # writable by the sandbox uid, also where it is uid 65534 on the host (no user namespace)
    params = {"type": "object", "properties": {"path": {"type": "string"}, "text": {"type": "string"}}}
    needs = Needs(isolated=True, write_paths=(str(done),))
    tool = Tool.from_schema("slow_write", "d", params, toolmods.slow_write_file, needs=needs)
    call = ToolCall(name="slow_write", arguments={"path": str(done / "once.txt"), "text": "x"})
    session = tmp_path / "s.jsonl"
    agent = Agent(model=ScriptedModel([call, "ok"]), tools=[tool], session=session)

    async def cancel_mid_call() -> None:
        run = asyncio.ensure_future(agent.invoke_async("go"))
        for _ in range(200):  # until the worker runs the call (the file appears when it starts)
            await asyncio.sleep(0.05)
            if (done / "started").exists():
                break
        run.cancel()
        try:
            await run
        except asyncio.CancelledError:
            pass

    asyncio.run(cancel_mid_call())
    assert (done / "once.txt").read_text() == "x"
    assert len(Session(session).load().completed) == 1


def test_an_ordinary_users_bwrap_counts_processes_inside_its_own_namespace() -> None:
    """Without a pids cgroup, RLIMIT_NPROC set outside bubblewrap would count all of the user's processes (the
    agent's threads too); set inside its user namespace by prlimit, it counts the sandbox's own processes."""
    import resource

    from agentkit.sandbox import Policy
    from agentkit.sandbox import launch as launch_module

    policy = Policy(max_processes=64)
    inner = launch_module._inner_nproc(policy, None, root=False)
    assert inner is not None and inner[0].endswith("prlimit") and "--nproc=64:64" in inner
    assert launch_module._inner_nproc(policy, None, root=True) is None  # root: the cgroup or setpriv path
    assert resource.RLIMIT_NPROC not in launch_module._rlimits(policy, group=None, per_uid_nproc=False)
