"""The shell's rough edges (issue 18), each as a user meets it: a subprocess, its exit status and stderr."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPT = ROOT / "examples" / "assistant-sqrt.qwen3coder.jsonl"
REPLAY = f"replay:{TRANSCRIPT}"
PROMPT = "Tell me the square root of 42 ^ 9"

pytestmark = pytest.mark.integration


def agentkit(*args: str, input: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=120,
        env=dict(os.environ, **(env or {})),
    )


def error_line(run: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The one `error:` line of a failed command (warnings aside), with no traceback."""
    assert run.returncode == code, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.strip().splitlines() if not line.startswith("warning:")]
    assert lines[-1].startswith("error: "), run.stderr
    return lines[-1]


def test_an_agents_own_options_are_in_its_help() -> None:
    run = agentkit("run", "repo-optimizer", "--help")
    assert run.returncode == 0, run.stderr
    assert "Arguments and options of repo-optimizer" in run.stdout
    for option in ("--test", "--bench", "--apply", "--goal", "--timeout"):
        assert option in run.stdout
    assert "--model" in run.stdout  # the generic options stay
    assert "--root" in agentkit("run", "assistant", "-h").stdout
    assert "Arguments and options" not in agentkit("run", "--help").stdout
    assert "Arguments and options" not in agentkit("run", "--model", REPLAY, "--help").stdout


def test_the_exit_statuses_are_in_the_help() -> None:
    assert "130 when it was cancelled" in " ".join(agentkit("run", "--help").stdout.split())


LIMITED_AGENT = """
from agentkit import Agent, FunctionModel, Limits, ToolCall, tool

@tool
def tick(n: int) -> int:
    '''Count.'''
    return n

agent = Agent(model=FunctionModel(lambda messages, tools: ToolCall(name="tick", arguments={"n": len(messages)})),
              tools=[tick], limits=Limits(max_turns=2))
"""


def test_a_run_stopped_by_a_limit_exits_3_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "limited.py"
    path.write_text(LIMITED_AGENT)
    run = agentkit("run", str(path), "go")
    assert run.returncode == 3, run.stderr
    assert "run stopped by a limit (max_turns); exit status 3" in run.stderr
    assert "Traceback" not in run.stderr


def test_no_model_names_the_option_replay_and_the_environment() -> None:
    line = error_line(agentkit("run", "assistant", "hi"))
    assert "no model configured" in line
    for word in ("--model", "replay:", "AGENTKIT_MODEL", "OPENAI_BASE_URL", "AGENTKIT_LOCAL_MODEL", "AWS_PROFILE"):
        assert word in line
    assert "pass model= explicitly" not in line


def test_openai_without_a_base_url_says_it_goes_to_api_openai_com() -> None:
    run = agentkit("run", "assistant", "hi", "--model", "openai:some-model", env={"OPENAI_API_KEY": "sk-test"})
    assert "warning: OPENAI_BASE_URL is not set, so this model goes to api.openai.com" in run.stderr
    # the test machine cannot reach api.openai.com: the connection error repeats where it went
    assert "api.openai.com" in error_line(run)


def test_the_hf_error_is_whole_and_advises() -> None:
    pytest.importorskip("transformers")
    home = Path(os.environ["AGENTKIT_HOME"])
    env = {"HF_HOME": str(home / "hf"), "HF_HUB_OFFLINE": "1"}
    line = error_line(agentkit("run", "assistant", "hi", "--model", "hf:nobody/no-such-model", env=env))
    assert "not in the local Hugging Face cache" in line
    assert line.endswith("or pass the path of a local model folder or .gguf file")
    assert "huggingface-cli download nobody/no-such-model" in line


def test_a_replay_of_another_prompt_is_an_error() -> None:
    line = error_line(agentkit("run", "assistant", "What is the weather in Paris?", "--model", REPLAY))
    assert "was recorded for the prompt 'Tell me the square root of 42 ^ 9'" in line
    assert agentkit("run", "assistant", PROMPT, "--model", REPLAY).returncode == 0


def test_a_replay_of_another_agents_tools_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "other.py"
    path.write_text(
        textwrap.dedent(
            """
            from agentkit import Agent, tool

            @tool
            def shout(text: str) -> str:
                '''Upper-case the text.'''
                return text.upper()

            agent = Agent(tools=[shout])
            """
        )
    )
    line = error_line(agentkit("run", str(path), PROMPT, "--model", REPLAY))
    assert "was recorded for an agent with the tools calculator, file_info" in line
    assert "but this agent has shout" in line


