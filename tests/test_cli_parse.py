"""`agentkit parse`, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CODER = "Sure.\n<tool_call>\n<function=read_file>\n<parameter=limit>\n5\n</parameter>\n</function>\n</tool_call>"
TOOLS = [
    {
        "type": "function",
        "function": {"name": "read_file", "parameters": {"properties": {"limit": {"type": "integer"}}}},
    }
]


def agentkit(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_parse_file_with_tools_prints_json(tmp_path: Path) -> None:
    (tmp_path / "out.txt").write_text(CODER)
    (tmp_path / "tools.json").write_text(json.dumps(TOOLS))
    proc = agentkit("parse", "--tools", str(tmp_path / "tools.json"), str(tmp_path / "out.txt"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["format"] == "qwen3_coder" and data["content"] == "Sure.\n"
    assert data["calls"][0]["name"] == "read_file" and data["calls"][0]["arguments"] == {"limit": 5}


def test_parse_stdin_with_format_and_model() -> None:
    text = '<|channel|>commentary to=functions.f <|constrain|>json<|message|>{"a": 1}<|call|>'
    for args in (("--format", "harmony"), ("--model", "gpt-oss-20b")):
        proc = agentkit("parse", *args, "-", stdin=text)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["calls"][0]["arguments"] == {"a": 1}


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"args": ["missing.txt"]}, "input file not found"),
        ({"args": ["--tools", "bad.json", "-"], "bad.json": "{not json"}, "is not valid JSON"),
        ({"args": ["--tools", "obj.json", "-"], "obj.json": '{"name": "x"}'}, "must hold a JSON list"),
        ({"args": ["--tools", "noname.json", "-"], "noname.json": '[{"description": "x"}]'}, "tool #1"),
        ({"args": ["--format", "xml", "-"]}, "use one of: auto, qwen3_coder, hermes, harmony"),
        ({"args": ["--tools", "nothere.json", "-"]}, "tools file not found"),
    ],
)
def test_bad_input_gives_one_line_and_non_zero_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: dict[str, object], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, content in setup.items():
        if name != "args":
            (tmp_path / name).write_text(str(content))
    proc = agentkit("parse", *setup["args"], stdin="x")  # type: ignore[misc]
    assert proc.returncode != 0
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
