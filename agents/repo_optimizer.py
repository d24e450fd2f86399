"""The `repo-optimizer` agent: make a repository faster without breaking its tests.

    agentkit run repo-optimizer ./myrepo --test "pytest -q" --bench "python bench.py" [--goal "..."] [--apply]

What the harness does (the model only does step 3):
1. Copies the repository to a scratch workspace; the original is never touched unless you pass --apply.
2. Measures the starting point inside the sandbox: runs the tests, runs the benchmark `--repeats` times
   (median wall time), and profiles it with cProfile when it is a Python command.
3. Gives the model the figures, the profile, the read-only repo tools on the scratch copy, the editing
   tools (edit_file, write_file, apply_patch, run, diff) and `evaluate` (tests + benchmark against the
   starting point), and lets it work.
4. Verifies the end state itself: the change is kept only if the tests pass and the benchmark median
   improved by at least `--min-gain` percent, beyond the noise (the slowest run after the change must beat
   the fastest run before it). A kept change is written as a unified diff (`--patch`); a rejected one is not.
5. Prints a report with the measured before/after figures. `--apply` copies a kept change into the
   original repository; nothing else ever writes there.

Resuming (`agentkit sessions resume ID`, after a crash or Ctrl-C): after every editing call the scratch
copy's diff goes into the session, before the call's result; a resumed run measures the starting point on
a fresh copy of the original, then re-applies the last recorded diff, so the model continues on the files
it left. If the original changed since and the diff no longer applies, the resume stops with that error.
"""

from __future__ import annotations

import os
import shlex
import statistics
import sys
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit.agent import Agent
from agentkit.agents import AgentDefinition, AgentOption
from agentkit.errors import ConfigError, ToolError
from agentkit.loop import AgentResult, Limits
from agentkit.messages import ToolResult
from agentkit.sessions import Session
from agentkit.tooling import Needs, Tool, ToolRegistry

__all__ = ["AGENT", "Measurement", "RepoOptimizer"]

SYSTEM_PROMPT = """You are a performance engineer working on a scratch copy of a repository.
Your job: make the benchmark faster while every test keeps passing.
Work like this:
1. Read the profile you are given, then the code of the hot spots (list_files, search, read_file).
2. Make one focused change at a time with edit_file (exact search/replace) or apply_patch.
3. Call evaluate after each change: it runs the tests and the benchmark and compares with the start.
   If the tests fail or nothing got faster, fix or revert your change (edit_file back, or write_file).
4. Stop when evaluate shows a clear gain with passing tests, and end with a short summary of what you
   changed and why it is faster.
Keep behaviour identical: same results, same public interface. Do not edit the tests or the benchmark."""


@dataclass(slots=True)
class Measurement:
    """Tests and benchmark figures for one state of the scratch copy."""

    tests_passed: bool | None
    tests_output: str = ""
    tests_exit_code: int | None = None
    bench_seconds: list[float] = field(default_factory=list)
    bench_failed: str | None = None
    bench_exit_code: int | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.bench_seconds) if self.bench_seconds else None

    @property
    def spread(self) -> float:
        """(max - min) / median of the benchmark runs: how noisy the figure is."""
        if len(self.bench_seconds) < 2 or not self.median:
            return 0.0
        return (max(self.bench_seconds) - min(self.bench_seconds)) / self.median