def test_model_applies_to_an_agent_file_that_names_none(tmp_path: Path) -> None:
    path = tmp_path / "my_agent.py"
    path.write_text(
        textwrap.dedent(
            """
            from agentkit import Agent
            from agentkit.tools import builtin_tools

            NAMES = ("calculator", "file_info", "list_files", "read_file", "search", "weather")
            agent = Agent(tools=[t for t in builtin_tools() if t.name in NAMES])
            """
        )
    )
    run = agentkit("run", str(path), PROMPT, "--model", REPLAY)
    assert run.returncode == 0, run.stderr
    assert "3111696·√42" in run.stdout
    assert "no model configured" in error_line(agentkit("run", str(path), PROMPT))


def test_a_failed_connection_is_recorded_in_the_session() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "OPENAI_API_KEY": "sk-test"}
    run = agentkit("run", "assistant", "hi", "--model", "openai:m", "--session", "down-1", env=env)
    assert "cannot connect" in error_line(run)
    listed = json.loads(agentkit("sessions", "list", "--json").stdout)
    assert [s["id"] for s in listed] == ["down-1"]
    assert "cannot connect" in listed[0]["error"]
    assert "FAILED: cannot connect" in agentkit("sessions", "list").stdout


def test_serve_says_serving_only_once_the_port_is_bound() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        run = agentkit("serve", "assistant", "--model", REPLAY, "--port", port)
    assert "serving" not in run.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in error_line(run)


def test_serve_says_serving_only_with_the_extra_installed() -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from agentkit.cli import main\n"
        f"main(['serve', 'assistant', '--model', {REPLAY!r}, '--port', '0'])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "serving" not in run.stderr
    assert "pip install" in error_line(run)


def test_usage_errors_are_one_error_line_like_every_other_error() -> None:
    run = agentkit("run", "repo-optimizer")
    assert run.returncode == 2
    assert run.stderr.splitlines() == ["error: repo-optimizer: Missing argument 'REPO'; see `agentkit run --help`"]
    assert agentkit("frobnicate").stderr.splitlines() == ["error: No such command 'frobnicate'; see `agentkit --help`"]


def test_options_have_help_and_one_tool_call_is_singular() -> None:
    assert "isolation to use" in agentkit("sandbox", "run", "--help").stdout
    assert "do not show the model's reasoning" in agentkit("chat", "--help").stdout
    assert "one JSON array" in agentkit("sessions", "list", "--help").stdout
    run = agentkit("run", "assistant", PROMPT, "--model", REPLAY)
    assert "2 turns, 1 tool call," in run.stderr


def test_function_model_gets_a_snapshot_of_the_history() -> None:
    from agentkit import Agent, FunctionModel

    seen: list[object] = []

    def fn(messages: object, tools: object) -> str:
        seen.append(messages)
        return "ok"

    Agent(model=FunctionModel(fn))("hi")
    assert len(seen[0]) == 1  # type: ignore[arg-type]  # the answer appended later is not in what fn kept


def test_agent_accepts_built_in_tool_names_and_modules() -> None:
    from agentkit import Agent, ConfigError
    from agentkit.tools import calculator, repo

    agent = Agent(model="replay:" + str(TRANSCRIPT), tools=["weather", calculator, repo])
    assert agent.tools.names() == ["weather", "calculator", "file_info", "list_files", "read_file", "search"]
    with pytest.raises(ConfigError, match="no built-in tool named 'calculater'; use one of calculator"):
        Agent(model="replay:" + str(TRANSCRIPT), tools=["calculater"])
    with pytest.raises(ConfigError, match="module json has no ready-made tools"):
        Agent(model="replay:" + str(TRANSCRIPT), tools=[json])


def test_tools_list_shows_the_editing_tools_marked_as_needing_a_workspace() -> None:
    run = agentkit("tools", "list")
    assert run.returncode == 0, run.stderr
    marked = {line.split()[0] for line in run.stdout.splitlines() if line.endswith("[needs a workspace]")}
    assert marked == {"edit_file", "write_file", "apply_patch", "run", "diff"}
    assert "edit_tools(Workspace(repo))" in run.stderr
