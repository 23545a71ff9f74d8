"""A new user, network and IPC namespace for a child of a grader that is not root; and no capabilities left.

In its own user namespace (uid and gid mapped to themselves) the child counts its processes
apart from the rest of the user's, so RLIMIT_NPROC becomes a per-job limit for a grader that does
not run as root and has no pids cgroup; its own network namespace (made in the same call) has
nothing but a loopback that is down, which matters where the seccomp filter is unavailable; its own
IPC namespace holds SysV shared memory, semaphores and queues that die with it. Under root the child
gets a uid and an IPC namespace of its own instead (identity.py). Where user namespaces are
disabled, the server counts the job's processes itself.
Dropping every capability afterwards matters most for a grader run as root: the child is then
root without root's powers (no mount, reboot, module loading, raw sockets, killing others).
"""
from __future__ import annotations

import ctypes
import os

from . import switches

CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWIPC = 0x10000000, 0x40000000, 0x08000000
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_SET_SECUREBITS = 24, 47, 4, 28
SECBITS_LOCKED_NOROOT = 0x2F  # NOROOT, NO_SETUID_FIXUP, KEEP_CAPS_LOCKED, with their locks
CAPABILITY_VERSION_3 = 0x20080522
LAST_CAP = 63


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def enter_user_and_network_namespace() -> list[str]:
    """unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC), ids mapped to themselves; [] where not allowed."""
    if switches.on("TORCHGRADE_NO_USERNS"):
        return []
    uid, gid = os.geteuid(), os.getegid()
    try:
        if _libc().unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC) != 0:
            return []
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    except (OSError, AttributeError):
        return []
    return ["user-namespace", "network-namespace", "ipc-namespace"]


def drop_bounding_set() -> None:
    """No capability can come back through an exec: the bounding and ambient sets emptied (this needs
    CAP_SETPCAP, so it comes before a uid change)."""
    try:
        libc = _libc()
        for cap in range(LAST_CAP + 1):
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails quietly for caps this kernel lacks
        libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux
        pass


def drop_capabilities() -> bool:
    """No capability now or after any exec; True if the kernel agreed."""
    drop_bounding_set()
    try:
        libc = _libc()
        libc.prctl(PR_SET_SECUREBITS, SECBITS_LOCKED_NOROOT, 0, 0, 0)
        header = _CapHeader(CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        return libc.capset(ctypes.byref(header), data) == 0
    except (OSError, AttributeError):  # not Linux
        return False