class RepoOptimizer(Agent):
    """An Agent plus the workspace and the measurements the harness needs around the run."""

    def __init__(
        self,
        model: Any,
        repo: str,
        *,
        test: str | None,
        bench: str | None,
        goal: str | None,
        repeats: int,
        min_gain: float,
        patch: str | None,
        apply: bool,
        timeout: float,
    ) -> None:
        from agentkit.tools.edit import Workspace, edit_tools
        from agentkit.tools.repo import repo_tools

        if not os.path.isdir(repo):
            raise ConfigError(f"repository {repo!r} is not a folder")
        if not test and not bench:
            raise ConfigError("give --test and/or --bench: without them no change can be verified")
        self.repo = os.path.abspath(repo)
        self.test, self.bench, self.goal = test, bench, goal
        self.repeats, self.min_gain, self.apply, self.timeout = max(1, repeats), min_gain, apply, timeout
        self.patch_path = Path(patch or f"{Path(self.repo).name}-optimized.patch").resolve()
        super().__init__(  # resolves the model first: a bad model name leaves no scratch copy behind
            model=model,
            system_prompt=SYSTEM_PROMPT,
            name="repo-optimizer",
            limits=Limits(max_turns=40, max_tool_calls=120, deadline=3600, tool_timeout=timeout + 30),
        )
        self.workspace = Workspace(self.repo)
        self._recorded_diff = ""
        # deleted on report(), on a failure below, and at garbage collection or exit whatever happens
        self._discard = weakref.finalize(self, self.workspace.close)
        try:
            self.tools = ToolRegistry(
                [*repo_tools(self.workspace.path), *edit_tools(self.workspace), self._evaluate_tool()]
            )
            self.protected = _protected_paths(self.repo, test, bench)
            self._check_interpreter()
            print("measuring the starting point…", file=sys.stderr)
            self.baseline = self.measure()
            self._refuse_unstartable(self.baseline)
            self.profile = self._profile() if bench else ""
            self.initial_prompt = self._first_prompt()
        except BaseException:
            self._discard()
            raise

    # ---- the scratch copy across a crash --------------------------------------------------------------

    def on_tool_result(self, result: ToolResult) -> None:
        if self.session is not None and result.name in EDITING_TOOLS and not result.is_error:
            diff = self.workspace.diff()["diff"]
            if diff != self._recorded_diff:
                self.session.append({"type": "workspace", "diff": diff})
                self._recorded_diff = diff
        super().on_tool_result(result)

    def attach_session(self, session: Session) -> None:
        super().attach_session(session)
        diff = next((r["diff"] for r in reversed(session.records()) if r.get("type") == "workspace"), "")
        if not diff:
            return
        try:
            restored = self.workspace.apply_patch(diff)["files"]
        except ToolError as exc:
            self._discard()
            raise ConfigError(
                f"the session's changes no longer apply to {self.repo} ({exc}); start a new run instead"
            ) from None
        self._recorded_diff = diff
        print(f"restored the session's changes to the scratch copy: {', '.join(restored)}", file=sys.stderr)

    # ---- measuring -------------------------------------------------------------------------------

    def _sh(self, command: str) -> dict[str, Any]:
        """Run a test, benchmark or profile command in the scratch copy. Files it writes there (a benchmark's
        output, caches) are the harness's, not the model's change: they are set aside from every diff."""
        # `python` in the command means the interpreter agentkit runs on (its virtual environment).
        bindir = shlex.quote(os.path.dirname(sys.executable))
        with self.workspace.lock:  # the model's concurrent edits wait, so none is taken for the command's
            before = set(self.workspace.diff()["changed"])
            result: dict[str, Any] = self.workspace.run(f'PATH={bindir}:"$PATH"; {command}', timeout_s=self.timeout)
            self.workspace.set_aside(set(self.workspace.diff()["changed"]) - before)
        return result

    def _check_interpreter(self) -> None:
        """`python` in the commands is agentkit's own interpreter: one clear error, before anything is measured,
        where the sandbox cannot run it here (see `agentkit sandbox doctor`)."""
        from agentkit.sandbox.policy import Policy
        from agentkit.sandbox.runner import Sandbox

        policy = Policy(wall_seconds=60, cpu_seconds=30)
        done = Sandbox(policy).run([sys.executable, "-c", "import sys"], cwd=self.workspace.path, policy=policy)
        if done.returncode != 0:
            raise ConfigError(
                f"the sandbox cannot run this Python ({sys.executable}): "
                f"{done.stderr.decode(errors='replace').strip()[-300:] or f'exit code {done.returncode}'}; "
                "run 'agentkit sandbox doctor' to see why"
            )

    def _refuse_unstartable(self, baseline: Measurement) -> None:
        """A command that cannot start (exit 126 or 127: not executable, not found) is a set-up problem no change
        can fix: say so now, with what the shell said, instead of letting the model work against it."""
        for name, command, code, output in (
            ("test", self.test, baseline.tests_exit_code, baseline.tests_output),
            ("benchmark", self.bench, baseline.bench_exit_code, baseline.bench_failed or ""),
        ):
            if code in (126, 127):
                raise ConfigError(
                    f"the {name} command {command!r} cannot start in the sandbox (exit code {code}): "
                    f"{output.strip()[-300:]}; see what the sandbox does with it: "
                    f"agentkit sandbox run -- sh -c {shlex.quote(command or '')}"
                )

    def measure(self, repeats: int | None = None) -> Measurement:
        m = Measurement(tests_passed=None)
        if self.test:
            run = self._sh(self.test)
            m.tests_passed = run["exit_code"] == 0 and not run["timed_out"]
            m.tests_exit_code = run["exit_code"]
            m.tests_output = (run["stdout"] + run["stderr"])[-2000:]
        if self.bench:
            for _ in range(repeats or self.repeats):
                run = self._sh(self.bench)
                if run["exit_code"] != 0 or run["timed_out"]:
                    m.bench_failed = (run["stdout"] + run["stderr"])[-2000:] or f"exit code {run['exit_code']}"
                    m.bench_exit_code = run["exit_code"]
                    break
                m.bench_seconds.append(run["duration_s"])
        return m

    def _profile(self) -> str:
        words = shlex.split(self.bench or "")
        if not words or not Path(words[0]).name.startswith("python") or words[1:2] == ["-m"]:
            return "(no profile: the benchmark is not a `python script.py` command)"
        command = shlex.join([words[0], "-m", "cProfile", "-s", "tottime", *words[1:]])
        run = self._sh(command)
        lines = run["stdout"].splitlines()
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), None)
        return "\n".join(lines[start : start + 25]) if start is not None else "(the profile produced no table)"

    def _evaluate_tool(self) -> Tool:
        def evaluate() -> dict[str, Any]:
            now = self.measure()
            return self._compare(now)

        schema = {"type": "object", "properties": {}}
        description = (
            "Run the tests and the benchmark on your scratch copy now and compare with the starting point. "
            "Takes no arguments. Returns tests_passed, the benchmark medians in seconds and the speedup."
        )
        # evaluate runs its commands through the sandbox itself, so the tool function needs no isolation
        needs = Needs(read_paths=(self.workspace.path,), write_paths=(self.workspace.path,))
        return Tool.from_schema("evaluate", description, schema, evaluate, needs=needs)

    def _compare(self, now: Measurement) -> dict[str, Any]:
        before, after = self.baseline.median, now.median
        return {
            "tests_passed": now.tests_passed,
            "tests_output_tail": now.tests_output[-600:] if now.tests_passed is False else "",
            "bench_failed": now.bench_failed,
            "baseline_median_s": before,
            "current_median_s": after,
            "speedup": round(before / after, 3) if before and after else None,
        }

    def _first_prompt(self) -> str:
        b = self.baseline
        lines = [f"Repository: {Path(self.repo).name} (your scratch copy; paths are relative to its root)."]
        if self.goal:
            lines.append(f"Goal: {self.goal}")
        if self.test:
            lines.append(f"Test command: {self.test} -> {'passing' if b.tests_passed else 'FAILING'} at the start.")
        if self.bench:
            figures = ", ".join(f"{s:.3f}" for s in b.bench_seconds) or b.bench_failed or "no figures"
            lines.append(f"Benchmark command: {self.bench} -> seconds per run: {figures}.")
            lines.append(f"Profile of the benchmark (cProfile, sorted by own time):\n{self.profile}")
        lines.append("Find the hot spot, make it faster, verify with evaluate, then summarise.")
        return "\n".join(lines)

    # ---- the verdict -----------------------------------------------------------------------------------

    def verdict(self, current: dict[str, Any]) -> tuple[bool, str, Measurement]:
        """Measure the end state and decide whether `current` (the scratch copy's diff) is kept."""
        if not current["diff"] and not current.get("refused"):
            return False, "the agent made no change", self.baseline
        if current.get("refused"):
            return False, "; ".join(current["refused"]), self.baseline
        touched = [p for p in current["changed"] if _is_protected(p, self.protected)]
        if touched:
            return (
                False,
                f"the change edits the tests or the benchmark ({', '.join(touched)}); they must stay as they are",
                self.baseline,
            )
        final = self.measure()
        if self.test and not final.tests_passed:
            return False, "the tests fail with the change", final
        if self.bench:
            if final.bench_failed or final.median is None or self.baseline.median is None:
                return False, "the benchmark does not run with the change", final
            gain = 1 - final.median / self.baseline.median
            if gain <= self.min_gain / 100:
                return False, f"no measurable gain ({gain:+.1%}; needed more than {self.min_gain:g}%)", final
            if max(final.bench_seconds) >= min(self.baseline.bench_seconds):
                return (
                    False,
                    f"the gain ({gain:+.1%}) is within the noise: the slowest run after is not faster "
                    "than the fastest run before",
                    final,
                )
        return True, "tests pass and the benchmark is measurably faster" if self.bench else "tests pass", final

    def report(self, result: AgentResult) -> str:
        if result.stop_reason == "cancelled":
            lines = ["", "== repo-optimizer report ==", f"repository: {self.repo}"]
            lines.append("verdict: CANCELLED (the run was cancelled; its changes were discarded, nothing applied)")
            self._discard()
            return "\n".join(lines)
        current = self.workspace.diff()  # taken before the final measurement, which may write files too
        kept, reason, final = self.verdict(current)
        diff = current["diff"]
        lines = ["", "== repo-optimizer report ==", f"repository: {self.repo}"]
        if self.test:
            before, after = _passfail(self.baseline.tests_passed), _passfail(final.tests_passed)
            lines.append(f"tests: before {before}, after {after}")
        if self.bench and self.baseline.median:
            lines.append(f"benchmark median: before {self.baseline.median:.4f} s ({_runs(self.baseline)})")
            if final.median:
                lines.append(f"benchmark median: after  {final.median:.4f} s ({_runs(final)})")
                lines.append(f"speedup: {self.baseline.median / final.median:.2f}x")
        lines.append(f"verdict: {'KEPT' if kept else 'REJECTED'} ({reason})")
        if kept:
            self.patch_path.write_text(diff, encoding="utf-8")
            lines.append(f"patch: {self.patch_path}")
            if self.apply:
                try:
                    changed = self.workspace.apply_to_original()
                    lines.append(f"applied to {self.repo}: {', '.join(changed)}")
                except ToolError as exc:
                    lines.append(f"not applied to {self.repo}: {exc}")
            else:
                lines.append(
                    f"the original is unchanged; apply with: patch -p1 -d {shlex.quote(self.repo)} < "
                    f"{shlex.quote(str(self.patch_path))}  (or rerun with --apply)"
                )
        if result.text:
            lines.append(f"agent summary: {result.text.strip()}")
        self._discard()
        return "\n".join(lines)


