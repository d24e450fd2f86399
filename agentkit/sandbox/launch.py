"""Turn a Policy and a command into a concrete launch for one backend.

- **bwrap**: new IPC, PID, UTS, cgroup (and, unless the network is on, network) namespaces; `/` is an
  empty tmpfs holding read-only binds of the system directories and the interpreter, a private `/tmp`,
  a fresh `/proc` and a minimal `/dev`; all capabilities dropped; `--die-with-parent`, `--new-session`,
  `--clearenv`; the seccomp BPF arrives through a pipe (`--seccomp FD`). When we are root, bubblewrap
  would map the sandbox to host root (same owner checks as root, so /etc/shadow stays readable), so it
  runs without a user namespace and the command starts through `setpriv` as `Policy.sandbox_uid`, a real
  unprivileged uid for which RLIMIT_NPROC also holds. Otherwise a user namespace is used.
- **landlock**: the command runs on the host filesystem under Landlock rules (read beneath the system
  directories, the interpreter and the granted paths; write beneath the granted paths; no TCP unless the
  network is on; signals and abstract sockets scoped), seccomp, rlimits, and an empty capability set.
- **rlimits**: the last resort: rlimits, seccomp where it loads, and an empty capability set. It does not
  isolate files or the network; choosing it warns loudly.
- **sandbox-exec** (macOS, not tested here): a deny-by-default Seatbelt profile plus CPU, FSIZE and
  NOFILE rlimits (Darwin ignores the memory limits).

rlimits are set on the launcher (inherited by the command) in a `preexec_fn` that only makes system calls.
"""

from __future__ import annotations

import functools
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from agentkit.errors import SandboxError
from agentkit.sandbox.cgroup import SandboxCgroup
from agentkit.sandbox.kernel import child_setup, landlock_abi, seccomp_bpf
from agentkit.sandbox.policy import MINIMAL_PATH, Policy

__all__ = ["Launch", "build_launch", "bwrap_argv", "interpreter_paths"]

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# what programs read from /etc, granted one by one where /etc as a whole is not mounted (Landlock as root)
_ETC_FILES = (
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/hostname", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/hosts",
    "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/ssl", "/etc/ca-certificates",
    "/etc/alternatives", "/etc/os-release", "/etc/mime.types", "/etc/protocols", "/etc/services",
)  # fmt: skip
_DEV_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


@dataclass
class Launch:
    """Everything `subprocess.Popen` needs, plus fds to close once the child has started."""

    backend: str
    argv: list[str]
    env: dict[str, str]
    preexec_fn: Callable[[], None] | None
    pass_fds: tuple[int, ...] = ()
    close_after_start: list[int] = field(default_factory=list)
    cwd: str | None = None
    cgroup: SandboxCgroup | None = None  # the child's own cgroup, where one could be made

    def start(self, *, stdin: int, stderr: int, what: str) -> subprocess.Popen[bytes]:
        """Start the child in its own session (so a timeout can kill the whole group); `what` names it in
        the error when it cannot start."""
        try:
            return subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=stderr,
                close_fds=True,
                pass_fds=self.pass_fds,
                start_new_session=True,
                preexec_fn=self.preexec_fn,
            )
        except OSError as exc:
            self.release()
            raise SandboxError(f"could not start {what} in the {self.backend} sandbox: {exc}") from None
        finally:
            self.close_fds()

    def release(self) -> None:
        """Once the call is over: kill whatever is left in the sandbox's cgroup and remove the group."""
        group, self.cgroup = self.cgroup, None
        if group is not None:
            group.remove()

    def close_fds(self) -> None:
        while self.close_after_start:
            try:
                os.close(self.close_after_start.pop())
            except OSError:
                pass


def interpreter_paths() -> tuple[str, ...]:
    """The directories a Python child needs to see: the interpreter prefixes and the import path."""
    found = [sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))]
    found += [p for p in sys.path if p and os.path.isabs(p)]
    found += _module_roots()
    return _dedupe_existing(found)


def _module_roots() -> list[str]:
    """Where loaded top-level packages live (editable installs map them outside sys.path)."""
    roots: list[str] = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if "." in name or not path or not os.path.isabs(path):
            continue
        root = os.path.dirname(path)
        if os.path.basename(path).startswith("__init__."):
            root = os.path.dirname(root)
        if not any(root == r or root.startswith(r + "/") for r in roots):
            roots.append(root)
    return roots


