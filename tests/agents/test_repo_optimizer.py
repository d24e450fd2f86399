"""The repo-optimizer end to end, as a user runs it: the CLI in a subprocess, a recorded model session
(raw Qwen3-Coder XML or gpt-oss Harmony text), the example repository with a deliberately slow function."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TEST_CMD = "python -m pytest -q -p no:cacheprovider"
BENCH_CMD = "python bench.py"

pytestmark = pytest.mark.integration


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "slow_repo"
    shutil.copytree(EXAMPLES / "slow_repo", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def optimize(
    repo: Path, transcript: Path, tmp_path: Path, *extra: str, test: str = TEST_CMD
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "agentkit",
        "run",
        "repo-optimizer",
        str(repo),
        "--test",
        test,
        "--bench",
        BENCH_CMD,
        "--repeats",
        "2",
        "--patch",
        str(tmp_path / "out.patch"),
        "--model",
        f"replay:{transcript}",
        *extra,
    ]
    return _agentkit(command, tmp_path)


def resume(session: str, transcript: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentkit", "sessions", "resume", session, "--model", f"replay:{transcript}"]
    return _agentkit(command, tmp_path)


def _agentkit(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTKIT_HOME": str(tmp_path / "home")}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)


def _tests_pass_with_patch(repo: Path, patch: Path, tmp_path: Path) -> bool:
    patched = tmp_path / "patched"
    shutil.copytree(repo, patched)
    subprocess.run(["git", "apply", str(patch)], cwd=patched, check=True)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=patched, capture_output=True, text=True
    )
    return run.returncode == 0


@pytest.mark.parametrize("transcript", ["repo-optimizer.qwen3coder.jsonl", "repo-optimizer.harmony.jsonl"])
def test_recorded_session_produces_a_verified_patch_and_leaves_the_original_alone(
    repo: Path, tmp_path: Path, transcript: str
) -> None:
    before = snapshot(repo)
    run = optimize(repo, EXAMPLES / transcript, tmp_path)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "verdict: KEPT (tests pass and the benchmark is measurably faster)" in out
    assert "tests: before pass, after pass" in out
    speedup = float(out.split("speedup: ")[1].split("x")[0])
    assert speedup > 1.5
    patch = (tmp_path / "out.patch").read_text()
    assert "-    for d in range(2, n):" in patch and "+    for d in range(3, int(n**0.5) + 1, 2):" in patch
    assert snapshot(repo) == before  # the original repository is untouched
    assert _tests_pass_with_patch(repo, tmp_path / "out.patch", tmp_path)
    # the tool calls came from the model's raw text and really ran
    assert "→ edit_file(" in out and "✓ edit_file" in out and "✓ evaluate" in out


def test_apply_writes_the_kept_change_into_the_original(repo: Path, tmp_path: Path) -> None:
    run = optimize(repo, EXAMPLES / "repo-optimizer.qwen3coder.jsonl", tmp_path, "--apply")
    assert run.returncode == 0, run.stderr
    assert "applied to" in run.stdout
    assert "int(n**0.5) + 1" in (repo / "primes.py").read_text()


def test_a_change_that_breaks_the_tests_is_rejected_and_no_patch_is_written(repo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    edit = (
        "<tool_call>\n<function=edit_file>\n<parameter=path>\nprimes.py\n</parameter>\n"
        "<parameter=old_text>\n    for d in range(2, n):\n</parameter>\n"
        "<parameter=new_text>\n    return True\n    for d in range(2, n):\n</parameter>\n</function>\n</tool_call>"
    )
    broken.write_text(json.dumps({"text": edit}) + "\n" + json.dumps({"text": "Made it fast."}) + "\n")
    before = snapshot(repo)
    run = optimize(repo, broken, tmp_path, "--apply")
    assert run.returncode == 0, run.stderr
    assert "verdict: REJECTED (the tests fail with the change)" in run.stdout
    assert "tests: before pass, after FAIL" in run.stdout
    assert not (tmp_path / "out.patch").exists()
    assert snapshot(repo) == before  # --apply never writes a rejected change


def test_missing_repository_is_one_clear_line(tmp_path: Path) -> None:
    run = optimize(tmp_path / "nope", EXAMPLES / "repo-optimizer.qwen3coder.jsonl", tmp_path)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1].startswith("error: repository")
    assert "Traceback" not in run.stderr


def test_the_printed_apply_command_works(repo: Path, tmp_path: Path) -> None:
    run = optimize(repo, EXAMPLES / "repo-optimizer.qwen3coder.jsonl", tmp_path)
    line = next(x for x in run.stdout.splitlines() if x.startswith("the original is unchanged; apply with: "))
    command = line.removeprefix("the original is unchanged; apply with: ").split("  (or rerun")[0]
    subprocess.run(command, shell=True, check=True, capture_output=True)
    assert "int(n**0.5) + 1" in (repo / "primes.py").read_text()


def test_a_bad_model_leaves_no_scratch_copy_behind(repo: Path, tmp_path: Path) -> None:
    private = tmp_path / "tmpdir"
    private.mkdir()
    command = [sys.executable, "-m", "agentkit", "run", "repo-optimizer", str(repo), "--bench", BENCH_CMD]
    command += ["--model", f"replay:{tmp_path / 'no-such-transcript.jsonl'}"]
    env = {**os.environ, "AGENTKIT_HOME": str(tmp_path / "home"), "TMPDIR": str(private)}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert [p.name for p in private.iterdir() if p.name.startswith("agentkit-ws-")] == []


def test_editing_the_benchmark_is_rejected(repo: Path, tmp_path: Path) -> None:
    cheat = tmp_path / "cheat.jsonl"
    write = (
        "<tool_call>\n<function=write_file>\n<parameter=path>\nbench.py\n</parameter>\n"
        "<parameter=content>\nprint('fast')\n</parameter>\n</function>\n</tool_call>"
    )
    cheat.write_text(json.dumps({"text": write}) + "\n" + json.dumps({"text": "Made it fast."}) + "\n")
    before = snapshot(repo)
    run = optimize(repo, cheat, tmp_path, "--apply")
    assert run.returncode == 0, run.stderr
    assert "verdict: REJECTED (the change edits the tests or the benchmark (bench.py)" in run.stdout
    assert not (tmp_path / "out.patch").exists()
    assert snapshot(repo) == before


def test_editing_a_test_file_is_rejected(repo: Path, tmp_path: Path) -> None:
    cheat = tmp_path / "cheat.jsonl"
    write = (
        "<tool_call>\n<function=write_file>\n<parameter=path>\ntests/test_extra.py\n</parameter>\n"
        "<parameter=content>\ndef test_ok():\n    pass\n</parameter>\n</function>\n</tool_call>"
    )
    cheat.write_text(json.dumps({"text": write}) + "\n" + json.dumps({"text": "Done."}) + "\n")
    run = optimize(repo, cheat, tmp_path)
    assert run.returncode == 0, run.stderr
    assert "verdict: REJECTED (the change edits the tests or the benchmark (tests/test_extra.py)" in run.stdout


def test_a_cancelled_run_is_neither_verified_nor_applied(repo: Path, tmp_path: Path) -> None:
    from agentkit.agents.repo_optimizer import build
    from agentkit.loop import AgentResult
    from agentkit.messages import Usage

    before = snapshot(repo)
    agent = build(
        model=f"replay:{EXAMPLES / 'repo-optimizer.qwen3coder.jsonl'}",
        repo=str(repo),
        test=TEST_CMD,
        bench=BENCH_CMD,
        repeats=1,
        min_gain=0.0,
        patch=str(tmp_path / "out.patch"),
        apply=True,
    )
    scratch = Path(agent.workspace.path)
    agent.workspace.write_file("primes.py", "def count_primes(n):\n    return 1007\n")
    result = AgentResult(
        text="",
        messages=[],
        tool_calls=[],
        tool_results=[],
        usage=Usage(),
        stop_reason="cancelled",
        turns=1,
        duration=0.0,
    )
    report = agent.report(result)
    assert "the run was cancelled; its changes were discarded" in report
    assert "KEPT" not in report and not (tmp_path / "out.patch").exists()
    assert snapshot(repo) == before
    assert not scratch.exists()


def test_a_resumed_run_continues_on_the_files_the_crashed_one_left(repo: Path, tmp_path: Path) -> None:
    """The first process dies after the edit (its recorded model runs out of turns); the resumed one
    restores the edit from the session, evaluates and keeps it, without the model editing again."""
    turns = (EXAMPLES / "repo-optimizer.qwen3coder.jsonl").read_text().splitlines()
    edit_at = next(i for i, turn in enumerate(turns) if "<function=edit_file>" in turn)
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("\n".join(turns[: edit_at + 1]) + "\n")
    rest.write_text("\n".join(t for t in turns[edit_at + 1 :] if "<function=edit_file>" not in t) + "\n")
    before = snapshot(repo)

    crashed = optimize(repo, first, tmp_path, "--session", "opt")
    assert crashed.returncode != 0  # the model ran out of turns mid-run
    assert "✓ edit_file" in crashed.stdout + crashed.stderr

    resumed = resume("opt", rest, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "restored the session's changes to the scratch copy: primes.py" in resumed.stderr
    assert "verdict: KEPT (tests pass and the benchmark is measurably faster)" in resumed.stdout
    assert "+    for d in range(3, int(n**0.5) + 1, 2):" in (tmp_path / "out.patch").read_text()
    assert snapshot(repo) == before


def test_a_resume_whose_changes_no_longer_apply_says_so(repo: Path, tmp_path: Path) -> None:
    turns = (EXAMPLES / "repo-optimizer.qwen3coder.jsonl").read_text().splitlines()
    edit_at = next(i for i, turn in enumerate(turns) if "<function=edit_file>" in turn)
    first = tmp_path / "first.jsonl"
    first.write_text("\n".join(turns[: edit_at + 1]) + "\n")
    assert optimize(repo, first, tmp_path, "--session", "opt").returncode != 0
    (repo / "primes.py").write_text("# rewritten by hand meanwhile\n")

    resumed = resume("opt", first, tmp_path)
    assert resumed.returncode == 1
    lines = [line for line in resumed.stderr.splitlines() if line.strip()]
    assert "the session's changes no longer apply to" in lines[-1] and "Traceback" not in resumed.stderr


def test_files_the_measuring_writes_are_not_part_of_the_change(repo: Path, tmp_path: Path) -> None:
    """Plain `pytest` leaves .pytest_cache in the scratch copy, and this benchmark writes its own output
    file: neither may reach the patch, --apply, or a resumed run's restored changes."""
    bench = repo / "bench.py"
    # a new output file per run, as pytest-benchmark's autosave writes: the model's evaluate runs make some too
    bench.write_text(bench.read_text() + "\nimport os\nopen(f'bench-{os.getpid()}.txt', 'w').write('measured')\n")
    transcript = EXAMPLES / "repo-optimizer.qwen3coder.jsonl"
    run = optimize(repo, transcript, tmp_path, "--apply", test="python -m pytest -q")  # pytest with its cache
    assert run.returncode == 0, run.stderr
    assert "verdict: KEPT" in run.stdout
    patch = (tmp_path / "out.patch").read_text()
    assert [line for line in patch.splitlines() if line.startswith("+++")] == ["+++ b/primes.py"]
    applied = next(line for line in run.stdout.splitlines() if line.startswith("applied to"))
    assert applied.endswith(": primes.py")
    assert not (repo / ".pytest_cache").exists() and not list(repo.glob("bench-*.txt"))


