"""Turn a Policy and a command into a concrete launch for one backend.

- **bwrap**: new IPC, PID, UTS, cgroup (and, unless the network is on, network) namespaces; `/` is an
  empty tmpfs holding read-only binds of the system directories and the interpreter, a private `/tmp`
  (the TMPDIR), a fresh `/proc` and a minimal `/dev`; all capabilities dropped; `--die-with-parent`,
  `--new-session`, `--clearenv`; the seccomp BPF arrives through a pipe (`--seccomp FD`). Which bwrap
  runs is `bwrap_binary`'s choice; who the command is when we are root is `identity`'s (uid 65534 through
  setpriv, the owner of another user's writable folder through setpriv, or uid 65534 in a user namespace
  mapped to root when a writable grant is root's own folder). Otherwise a user namespace maps the caller.
- **landlock**: the command runs on the host filesystem under Landlock rules (read beneath the system
  directories, the interpreter and the granted paths; write beneath the granted paths and a private
  TMPDIR made per call; no TCP unless the network is on; signals and abstract sockets scoped), seccomp,
  rlimits, and an empty capability set; as root, as uid 65534 in a user namespace (or as the owner of
  another user's writable folder, on the host, in a PID namespace of its own).
- **rlimits**: the last resort: rlimits, seccomp where it loads, an empty capability set and a private
  TMPDIR. It does not isolate files (nor, without seccomp, the network); choosing it warns loudly.
- **sandbox-exec** (macOS, not tested here): a deny-by-default Seatbelt profile plus CPU, FSIZE and
  NOFILE rlimits (Darwin ignores the memory limits).

rlimits are set on the launcher (inherited by the command) in a `preexec_fn` that only makes system calls.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from agentkit.errors import SandboxError
from agentkit.sandbox.cgroup import SandboxCgroup
from agentkit.sandbox.identity import (
    ETC_FILES,
    NO_USERNS_REASON,
    drop_to,
    enter_user_namespace,
    grant_owner,
    libc_handle,
    needs_root_mapping,
    refuse_unreachable,
    refuse_unwritable,
)
from agentkit.sandbox.kernel import child_setup, landlock_abi, seccomp_bpf
from agentkit.sandbox.policy import MINIMAL_PATH, Policy
from agentkit.sandbox.prejoined import ReadyLauncher, launchers

__all__ = ["Launch", "build_launch", "bwrap_argv", "module_locations", "python_import_path", "python_paths"]

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
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
    temp_dirs: list[str] = field(default_factory=list)  # the private TMPDIR, removed by release()
    private_pids: bool = False  # the child starts in a PID namespace of its own (it may fail to, as root)
    rlimits: dict[int, tuple[int, int]] = field(default_factory=dict)  # what preexec_fn sets, for a launcher
    launcher: ReadyLauncher | None = None  # one already in `cgroup`, to exec the command (see `prejoined`)

    def start(self, *, stdin: int, stderr: int, what: str) -> subprocess.Popen[bytes]:
        """Start the child in its own session (so a timeout can kill the whole group); `what` names it in
        the error when it cannot start. `stdin` is PIPE or DEVNULL; `stderr` PIPE or DEVNULL."""
        if self.launcher is not None:
            return self._start_prejoined(stdin=stdin, stderr=stderr, what=what)
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
        except (OSError, subprocess.SubprocessError) as exc:
            raise self._not_started(what, exc) from None
        finally:
            self.close_fds()

    def _not_started(self, what: str, exc: BaseException) -> SandboxError:
        self.release()
        return SandboxError(
            f"could not start {what} in the {self.backend} sandbox: {exc} (run 'agentkit sandbox doctor')"
        )

    def _start_prejoined(self, *, stdin: int, stderr: int, what: str) -> subprocess.Popen[bytes]:
        launcher, self.launcher = self.launcher, None
        assert launcher is not None
        try:
            return launcher.exec(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                pass_fds=self.pass_fds,
                rlimits=self.rlimits,
                stdin_devnull=stdin == subprocess.DEVNULL,
                stderr_devnull=stderr == subprocess.DEVNULL,
            )
        except OSError as exc:
            launcher.discard()
            self.cgroup = None  # the launcher's, handed back by discard
            raise self._not_started(what, exc) from None
        finally:
            self.close_fds()

    def release(self, *, wait: bool = False) -> None:
        """Once the call is over: kill whatever is left in the sandbox's cgroup, remove the group at once with
        `wait`, else hand it back for a later call (see `SandboxCgroup.recycle`), and remove the private temp
        dir (symlinks in it are not followed)."""
        launcher, self.launcher = self.launcher, None
        if launcher is not None:  # never started: the launcher and its group (ours) go together
            launcher.discard(wait=wait)
            self.cgroup = None
        group, self.cgroup = self.cgroup, None
        if group is not None and wait:
            group.remove()
        elif group is not None:
            group.recycle()
        while self.temp_dirs:
            shutil.rmtree(self.temp_dirs.pop(), ignore_errors=True)

    def close_fds(self) -> None:
        while self.close_after_start:
            try:
                os.close(self.close_after_start.pop())
            except OSError:
                pass


def python_paths() -> tuple[str, ...]:
    """What any Python child needs to read: the interpreter's prefixes and the site-packages folders on
    sys.path (a .pth file may add one outside the prefix). Never the script's folder nor the cwd."""
    prefixes = [sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))]
    found = [*prefixes, *(p for p in sys.path if _is_site_dir(p))]
    return _dedupe_existing(found)


