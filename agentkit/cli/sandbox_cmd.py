"""`agentkit sandbox`: report which isolation layers work here, and run a command in the sandbox."""

from __future__ import annotations

import math
import os
import sys
import warnings

import click

from agentkit.sandbox import Policy, Sandbox, probe
from agentkit.sandbox.detect import BACKEND_ENV, choose_backend
from agentkit.sandbox.guarantees import guarantees

__all__ = ["sandbox_group"]

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_MAX_BYTES = 1 << 50  # far above any machine, far below what setrlimit takes


def _parse_size(text: str) -> int:
    raw = text.strip().lower().removesuffix("b").removesuffix("i")
    unit = raw[-1:] if raw[-1:] in _UNITS else ""
    number = raw[: len(raw) - len(unit)]
    try:
        amount = float(number)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size; use e.g. 512M or 2G") from None
    if not math.isfinite(amount):
        raise click.BadParameter(f"{text!r} is not a finite size; use e.g. 512M or 2G")
    if amount * _UNITS[unit] > _MAX_BYTES:
        raise click.BadParameter(f"{text!r} is too large (at most {_MAX_BYTES >> 40}T)")
    value = int(amount * _UNITS[unit])
    if value <= 0:
        raise click.BadParameter(f"{text!r} must be positive")
    return value


@click.group(name="sandbox")
def sandbox_group() -> None:
    """Inspect the sandbox and run commands in it."""


@sandbox_group.command(name="doctor")
def doctor_command() -> None:
    """Show each isolation layer (works or not, and why) and the backend that will be used."""
    caps = probe()
    click.echo(f"platform: {caps.platform}{' (root)' if caps.is_root else ''}")
    for layer in caps.layers:
        click.echo(f"  {layer.name:<8} {'ok ' if layer.ok else 'no '} {layer.detail}")
    click.echo("what each backend holds here:")
    for backend in caps.available():
        click.echo(f"  {backend}")
        for aspect, line in guarantees(caps, backend).items():
            click.echo(f"    {aspect:<10} {line}")
    forced = os.environ.get(BACKEND_ENV, "").strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the rlimits lines above say it
            chosen = choose_backend("required")
    except Exception as exc:
        click.echo(f"backend: none ({exc})")
        sys.exit(1)
    click.echo(f"backend: {chosen}" + (f" (forced by {BACKEND_ENV})" if forced else ""))


@sandbox_group.command(name="run", context_settings={"ignore_unknown_options": False})
@click.option("--network", is_flag=True, help="Allow network access (off by default).")
@click.option("--rw", "rw", multiple=True, type=click.Path(exists=True, file_okay=False), help="Writable directory.")
@click.option("--ro", "ro", multiple=True, type=click.Path(exists=True), help="Read-only path to show.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, help="Wall-clock seconds.")
@click.option("--memory", default="1G", help="Memory limit of the whole sandbox, e.g. 512M.")
@click.option(
    "--backend",
    type=click.Choice(["bwrap", "landlock", "rlimits"]),
    default=None,
    help="isolation to use (default: the strongest that works here; see `agentkit sandbox doctor`)",
)
@click.argument("command", nargs=-1, required=True)
def run_command(
    network: bool, rw: tuple[str, ...], ro: tuple[str, ...], timeout: float, memory: str, backend: str | None,
    command: tuple[str, ...],
) -> None:  # fmt: skip
    """Run COMMAND in the sandbox, print its output and exit with its code (124 on timeout)."""
    policy = Policy(
        wall_seconds=timeout,
        cpu_seconds=max(1, int(timeout) + 1),
        memory_bytes=_parse_size(memory),
        network=network,
        write_paths=tuple(os.path.abspath(p) for p in rw),
        read_paths=tuple(os.path.abspath(p) for p in ro),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sandbox = Sandbox(policy, backend=backend)
    for warning in caught:
        click.echo(f"warning: {warning.message}", err=True)
    result = sandbox.run(list(command), cwd=os.getcwd())
    sys.stdout.buffer.write(result.stdout)
    sys.stdout.flush()
    sys.stderr.buffer.write(result.stderr)
    if result.truncated:
        click.echo("[output truncated]", err=True)
    if result.timed_out:
        click.echo(f"[timed out after {timeout:g}s]", err=True)
    code = result.returncode
    sys.exit(code if code >= 0 else 128 - code)