# The tools that can change the scratch copy (`run` can too: a command may rewrite files).
EDITING_TOOLS = frozenset({"edit_file", "write_file", "apply_patch", "run"})


def _protected_paths(repo: str, *commands: str | None) -> set[str]:
    """Repository paths the --test and --bench commands name (files, or folders holding them)."""
    named: set[str] = set()
    for command in commands:
        try:
            words = shlex.split(command or "")
        except ValueError:
            words = (command or "").split()
        for word in words:
            for candidate in (word, word.partition("=")[2]):
                rel = os.path.normpath(candidate.split("::")[0]) if candidate else ""
                if rel and not rel.startswith(("/", "..")) and rel != "." and os.path.lexists(os.path.join(repo, rel)):
                    named.add(rel)
    return named


def _is_protected(path: str, named: set[str]) -> bool:
    """A test file (test_*.py, *_test.py, conftest.py, anything under tests/ or test/) or a named path."""
    parts = path.split("/")
    name = parts[-1]
    if name == "conftest.py" or (name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))):
        return True
    if any(part in ("tests", "test") for part in parts[:-1]):
        return True
    return any(path == n or path.startswith(n + "/") for n in named)


def _passfail(value: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "not run"}[value]


def _runs(m: Measurement) -> str:
    return f"{len(m.bench_seconds)} runs, spread {m.spread:.1%}"


