"""A child of its own: its own uid and gid (under root), its own IPC namespace, and a view of the files it needs.

A child that runs with the grader's uid may do to the grader's processes and files whatever the
kernel lets that uid do: lower the fork server's rlimits with prlimit(2), signal or ptrace it,
chmod, chown, utime or setxattr the grader's files (Landlock covers contents, not metadata). Under
root the child therefore becomes a uid and gid nobody else has (`BASE_ID` + its pid, no
supplementary groups) before the learner's code runs: the kernel then refuses all of that, because
the child owns nothing outside its work folder and has no capability.

An unprivileged uid cannot walk into folders that only root may enter (/root, where pyenv puts
Python; the grader's 0700 scratch folders). Where a folder the child needs lies below one, the child
gets a private mount namespace in which that folder is a small read-only tmpfs holding only the
paths it needs, bind-mounted at their own paths: the paths stay the same, and everything else
below is simply not there. The course folder gets the same view whatever its permissions, so not
even the names, sizes and times of solutions/ and exercises/ show.

The IPC namespace gives the child SysV shared memory, semaphores and message queues of its own,
destroyed with it: nothing outlives it or reaches a later child.
"""
from __future__ import annotations

import ctypes
import os
import stat
from pathlib import Path

from . import namespaces, switches

CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_DUMPABLE = 4
#: The child's uid and gid are this plus its pid: unique among live processes, unprivileged, in no group,
#: and far above the ids distributions give accounts (below 65536) and subordinate id ranges (a few million).
BASE_ID = 0x60000000


class Unavailable(Exception):
    """A protection this machine cannot give; the message says which and why, for the teacher."""


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _fail(what: str) -> OSError:
    errno = ctypes.get_errno()
    return OSError(errno, f"{what}: {os.strerror(errno)}")


def own_id() -> int:
    """The uid (and gid) a child of this pid becomes under root."""
    return BASE_ID + os.getpid()


def new_ipc_namespace() -> bool:
    """unshare(CLONE_NEWIPC) for a root child (a non-root child gets one with its user namespace)."""
    return _libc().unshare(CLONE_NEWIPC) == 0


def blocked_at(path: str) -> str | None:
    """The first folder on the way to `path` (from /) that a user who is neither its owner nor in its group
    may not enter; None where the way is open."""
    parts = Path(os.path.abspath(path)).parts
    current = Path(parts[0])
    for part in parts[1:]:
        try:
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return str(current)
        except OSError:
            return None  # not there: nothing to reach
        current = current / part
    return None


#: More files than a job's inputs ever hold (a submission, the tasks): a tree this big is not opened.
MAX_OPENED = 20_000


def open_to_others(paths: list[str]) -> None:
    """The job's inputs (its staged submission, the tasks) readable by a uid that is neither owner nor in
    the group: o+r on files, o+rx on folders, where missing. They are the grader's private copies for
    this job, below folders only root may enter; a learner's 0600 file must not fail to import as
    another uid. Symbolic links are left alone. Raises Unavailable for a tree too big to walk."""
    seen = 0
    for top in paths:
        stack = [top]
        while stack:
            path = stack.pop()
            seen += 1
            if seen > MAX_OPENED:
                raise Unavailable(f"{top} holds more than {MAX_OPENED} files")
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                want = stat.S_IROTH | stat.S_IXOTH
                stack += [os.path.join(path, name) for name in os.listdir(path)]
            elif stat.S_ISREG(info.st_mode):
                want = stat.S_IROTH
            else:
                continue
            if info.st_mode & want != want:
                os.chmod(path, stat.S_IMODE(info.st_mode) | want)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def make_reachable(paths: list[str], hide: list[str] = ()) -> list[str]:
    """Make every path in `paths` reachable by an unprivileged uid, and the folders in `hide` (the course)
    show nothing but those paths; return the folders replaced by a view.

    For each folder that blocks the way (see blocked_at) or is to be hidden, a private mount namespace
    gets a read-only tmpfs on it, holding the needed paths below it as bind mounts of the real ones (a
    folder inside another such folder is covered by the outer one). Raises Unavailable where mounts are
    not allowed (no CAP_SYS_ADMIN, e.g. a container without it)."""
    paths = [os.path.abspath(p) for p in paths if os.path.lexists(p)]
    folders = {where for where in map(blocked_at, paths) if where is not None}
    folders |= {os.path.abspath(h) for h in hide if os.path.isdir(h) and os.path.abspath(h) != "/"}
    outer = [f for f in folders if not any(g != f and _inside(f, g) for g in folders)]
    blocked: dict[str, list[str]] = {folder: [p for p in paths if _inside(p, folder)] for folder in outer}
    if not blocked:
        return []
    libc = _libc()
    if libc.unshare(CLONE_NEWNS) != 0:
        raise Unavailable(f"no private mount namespace ({_fail('unshare').strerror})")
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise Unavailable(f"mounts cannot be made private ({_fail('mount').strerror})")
    for folder, inside in sorted(blocked.items()):
        # Outermost needed paths only: one bind mount carries what lies below it.
        inside = sorted(set(inside))
        kept = [p for p in inside if not any(q != p and p.startswith(q.rstrip("/") + "/") for q in inside)]
        handles = {p: os.open(p, os.O_PATH | os.O_CLOEXEC) for p in kept}  # before the tmpfs hides them
        try:
            if libc.mount(b"tmpfs", os.fsencode(folder), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=1m") != 0:
                raise Unavailable(f"no tmpfs over {folder} ({_fail('mount').strerror})")
            for path, handle in handles.items():
                is_dir = stat.S_ISDIR(os.fstat(handle).st_mode)
                parent = os.path.dirname(path)
                os.makedirs(parent, mode=0o755, exist_ok=True)
                if is_dir:
                    os.makedirs(path, mode=0o755, exist_ok=True)
                else:
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
                if libc.mount(f"/proc/self/fd/{handle}".encode(), os.fsencode(path), None, MS_BIND | MS_REC, None) != 0:
                    raise Unavailable(f"no bind mount of {path} ({_fail('mount').strerror})")
            _chmod_tree(folder)
            # Read-only from now on: nothing can be added to the view (it is root's tmpfs anyway).
            libc.mount(b"none", os.fsencode(folder), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
        finally:
            for handle in handles.values():
                os.close(handle)
    return sorted(blocked)


def _chmod_tree(folder: str) -> None:
    """The view's own folders (made under a umask) open to the child: 0755. The bind mounts keep their own."""
    os.chmod(folder, 0o755)
    for top, dirs, _ in os.walk(folder):
        dirs[:] = [name for name in dirs if not os.path.ismount(os.path.join(top, name))]
        for name in dirs:
            os.chmod(os.path.join(top, name), 0o755)


def hand_over(workdir: str, uid: int, gid: int) -> None:
    """The work folder and what is already in it (tmp/, made before) belong to the child."""
    os.chown(workdir, uid, gid)
    for top, dirs, files in os.walk(workdir):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), uid, gid)


def become(uid: int, gid: int) -> None:
    """setgroups([]), setresgid, setresuid: from here the child has no privilege and no group of the
    grader's. The bounding set goes first (it needs a capability); the uid change clears the rest.
    The child is made dumpable again so that its own /proc/self files are its own (CUDA writes there)."""
    namespaces.drop_bounding_set()
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise Unavailable("the uid did not change")
    _libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)


def wanted() -> bool:
    """Whether children of this process drop to a uid of their own: under root, unless switched off to
    try the fallback (TORCHGRADE_NO_OWN_USER=1)."""
    return os.geteuid() == 0 and not switches.on("TORCHGRADE_NO_OWN_USER")
