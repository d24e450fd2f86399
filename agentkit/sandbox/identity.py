"""Who a sandboxed command is when agentkit runs as root: never root, and never with a capability.

- **bwrap**: the command becomes `Policy.sandbox_uid` (65534, nobody) on the host through setpriv, so root's
  files are someone else's to it (its process count is its own, not the uid's: see `Policy.max_processes`).
  When a writable grant is a folder of root's that this uid cannot write (`agentkit sandbox run --rw .` as
  root), or setpriv is missing, bubblewrap instead maps host root to the sandbox uid in a user namespace: the
  command is uid 65534 inside, has no capability and no_new_privs, and what it writes belongs to root on the
  host. /etc is then shown file by file (`ETC_FILES`), so root-only files such as /etc/shadow are not there.
- **landlock** and **rlimits**: the command enters a user namespace that maps host root to the sandbox uid
  (`enter_user_namespace`, between fork and exec), then drops every capability. A real drop to nobody is not
  workable there: the interpreter usually lives under /root (a virtual environment, pyenv), which nobody
  cannot even reach. Landlock then bounds what it may touch, and Landlock ABI 6 keeps its signals inside.
  rlimits bounds no files: there the command keeps root's owner rights on files, which is why rlimits is
  refused under mode "required" and warns everywhere else. Where no user namespace can be made (a container
  runtime refusing unshare), the command becomes uid 65534 on the host instead (`drop_to`), as under bwrap
  with setpriv: the scratch copy and the private TMPDIR are handed to it.

**A writable grant of another user's folder** (`--rw /home/alice/project`, `Needs(write_paths=...)`): when
writable grants belong to an ordinary user U (neither root nor the sandbox uid; `grant_owner`), the command
runs as U itself, so what it writes there belongs to U, as the user expects. Its group is the folder's group when
U is a member of it, else U's primary group (never group 0), and it has no supplementary groups:
- bwrap: setpriv `--reuid=U --regid=G --clear-groups --no-new-privs` after bubblewrap made the mounts as root;
  without setpriv such a grant is refused (bubblewrap alone can only map root).
- landlock and rlimits: setresuid to U on the host after the Landlock rules are opened (as with `drop_to`),
  not a user namespace mapped to U: as root a process may map only its own uid into a namespace it makes, and
  one would add nothing, since the kernel checks files and signals against host uid U either way. The command
  cannot reach what U cannot (an interpreter beneath /root: `refuse_unreachable` says so before it starts).
What holds against U's other processes: the command is the init of a PID namespace of its own on every
backend (bubblewrap's; for landlock and rlimits root makes one even where a cgroup holds), so it cannot name
them to signal or trace them; on top, Landlock ABI 6 scopes its signals and abstract sockets, Landlock
forbids ptrace beyond its domain and hides /proc, and seccomp refuses ptrace and process_vm_*. Under bwrap
and landlock U's files are out of its reach except the grants; under rlimits (which confines no files) the
command may read and write whatever U may. Without a pids cgroup or a PID namespace's own pid_max, RLIMIT_NPROC
counts U's own processes too.
With the network granted, seccomp lets sockets through and bubblewrap shares the host's network namespace,
so U's own Unix sockets that trust uid U (a D-Bus session bus, ssh-agent) may be reachable: abstract ones
under bwrap and rlimits (Landlock ABI 6 scopes them), pathname ones that the command can see. The other way
round, the command is U's own process: U can signal it and, where the Yama ptrace scope allows, trace it and
read the tool's arguments; running as U gives it nothing U does not already have.
Grants of two different owners (U and V, or U and root) are refused with one error naming both.

Host paths are never chowned or chmodded. Only folders agentkit creates for the sandbox itself (a scratch
copy, the private temp dir) are handed to the uid the command runs as (`hand_over`). A writable grant that
none of these may write is refused with one error that names it (`refuse_unwritable`).
"""

from __future__ import annotations

import ctypes
import functools
import grp
import os
import pwd
import stat
from collections.abc import Iterable

from agentkit.errors import SandboxError
from agentkit.sandbox.policy import Policy

__all__ = [
    "ETC_FILES",
    "NO_USERNS_REASON",
    "closed_step",
    "drop_bounding_set",
    "drop_to",
    "enter_user_namespace",
    "grant_owner",
    "hand_over",
    "libc_handle",
    "map_ids",
    "needs_root_mapping",
    "refuse_unreachable",
    "refuse_unwritable",
]

# what programs read from /etc, shown one by one where /etc as a whole would expose root-only files
ETC_FILES = (
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/hostname", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/hosts",
    "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/ssl", "/etc/ca-certificates",
    "/etc/alternatives", "/etc/os-release", "/etc/mime.types", "/etc/protocols", "/etc/services",
)  # fmt: skip