def build(
    model: Any = None,
    repo: str = ".",
    test: str | None = None,
    bench: str | None = None,
    goal: str | None = None,
    repeats: int = 3,
    min_gain: float = 5.0,
    patch: str | None = None,
    apply: bool = False,
    timeout: float = 600.0,
) -> RepoOptimizer:
    return RepoOptimizer(
        model,
        repo,
        test=test,
        bench=bench,
        goal=goal,
        repeats=int(repeats),
        min_gain=float(min_gain),
        patch=patch,
        apply=apply,
        timeout=float(timeout),
    )


def _finish(agent: Agent, result: AgentResult) -> str | None:
    return agent.report(result) if isinstance(agent, RepoOptimizer) else None


AGENT = AgentDefinition(
    name="repo-optimizer",
    description="Speeds up a repository on a scratch copy; keeps only changes that pass the tests and measurably "
    "improve the benchmark; writes a patch.",
    build=build,
    takes_prompt=False,
    finish=_finish,
    options=(
        AgentOption(name="repo", help="the repository folder", positional=True, required=True),
        AgentOption(name="test", help="test command, e.g. 'pytest -q'"),
        AgentOption(name="bench", help="benchmark command, e.g. 'python bench.py'"),
        AgentOption(name="goal", help="what to optimise, in words"),
        AgentOption(name="repeats", help="benchmark runs per measurement (median)", default=3),
        AgentOption(name="min_gain", help="smallest gain in percent that counts", default=5.0),
        AgentOption(name="patch", help="where to write the patch (default: REPO-optimized.patch)"),
        AgentOption(name="apply", help="apply a kept change to the original repository", is_flag=True),
        AgentOption(name="timeout", help="seconds allowed per test or benchmark run", default=600.0),
    ),
)
