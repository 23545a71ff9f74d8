"""Landlock through ctypes: the kernel's unprivileged file, TCP and signal sandbox (Linux ≥ 5.13).

`restrict(read=…, write=…)` lets the calling process (and every process it later forks) read only
the given paths, write only under the given folders, make no TCP connection (ABI ≥ 4), and
signal or reach abstract Unix sockets of no process outside its own sandbox (ABI ≥ 6). It is
irreversible and needs no root: PR_SET_NO_NEW_PRIVS first, then three syscalls.
"""
from __future__ import annotations

import ctypes
import os
import platform
import stat

from . import switches

# Syscall numbers are the same on every architecture that has Landlock (asm-generic and x86_64).
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2
PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
MAKE_SYM, REFER, TRUNCATE, IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

#: The file-system rights each ABI version knows about.
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only rights a file (not a folder) takes
READ = READ_FILE | READ_DIR
#: A private writable folder: create, change and remove files and folders; no devices, FIFOs, sockets,
#: symlinks or execution (a FIFO or a symlink named like an output file would trap whoever reads it).
WRITE = READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | REFER | TRUNCATE


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class LandlockError(OSError):
    pass


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi() -> int:
    """The kernel's Landlock ABI version; 0 where there is none (old kernel, not Linux, or disabled).

    `TORCHGRADE_PRETEND_NO_LANDLOCK=1` makes it 0, to see what a kernel without Landlock does.
    """
    if switches.on("TORCHGRADE_PRETEND_NO_LANDLOCK"):
        return 0
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64", "riscv64", "arm64"):
        return 0
    try:
        version = _libc().syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise LandlockError(errno, f"landlock {what}: {os.strerror(errno)}")
    return result


def restrict(read: list[str], write: list[str], read_write_files: list[str] = (), *,
             write_in_place: list[str] = (), network: bool = True, scopes: bool = True) -> list[str]:
    """Confine this process for good; return what was applied, e.g. ["landlock-fs", "landlock-tcp"].

    `read`: folders or files it may read; `write`: folders it may read and change;
    `read_write_files`: device files it may read, write and ioctl (/dev/null, a GPU's);
    `write_in_place`: folders whose existing files it may read and write, but not create, remove or
    execute (/proc/self for CUDA, which names its threads there). Paths that do not exist are skipped. Raises LandlockError where the kernel has no Landlock.
    """
    version = abi()
    if version < 1:
        raise LandlockError(38, "landlock: not supported by this kernel")
    handled_fs = _FS_BY_ABI.get(version, _FS_BY_ABI[5])
    network = network and version >= 4
    scopes = scopes and version >= 6
    attr = _RulesetAttr(handled_fs, NET_BIND_TCP | NET_CONNECT_TCP if network else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if scopes else 0)
    libc = _libc()
    ruleset = _check(libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                                  ctypes.c_uint32(0)), "create_ruleset")
    try:
        rules = [(p, READ) for p in read] + [(p, WRITE) for p in write] + \
                [(p, READ_FILE | WRITE_FILE | IOCTL_DEV) for p in read_write_files] + \
                [(p, READ | WRITE_FILE | TRUNCATE) for p in write_in_place]
        for path, rights in rules:
            _add_path_rule(libc, ruleset, path, rights & handled_fs)
        _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(libc.syscall(SYS_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)), "restrict_self")
    finally:
        os.close(ruleset)
    applied = ["landlock-fs"]
    if network:
        applied.append("landlock-tcp")
    if scopes:
        applied.append("landlock-scope")
    return applied


#: The rights that change the file system: what a further layer (restrict_changes) takes away.
CHANGES = WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO | \
    MAKE_BLOCK | MAKE_SYM | REFER | TRUNCATE


def restrict_changes(beneath: list[str]) -> bool:
    """Add a layer to this process's confinement (and every process it forks): it may change the file system
    only beneath the folders `beneath`; reading, and all it could do before elsewhere, stay as they were.
    Files opened before stay writable. False where the kernel has no Landlock."""
    version = abi()
    if version < 1:
        return False
    handled = CHANGES & _FS_BY_ABI.get(version, _FS_BY_ABI[5])
    attr = _RulesetAttr(handled, 0, 0)
    libc = _libc()
    ruleset = _check(libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                                  ctypes.c_uint32(0)), "create_ruleset")
    try:
        for path in beneath:
            _add_path_rule(libc, ruleset, path, handled)
        _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(libc.syscall(SYS_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)), "restrict_self")
    finally:
        os.close(ruleset)
    return True


def _add_path_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not on this machine: nothing to allow
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= FILE_RIGHTS
        rule = _PathBeneathAttr(rights, fd)
        # A path the kernel will not take a rule for (an odd file system) is left out: less access, never more.
        libc.syscall(SYS_ADD_RULE, ruleset, ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0))
    finally:
        os.close(fd)
