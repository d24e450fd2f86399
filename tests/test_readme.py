"""The README's Python examples run, and the files its commands name exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_examples_run() -> None:
    examples = blocks("python")
    assert examples
    for code in examples:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def test_the_main_job_names_files_that_exist() -> None:
    main_job = blocks("bash")[0]
    words = shlex.split(main_job)
    assert words[words.index("repo-optimizer") + 1] == "examples/slow_repo"
    assert (ROOT / "examples" / "slow_repo" / "bench.py").exists()
    replay = next(w for w in words if w.startswith("replay:"))
    assert (ROOT / replay.removeprefix("replay:")).exists()


def test_the_test_command_is_what_ci_runs() -> None:
    test_command = blocks("bash")[1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    install = test_command.split("&& pip install torch")[1].split("&& pytest")[0]
    assert "pip install torch" + install.strip() in ci
    assert "\npytest -q\n" in ci


def test_the_environment_variables_are_documented() -> None:
    for name in ("AGENTKIT_HOME", "AGENTKIT_MODEL", "AGENTKIT_BEDROCK_MODEL", "OPENAI_BASE_URL"):
        assert f"`{name}`" in README, name