_CLONE_NEWUSER = 0x10000000
_PR_CAPBSET_DROP = 24


def _writable_by(path: str, uid: int, gid: int) -> bool:
    """Whether `uid` (with group `gid`, without capabilities) may write the file, or create files in the
    folder, `path` (a path that does not exist needs nothing)."""
    try:
        st = os.stat(path)
    except OSError:
        return True
    return _permits(st, uid, gid, 0o3 if stat.S_ISDIR(st.st_mode) else 0o2)  # a folder: write and search


def _permits(st: os.stat_result, uid: int, gid: int, need: int) -> bool:
    """Whether the mode bits of `st` give `uid`/`gid` (no capabilities, no other group) all of `need` (rwx: 4, 2, 1)."""
    if st.st_uid == uid:
        return (st.st_mode >> 6) & need == need
    if st.st_gid == gid:
        return (st.st_mode >> 3) & need == need
    return st.st_mode & need == need


def _who(uid: int) -> str:
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def grant_owner(policy: Policy) -> tuple[int, int] | None:
    """As root: the (uid, gid) to run as when writable grants belong to an ordinary user, neither root nor the
    sandbox uid (see the module docstring); None when there is none. Grants of two such owners, or one the
    owner may not write (a folder of root's beside it, say), raise one error naming both owners."""
    owners: dict[int, str] = {}
    for path in policy.write_paths:
        try:
            uid = os.stat(path).st_uid
        except OSError:
            continue
        if uid not in (0, policy.sandbox_uid):
            owners.setdefault(uid, path)
    if not owners:
        return None
    if len(owners) > 1:
        (uid, first), (other, second) = sorted(owners.items(), reverse=True)[:2]
        _refuse_two_owners(first, uid, second, other)
    [(uid, first)] = owners.items()
    gid = _group_for(uid, os.stat(first).st_gid)
    for path in policy.write_paths:
        if not _writable_by(path, uid, gid):
            _refuse_two_owners(first, uid, path, os.stat(path).st_uid)
    return uid, gid


def _refuse_two_owners(first: str, uid: int, second: str, other: int) -> None:
    detail = f"{second!r} belongs to {_who(other)}" if other != uid else f"{second!r} is not writable even by its owner"
    raise SandboxError(
        f"the sandbox cannot make both {first!r} and {second!r} writable: as root agentkit runs sandboxed code as "
        f"the owner of such folders, here {_who(uid)} (owner of {first!r}), and {detail} (agentkit never changes "
        "the owner or mode of your files); grant the folders of one user per call"
    )


def _group_for(uid: int, folder_gid: int) -> int:
    """The group to run as the folder owner `uid`: the folder's when the user is a member of it (or the user is
    unknown here and the group has no name), else the user's primary group; never group 0, which stands for
    root's files. Anything else would give the command a group's rights its user does not have."""
    try:
        user = pwd.getpwuid(uid)
    except KeyError:
        user = None
    try:
        group = grp.getgrgid(folder_gid)
    except KeyError:
        group = None
    if user is None:
        member = group is None
    else:
        member = folder_gid == user.pw_gid or (group is not None and user.pw_name in group.gr_mem)
    if member and folder_gid != 0:
        return folder_gid
    if user is not None and user.pw_gid != 0:
        return user.pw_gid
    return 65534  # nogroup: owns nothing


OWNER_REASON = (
    "the owner of its writable folders",
    "put it where that user can reach it, or use the bwrap backend (AGENTKIT_SANDBOX_BACKEND=bwrap), which shows "
    "it inside",
)
NO_USERNS_REASON = (
    "as no user namespace can be made here",
    "install it where every user can read it (beneath /usr/local or /opt, say: a Python beneath /root, such as "
    "pyenv's, is closed to other users), or let this machine or container make user namespaces",
)


def refuse_unreachable(paths: Iterable[str], uid: int, gid: int, reason: tuple[str, str] = OWNER_REASON) -> None:
    """Before running a command as host `uid`/`gid` (a folder owner, see `grant_owner`, or the sandbox uid
    where no user namespace can be made) on the host's own file system: one clear error when that user could not
    reach one of `paths` (the program, an interpreter beneath /root, a granted folder beneath a folder of
    root's). `reason` says why the command runs as that user, and what to do."""
    why, fix = reason
    for path in paths:
        step = closed_step(path, uid, gid)
        if step is not None:
            raise SandboxError(
                f"the sandbox runs this command as {_who(uid)}, {why}, on this machine's own files, and that "
                f"user cannot reach {path!r} ({step!r} is closed to it); {fix}"
            )


