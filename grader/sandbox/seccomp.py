"""No network and no reach into other processes for the child: a seccomp filter.

socket() fails with EACCES. Denying the creation of sockets closes every family at once — TCP, UDP
(DNS too), raw, netlink and Unix sockets, named or abstract — where Landlock's network rules cover
TCP only and a network namespace needs user namespaces (disabled on many distributions). io_uring
is denied with it, since it can open sockets without the socket() syscall; so are system calls of
a foreign architecture (32-bit calls from a 64-bit process).

With EPERM: the keyring calls (keys outlive the process, in the user's keyring), ptrace, reading or
writing another process's memory or descriptors, prlimit(2) on any process but the caller, and
changing a file's owner or extended attributes. Where the child shares the grader's uid (no uid of
its own could be given) chmod and utime are refused too: the kernel would let it change the
grader's files' modes and times. A child with a uid of its own may chmod and utime its own files.

A single-threaded child (every job but CUDA's, whose driver starts threads) may start no thread:
clone() with CLONE_THREAD fails with EPERM, and clone3() with ENOSYS (its flags are behind a pointer
seccomp cannot read; the C library then falls back to clone()). The recorders of forbidden calls
watch the learner's thread, and torch runs one thread there, so no other thread is needed and none
can compute out of the recorders' sight. New processes stay allowed (`limits.processes`).
"""
from __future__ import annotations

import ctypes
import errno
import platform

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
CLONE_THREAD = 0x00010000
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
#: machine → the calls refused with EPERM on every child. fchmodat2, setxattrat and removexattrat have the
#: same number everywhere.
GUARDED = {
    "x86_64": {"add_key": 248, "request_key": 249, "keyctl": 250, "ptrace": 101, "process_vm_readv": 310,
               "process_vm_writev": 311, "pidfd_getfd": 438, "kcmp": 312, "chown": 92, "fchown": 93,
               "lchown": 94, "fchownat": 260, "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190,
               "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199, "setxattrat": 463,
               "removexattrat": 466},
    "aarch64": {"add_key": 217, "request_key": 218, "keyctl": 219, "ptrace": 117, "process_vm_readv": 270,
                "process_vm_writev": 271, "pidfd_getfd": 438, "kcmp": 272, "fchown": 55, "fchownat": 54,
                "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14, "lremovexattr": 15,
                "fremovexattr": 16, "setxattrat": 463, "removexattrat": 466},
}
#: machine → chmod and utime calls, refused with EPERM only where the child shares the grader's uid.
METADATA = {
    "x86_64": {"chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452, "utime": 132, "utimes": 235,
               "futimesat": 261, "utimensat": 280},
    "aarch64": {"fchmod": 52, "fchmodat": 53, "fchmodat2": 452, "utimensat": 88},
}
#: machine → prlimit64, refused when it names another process and sets a limit (reading one is allowed).
PRLIMIT = {"x86_64": 302, "aarch64": 261}
#: machine → (clone, clone3): threads refused in a single-threaded child.
CLONES = {"x86_64": (56, 435), "aarch64": (220, 435)}
#: machine → the calls that start a process (clone3 is answered ENOSYS, as for threads: the C library falls
#: back to clone).
PROCESSES = {"x86_64": (56, 57, 58), "aarch64": (220,)}
#: AUDIT_ARCH_* → connect(), denied where Unix sockets are allowed.
CONNECT = {0xC000003E: 42, 0xC00000B7: 203}


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter))]


def supported() -> bool:
    return platform.system() == "Linux" and platform.machine() in ARCHES


