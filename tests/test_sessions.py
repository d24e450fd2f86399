"""Durable sessions: fsynced JSONL, resume after SIGKILL mid tool call, torn last lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import Agent, ScriptedModel, ToolCall, tool
from agentkit.errors import SessionBusy, SessionError
from agentkit.messages import Message
from agentkit.sessions import Session, list_sessions

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from agentkit import Agent, ScriptedModel, ToolCall, tool

    log = Path(sys.argv[2])

    @tool
    def note(text: str) -> str:
        '''Record a note.'''
        with log.open("a") as fh:
            fh.write(f"note:{text}\\n")
        return f"noted {text}"

    @tool
    def slow(text: str) -> str:
        '''Record, then hang (the test kills us here).'''
        with log.open("a") as fh:
            fh.write(f"slow:{text}\\n")
        Path(sys.argv[3]).write_text("started")
        time.sleep(60)
        return "unreachable"

    model = ScriptedModel([
        ToolCall(name="note", arguments={"text": "one"}),
        [ToolCall(name="note", arguments={"text": "two"}), ToolCall(name="slow", arguments={"text": "three"})],
        "unreachable",
    ])
    Agent(model=model, tools=[note, slow], session=Path(sys.argv[1]))("start")
    """
)


def _tools(log: Path):  # type: ignore[no-untyped-def]
    @tool
    def note(text: str) -> str:
        """Record a note."""
        with log.open("a") as fh:
            fh.write(f"note:{text}\n")
        return f"noted {text}"

    @tool
    def slow(text: str) -> str:
        """Record and finish (this time)."""
        with log.open("a") as fh:
            fh.write(f"slow:{text}\n")
        return f"slow done {text}"

    return [note, slow]


def _kill_mid_tool_call(tmp_path: Path) -> tuple[Path, Path]:
    session, log, marker = tmp_path / "s.jsonl", tmp_path / "log.txt", tmp_path / "marker"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(session), str(log), str(marker)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the child agent exited before reaching the slow tool"
            assert time.monotonic() < deadline, "the child agent never reached the slow tool"
            time.sleep(0.02)
        # the marker is written inside the tool; give the concurrent fast call a moment to record its result
        time.sleep(0.3)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return session, log


