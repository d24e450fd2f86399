"""`agentkit run / chat / agents / sessions` as a user meets them: a subprocess, exit codes, stderr, --json."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPLAY = f"replay:{ROOT / 'examples' / 'assistant-sqrt.qwen3coder.jsonl'}"
PROMPT = "Tell me the square root of 42 ^ 9"

pytestmark = pytest.mark.integration


def agentkit(*args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
        env=dict(os.environ),
    )


def one_line_error(run: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert run.returncode == code, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.strip().splitlines() if not line.startswith("warning:")]
    return lines[-1]


def test_agents_list_shows_the_shipped_agents() -> None:
    run = agentkit("agents", "list")
    assert run.returncode == 0
    names = [line.split()[0] for line in run.stdout.splitlines()]
    assert names == ["assistant", "repo-optimizer"]


def test_run_the_assistant_on_a_recorded_session() -> None:
    run = agentkit("run", "assistant", PROMPT, "--model", REPLAY)
    assert run.returncode == 0, run.stderr
    assert "→ calculator(" in run.stdout and "✓ calculator" in run.stdout
    assert "3111696·√42" in run.stdout
    assert "2 turns, 1 tool call," in run.stderr and "stop: end_turn" in run.stderr
    assert "agentkit sessions resume" in run.stderr


def test_json_events_are_one_object_per_line() -> None:
    run = agentkit("run", "assistant", PROMPT, "--model", REPLAY, "--json")
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "text" and kinds[-1] == "done"
    assert "tool_call" in kinds and "tool_result" in kinds
    result = next(e for e in events if e["kind"] == "tool_result")
    assert json.loads(result["content"])["exact"] == "3111696*sqrt(42)"
    assert events[-1]["stop_reason"] == "end_turn"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("run", "nosuch-agent", "hi"), 1, "error: unknown agent 'nosuch-agent'"),
        (("run", "assistant", "hi"), 1, "error: no model configured"),
        (("run", "assistant", "hi", "--model", "bogus-model-name"), 1, "error: unknown model 'bogus-model-name'"),
        (("run", "assistant", "hi", "--model", "replay:/no/such/file.jsonl"), 1, "error: replay transcript"),
        (("run", "repo-optimizer"), 2, "error: repo-optimizer: Missing argument 'REPO'"),
        (("run", "repo-optimizer", "/no/such/repo", "--test", "true", "--model", REPLAY), 1, "error: repository"),
        (("run", "assistant", "--bogus-flag", "hi"), 2, "error: assistant: No such option '--bogus-flag'"),
        (("run", "./missing_agent.py", "hi"), 1, "missing_agent.py' does not exist"),
        (("sessions", "show", "no-such-session"), 1, "error: no session 'no-such-session'"),
        (("frobnicate",), 2, "error: No such command 'frobnicate'"),
    ],
)
def test_user_errors_are_one_clear_line_and_a_nonzero_exit(args: tuple[str, ...], code: int, message: str) -> None:
    assert message in one_line_error(agentkit(*args, input=""), code)


def test_a_prompt_can_come_from_stdin() -> None:
    run = agentkit("run", "assistant", "--model", REPLAY, input=PROMPT)
    assert run.returncode == 0, run.stderr
    assert "3111696·√42" in run.stdout


def test_sessions_list_show_and_resume() -> None:
    first = agentkit("run", "assistant", PROMPT, "--model", REPLAY, "--session", "sqrt-1")
    assert first.returncode == 0, first.stderr
    listed = json.loads(agentkit("sessions", "list", "--json").stdout)
    assert [s["id"] for s in listed] == ["sqrt-1"]
    assert listed[0]["first_prompt"] == PROMPT
    shown = agentkit("sessions", "show", "sqrt-1").stdout
    assert f"[user] {PROMPT}" in shown and "[tool calculator]" in shown
    finished = agentkit("sessions", "resume", "sqrt-1", "--model", REPLAY)
    assert "finished its run; give a new prompt" in one_line_error(finished)
    again = agentkit("sessions", "resume", "sqrt-1", "And once more?", "--model", REPLAY)
    assert again.returncode == 0, again.stderr
    roles = [json.loads(line)["role"] for line in agentkit("sessions", "show", "sqrt-1", "--json").stdout.splitlines()]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant"]


def test_a_users_own_agent_file_runs(tmp_path: Path) -> None:
    path = tmp_path / "my_agent.py"
    path.write_text(
        textwrap.dedent(
            """
        from agentkit import Agent, ScriptedModel, ToolCall, tool

        @tool
        def shout(text: str) -> str:
            '''Upper-case the text.'''
            return text.upper()

        agent = Agent(model=ScriptedModel([ToolCall(name="shout", arguments={"text": "hey"}), "done"]),
                      tools=[shout])
        """
        )
    )
    run = agentkit("run", str(path), "go")
    assert run.returncode == 0, run.stderr
    assert "✓ shout: HEY" in run.stdout


SLOW_AGENT = """
import time
from agentkit import Agent, FunctionModel, ToolCall, tool

