"""A wheel of the agentkit installed here, for the image `agentkit deploy agentcore` describes (build.sh runs
`agentkit deploy wheel`). PyPI's `agentkit` is another project, so the image never installs from there.

- Installed from a source folder (editable or not, the folder still there): the folder is copied to a temporary
  directory (the build writes nothing into the checkout) and `pip wheel` builds it, offline when the
  [build-system] requirements are installed here.
- Installed from a wheel: the installed files are packed back into a wheel, from the distribution's RECORD (the
  `wheel` package has no API for this, and the format is a zip with a RECORD of hashes).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from agentkit.errors import AgentkitError, ConfigError

__all__ = ["build_requirements_installed", "build_wheel"]

_NOT_SOURCE = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "deploy", "tests")
# dist-info files an installer writes, which a wheel does not carry
_INSTALLER_FILES = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")


def build_wheel(out: str | os.PathLike[str]) -> Path:
    """Write a wheel of the agentkit installed here into `out`; returns its path."""
    target = Path(out)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write the wheel under --out {os.fspath(out)!r}: {exc.strerror or exc}") from None
    source = _source_checkout()
    if source is not None:
        return _build_from_source(source, target)
    return _repack_installed(target)


def _build_from_source(source: Path, target: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="agentkit-wheel-") as tmp:
        tree = Path(tmp) / "src"
        shutil.copytree(source, tree, ignore=shutil.ignore_patterns(*_NOT_SOURCE), symlinks=True)
        built = Path(tmp) / "wheel"
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(built)]
        if build_requirements_installed(source):
            command += ["--no-index", "--no-build-isolation"]
        result = subprocess.run([*command, str(tree)], capture_output=True, text=True)
        wheels = sorted(built.glob("agentkit-*.whl"))
        if result.returncode != 0 or not wheels:
            lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()]
            errors = [line for line in lines if line.startswith(("error:", "ERROR:"))] or ["no output"]
            raise AgentkitError(f"building the agentkit wheel from {source} failed: {errors[0]}")
        return Path(shutil.copy2(wheels[0], target / wheels[0].name))


def build_requirements_installed(source: Path) -> bool:
    """Whether every [build-system] requirement of the source is installed here (then no download is needed)."""
    import tomllib

    from packaging.requirements import Requirement

    try:
        pyproject = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    for line in pyproject.get("build-system", {}).get("requires", []):
        requirement = Requirement(line)
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            return False
        if not requirement.specifier.contains(version, prereleases=True):
            return False
    return True


def _source_checkout() -> Path | None:
    """The folder this agentkit runs from, when it is a source checkout (pyproject.toml naming agentkit)."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return root if project.get("name") == "agentkit" else None


def _repack_installed(target: Path) -> Path:
    try:
        dist = importlib.metadata.distribution("agentkit")
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError("agentkit is not installed here (no metadata): install it, then deploy again") from None
    files = [f for f in dist.files or [] if _belongs_in_wheel(f)]
    if not any(f.parts[0] == "agentkit" for f in files):
        raise ConfigError(
            "this agentkit's files are not recorded in its install (an editable install whose source is gone?): "
            "reinstall it, or set AGENTKIT_SOURCE=/path/to/agentkit for build.sh"
        )
    info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    tag = _wheel_tag(Path(str(dist.locate_file(f"{info}/WHEEL"))))
    wheel = target / f"agentkit-{dist.version}-{tag}.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(files, key=lambda f: f.as_posix()):
            data = Path(str(dist.locate_file(file))).read_bytes()
            archive.writestr(file.as_posix(), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            writer.writerow([file.as_posix(), f"sha256={digest}", len(data)])
        writer.writerow([f"{info}/RECORD", "", ""])
        archive.writestr(f"{info}/RECORD", record.getvalue())
    return wheel


def _belongs_in_wheel(file: importlib.metadata.PackagePath) -> bool:
    parts = file.parts
    if not parts or ".." in parts or file.is_absolute() or "__pycache__" in parts or file.suffix == ".pyc":
        # console scripts (outside site-packages) are made again from entry_points.txt; nothing else outside
        # the install (a RECORD naming /etc/... or agentkit/../../.aws/credentials) goes into the image
        return False
    return not (parts[0].endswith(".dist-info") and file.name in _INSTALLER_FILES)


def _wheel_tag(wheel_file: Path) -> str:
    try:
        lines = wheel_file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return "py3-none-any"
    tags = [line.partition(":")[2].strip() for line in lines if line.startswith("Tag:")]
    return tags[0] if tags else "py3-none-any"