def test_every_shipped_transcript_records_the_tools_it_was_recorded_with() -> None:
    """A replay is checked against them; the repo-optimizer's prompt carries fresh timings, so only its
    tools are recorded, which still tells another agent's replay from its own."""
    for path in EXAMPLES.glob("*.jsonl"):
        turns = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        assert all(turn.get("tools") for turn in turns), path.name


def test_replaying_the_optimizer_transcript_with_another_agent_is_an_error(tmp_path: Path) -> None:
    transcript = EXAMPLES / "repo-optimizer.qwen3coder.jsonl"
    command = [sys.executable, "-m", "agentkit", "run", "assistant", "hi", "--model", f"replay:{transcript}"]
    run = _agentkit(command, tmp_path)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert "was recorded for an agent with the tools apply_patch, diff, edit_file, evaluate" in run.stderr


def test_a_test_command_that_cannot_start_is_one_clear_line_before_the_model_runs(repo: Path, tmp_path: Path) -> None:
    """Exit 127 (not found) or 126 (not executable) is a set-up problem no change can fix: no model turn is
    spent on it, and the line says what the shell said and how to try the command in the sandbox."""
    run = optimize(repo, EXAMPLES / "repo-optimizer.qwen3coder.jsonl", tmp_path, test="no-such-test-runner -q")
    assert run.returncode != 0 and "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the test command 'no-such-test-runner -q' cannot start in the sandbox"), last
    assert "exit code 127" in last and "not found" in last
    assert "agentkit sandbox run -- sh -c 'no-such-test-runner -q'" in last
    assert "→" not in run.stdout  # no tool call was made


def test_a_python_the_sandbox_cannot_run_is_one_clear_error_before_measuring(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python` in the commands is agentkit's own interpreter: where the sandbox cannot start it (a venv beneath
    /root in a container that allows no namespace: see tests/sandbox/test_root_identity.py), the run stops at
    once, with what the sandbox said, before anything is measured or a model is asked."""
    from agentkit.agents.repo_optimizer import build
    from agentkit.errors import ConfigError
    from agentkit.sandbox import RunResult, runner

    ran: list[list[str]] = []

    def cannot_start(self: object, argv: list[str], **_: object) -> RunResult:
        ran.append(list(argv))
        return RunResult(126, b"", b"python3: Permission denied", False, False, 0.01, "landlock")

    monkeypatch.setattr(runner.Sandbox, "run", cannot_start)
    with pytest.raises(ConfigError, match=r"the sandbox cannot run this Python \(.*\): python3: Permission denied"):
        build("replay:" + str(EXAMPLES / "repo-optimizer.qwen3coder.jsonl"), str(repo), test=TEST_CMD)
    assert ran == [[sys.executable, "-c", "import sys"]]  # nothing else ran: no measurement