def _dedupe_existing(paths: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for path in paths:
        path = os.path.normpath(path)
        if os.path.exists(path) and path not in out:
            out.append(path)
    return tuple(out)


def _rlimits(policy: Policy, *, group: SandboxCgroup | None) -> dict[int, tuple[int, int]]:
    """rlimits for the child. Processes and memory are bounded by its own cgroup where one holds; without
    one, RLIMIT_NPROC (per uid: sandboxes of one uid share it) and RLIMIT_AS at 4x the memory limit (it
    counts shared mappings, which RLIMIT_DATA does not; 4x leaves room for threads' reserved arenas, but
    not for a WebAssembly engine's 10 GB reservation: node's WebAssembly needs memory_bytes >= 3 GiB there)."""
    limits = {
        resource.RLIMIT_CPU: (policy.cpu_seconds, policy.cpu_seconds + 1),
        resource.RLIMIT_FSIZE: (policy.max_file_bytes, policy.max_file_bytes),
        resource.RLIMIT_NOFILE: (policy.max_open_files, policy.max_open_files),
        resource.RLIMIT_CORE: (0, 0),
    }
    held = group.limits if group is not None else set()
    if sys.platform.startswith("linux"):
        limits[resource.RLIMIT_DATA] = (policy.memory_bytes, policy.memory_bytes)
        if "memory" not in held:
            limits[resource.RLIMIT_AS] = (4 * policy.memory_bytes, 4 * policy.memory_bytes)
        if "pids" not in held:
            limits[resource.RLIMIT_NPROC] = (policy.max_processes, policy.max_processes)
    return limits


def _parents(path: str) -> list[str]:
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def bwrap_argv(
    policy: Policy,
    argv: Sequence[str],
    *,
    cwd: str | None,
    extra_ro: Sequence[str],
    bwrap: str,
    setpriv: str | None,
    seccomp: bytes | None,
) -> tuple[list[str], tuple[int, ...]]:
    """The bubblewrap command line (and the fds it must inherit) for `argv` under `policy`."""
    root = os.geteuid() == 0
    out = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
    if not root:
        out.append("--unshare-user")
    if not policy.network:
        out.append("--unshare-net")
    out += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    if root:  # only setpriv uses these, to become sandbox_uid; the uid change then clears every capability
        out += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    for sysdir in (*_SYSTEM_DIRS, "/etc"):
        if os.path.isdir(sysdir):
            out += ["--ro-bind", sysdir, sysdir]
    out += ["--dev", "/dev", "--proc", "/proc"]
    for tmpfs in ("/tmp", "/dev/shm"):
        out += ["--perms", "1777"]
        if _bwrap_takes_size(bwrap):  # bubblewrap 0.10+: each holds no more than the memory limit
            out += ["--size", str(policy.memory_bytes)]
        out += ["--tmpfs", tmpfs]
    created = {"/", "/tmp", "/dev", "/proc", "/etc", *_SYSTEM_DIRS}
    _refuse_host_wide(policy)
    binds: list[tuple[str, str]] = [(p, "--ro-bind") for p in _dedupe_existing(extra_ro) if not _host_wide(p)]
    binds += [(p, "--ro-bind") for p in _dedupe_existing(policy.read_paths)]
    binds += [(p, "--bind") for p in _dedupe_existing(policy.write_paths)]
    if cwd and not _host_wide(cwd) and not any(cwd == p or cwd.startswith(p.rstrip("/") + "/") for p, _ in binds):
        binds.append((cwd, "--ro-bind"))
    for path, flag in sorted(binds, key=lambda item: item[0].count("/")):
        if any(path == s or path.startswith(s + "/") for s in (*_SYSTEM_DIRS, "/etc")) and flag == "--ro-bind":
            continue  # already visible read-only
        for parent in _parents(path):
            if parent not in created:  # bubblewrap would create it 0700, unreadable to the sandbox uid
                out += ["--perms", "0755", "--dir", parent]
                created.add(parent)
        out += [flag, path, path]
        created.add(path)
    out.append("--clearenv")
    for key, value in policy.environment().items():
        out += ["--setenv", key, value]
    out += ["--chdir", cwd or "/tmp"]
    fds: tuple[int, ...] = ()
    if seccomp is not None:
        read_end, write_end = os.pipe()
        os.write(write_end, seccomp)  # a few hundred bytes: far below the pipe buffer
        os.close(write_end)
        out += ["--seccomp", str(read_end)]
        fds = (read_end,)
    out.append("--")
    if root:
        uid = str(policy.sandbox_uid)
        out += [setpriv or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]
    return out + list(argv), fds


@functools.cache
def _bwrap_takes_size(bwrap: str) -> bool:
    try:
        done = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--size" in done.stdout


def build_launch(
    backend: str, policy: Policy, argv: Sequence[str], *, cwd: str | None, extra_ro: Sequence[str] = ()
) -> Launch:
    """A ready-to-start launch of `argv` under `policy` with the named backend, in a cgroup of its own
    where one can be made (the caller releases it with `Launch.release` once the call is over)."""
    group = None
    if backend in ("bwrap", "landlock", "rlimits"):
        group = SandboxCgroup.create(pids_max=policy.max_processes, memory_bytes=policy.memory_bytes)
    try:
        return _build_launch(backend, policy, argv, cwd=cwd, extra_ro=extra_ro, group=group)
    except BaseException:
        if group is not None:
            group.remove()
        raise


def _build_launch(
    backend: str,
    policy: Policy,
    argv: Sequence[str],
    *,
    cwd: str | None,
    extra_ro: Sequence[str],
    group: SandboxCgroup | None,
) -> Launch:
    from agentkit.sandbox.detect import probe

    caps = probe()
    root = caps.is_root
    seccomp = seccomp_bpf(policy.network) if caps.seccomp.ok else None
    launcher_env = {"PATH": MINIMAL_PATH}  # bubblewrap's own environment is readable through /proc/1/environ
    procs = group.procs_files if group is not None else ()
    # without a cgroup to find its leftovers, the command becomes a PID namespace's init (root only)
    pidns = group is None and root
    if backend == "bwrap":
        full, fds = bwrap_argv(
            policy,
            argv,
            cwd=cwd,
            extra_ro=extra_ro,
            bwrap=caps.bwrap_path or "bwrap",
            setpriv=caps.setpriv,
            seccomp=seccomp,
        )
        pre = child_setup(rlimits=_rlimits(policy, group=group), cgroup_procs=procs)
        return Launch(backend, full, launcher_env, pre, fds, list(fds), None, group)
    env = policy.environment()
    if backend == "landlock":
        _refuse_host_wide(policy)
        visible = [p for p in (*extra_ro, *([cwd] if cwd else [])) if not _host_wide(p)]
        read = (*_SYSTEM_DIRS, *_ETC_FILES, *_DEV_FILES, *visible, *policy.read_paths)
        write = (*policy.write_paths, "/dev/null")
        rules = (landlock_abi(), read, write, policy.network)
        limits = _rlimits(policy, group=group)
        pre = child_setup(
            rlimits=limits, seccomp=seccomp, landlock=rules, drop_caps=root, cgroup_procs=procs, pid_namespace=pidns
        )
        return Launch(backend, list(argv), env, pre, cwd=cwd, cgroup=group)
    if backend == "rlimits":
        limits = _rlimits(policy, group=group)
        pre = child_setup(rlimits=limits, seccomp=seccomp, drop_caps=root, cgroup_procs=procs, pid_namespace=pidns)
        return Launch(backend, list(argv), env, pre, cwd=cwd, cgroup=group)
    if backend == "sandbox-exec":
        profile = _seatbelt_profile(policy, extra_ro, cwd)
        pre = child_setup(rlimits=_rlimits(policy, group=None))
        return Launch(backend, ["/usr/bin/sandbox-exec", "-p", profile, *argv], env, pre, cwd=cwd)
    raise ValueError(f"unknown sandbox backend {backend!r}")


def _seatbelt_profile(policy: Policy, extra_ro: Sequence[str], cwd: str | None) -> str:
    """A deny-by-default Seatbelt profile (macOS; documented, not tested in CI)."""
    reads = ["/usr", "/bin", "/System", "/Library", "/private/etc", "/dev", *extra_ro, *policy.read_paths]
    if cwd:
        reads.append(cwd)
    lines = ["(version 1)", "(deny default)", "(allow process-fork)", "(allow process-exec)", "(allow sysctl-read)"]
    lines += [f'(allow file-read* (subpath "{p}"))' for p in reads]
    lines += [f'(allow file-read* file-write* (subpath "{p}"))' for p in policy.write_paths]
    lines.append('(allow file-write-data (literal "/dev/null"))')
    if policy.network:
        lines.append("(allow network*)")
    return "\n".join(lines)


def _host_wide(path: str) -> bool:
    """A path whose bind would show the host's root, /proc, /dev or /tmp instead of the sandbox's own."""
    real = os.path.realpath(path)
    return real in ("/", "/tmp", "/proc", "/dev") or real.startswith(("/proc/", "/dev/"))


def _refuse_host_wide(policy: Policy) -> None:
    """Folders a policy grants on purpose may not be the host root or its /proc, /dev or /tmp."""
    for path in (*policy.read_paths, *policy.write_paths):
        if _host_wide(path):
            raise SandboxError(
                f"the sandbox cannot grant {path!r}: it would expose the host's root, /proc, /dev or /tmp; "
                "grant the specific folders the command needs"
            )
