"""What the generated Dockerfile does, without a container engine: build the agentkit wheel the way build.sh
does (`agentkit deploy wheel`), make a fresh virtual environment, install requirements.txt and then the wheel
with pip as the Dockerfile's RUN lines do, start the image's CMD on 127.0.0.1, and drive /ping and /invocations
(a tool call the default sandboxed executor runs, with a replayed model named by --model).

No network: requirements.txt is installed with `pip install --no-index`, and is satisfied by this machine's
packages, which the fresh environment sees through a .pth file naming a folder of links to them (agentkit's own
install left out, so the wheel is the only agentkit there). That checks every pin is the version installed here
and that nothing else is needed. The folder is generated with --no-observability: ADOT comes from PyPI when the
image is built, so here the observability variant is checked to differ only by its requirement and its
`opentelemetry-instrument` prefix.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

from agentkit import deploy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AGENT = '''
from agentkit import Agent, tool


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


agent = Agent(tools=[add], name="adder")
'''
REPLAY = [
    {"text": "", "calls": [{"name": "add", "arguments": {"a": 2, "b": 3}, "id": "call-1"}]},
    {"text": "2 + 3 = 5"},
]
SESSION = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def link_installed_packages(view: Path) -> None:
    """Links to every installed package of this interpreter except agentkit's own install."""
    view.mkdir()
    sites = [Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    for site in sites:
        for entry in site.iterdir():
            name = entry.name.lower()
            if name.startswith(("agentkit", "__editable__", "_agentkit")) or name.endswith(".pth"):
                continue
            if name == "__pycache__" or (view / entry.name).exists():
                continue
            (view / entry.name).symlink_to(entry)


FAKE_AWS = """#!/bin/sh
echo "aws $*" >> "$CALLS"
[ "$1 $2" = "ecr get-login-password" ] && echo password
exit 0
"""
# docker buildx build ... --build-context wheels=DIR ...: keep DIR's files, as the image build would see them;
# docker login reads the password from stdin
FAKE_DOCKER = """#!/bin/sh
echo "docker $*" >> "$CALLS"
[ "$1" = "login" ] && cat >/dev/null  # as docker login --password-stdin does (else aws may die of SIGPIPE)
for arg in "$@"; do case "$arg" in wheels=*) cp -r "${arg#wheels=}/." "$CAPTURED/" ;; esac; done
exit 0
"""


def run_build_script(context: Path, tmp_path: Path) -> Path:
    """Run the generated build.sh with stand-in aws and docker commands; returns the wheels it handed docker."""
    fake = tmp_path / "fakebin"
    fake.mkdir()
    for name, text in (("aws", FAKE_AWS), ("docker", FAKE_DOCKER)):
        (fake / name).write_text(text)
        (fake / name).chmod(0o755)
    (fake / "agentkit").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m agentkit "$@"\n')
    (fake / "agentkit").chmod(0o755)
    captured, calls = tmp_path / "captured-wheels", tmp_path / "calls.txt"
    captured.mkdir()
    env = {"PATH": f"{fake}:/usr/bin:/bin", "HOME": str(tmp_path), "CALLS": str(calls), "CAPTURED": str(captured)}
    result = subprocess.run(["bash", str(context / "build.sh")], capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    log = calls.read_text()
    assert "docker buildx build --platform linux/arm64 --build-context wheels=" in log
    assert "123456789012.dkr.ecr.us-west-2.amazonaws.com/agentkit-adder:latest --push" in log
    return captured


def fresh_venv(root: Path, view: Path) -> Path:
    venv.create(root, with_pip=False, symlinks=True)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "_machine_packages.pth").write_text(f"{view}\n")
    return python


def pip(python: Path, *args: str) -> str:
    """pip (this machine's) installing into the fresh environment, offline."""
    command = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_image_recipe_installs_the_local_wheel_and_serves(tmp_path: Path) -> None:
    agent_file = tmp_path / "adder.py"
    agent_file.write_text(AGENT)
    transcript = tmp_path / "replay.jsonl"
    transcript.write_text("".join(json.dumps(turn) + "\n" for turn in REPLAY))
    options = {"agent": str(agent_file), "name": "adder", "account": "123456789012", "agent_file": agent_file}
    config = deploy.DeployConfig(**options, model=f"replay:{transcript}", observability=False)  # type: ignore[arg-type]
    files = deploy.render(config)
    context = tmp_path / "context"
    deploy.write(files, context)

    observed = deploy.render(deploy.DeployConfig(**options, model=f"replay:{transcript}"))  # type: ignore[arg-type]
    command = json.loads(files["Dockerfile"].rsplit("CMD ", 1)[1])
    assert json.loads(observed["Dockerfile"].rsplit("CMD ", 1)[1]) == ["opentelemetry-instrument", *command]
    extra = set(observed["requirements.txt"].splitlines()) - set(files["requirements.txt"].splitlines())
    assert {line for line in extra if not line.startswith("#")} == {deploy.ADOT_REQUIREMENT}

    # build.sh, with stand-ins for aws and docker: `agentkit deploy wheel` fills the "wheels" build context
    # (built from a copy of the checkout, which stays as it is)
    checkout = Path(deploy.__file__).resolve().parent.parent
    before = sorted(p.name for p in checkout.iterdir())
    wheels = run_build_script(context, tmp_path)
    (wheel,) = wheels.glob("agentkit-*.whl")
    assert sorted(p.name for p in checkout.iterdir()) == before

    # Dockerfile: RUN pip install -r requirements.txt; RUN pip install --no-deps /tmp/wheels/*.whl
    view = tmp_path / "machine-packages"
    link_installed_packages(view)
    python = fresh_venv(tmp_path / "venv", view)
    installed = pip(python, "install", "--no-index", "-r", str(context / "requirements.txt"))
    assert "Successfully installed" not in installed  # every pin is what is installed here
    pip(python, "install", "--no-index", "--no-deps", str(wheel))
    probe = "import agentkit, agentkit.tools; print(agentkit.__file__)"
    found = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    where = found.stdout.strip()
    assert where.startswith(str(tmp_path / "venv")), where  # the wheel's agentkit, not this checkout's

    # an agentkit installed from a wheel (no source folder) packs its installed files back into the same wheel
    repacked = subprocess.run(
        [python.parent / "agentkit", "deploy", "wheel", "--out", str(tmp_path / "repacked")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert repacked.returncode == 0, repacked.stderr
    assert Path(repacked.stdout.strip()).name == wheel.name
    assert wheel_contents(Path(repacked.stdout.strip())) == wheel_contents(wheel)

    # CMD, with the runtime's environment; loopback here, 0.0.0.0 in the image; /app/agent.py is in the context
    port = free_port()
    assert command[:3] == ["agentkit", "serve", "/app/agent.py"]
    argv = [str(python.parent / "agentkit"), "serve", str(context / "agent.py"), *command[3:]]
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{python.parent}:/usr/bin:/bin",
        "HOME": str(home),
        **json.loads(files["runtime.json"])["environmentVariables"],
        "AGENTKIT_HOME": str(home / "agentkit"),
    }
    assert env["AGENTKIT_MODEL"] == f"replay:{transcript}"
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=home)
    try:
        url = f"http://127.0.0.1:{port}"
        ping = wait_for_ping(url, server, log)
        assert ping["status"] == "Healthy"
        headers = {SESSION: "image-test-" + "0" * 30, "Accept": "text/event-stream"}
        with httpx.stream("POST", url + "/invocations", json={"prompt": "add 2 and 3"}, headers=headers) as reply:
            assert reply.status_code == 200
            body = reply.read().decode()
        events = [json.loads(frame[len("data: ") :]) for frame in body.split("\n\n") if frame]
        results = [e for e in events if e["kind"] == "tool_result"]
        assert [(r["name"], r["content"], r["is_error"]) for r in results] == [("add", "5", False)], log.read_text()
        assert events[-1]["kind"] == "done" and events[-1]["text"] == "2 + 3 = 5"
    finally:
        server.terminate()
        server.wait(15)


def wheel_contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.endswith(".dist-info/RECORD")}


def wait_for_ping(url: str, server: subprocess.Popen, log: Path) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited {server.returncode}: {log.read_text()}")
        try:
            return httpx.get(url + "/ping", timeout=2).json()
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"no /ping answer in 30 s: {log.read_text()}")