@tool
def tick(n: int) -> int:
    '''Wait a little.'''
    time.sleep(0.3)
    return n

agent = Agent(model=FunctionModel(lambda messages, tools: ToolCall(name="tick", arguments={"n": len(messages)})),
              tools=[tick])
"""


def test_ctrl_c_stops_cleanly_and_keeps_the_session(tmp_path: Path) -> None:
    path = tmp_path / "slow_agent.py"
    path.write_text(SLOW_AGENT)
    child = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "run", str(path), "go", "--session", "slow-1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    seen = [child.stdout.readline() for _ in range(3)]
    assert any("tick" in line for line in seen), seen
    child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err  # a cancelled run is not a success
    assert "run cancelled (cancelled); exit status 130" in err
    assert "stopping after the current step" in err
    assert "stop: cancelled" in err
    assert "Traceback" not in err
    shown = agentkit("sessions", "show", "slow-1", "--json")
    roles = [json.loads(line)["role"] for line in shown.stdout.splitlines()]
    assert roles[:3] == ["user", "assistant", "tool"]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it)")
def test_live_display_in_a_real_terminal(tmp_path: Path) -> None:
    session = f"agentkit-test-{os.getpid()}"
    done = tmp_path / "done"
    command = f"{sys.executable} -m agentkit run assistant '{PROMPT}' --model {REPLAY}; echo EXIT=$? > {done}; sleep 30"
    env_prefix = f"AGENTKIT_HOME={os.environ['AGENTKIT_HOME']} "
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40", env_prefix + command], check=True
    )
    try:
        deadline = time.monotonic() + 60
        while not done.exists():
            assert time.monotonic() < deadline, "the run never finished inside tmux"
            time.sleep(0.1)
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
        colored = subprocess.run(
            ["tmux", "capture-pane", "-p", "-e", "-t", session], capture_output=True, text=True
        ).stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert done.read_text().strip() == "EXIT=0"
    assert "I'll compute that with the calculator." in screen
    assert "→ calculator(" in screen and "✓ calculator:" in screen
    assert "3111696·√42" in screen
    assert "— 2 turns, 1 tool call," in screen
    assert "\x1b[" in colored  # a terminal gets colour; pipes (the tests above) get plain text
    assert "\x1b[" not in agentkit("run", "assistant", PROMPT, "--model", REPLAY).stdout


def test_shell_completion_and_help_everywhere() -> None:
    env = {**os.environ, "COMP_WORDS": "agentkit se", "COMP_CWORD": "1", "_AGENTKIT_COMPLETE": "bash_complete"}
    run = subprocess.run([sys.executable, "-m", "agentkit"], capture_output=True, text=True, env=env)
    assert run.stdout.split() == ["plain,serve", "plain,sessions"]
    for command in (
        ["--help"],
        ["run", "--help"],
        ["sessions", "resume", "--help"],
        ["tools", "call", "--help"],
        ["sandbox", "run", "--help"],
        ["deploy", "agentcore", "--help"],
        ["parse", "--help"],
    ):
        help_run = agentkit(*command)
        assert help_run.returncode == 0 and "Usage:" in help_run.stdout, command


def test_chat_answers_each_line_and_keeps_the_session() -> None:
    run = agentkit("chat", "assistant", "--model", REPLAY, "--session", "chat-1", input=PROMPT + "\n\n")
    assert run.returncode == 0, run.stderr
    assert "3111696·√42" in run.stdout
    assert "session kept: agentkit sessions resume chat-1" in run.stderr
    shown = agentkit("sessions", "show", "chat-1").stdout
    assert f"[user] {PROMPT}" in shown and "[assistant] The square root" in shown


def test_sessions_list_marks_a_damaged_session_and_lists_the_rest() -> None:
    home = Path(os.environ["AGENTKIT_HOME"]) / "sessions"
    first = agentkit("run", "assistant", PROMPT, "--model", REPLAY, "--session", "list-good")
    assert first.returncode == 0, first.stderr
    (home / "list-deep.jsonl").write_text("[" * 100_000 + "\n{}\n")
    (home / "list-role.jsonl").write_text('{"role": 5}\n{}\n')
    listed = agentkit("sessions", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "DAMAGED" in lines["list-deep"] and "line 1" in lines["list-deep"]
    assert "DAMAGED" in lines["list-role"] and 'without a "type"' in lines["list-role"]
    assert "DAMAGED" not in lines["list-good"]
    rows = {row["id"]: row for row in json.loads(agentkit("sessions", "list", "--json").stdout)}
    assert rows["list-good"]["problem"] is None and "nesting" in rows["list-deep"]["problem"]


@pytest.mark.parametrize("name", ["a/b", "../escape"])
def test_a_session_name_that_is_a_path_is_one_clear_error(name: str) -> None:
    assert "is a path" in one_line_error(agentkit("run", "assistant", "hi", "--model", REPLAY, "--session", name))


def test_summary_says_when_usage_was_estimated() -> None:
    from agentkit.cli.display import summarize
    from agentkit.loop import AgentResult
    from agentkit.messages import Usage

    def line(usage: Usage) -> str:
        result = AgentResult(
            text="x",
            messages=[],
            tool_calls=[],
            tool_results=[],
            usage=usage,
            stop_reason="end_turn",
            turns=1,
            duration=0.1,
        )
        return summarize(result, session=None, elapsed=0.1)

    assert "5 in / 2 out tokens (estimated)" in line(Usage(input_tokens=5, output_tokens=2, estimated=True))
    assert "(estimated)" not in line(Usage(input_tokens=5, output_tokens=2))


def test_family_option_reaches_the_local_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--family` sets AGENTKIT_MODEL_FAMILY, which TransformersModel reads when no family= is given."""
    from click.testing import CliRunner

    from agentkit.cli import cli

    monkeypatch.setenv("AGENTKIT_MODEL_FAMILY", "unset")  # restored after the test: --family overwrites it
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path / "home"))
    agent_file = tmp_path / "seen.py"
    agent_file.write_text(
        textwrap.dedent(
            """
            import os
            from agentkit import Agent, ScriptedModel

            def build(model):
                return Agent(model=ScriptedModel([os.environ["AGENTKIT_MODEL_FAMILY"]]))
            """
        )
    )
    result = CliRunner().invoke(cli, ["run", str(agent_file), "hi", "--family", "hermes"])
    assert result.exit_code == 0, result.output
    assert "hermes" in result.output
    chat = CliRunner().invoke(cli, ["chat", str(agent_file), "--family", "harmony"], input="hi\n\n")
    assert chat.exit_code == 0, chat.output
    assert "harmony" in chat.output
