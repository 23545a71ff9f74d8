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
#: connect(), denied where Unix sockets are allowed: a socket of one's own, never someone else's.
CONNECT = {"x86_64": 42, "aarch64": 203}


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter))]


def supported() -> bool:
    return platform.system() == "Linux" and platform.machine() in ARCHES


def _program(arch: int, numbers: list[int], x86: bool) -> list[tuple[int, int, int, int]]:
    """BPF: foreign arch → EACCES; x32 → EACCES; a denied number → EACCES; else allow."""
    deny = RET_ERRNO | errno.EACCES
    body: list[tuple[int, int, int, int]] = [(LD_W_ABS, 0, 0, 0)]  # seccomp_data.nr
    if x86:
        body.append((JGE_K, 0, 0, X32_BIT))  # jt patched below
    body += [(JEQ_K, 0, 0, n) for n in numbers]
    body.append((RET_K, 0, 0, RET_ALLOW))
    body.append((RET_K, 0, 0, deny))
    deny_at = len(body) - 1
    for i, (code, _, _, k) in enumerate(body):
        if code in (JEQ_K, JGE_K):
            body[i] = (code, deny_at - i - 1, 0, k)
    head = [(LD_W_ABS, 0, 0, 4), (JEQ_K, 0, len(body) - 1, arch)]  # seccomp_data.arch; else → deny (last)
    return head + body


def _program_local_sockets(arch: int, calls: dict[str, int], x86: bool,
                           deny_connect: int | None) -> list[tuple[int, int, int, int]]:
    """BPF: as _program, but socket(AF_UNIX, SOCK_STREAM or SOCK_SEQPACKET) is allowed (the CUDA driver
    listens on one of its own), and connect() is denied: a socket of its own, never someone else's."""
    deny = RET_ERRNO | errno.EACCES
    code: list[tuple[int, int | str, int | str, int]] = [(LD_W_ABS, 0, 0, 4), (JEQ_K, 0, "deny", arch),
                                                         (LD_W_ABS, 0, 0, 0)]
    if x86:
        code.append((JGE_K, "deny", 0, X32_BIT))
    code += [(JEQ_K, "deny", 0, n) for name, n in calls.items() if name != "socket"]
    if deny_connect is not None:
        code.append((JEQ_K, "deny", 0, deny_connect))
    code += [(JEQ_K, 0, "allow", calls["socket"]),
             (LD_W_ABS, 0, 0, 16),  # seccomp_data.args[0], low word: the address family
             (JEQ_K, 0, "deny", AF_UNIX),
             (LD_W_ABS, 0, 0, 24),  # args[1], low word: the type, with SOCK_CLOEXEC / SOCK_NONBLOCK
             (AND_K, 0, 0, 0xF),
             (JEQ_K, "allow", 0, SOCK_STREAM),
             (JEQ_K, "allow", "deny", SOCK_SEQPACKET),  # what the CUDA driver listens on
             (RET_K, 0, 0, RET_ALLOW), (RET_K, 0, 0, deny)]
    labels = {"allow": len(code) - 2, "deny": len(code) - 1}
    return [(op, labels[jt] - i - 1 if isinstance(jt, str) else jt, labels[jf] - i - 1 if isinstance(jf, str) else jf, k)
            for i, (op, jt, jf, k) in enumerate(code)]


def deny_sockets(allow_local: bool = False, deny_connect: bool = True) -> bool:
    """Install the filter on this process (inherited by its children); False where unsupported.

    `allow_local`: Unix sockets stay allowed (what a CUDA child needs; the network stays closed)."""
    if not supported():
        return False
    arch, calls = ARCHES[platform.machine()]
    x86 = platform.machine() == "x86_64"
    connect = CONNECT[platform.machine()] if deny_connect else None
    code = _program_local_sockets(arch, calls, x86, connect) if allow_local else _program(arch, list(calls.values()), x86)
    filters = (_Filter * len(code))(*[_Filter(*op) for op in code])
    program = _Program(len(code), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) == 0