@pytest.mark.integration
def test_sigkill_mid_tool_call_then_resume_reruns_only_the_interrupted_call(tmp_path: Path) -> None:
    session, log = _kill_mid_tool_call(tmp_path)
    assert sorted(log.read_text().splitlines()) == ["note:one", "note:two", "slow:three"]

    state = Session(session).load()
    assert [m.role for m in state.messages] == ["user", "assistant", "tool", "assistant"]
    assert state.pending_calls
    assert [r.content for r in state.completed.values()] == ["noted two"]
    assert len(state.interrupted) == 1

    model = ScriptedModel(["all done"])
    agent = Agent(model=model, tools=_tools(log), session=session)
    result = agent(None)
    assert result.text == "all done"
    # completed steps were not repeated; the interrupted call ran again, exactly once
    assert sorted(log.read_text().splitlines()) == ["note:one", "note:two", "slow:three", "slow:three"]
    answered = result.messages[4]
    assert answered.role == "tool"
    assert [r.content for r in answered.tool_results] == ["noted two", "slow done three"]
    # and the model saw every result, in call order
    assert [r.content for r in model.requests[0][-1].tool_results] == ["noted two", "slow done three"]

    # a third process sees the whole finished conversation
    final = Session(session).load()
    assert [m.role for m in final.messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert not final.pending_calls


@pytest.mark.integration
def test_new_prompt_after_a_crash_reports_the_interrupted_call(tmp_path: Path) -> None:
    session, log = _kill_mid_tool_call(tmp_path)
    model = ScriptedModel(["ok, moving on"])
    result = Agent(model=model, tools=_tools(log), session=session)("something else")
    tool_message = result.messages[4]
    assert tool_message.tool_results[0].content == "noted two"
    assert tool_message.tool_results[1].is_error
    assert "interrupted" in tool_message.tool_results[1].content
    assert sorted(log.read_text().splitlines()) == ["note:one", "note:two", "slow:three"]  # nothing re-ran
    assert result.messages[5] == Message.user("something else")


def test_records_are_on_disk_before_the_next_step(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    seen: list[int] = []

    @tool
    def peek() -> str:
        """Count the transcript lines as the tool runs."""
        seen.append(len(path.read_text().splitlines()))
        return "ok"

    Agent(model=ScriptedModel([ToolCall(name="peek", arguments={}), "end"]), tools=[peek], session=path)("go")
    # user message, assistant turn and call_started were durable before the tool ran
    assert seen == [3]
    kinds = [json.loads(line)["type"] for line in path.read_text().splitlines()]
    assert kinds == ["message", "message", "call_started", "tool_result", "message", "message"]


def test_session_by_id_lives_under_agentkit_home_and_continues(tmp_path: Path) -> None:
    Agent(model=ScriptedModel(["first answer"]), system_prompt="sys", session="chat-1")("hello")
    again = Agent(model=ScriptedModel(["second answer"]), system_prompt="sys", session="chat-1")
    result = again("and again")
    assert [m.role for m in result.messages] == ["system", "user", "assistant", "user", "assistant"]
    infos = list_sessions()
    assert [i.id for i in infos] == ["chat-1"]
    assert infos[0].first_prompt == "hello" and infos[0].messages == 5
    assert Path(os.environ["AGENTKIT_HOME"], "sessions", "chat-1.jsonl").exists()


def test_torn_last_line_is_ignored_and_repaired(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    Agent(model=ScriptedModel(["fine"]), session=path)("q1")
    with path.open("ab") as fh:
        fh.write(b'{"type": "message", "message": {"role": "assi')  # the process died mid-write
    agent = Agent(model=ScriptedModel(["still fine"]), session=path)
    assert [m.role for m in agent.messages] == ["user", "assistant"]
    agent("q2")
    assert [m.role for m in Session(path).load().messages] == ["user", "assistant", "user", "assistant"]


def test_damage_in_the_middle_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"type":"message","message":{"role":"user","content":"a"}}\nGARBAGE\n{"type":"x"}\n')
    with pytest.raises(SessionError, match="line 2"):
        Session(path).load()


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("a/b", "is a path"),
        ("../escape", "is a path"),
        ("..", "is a path"),
        ("a\\b", "is a path"),
        ("", "is empty"),
        ("nul\x00byte", "NUL"),
        ("x" * 200, "longer than 128"),
        ("has space", "invalid"),
        (".hidden", "invalid"),
    ],
)
def test_session_names_are_names_never_paths(tmp_path: Path, bad: str, problem: str) -> None:
    with pytest.raises(SessionError, match=problem):
        Session.open(bad)
    before = set(Path.cwd().parent.iterdir()) | set(Path.cwd().iterdir())
    with pytest.raises(SessionError, match=problem):
        Agent(model=ScriptedModel(["x"]), session=bad)("hi")
    assert set(Path.cwd().parent.iterdir()) | set(Path.cwd().iterdir()) == before  # nothing written beside


def test_a_session_name_ending_in_jsonl_is_still_a_name() -> None:
    session = Session.open("notes.jsonl")
    assert session.path == Path(os.environ["AGENTKIT_HOME"], "sessions", "notes.jsonl.jsonl")


def test_resume_of_a_finished_session_is_refused(tmp_path: Path) -> None:
    import anyio

    path = tmp_path / "s.jsonl"
    Agent(model=ScriptedModel(["done"]), session=path)("q")
    agent = Agent(model=ScriptedModel([]), session=path)
    with pytest.raises(SessionError, match="finished"):
        anyio.run(agent.resume)


def test_a_complete_last_record_without_newline_survives_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"type":"message","message":{"role":"user","content":"first"}}\n'
        '{"type":"message","message":{"role":"assistant","content":"answer one"}}'  # no newline at the end
    )
    agent = Agent(model=ScriptedModel(["answer two"]), session=path)
    agent("second")
    contents = [m.content for m in Session(path).load().messages]
    assert contents == ["first", "answer one", "second", "answer two"]


