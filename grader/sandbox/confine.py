"""What a freshly forked child does to itself before it runs untrusted code.

Order matters: limits and the clean environment first, then the working directory, then
stdio. Everything here is irreversible for the child, which is the point.
"""
from __future__ import annotations

import os
import resource
from typing import Any

SAFE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}


def vm_size_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def apply_rlimits(limits: dict[str, Any]) -> None:
    """Memory on top of what the warm interpreter already maps; CPU; file size; core dumps off."""
    def cap(which: int, value: int) -> None:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_AS, vm_size_bytes() + int(limits["memory_mb"]) * 1024 * 1024)
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_now = int(used.ru_utime + used.ru_stime)
    cap(resource.RLIMIT_CPU, cpu_now + int(limits["total_s"]) + 1)
    cap(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * 1024 * 1024)
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_NPROC, int(limits["processes"]))


def clean_environment(workdir: str, extra: dict[str, str]) -> None:
    """No teacher variables, tokens or paths leak into the child; HOME and TMPDIR are its own."""
    tmp = os.path.join(workdir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    os.environ.clear()
    os.environ.update(SAFE_ENV)
    os.environ.update({"HOME": workdir, "TMPDIR": tmp, "MPLCONFIGDIR": os.path.join(workdir, ".mpl")})
    os.environ.update(extra)
    import tempfile
    tempfile.tempdir = tmp


def redirect_stdio(stdout_fd: int, stderr_fd: int) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    os.close(stdout_fd)
    os.close(stderr_fd)


def confine(request: dict[str, Any]) -> list[str]:
    """Kernel confinement of the child (file access, network). Returns what was applied."""
    return []


def describe(request: dict[str, Any]) -> list[str]:
    """What every child of this server is confined by, for the grading report."""
    return ["process-group", "subreaper", "rlimits", "clean-environment"]
