"""The package installs as a wheel and as an editable install, maps tools/ and agents/, and imports lightly."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("boto3", "botocore", "openai", "torch", "transformers", "strands")


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "agentkit").rglob("__init__.py")}
    found |= {"agentkit.tools", "agentkit.agents"}
    assert found <= listed, f"add these to [tool.setuptools] packages: {sorted(found - listed)}"


@pytest.mark.integration
def test_wheel_installs_into_a_fresh_virtual_environment(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(dist)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("agentkit-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
    )
    # The wheel goes in with no dependencies; the dependencies come from this environment's site-packages,
    # added as a plain path (its .pth files, including our editable finder, are not processed there).
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)], check=True
    )
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    probe = (
        "import agentkit, agentkit.tools, agentkit.agents, sys; "
        "from agentkit import Agent, tool; "
        "print(agentkit.__file__); print(agentkit.tools.__file__); print(agentkit.agents.__file__)"
    )
    run = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = run.stdout.split()
    assert all(path.startswith(str(site)) for path in out), out
    console = subprocess.run(
        [python, "-m", "agentkit", "--version"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert console.stdout.strip() == "agentkit, version 0.1.0"


def test_editable_install_maps_tools_and_agents_to_the_top_level_folders() -> None:
    probe = "import agentkit.tools, agentkit.agents; print(agentkit.tools.__file__); print(agentkit.agents.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT.parent
    ).stdout.split()
    assert Path(out[0]) == ROOT / "tools" / "__init__.py"
    assert Path(out[1]) == ROOT / "agents" / "__init__.py"


def test_import_agentkit_does_not_import_heavy_dependencies() -> None:
    probe = (
        "import sys, agentkit; from agentkit import Agent, tool, ScriptedModel; import agentkit.models; "
        f"print([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}])"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.strip()
    assert out == "[]"


def test_schema_libraries_load_only_when_a_tool_needs_them() -> None:
    """jsonschema and pydantic are most of the import cost: Agent and tool alone must not pull them in; a
    decorated function pulls in pydantic (its schema), and its first validation jsonschema."""
    probe = (
        "import sys\n"
        "from agentkit import Agent, tool\n"
        "loaded = lambda: [m for m in ('pydantic', 'jsonschema') if m in sys.modules]\n"
        "print(loaded())\n"
        "@tool\n"
        "def add(a: int, b: int) -> int:\n"
        "    return a + b\n"
        "print(loaded())\n"
        "add.validate({'a': 1, 'b': 2})\n"
        "print(loaded())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.split("\n")
    assert out[:3] == ["[]", "['pydantic']", "['pydantic', 'jsonschema']"]


def test_console_script_version() -> None:
    out = subprocess.run([sys.executable, "-m", "agentkit", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "agentkit, version 0.1.0"


def test_public_names_are_sorted_and_importable() -> None:
    import agentkit
    import agentkit.models
    import agentkit.tooling

    for module in (agentkit, agentkit.models, agentkit.tooling):
        assert list(module.__all__) == sorted(module.__all__), module.__name__
        for name in module.__all__:
            assert getattr(module, name) is not None