def _program(arch: int, calls: dict[str, int], x86: bool, local_sockets: bool,
             refused: tuple[int, ...] = (), prlimit: int | None = None,
             clones: tuple[int, int] | None = None) -> list[tuple[int, int, int, int]]:
    """BPF: foreign arch → EACCES; x32 → EACCES; a denied call → EACCES; a `refused` call → EPERM;
    prlimit(pid ≠ 0, new limit given) → EPERM; with `clones`, clone(CLONE_THREAD) → EPERM and
    clone3 → ENOSYS; else allow.

    `local_sockets`: socket(AF_UNIX, SOCK_STREAM or SOCK_SEQPACKET) is allowed (the CUDA driver listens
    on one of its own), and connect() is denied: a socket of its own, never someone else's."""
    code: list[tuple[int, int | str, int | str, int]] = [(LD_W_ABS, 0, 0, 4), (JEQ_K, 0, "deny", arch),
                                                         (LD_W_ABS, 0, 0, 0)]  # seccomp_data.arch, then .nr
    if x86:
        code.append((JGE_K, "deny", 0, X32_BIT))
    code += [(JEQ_K, "refuse", 0, n) for n in refused]
    if prlimit is not None:
        code += [(JEQ_K, 0, 6, prlimit),  # not prlimit64: on to the next test
                 (LD_W_ABS, 0, 0, 16),  # args[0]: the pid (0: the caller)
                 (JEQ_K, "allow", 0, 0),
                 (LD_W_ABS, 0, 0, 32),  # args[2], both words: the new limit, or NULL to only read
                 (JEQ_K, 0, "refuse", 0),
                 (LD_W_ABS, 0, 0, 36),
                 (JEQ_K, "allow", "refuse", 0)]
    if clones is not None:
        clone, clone3 = clones
        code += [(JEQ_K, "nosys", 0, clone3),
                 (JEQ_K, 0, 2, clone),  # not clone: on to the next test
                 (LD_W_ABS, 0, 0, 16),  # args[0], low word: the flags
                 (JSET_K, "refuse", "allow", CLONE_THREAD)]
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
    return _assemble(code)


def _assemble(code: list[tuple[int, int | str, int | str, int]]) -> list[tuple[int, int, int, int]]:
    """The program with its returns appended and the jumps to "allow", "deny" (EACCES), "refuse" (EPERM) and
    "nosys" (ENOSYS) made relative."""
    code = code + [(RET_K, 0, 0, RET_ALLOW), (RET_K, 0, 0, RET_ERRNO | errno.EACCES),
                   (RET_K, 0, 0, RET_ERRNO | errno.EPERM), (RET_K, 0, 0, RET_ERRNO | errno.ENOSYS)]
    labels = {"allow": len(code) - 4, "deny": len(code) - 3, "refuse": len(code) - 2, "nosys": len(code) - 1}
    return [(op, labels[jt] - i - 1 if isinstance(jt, str) else jt, labels[jf] - i - 1 if isinstance(jf, str) else jf, k)
            for i, (op, jt, jf, k) in enumerate(code)]


def _install(code: list[tuple[int, int, int, int]]) -> bool:
    filters = (_Filter * len(code))(*[_Filter(*op) for op in code])
    program = _Program(len(code), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) == 0


def deny_sockets(allow_local: bool = False, shared_uid: bool = False, threads: bool = True) -> bool:
    """Install the filter on this process (inherited by its children); False where unsupported.

    `allow_local`: what a CUDA child needs (see _program); the network stays closed. `shared_uid`: the
    child runs with the grader's uid, so chmod and utime are refused too. `threads=False`: no new
    thread may start."""
    if not supported():
        return False
    machine = platform.machine()
    arch, calls = ARCHES[machine]
    refused = tuple(GUARDED[machine].values()) + (tuple(METADATA[machine].values()) if shared_uid else ())
    return _install(_program(arch, calls, machine == "x86_64", allow_local, refused, PRLIMIT[machine],
                             None if threads else CLONES[machine]))


def deny_processes() -> bool:
    """Add a filter to this process: it may start no process and no thread (clone, fork, vfork → EPERM;
    clone3 → ENOSYS); False where unsupported. Filters stack: the first one's rules stay."""
    if not supported():
        return False
    machine = platform.machine()
    arch, _ = ARCHES[machine]
    code: list[tuple[int, int | str, int | str, int]] = [(LD_W_ABS, 0, 0, 4), (JEQ_K, 0, "deny", arch),
                                                         (LD_W_ABS, 0, 0, 0)]
    code += [(JEQ_K, "refuse", 0, n) for n in PROCESSES[machine]]
    code += [(JEQ_K, "nosys", "allow", CLONES[machine][1])]
    return _install(_assemble(code))