def python_import_path() -> list[str]:
    """The entries of sys.path that lie within `python_paths()`: what a sandboxed interpreter may import from."""
    base = python_paths()
    return [p for p in sys.path if p and os.path.isabs(p) and _within(os.path.normpath(p), base)]


def _is_site_dir(path: str) -> bool:
    return os.path.isabs(path) and os.path.basename(os.path.normpath(path)) in ("site-packages", "dist-packages")


def _within(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def module_locations() -> dict[str, str]:
    """Loaded modules that live outside `python_paths()` (the tool's own module, an editable install):
    name -> the module's file, or its package folder. A tool worker reads exactly these, not the folders
    they sit in, which may hold anything (an `.env` beside the agent script)."""
    base = python_paths()
    found: dict[str, str] = {}
    for name, module in sorted(list(sys.modules.items())):
        path = getattr(module, "__file__", None)
        if not path or not os.path.isabs(path) or name == "__main__":
            continue
        path = os.path.normpath(path)
        if os.path.basename(path).startswith("__init__."):
            path = os.path.dirname(path)
        if _within(path, base) or _within(path, found.values()) or not os.path.exists(path):
            continue
        found[name] = path
    return found


def _dedupe_existing(paths: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for path in paths:
        path = os.path.normpath(path)
        if os.path.exists(path) and path not in out:
            out.append(path)
    return tuple(out)


def _rlimits(policy: Policy, *, group: SandboxCgroup | None, per_uid_nproc: bool = True) -> dict[int, tuple[int, int]]:
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
        if "pids" not in held and per_uid_nproc:
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
    """The bubblewrap command line (and the fds it must inherit) for `argv` under `policy`.

    As root the command becomes `policy.sandbox_uid` through setpriv, or the owner of another user's writable
    folder; when a writable grant is a folder of root's that the sandbox uid cannot write (or setpriv is
    missing), a user namespace maps root to the sandbox uid instead (see `identity`)."""
    root = os.geteuid() == 0
    _refuse_host_wide(policy)
    owner, mapped = _bwrap_identity(policy, root=root, setpriv=setpriv)
    out = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
    if mapped:
        refuse_unwritable(policy)
        out += ["--unshare-user", "--uid", str(policy.sandbox_uid), "--gid", str(policy.sandbox_uid)]
    elif not root:
        out.append("--unshare-user")
    if not policy.network:
        out.append("--unshare-net")
    out += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    setpriv_drop = root and not mapped
    if setpriv_drop:  # only setpriv uses these, to change uid; the uid change then clears every capability
        out += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    for sysdir in _SYSTEM_DIRS:
        if os.path.isdir(sysdir):
            out += ["--ro-bind", sysdir, sysdir]
    etc = ETC_FILES if mapped else ("/etc",)  # mapped to root, the command would own /etc/shadow
    if mapped:
        out += ["--perms", "0755", "--dir", "/etc"]
    for path in etc:
        if os.path.exists(path):
            out += ["--ro-bind", path, path]
    out += ["--dev", "/dev", "--proc", "/proc"]
    for tmpfs in ("/tmp", "/dev/shm"):
        out += ["--perms", "1777"]
        if _bwrap_takes_size(bwrap):  # bubblewrap 0.10+: each holds no more than the memory limit
            out += ["--size", str(policy.memory_bytes)]
        out += ["--tmpfs", tmpfs]
    created = {"/", "/tmp", "/dev", "/proc", "/etc", *_SYSTEM_DIRS}
    binds: list[tuple[str, str]] = [(p, "--ro-bind") for p in _dedupe_existing(extra_ro) if not _host_wide(p)]
    binds += [(p, "--ro-bind") for p in _dedupe_existing(policy.read_paths)]
    binds += [(p, "--bind") for p in _dedupe_existing(policy.write_paths)]
    if cwd and not _host_wide(cwd) and not any(cwd == p or cwd.startswith(p.rstrip("/") + "/") for p, _ in binds):
        binds.append((cwd, "--ro-bind"))
    read_only: list[str] = [*_SYSTEM_DIRS, *etc]
    bound: list[str] = []
    for path, flag in sorted(binds, key=lambda item: item[0].count("/")):
        if flag == "--ro-bind" and _within(path, read_only):
            continue  # already visible read-only (each mount costs the cold start time)
        for parent in _parents(path):
            if parent not in created and not _within(parent, bound):  # bubblewrap would make it 0700
                out += ["--perms", "0755", "--dir", parent]
                created.add(parent)
        out += [flag, path, path]
        created.add(path)
        bound.append(path)
        if flag == "--ro-bind":
            read_only.append(path)
    out.append("--clearenv")
    for key, value in {**policy.environment(), "TMPDIR": "/tmp"}.items():
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
    if setpriv_drop:
        uid, gid = owner or (policy.sandbox_uid, policy.sandbox_uid)
        out += [
            str(setpriv),
            f"--reuid={uid}",
            f"--regid={gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--no-new-privs",
            "--",
        ]
    return out + list(argv), fds


def _bwrap_identity(policy: Policy, *, root: bool, setpriv: str | None) -> tuple[tuple[int, int] | None, bool]:
    """As root: the owner (uid, gid) of another user's writable folders to become through setpriv, if any, and
    whether bubblewrap maps root to the sandbox uid in a user namespace instead (see `identity`)."""
    if not root:
        return None, False
    owner = grant_owner(policy)
    if owner is not None and setpriv is None:
        raise SandboxError(
            f"the sandbox would run as uid {owner[0]}, the owner of its writable folders, which needs setpriv "
            "(util-linux) beside bubblewrap; install util-linux, or use the landlock backend "
            "(AGENTKIT_SANDBOX_BACKEND=landlock)"
        )
    return owner, owner is None and (setpriv is None or needs_root_mapping(policy))


@functools.cache
def _bwrap_takes_size(bwrap: str) -> bool:
    try:
        done = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--size" in done.stdout


def build_launch(
    backend: str,
    policy: Policy,
    argv: Sequence[str],
    *,
    cwd: str | None,
    extra_ro: Sequence[str] = (),
    prejoined: bool = False,
) -> Launch:
    """A ready-to-start launch of `argv` under `policy` with the named backend, in a cgroup of its own
    where one can be made (the caller releases it with `Launch.release` once the call is over). With
    `prejoined`, a bwrap launch starts from a launcher already waiting in its cgroup where one is ready
    (see `prejoined`; only `Launch.start` may start it then)."""
    ready = None
    if prejoined and backend == "bwrap" and (pool := launchers()) is not None:
        ready = pool.take(pids_max=policy.max_processes, memory_bytes=policy.memory_bytes)
        if ready is not None and "pids" not in ready.group.limits and _pid_limit_holds():
            ready.discard()  # the process limit is then the PID namespace's, which our preexec_fn makes
            ready = None
    group = ready.group if ready is not None else None
    if group is None and backend in ("bwrap", "landlock", "rlimits"):
        group = SandboxCgroup.create(pids_max=policy.max_processes, memory_bytes=policy.memory_bytes)
    try:
        launch = _build_launch(backend, policy, argv, cwd=cwd, extra_ro=extra_ro, group=group)
    except BaseException:
        if ready is not None:
            ready.discard()
        elif group is not None:
            group.remove()
        raise
    launch.launcher = ready
    return launch


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
    pid_limit = _pid_namespace_limit(policy, group, root and caps.root_pid_limit)
    if backend == "bwrap":
        inner_nproc = _inner_nproc(policy, group, root)
        if inner_nproc is not None:
            argv = [*inner_nproc, *argv]
        full, fds = bwrap_argv(
            policy,
            argv,
            cwd=cwd,
            extra_ro=extra_ro,
            bwrap=caps.bwrap_path or "bwrap",
            setpriv=caps.setpriv,
            seccomp=seccomp,
        )
        _owner, mapped = _bwrap_identity(policy, root=root, setpriv=caps.setpriv)
        limits = _rlimits(policy, group=group, per_uid_nproc=not mapped and inner_nproc is None and pid_limit is None)
        pre = child_setup(
            rlimits=limits,
            cgroup_procs=group.procs_files if group is not None else (),
            pid_namespace=pid_limit is not None,  # around bubblewrap's own, which nests in it
            pid_limit=pid_limit,
            own_proc=pid_limit is not None,  # bubblewrap finds its children in /proc by the pids it sees
        )
        return Launch(backend, full, launcher_env, pre, fds, list(fds), None, group, private_pids=True, rlimits=limits)
    if backend in ("landlock", "rlimits"):
        mapped = root and caps.root_userns
        own_userns = not root and caps.own_userns
        return _host_launch(
            backend,
            policy,
            argv,
            cwd=cwd,
            extra_ro=extra_ro,
            seccomp=seccomp,
            root=root,
            mapped=mapped,
            own_userns=own_userns,
            group=group,
            pid_limit=pid_limit,
        )
    env = policy.environment()
    if backend == "sandbox-exec":
        profile = _seatbelt_profile(policy, extra_ro, cwd)
        pre = child_setup(rlimits=_rlimits(policy, group=None))
        return Launch(backend, ["/usr/bin/sandbox-exec", "-p", profile, *argv], env, pre, cwd=cwd)
    raise ValueError(f"unknown sandbox backend {backend!r}")


def _pid_namespace_limit(policy: Policy, group: SandboxCgroup | None, bounded_pidns: bool) -> int | None:
    """As root without a pids cgroup: the process limit that the launch's own PID namespace holds (its pid_max,
    see `pid_namespace`), where the kernel has one. RLIMIT_NPROC would not do: host root is exempt from it, and uid
    65534 is every sandbox's, so one sandbox could fill it for all the others."""
    if not bounded_pidns or (group is not None and "pids" in group.limits):
        return None
    return policy.max_processes


def _pid_limit_holds() -> bool:
    from agentkit.sandbox.detect import probe  # detect imports this module

    return probe().root_pid_limit


def _inner_nproc(policy: Policy, group: SandboxCgroup | None, root: bool) -> list[str] | None:
    """For an ordinary user without a pids cgroup: set RLIMIT_NPROC inside bubblewrap's user namespace (with
    util-linux prlimit), where the kernel counts the sandbox's own processes only. Set on the launcher outside,
    it would count every process of the user, the agent's threads included, so a tool could starve the agent."""
    if root or (group is not None and "pids" in group.limits):
        return None
    prlimit = shutil.which("prlimit", path=MINIMAL_PATH)
    if prlimit is None:
        return None
    return [prlimit, f"--nproc={policy.max_processes}:{policy.max_processes}", "--"]


def _host_launch(
    backend: str,
    policy: Policy,
    argv: Sequence[str],
    *,
    cwd: str | None,
    extra_ro: Sequence[str],
    seccomp: bytes | None,
    root: bool,
    mapped: bool,
    own_userns: bool,
    group: SandboxCgroup | None,
    pid_limit: int | None = None,
) -> Launch:
    """Landlock or rlimits: the command runs on the host's file system, with a private TMPDIR of its own;
    as root it becomes the sandbox uid, in a user namespace mapped to root where one can be made (`mapped`),
    else on the host, or, for another user's writable folder, that user on the host (see `identity`).
    Without a cgroup to find its leftovers and count its processes, the command becomes the init of its own
    PID namespace (an ordinary user's in a user namespace of its own, `own_userns`, where RLIMIT_NPROC then
    counts this sandbox's processes only; root's holds at most `pid_limit` tasks, see `_pid_namespace_limit`);
    run as a folder's owner, always, so it cannot signal that user's other processes."""
    _refuse_host_wide(policy)
    become = None
    owner = grant_owner(policy) if root else None
    uid, gid = owner or (policy.sandbox_uid, policy.sandbox_uid)
    if owner is not None:
        mapped = False
        refuse_unreachable([p for p in (_program(argv, policy), cwd, *policy.write_paths) if p], uid, gid)
    elif root:
        refuse_unwritable(policy, root_mapping=mapped)
        if not mapped:  # uid 65534 on the host: an interpreter beneath /root is out of its reach
            refuse_unreachable([p for p in (_program(argv, policy), cwd) if p], uid, gid, NO_USERNS_REASON)
    if root:
        libc_handle()  # loaded now: nothing may be loaded between fork and exec
        become = (lambda: enter_user_namespace(uid)) if mapped else (lambda: drop_to(uid, gid))
    tmp = tempfile.mkdtemp(prefix="agentkit-tmp-")
    if root and not mapped:
        os.chown(tmp, uid, gid)  # ours, just made and empty: the uid the command runs as writes its temp files there
    policy = policy.with_grants(write_paths=(tmp,))
    env = policy.environment()
    env["TMPDIR"] = tmp
    if env.get("HOME") == "/tmp":
        env["HOME"] = tmp
    rules = None
    private_pids = (group is None and (root or own_userns)) or owner is not None or pid_limit is not None
    if backend == "landlock":
        visible = [p for p in (*extra_ro, *([cwd] if cwd else [])) if not _host_wide(p)]
        read = (*_SYSTEM_DIRS, *ETC_FILES, *_DEV_FILES, *visible, *policy.read_paths)
        rules = (landlock_abi(), read, (*policy.write_paths, "/dev/null"), policy.network)
    pre = child_setup(
        # mapped root keeps host uid 0, which the kernel exempts from RLIMIT_NPROC in any namespace
        rlimits=_rlimits(policy, group=group, per_uid_nproc=not mapped and pid_limit is None),
        seccomp=seccomp,
        landlock=rules,
        drop_caps=root or own_userns,
        cgroup_procs=group.procs_files if group is not None else (),
        pid_namespace=private_pids,
        own_user_namespace=own_userns,
        pid_limit=pid_limit,
        # rlimits confines no files: mapped root could raise the limit through /proc/sys (Landlock hides it)
        read_only_sysctl=pid_limit is not None and backend == "rlimits",
        become=become,
        become_after_landlock=not mapped,
    )
    return Launch(backend, list(argv), env, pre, cwd=cwd, cgroup=group, temp_dirs=[tmp], private_pids=private_pids)


def _program(argv: Sequence[str], policy: Policy) -> str | None:
    """The file `argv` executes, found on the command's own PATH."""
    return argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0], path=policy.environment().get("PATH"))


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
