"""No network for the child: a seccomp filter that makes socket() fail with EACCES.

Denying the creation of sockets closes every family at once — TCP, UDP (DNS too), raw, netlink
and Unix sockets, named or abstract — where Landlock's network rules cover TCP only and a network
namespace needs user namespaces (disabled on many distributions). io_uring is denied with it,
since it can open sockets without the socket() syscall; so are system calls of a foreign
architecture (32-bit calls from a 64-bit process). Nothing else is filtered.
"""
from __future__ import annotations

import ctypes
import errno
import platform

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
LD_W_ABS, JEQ_K, JGE_K, RET_K = 0x20, 0x15, 0x35, 0x06
X32_BIT = 0x40000000
AF_UNIX = 1
#: Connection-based types only: a datagram socket could sendto() any process's socket without connect().
SOCK_STREAM, SOCK_SEQPACKET = 1, 5
AND_K = 0x54

#: machine → (AUDIT_ARCH_*, {syscall: number}) for the calls denied.
ARCHES = {
    "x86_64": (0xC000003E, {"socket": 41, "io_uring_setup": 425}),
    "aarch64": (0xC00000B7, {"socket": 198, "io_uring_setup": 425}),
}
#: AUDIT_ARCH_* → connect(), denied where Unix sockets are allowed.
CONNECT = {0xC000003E: 42, 0xC00000B7: 203}


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter))]


def supported() -> bool:
    return platform.system() == "Linux" and platform.machine() in ARCHES


def _program(arch: int, calls: dict[str, int], x86: bool, local_sockets: bool) -> list[tuple[int, int, int, int]]:
    """BPF: foreign arch → EACCES; x32 → EACCES; a denied call → EACCES; else allow.

    `local_sockets`: socket(AF_UNIX, SOCK_STREAM or SOCK_SEQPACKET) is allowed (the CUDA driver listens
    on one of its own), and connect() is denied: a socket of its own, never someone else's."""
    code: list[tuple[int, int | str, int | str, int]] = [(LD_W_ABS, 0, 0, 4), (JEQ_K, 0, "deny", arch),
                                                         (LD_W_ABS, 0, 0, 0)]  # seccomp_data.arch, then .nr
    if x86:
        code.append((JGE_K, "deny", 0, X32_BIT))
    if not local_sockets:
        code += [(JEQ_K, "deny", 0, n) for n in calls.values()]
    else:
        code += [(JEQ_K, "deny", 0, n) for name, n in calls.items() if name != "socket"]
        code += [(JEQ_K, "deny", 0, CONNECT[arch]),
                 (JEQ_K, 0, "allow", calls["socket"]),
                 (LD_W_ABS, 0, 0, 16),  # seccomp_data.args[0], low word: the address family
                 (JEQ_K, 0, "deny", AF_UNIX),
                 (LD_W_ABS, 0, 0, 24),  # args[1], low word: the type, with SOCK_CLOEXEC / SOCK_NONBLOCK
                 (AND_K, 0, 0, 0xF),
                 (JEQ_K, "allow", 0, SOCK_STREAM),
                 (JEQ_K, "allow", "deny", SOCK_SEQPACKET)]  # what the CUDA driver listens on
    code += [(RET_K, 0, 0, RET_ALLOW), (RET_K, 0, 0, RET_ERRNO | errno.EACCES)]
    labels = {"allow": len(code) - 2, "deny": len(code) - 1}
    return [(op, labels[jt] - i - 1 if isinstance(jt, str) else jt, labels[jf] - i - 1 if isinstance(jf, str) else jf, k)
            for i, (op, jt, jf, k) in enumerate(code)]


def deny_sockets(allow_local: bool = False) -> bool:
    """Install the filter on this process (inherited by its children); False where unsupported.

    `allow_local`: what a CUDA child needs (see _program); the network stays closed."""
    if not supported():
        return False
    arch, calls = ARCHES[platform.machine()]
    code = _program(arch, calls, platform.machine() == "x86_64", allow_local)
    filters = (_Filter * len(code))(*[_Filter(*op) for op in code])
    program = _Program(len(code), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) == 0
