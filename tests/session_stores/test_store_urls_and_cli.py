"""Stores chosen by URL ($AGENTKIT_SESSIONS, --sessions, a session URL), bad URLs as one-line errors, and
`agentkit run` / `agentkit sessions list|show|resume` on the S3 and AgentCore Memory stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit import Agent, ScriptedModel
from agentkit.cli import main
from agentkit.errors import ConfigError
from agentkit.session_stores import open_store, split_session_url
from agentkit.session_stores.local import LocalStore
from agentkit.session_stores.s3 import S3Store
from agentkit.sessions import Session, default_store

ROOT = Path(__file__).resolve().parents[2]
REPLAY = f"replay:{ROOT / 'examples' / 'assistant-sqrt.qwen3coder.jsonl'}"
PROMPT = "Tell me the square root of 42 ^ 9"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://bucket/p", "unknown scheme 'ftp'"),
        ("s3://", "no valid bucket name"),
        ("s3://Bad_Bucket/p", "no valid bucket name"),
        ("s3://bucket-a/p/../q", "not a plain S3 key name"),
        ("s3://bucket-a/p?lease=0", "lease='0'; give seconds between 1 and 3600"),
        ("s3://bucket-a/p?lease=soon", "lease='soon'"),
        ("s3://bucket-a/p?colour=red", "unknown option 'colour' (known: lease, region)"),
        ("s3://bucket-a/p#x", "has a #fragment"),
        ("agentcore-memory://short", "no valid memory id"),
        ("agentcore-memory://mem-AbCdE12345/-bad actor", "actor id"),
        ("file://remote-host/x", "not a local folder"),
        ("", "is empty"),
    ],
)
def test_a_bad_store_url_is_a_config_error_that_shows_the_forms(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="session store") as caught:
        open_store(url)
    message = str(caught.value)
    assert problem in message and "s3://BUCKET/PREFIX" in message and "\n" not in message


def test_urls_name_stores_and_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store("s3://bucket-a/team/chats?region=eu-west-1&lease=5")
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix, store.region, store.lease) == ("bucket-a", "team/chats", "eu-west-1", 5.0)
    assert split_session_url("s3://bucket-a/team/x?lease=5") == ("s3://bucket-a/team?lease=5", "x")
    session = Session.open("s3://bucket-a/x")  # at the bucket's top
    assert session.location == "s3://bucket-a/x" and session.id == "x"
    with pytest.raises(ConfigError, match="names no session"):
        Session.open("s3://bucket-a/")
    with pytest.raises(Exception, match="is invalid"):
        Session.open("s3://bucket-a/p/.hidden")
    local = open_store(f"file://{tmp_path}")
    assert isinstance(local, LocalStore) and local.directory == tmp_path
    assert Session.open(f"file://{tmp_path}/s1").path == tmp_path / "s1.jsonl"
    monkeypatch.setenv("AGENTKIT_SESSIONS", str(tmp_path / "elsewhere"))
    assert Session.open("n").path == tmp_path / "elsewhere" / "n.jsonl"
    monkeypatch.setenv("AGENTKIT_SESSIONS", "s3://bucket-a/shared")
    assert isinstance(default_store(), S3Store) and Session.open("n").location == "s3://bucket-a/shared/n"
    with pytest.raises(Exception, match="not a local file"):
        _ = Session.open("n").path


@pytest.mark.parametrize(
    "args",
    [
        ["sessions", "list", "--sessions", "s3://x/p"],
        ["sessions", "show", "s3://x/p/id"],
        ["serve", str(ROOT / "tests" / "serve" / "agent_fixture.py"), "--sessions", "s3://x/p"],
        ["run", "assistant", "hi", "--model", REPLAY, "--session", "s3://x/p/id"],
    ],
)
def test_the_cli_gives_one_line_for_a_bad_store(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: session store 's3://x/p' has no valid bucket name") and "\n" not in err


def agentkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.mark.integration
def test_run_list_show_and_resume_on_an_s3_store(bucket: str, tmp_path: Path) -> None:
    env = dict(os.environ, AGENTKIT_SESSIONS=f"s3://{bucket}/cli", AGENTKIT_HOME=str(tmp_path / "empty"))
    first = agentkit("run", "assistant", PROMPT, "--model", REPLAY, "--session", "sqrt-1", env=env)
    assert first.returncode == 0, first.stderr
    assert f"s3://{bucket}/cli/sqrt-1 (resume: agentkit sessions resume sqrt-1)" in first.stderr
    listed = json.loads(agentkit("sessions", "list", "--json", env=env).stdout)
    assert [(s["id"], s["location"], s["first_prompt"]) for s in listed] == [
        ("sqrt-1", f"s3://{bucket}/cli/sqrt-1", PROMPT)
    ]
    # --sessions, and a session's URL, name the same store without the variable
    plain = {k: v for k, v in env.items() if k != "AGENTKIT_SESSIONS"}
    shown = agentkit("sessions", "show", "sqrt-1", "--sessions", f"s3://{bucket}/cli", env=plain).stdout
    assert f"[user] {PROMPT}" in shown and "[tool calculator]" in shown
    again = agentkit("sessions", "resume", f"s3://{bucket}/cli/sqrt-1", "And once more?", "--model", REPLAY, env=plain)
    assert again.returncode == 0, again.stderr
    roles = [m.role for m in Session.open(f"s3://{bucket}/cli/sqrt-1").load().messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant"]
    assert not (tmp_path / "empty").exists()  # nothing on the local disk
    missing = agentkit("sessions", "show", "nope", env=env)
    assert missing.returncode == 1 and f"no session 'nope' in s3://{bucket}/cli/nope" in missing.stderr


def test_sessions_list_and_show_on_an_agentcore_memory_store(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from memory_stub import MEMORY, NOW, event, expect_list, expect_writes, stubbed

    from agentkit.session_stores.agentcore_memory import AgentCoreMemoryStore

    client, stub, created = stubbed()
    monkeypatch.setattr(AgentCoreMemoryStore, "client", property(lambda self: client))
    url = f"agentcore-memory://{MEMORY}"
    expect_list(stub, "s1", [], payloads=True)
    expect_list(stub, "s1", [], payloads=False)
    expect_writes(stub, created, 2)
    with stub:
        Agent(model=ScriptedModel(["pong"]), session=f"{url}/s1")("ping")
    events = [event(params, n) for n, params in enumerate(created, start=1)]
    stub.add_response(
        "list_sessions",
        {"sessionSummaries": [{"sessionId": "s1", "actorId": "agentkit", "createdAt": NOW}]},
        {"memoryId": MEMORY, "actorId": "agentkit", "maxResults": 100},
    )
    expect_list(stub, "s1", events, payloads=True)  # list reads each session
    stub.add_response(
        "list_events",
        {"events": events[:1]},
        {"memoryId": MEMORY, "actorId": "agentkit", "sessionId": "s1", "includePayloads": False, "maxResults": 1},
    )  # show: does it exist
    expect_list(stub, "s1", events, payloads=True)
    with stub:
        main(["sessions", "list", "--json", "--sessions", url])
        (listed,) = json.loads(capsys.readouterr().out)
        assert (listed["id"], listed["messages"], listed["first_prompt"]) == ("s1", 2, "ping")
        main(["sessions", "show", f"{url}/s1"])
        assert capsys.readouterr().out.splitlines() == ["[user] ping", "[assistant] pong"]
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("url", ["s3://[::1/p", "agentcore-memory://[m/s", "s3://bucket/" + "a/" * 5000])
def test_a_url_that_urllib_cannot_split_or_too_long_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match=r"session store .* (is not a URL|is longer than 2048)"):
        open_store(url)
    with pytest.raises(ConfigError, match=r"session store .* (is not a URL|is longer than 2048)"):
        split_session_url(url)


@pytest.mark.parametrize(
    "args",
    [
        ["sessions", "list", "--sessions", "s3://[::1/p"],
        ["run", "assistant", "hi", "--model", REPLAY, "--session", "s3://[::1/p/id"],
    ],
)
def test_a_url_that_urllib_cannot_split_is_one_line_from_the_cli(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: session store 's3://[::1/p") and "is not a URL" in err and "\n" not in err
