"""Who a sandboxed command is when agentkit runs as root: never root, and never with a capability.

- **bwrap**: the command becomes `Policy.sandbox_uid` (65534, nobody) on the host through setpriv, so root's
  files are someone else's to it and RLIMIT_NPROC binds. When a writable grant is a folder of root's that
  this uid cannot write (`agentkit sandbox run --rw .` as root), or setpriv is missing, bubblewrap instead
  maps host root to the sandbox uid in a user namespace: the command is uid 65534 inside, has no capability
  and no_new_privs, and what it writes belongs to root on the host. /etc is then shown file by file
  (`ETC_FILES`), so root-only files such as /etc/shadow are not there to read.
- **landlock** and **rlimits**: the command enters a user namespace that maps host root to the sandbox uid
  (`enter_user_namespace`, between fork and exec), then drops every capability. A real drop to nobody is not
  workable there: the interpreter usually lives under /root (a virtual environment, pyenv), which nobody
  cannot even reach. Landlock then bounds what it may touch, and Landlock ABI 6 keeps its signals inside.
  rlimits bounds no files: there the command keeps root's owner rights on files, which is why rlimits is
  refused under mode "required" and warns everywhere else. Where no user namespace can be made (a container
  runtime refusing unshare), the command becomes uid 65534 on the host instead (`drop_to`), as under bwrap
  with setpriv: the scratch copy and the private TMPDIR are handed to it.

Host paths are never chowned or chmodded. Only folders agentkit creates for the sandbox itself (a scratch
copy, the private temp dir) are handed to the sandbox uid (`hand_over`). A writable grant that neither the
sandbox uid nor root-without-capabilities may write (a folder of another user's) is refused with one error
that names it (`refuse_unwritable`).
"""

from __future__ import annotations

import ctypes
import functools
import os
import stat

from agentkit.errors import SandboxError
from agentkit.sandbox.policy import Policy

__all__ = [
    "ETC_FILES",
    "drop_bounding_set",
    "drop_to",
    "enter_user_namespace",
    "hand_over",
    "libc_handle",
    "map_ids",
    "needs_root_mapping",
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
    need = 0o3 if stat.S_ISDIR(st.st_mode) else 0o2  # a folder: write and search
    if st.st_uid == uid:
        return (st.st_mode >> 6) & need == need
    if st.st_gid == gid:
        return (st.st_mode >> 3) & need == need
    return st.st_mode & need == need


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


def hand_over(path: str, uid: int) -> None:
    """Give a folder tree that agentkit created for the sandbox (a scratch copy) to the sandbox uid.

    Only for our own temp folders. The walk goes by directory fds (`os.fwalk`), so a folder swapped for a
    symlink while it runs (by a process of an earlier call) leads nowhere else; symlinks are never followed,
    a file with a second hard link is left alone (its other name may be outside), and the walk stays on the
    folder's file system.
    """
    top_dev = os.lstat(path).st_dev
    for _dirpath, dirnames, filenames, dirfd in os.fwalk(path, follow_symlinks=False):
        here = os.fstat(dirfd)
        if here.st_dev != top_dev:
            dirnames[:] = []
            continue
        if here.st_uid != uid:
            os.fchown(dirfd, uid, uid)
        for name in filenames:
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                if st.st_uid != uid and st.st_nlink == 1:
                    os.chown(name, uid, uid, dir_fd=dirfd, follow_symlinks=False)
            except OSError:
                pass


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


def drop_to(uid: int) -> None:
    """Between fork and exec, as root, where no user namespace can be made: become `uid` on the host."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