def closed_step(path: str, uid: int, gid: int) -> str | None:
    """The first folder on the way to `path` that host `uid`/`gid` may not pass, if any: on the way as written
    (a virtual environment's `bin/python` beneath /root is closed even when it links to /usr/bin/python3) and
    to where its symlinks lead."""
    written = os.path.abspath(path).split("/")[:-1]  # the last part may be a symlink: its folders must open
    for parts in (written, os.path.realpath(path).split("/")):
        for depth in range(1, len(parts) + 1):
            step = "/".join(parts[:depth]) or "/"
            try:
                if not _permits(os.stat(step), uid, gid, 0o1):
                    return step
            except OSError:
                break  # not there (yet): the command says so itself
    return None


def needs_root_mapping(policy: Policy) -> bool:
    """True when a writable grant is one the sandbox uid cannot write (bwrap then maps root to it)."""
    uid = policy.sandbox_uid
    return any(not _writable_by(p, uid, uid) for p in policy.write_paths)


def refuse_unwritable(policy: Policy, *, root_mapping: bool = True) -> None:
    """Refuse writable grants that the sandbox uid (nor, with `root_mapping`, root without capabilities)
    may not write: one error naming the folder and what to do."""
    uid = policy.sandbox_uid
    for path in policy.write_paths:
        if _writable_by(path, uid, uid) or (root_mapping and _writable_by(path, 0, 0)):
            continue
        owner = os.stat(path).st_uid
        who = f"uid {uid} or as root without capabilities" if root_mapping else f"uid {uid}"
        raise SandboxError(
            f"the sandbox cannot make {path!r} writable: it belongs to uid {owner}, and as root agentkit runs "
            f"sandboxed code as {who}, which may not write there (agentkit never changes the owner or mode of "
            "your files); run agentkit as that folder's owner, or grant a folder the sandbox may write"
        )


def hand_over(path: str, uid: int, gid: int | None = None) -> None:
    """Give a folder tree that agentkit created for the sandbox (a scratch copy) to the uid (and `gid`, by
    default the same number) the command runs as.

    Only for our own temp folders. The walk goes by directory fds (`os.fwalk`), so a folder swapped for a
    symlink while it runs (by a process of an earlier call) leads nowhere else; symlinks are never followed,
    a file with a second hard link is left alone (its other name may be outside), and the walk stays on the
    folder's file system.
    """
    gid = uid if gid is None else gid
    top_dev = os.lstat(path).st_dev
    for _dirpath, dirnames, filenames, dirfd in os.fwalk(path, follow_symlinks=False):
        here = os.fstat(dirfd)
        if here.st_dev != top_dev:
            dirnames[:] = []
            continue
        if (here.st_uid, here.st_gid) != (uid, gid):
            os.fchown(dirfd, uid, gid)
        for name in filenames:
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                if (st.st_uid, st.st_gid) != (uid, gid) and st.st_nlink == 1:
                    os.chown(name, uid, gid, dir_fd=dirfd, follow_symlinks=False)
            except OSError:
                pass


@functools.cache
@functools.cache
def libc_handle() -> ctypes.CDLL:
    """libc, opened in the parent (call it before forking: nothing is loaded between fork and exec)."""
    return ctypes.CDLL(None, use_errno=True)


def enter_user_namespace(uid: int) -> None:
    """Between fork and exec, as root: become `uid` inside a new user namespace mapped to host root, with
    no supplementary groups and an empty capability set (plain system calls only)."""
    libc = libc_handle()
    os.setgroups([])
    if libc.unshare(_CLONE_NEWUSER) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"cannot create a user namespace: {os.strerror(err)}")
    map_ids(uid, 0, uid, 0)
    drop_bounding_set()  # the new namespace starts with a full bounding set
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # leaving uid 0 clears the permitted and effective sets


def map_ids(uid: int, outside_uid: int, gid: int, outside_gid: int) -> None:
    """In a user namespace this process just made: `uid`/`gid` inside are `outside_uid`/`outside_gid` on the host
    (one id each, as a process may map for itself), and supplementary groups are refused."""
    for name, text in (
        ("setgroups", "deny"),
        ("uid_map", f"{uid} {outside_uid} 1"),
        ("gid_map", f"{gid} {outside_gid} 1"),
    ):
        fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)


def drop_bounding_set() -> None:
    """Empty the capability bounding set, so that an exec'd root process starts with no capability at all."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as fh:
            last = int(fh.read())
    except OSError:
        last = 40
    libc = libc_handle()
    for cap in range(last + 1):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)


def drop_to(uid: int, gid: int | None = None) -> None:
    """Between fork and exec, as root: become `uid` (group `gid`, by default the same number, and no other) on
    the host: the sandbox uid where no user namespace can be made, or the owner of the writable grants."""
    gid = uid if gid is None else gid
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