@pytest.mark.parametrize(
    "record",
    [
        '{"type":"message"}',
        '{"type":"tool_result"}',
        '{"type":"message","message":"x"}',
        '{"type":"message","message":{"role":"assistant","tool_calls":[{}]}}',
    ],
)
def test_a_malformed_record_is_a_session_error_naming_it(tmp_path: Path, record: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(record + "\n")
    with pytest.raises(SessionError, match=r"s\.jsonl line 1 "):
        Session(path).load()
    assert list_sessions(tmp_path)[0].messages == 0  # listing still works around it


def test_closing_an_agent_releases_its_transcript(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for index in range(20):
        with Agent(model=ScriptedModel(["ok"]), session=tmp_path / f"s{index}.jsonl") as agent:
            agent("hi")
    assert len(os.listdir("/proc/self/fd")) <= before + 1


def test_a_consumer_that_stops_at_a_tool_result_leaves_memory_and_transcript_alike(tmp_path: Path) -> None:
    """A UI's Stop button, or a closed websocket, while a tool result is shown."""

    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    path = tmp_path / "s.jsonl"
    agent = Agent(model=ScriptedModel([ToolCall(name="add", arguments={"a": 1, "b": 2}), "3", "ok"]), tools=[add])
    agent.attach_session(Session.open(path))

    _stop_at_the_first_tool_result(agent, "what is 1+2?")
    roles = [m.role for m in agent.messages]
    assert roles == [m.role for m in Session(path).load().messages]
    agent("next question")
    assert [m.role for m in agent.messages] == [m.role for m in Session(path).load().messages]


@pytest.mark.parametrize("with_session", [False, True])
def test_resume_after_a_consumer_stopped_at_a_result_runs_no_finished_call_again(
    tmp_path: Path, with_session: bool
) -> None:
    import asyncio

    charges: list[int] = []

    @tool
    def charge(amount: int) -> str:
        """Charge a card (not idempotent)."""
        charges.append(amount)
        return "charged"

    model = ScriptedModel([ToolCall(name="charge", arguments={"amount": 5}), "paid"])
    agent = Agent(model=model, tools=[charge])
    if with_session:
        agent.attach_session(Session.open(tmp_path / "s.jsonl"))

    _stop_at_the_first_tool_result(agent, "pay")
    result = asyncio.run(agent.resume())
    assert charges == [5]
    assert result.text == "paid" and [m.role for m in result.messages][-2:] == ["tool", "assistant"]


def _stop_at_the_first_tool_result(agent: Agent, prompt: str) -> None:
    """Consume the agent's events as a UI whose Stop button is pressed while a tool result shows."""
    import asyncio
    import contextlib

    async def consume() -> None:
        async with contextlib.aclosing(agent.stream(prompt)) as events:
            async for event in events:
                if event.kind == "tool_result":
                    return

    asyncio.run(consume())


# ---- one writer at a time ------------------------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from agentkit import Agent, ScriptedModel, ToolCall, tool

    @tool
    def wait() -> str:
        '''Hold the run open until the test says so.'''
        Path(sys.argv[2]).write_text("running")
        while not Path(sys.argv[3]).exists():
            time.sleep(0.02)
        return "waited"

    model = ScriptedModel([ToolCall(name="wait", arguments={}), "child done"])
    Agent(model=model, tools=[wait], session=Path(sys.argv[1]))("child prompt")
    """
)


def test_a_second_process_gets_session_busy_naming_the_holder_then_continues_the_transcript(tmp_path: Path) -> None:
    path, running, release = tmp_path / "s.jsonl", tmp_path / "running", tmp_path / "release"
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    mine = Agent(model=ScriptedModel(["parent done"]), session=path)  # loaded before the child wrote anything
    child = subprocess.Popen([sys.executable, str(script), str(path), str(running), str(release)])
    try:
        deadline = time.monotonic() + 60
        while not running.exists():
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        with pytest.raises(SessionBusy, match=f"pid {child.pid} on ") as caught:
            mine("parent prompt")
        assert caught.value.holder.startswith(f"pid {child.pid}")
        with pytest.raises(SessionBusy):
            Agent(model=ScriptedModel(["x"]), session=path)("another")  # a fresh agent too
        release.write_text("go")
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
    result = mine("parent prompt")  # the transcript grew meanwhile: the agent reloads it first
    contents = [m.content for m in result.messages if m.role in ("user", "assistant")]
    assert contents == ["child prompt", "", "child done", "parent prompt", "parent done"]
    roles = [m.role for m in Session(path).load().messages]
    assert roles == ["user", "assistant", "tool", "assistant", "user", "assistant"]


def test_two_concurrent_runs_of_one_agent_do_not_interleave(tmp_path: Path) -> None:
    import asyncio

    @tool
    async def pause() -> str:
        """Wait a little."""
        await asyncio.sleep(0.2)
        return "paused"

    path = tmp_path / "s.jsonl"
    model = ScriptedModel([ToolCall(name="pause", arguments={}), "first done", "second done"])
    agent = Agent(model=model, tools=[pause], session=path)

    async def both() -> list[object]:
        return await asyncio.gather(agent.invoke_async("one"), agent.invoke_async("two"), return_exceptions=True)

    first, second = asyncio.run(both())
    assert not isinstance(first, BaseException) and first.text == "first done"  # type: ignore[union-attr]
    assert isinstance(second, SessionBusy) and "another run of this Agent" in str(second)
    assert [m.role for m in Session(path).load().messages] == ["user", "assistant", "tool", "assistant"]
    assert agent("two").text == "second done"  # free again once the first run ended


def test_two_agents_of_one_process_on_one_session_do_not_interleave(tmp_path: Path) -> None:
    import asyncio

    @tool
    async def pause() -> str:
        """Wait a little."""
        await asyncio.sleep(0.2)
        return "paused"

    path = tmp_path / "s.jsonl"
    a = Agent(model=ScriptedModel([ToolCall(name="pause", arguments={}), "a done"]), tools=[pause], session=path)
    b = Agent(model=ScriptedModel(["b done"]), session=path)

    async def both() -> list[object]:
        first = asyncio.ensure_future(a.invoke_async("from a"))
        await asyncio.sleep(0.05)
        return [await asyncio.gather(b.invoke_async("from b"), return_exceptions=True), await first]

    (busy,), done = asyncio.run(both())
    assert isinstance(busy, SessionBusy) and f"pid {os.getpid()}" in busy.holder
    assert done.text == "a done"  # type: ignore[attr-defined]


# ---- records are checked on load ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"role": 5}', 'without a "type"'),
        ('{"type": "message", "message": {"role": 5}}', "role '5'"),
        ('{"type": "message", "message": {"role": "user", "content": 7}}', "content is not a string"),
        ('{"type": "tool_result", "result": {"call_id": 1, "name": "x", "content": "y"}}', "not a string"),
        ("[" * 100_000 + "]" * 100_000, "nesting is deeper"),
        ('{"type": "message", "message": {"role": "user", "content": "\\ud800"}}', "surrogate"),
    ],
)
def test_a_bad_record_is_one_error_naming_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "s.jsonl"
    good = '{"type":"message","message":{"role":"user","content":"a"}}'
    path.write_text(f"{good}\n{line}\n{good}\n")
    with pytest.raises(SessionError, match=problem) as caught:
        Session(path).load()
    message = str(caught.value)
    assert f"{path} line 2 " in message and len(message) < 400


def test_sessions_list_marks_a_bad_file_and_lists_the_others(tmp_path: Path) -> None:
    Agent(model=ScriptedModel(["fine"]), session=tmp_path / "good.jsonl")("hello")
    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "\n" + "{}\n")
    (tmp_path / "role.jsonl").write_text('{"role": 5}\n{"role": 5}\n')
    infos = {info.id: info for info in list_sessions(tmp_path)}
    assert infos["good"].problem is None and infos["good"].messages == 2
    assert "line 1" in (infos["deep"].problem or "") and "nesting" in (infos["deep"].problem or "")
    assert "line 1" in (infos["role"].problem or "")


def test_a_lone_surrogate_from_a_tool_is_written_replaced_not_a_crash(tmp_path: Path) -> None:
    @tool
    def odd() -> str:
        """Return text holding a lone surrogate."""
        return "bad \ud800 text"

    path = tmp_path / "s.jsonl"
    Agent(model=ScriptedModel([ToolCall(name="odd", arguments={}), "ok"]), tools=[odd], session=path)("go")
    results = [r.content for m in Session(path).load().messages for r in m.tool_results]
    assert results == ["bad ? text"]


# ---- a finished tool result survives a cancelled run ------------------------------------------------------


def _counting_slow_tool(calls: list[str]):  # type: ignore[no-untyped-def]
    @tool
    def transfer(amount: int) -> str:
        """Move money (takes about a second; not idempotent)."""
        time.sleep(1.0)
        calls.append(f"transfer {amount}")
        return f"moved {amount}"

    return transfer


@pytest.mark.parametrize("with_session", [False, True])
def test_a_cancelled_run_records_the_call_that_finished_and_resume_does_not_repeat_it(
    tmp_path: Path, with_session: bool
) -> None:
    import asyncio

    calls: list[str] = []
    transfer = _counting_slow_tool(calls)
    model = ScriptedModel([ToolCall(name="transfer", arguments={"amount": 7}), "all moved"])
    path = tmp_path / "s.jsonl"
    agent = Agent(model=model, tools=[transfer], session=path if with_session else None)

    async def cancel_mid_call() -> None:
        run = asyncio.ensure_future(agent.invoke_async("pay"))
        await asyncio.sleep(0.3)  # the tool is running on its thread now
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(cancel_mid_call())
    assert calls == ["transfer 7"]  # it finished...
    if with_session:  # ...and its result is on disk, so another process resumes without calling it again
        assert Session(path).load().completed.keys() == {agent.messages[-1].tool_calls[0].id}
        agent = Agent(model=ScriptedModel(["all moved"]), tools=[transfer], session=path)
    result = asyncio.run(agent.resume())
    assert calls == ["transfer 7"]
    assert result.text == "all moved"
    assert [r.content for r in result.messages[-2].tool_results] == ["moved 7"]


def test_cancel_now_does_not_wait_for_a_running_call(tmp_path: Path) -> None:
    import asyncio

    calls: list[str] = []
    agent = Agent(
        model=ScriptedModel([ToolCall(name="transfer", arguments={"amount": 1})]), tools=[_counting_slow_tool(calls)]
    )

    async def cancel_now() -> float:
        run = asyncio.ensure_future(agent.invoke_async("pay"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        agent.cancel(now=True)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        return time.monotonic() - started

    assert asyncio.run(cancel_now()) < 0.5
    assert calls == []  # given up before it finished: nothing recorded, resume would run it


def test_a_cancelled_batch_records_every_call_that_finished(tmp_path: Path) -> None:
    import asyncio

    calls: list[str] = []
    transfer = _counting_slow_tool(calls)
    batch = [ToolCall(name="transfer", arguments={"amount": 1}), ToolCall(name="transfer", arguments={"amount": 2})]
    path = tmp_path / "s.jsonl"
    agent = Agent(model=ScriptedModel([batch, "done"]), tools=[transfer], session=path)

    async def cancel_mid_batch() -> None:
        run = asyncio.ensure_future(agent.invoke_async("pay twice"))
        await asyncio.sleep(0.3)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    started = time.monotonic()
    asyncio.run(cancel_mid_batch())
    assert time.monotonic() - started < 3  # waited for the calls (about 1 s), not spinning or hanging
    assert sorted(calls) == ["transfer 1", "transfer 2"]
    state = Session(path).load()
    assert len(state.completed) == 2 and state.interrupted == []
    result = asyncio.run(Agent(model=ScriptedModel(["done"]), tools=[transfer], session=path).resume())
    assert sorted(calls) == ["transfer 1", "transfer 2"] and result.text == "done"


# ---- fuzz: the loader never fails in any other way ------------------------------------------------------

_FUZZ_TOKENS = ['{"type":"message","message":', '{"role":', '"user"', '"tool"', '"content":', "5", "[", "]", "{", "}"]
_FUZZ_TOKENS += ['"', ",", ":", "\\ud800", '"tool_calls":[', '"tool_results":[', '{"type":"tool_result","result":']
_FUZZ_TOKENS += ['"call_id":"c"', '"name":"n"', "null", "true", "9" * 50, "\x00"]


def _fuzz_lines() -> st.SearchStrategy[list[str]]:
    good = st.builds(
        lambda role, text: json.dumps({"type": "message", "message": {"role": role, "content": text}}),
        st.sampled_from(["user", "assistant", "system"]),
        st.text(max_size=20),
    )
    soup = st.lists(st.sampled_from(_FUZZ_TOKENS), max_size=30).map("".join)
    deep = st.integers(1, 5000).map(lambda n: "[" * n)
    values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(["type", "role", "message"]), kids),
        max_leaves=10,
    ).map(json.dumps)
    return st.lists(st.one_of(good, good, soup, deep, values), max_size=6)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=_fuzz_lines(), newline_at_end=st.booleans())
def test_fuzzed_transcripts_load_or_name_file_and_line(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], newline_at_end: bool
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "s.jsonl"
    path.write_bytes(("\n".join(lines) + ("\n" if newline_at_end else "")).encode("utf-8", "surrogatepass"))
    try:
        Session(path).load()
        failed = None
    except SessionError as exc:
        failed = str(exc)
        assert f"{path} line " in failed and len(failed) < 600
    (info,) = list_sessions(folder)
    assert (info.problem is None) == (failed is None)


def test_a_forked_child_does_not_keep_the_parents_session_lock(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    session = Session(path)
    session.acquire()
    ready, tell = os.pipe()
    child = os.fork()
    if child == 0:  # the child (its fork hooks have run) lives on after the parent lets go
        os.write(tell, b"up")
        time.sleep(1.0)
        os._exit(0)
    try:
        assert os.read(ready, 2) == b"up"
        session.release()
        other = Session(path)
        other.acquire()  # free now, though the child still runs
        other.release()
    finally:
        os.waitpid(child, 0)
        os.close(ready)
        os.close(tell)


def test_a_session_file_over_the_size_bound_is_refused_by_its_size(tmp_path: Path) -> None:
    """A session file is read whole into memory: one past MAX_SESSION_BYTES (a damaged or hostile file; here a
    sparse one, which costs no disk) is one clear error, by its size, before any byte of it is read; `sessions
    list` marks it and lists the others."""
    from agentkit.session_stores.local import MAX_SESSION_BYTES

    Agent(model=ScriptedModel(["small"]), session=tmp_path / "small.jsonl")("q")
    big = tmp_path / "big.jsonl"
    with big.open("wb") as fh:
        fh.truncate(MAX_SESSION_BYTES + 1)
    with pytest.raises(SessionError, match=rf"big.jsonl is {MAX_SESSION_BYTES + 1:,} bytes, more than the"):
        Session(big).load()
    listed = {info.id: info.problem for info in list_sessions(tmp_path)}
    assert listed["small"] is None and "more than the" in (listed["big"] or "")
    with pytest.raises(SessionError, match="more than the"):  # an agent does not start on it, nor append to it
        Agent(model=ScriptedModel(["more"]), session=big)("q")
    assert big.stat().st_size == MAX_SESSION_BYTES + 1


def test_an_append_past_the_size_bound_writes_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentkit.session_stores import local

    path = tmp_path / "s.jsonl"
    Agent(model=ScriptedModel(["first"]), session=path)("q1")
    before = path.read_bytes()
    monkeypatch.setattr(local, "MAX_SESSION_BYTES", len(before) + 50)
    agent = Agent(model=ScriptedModel(["x" * 200]), session=path)
    with pytest.raises(SessionError, match=r"would grow to .* past the .* nothing was written"):
        agent("q2")
    assert path.read_bytes().startswith(before)
    Session(path).load()  # what is there still reads back


def test_a_torn_last_line_is_repaired_reading_only_the_end(tmp_path: Path) -> None:
    """The repair before the first append reads the last line from the end, not the whole file."""
    path = tmp_path / "s.jsonl"
    Agent(model=ScriptedModel(["fine"]), session=path)("q1")
    whole = path.read_bytes()
    torn = b'{"type": "message", "message": {"role": "assi' + b"x" * 200_000  # longer than one block
    path.write_bytes(whole + torn)
    Agent(model=ScriptedModel(["again"]), session=path)("q2")
    data = path.read_bytes()
    assert data.startswith(whole) and b"xxxx" not in data
    assert [m.role for m in Session(path).load().messages] == ["user", "assistant", "user", "assistant"]
