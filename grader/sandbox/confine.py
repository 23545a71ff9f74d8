"""What a freshly forked child does to itself before it runs untrusted code.

Order matters: the clean environment, the working directory, stdio and rlimits first, then
`confine`: a user and network namespace, no capabilities, Landlock, the seccomp socket filter.
Everything here is irreversible for the child, which is the point.
"""
from __future__ import annotations

import os
import resource
from typing import Any

from . import landlock, namespaces, paths, seccomp, switches


class Refused(Exception):
    """The job requires a confinement this kernel cannot give (e.g. Landlock under `refuse`)."""

SAFE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}


def status_bytes(field: str = "VmSize:") -> int:
    """A size from /proc/self/status (VmSize: the address space; VmData: private writable memory)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def apply_rlimits(limits: dict[str, Any], gpu: bool = False) -> None:
    """Memory on top of what the warm interpreter already has; CPU; file size; core dumps off."""
    def cap(which: int, value: int) -> None:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    extra = int(limits["memory_mb"]) * 1024 * 1024
    if gpu:
        # CUDA reserves tens of GB of address space up front and fails under RLIMIT_AS; RLIMIT_DATA
        # counts only private writable memory (every tensor on the CPU), not those reservations.
        cap(resource.RLIMIT_DATA, status_bytes("VmData:") + extra)
    else:
        cap(resource.RLIMIT_AS, status_bytes("VmSize:") + extra)
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_now = int(used.ru_utime + used.ru_stime)
    soft = cpu_now + cpu_seconds(limits)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard == resource.RLIM_INFINITY or hard > soft:  # SIGXCPU at soft; SIGKILL a second later if ignored
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1 if hard == resource.RLIM_INFINITY else min(hard, soft + 1)))
    cap(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * 1024 * 1024)
    cap(resource.RLIMIT_CORE, 0)


def uses_gpu(request: dict[str, Any]) -> bool:
    """The job asked for CUDA, and this machine has NVIDIA device files."""
    return bool(request.get("gpu")) and bool(paths.gpu_devices())


def cpu_seconds(limits: dict[str, Any]) -> int:
    """The CPU time a job's child may use, in whole seconds (at least 1)."""
    chosen = limits.get("cpu_s")
    return max(1, int(chosen) if chosen is not None else int(limits["total_s"]) + 1)


#: A child whose job does not use the GPU sees none. torch asks the driver how many GPUs there are at
#: the first backward pass (to start a thread per GPU): in a child graded as on a CPU machine (CUDA off
#: on purpose, or found broken in the sandbox) that would start the driver, and its threads, for
#: nothing, and bring whatever the driver does into a grading that must match a CPU machine's.
NO_GPU = {"CUDA_VISIBLE_DEVICES": "", "HIP_VISIBLE_DEVICES": "", "ROCR_VISIBLE_DEVICES": ""}


def clean_environment(workdir: str, extra: dict[str, str], gpu_job: bool = False) -> None:
    """No teacher variables, tokens or paths leak into the child; HOME and TMPDIR are its own."""
    tmp = os.path.join(workdir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    gpu = {name: os.environ[name] for name in switches.GPU_ENVIRONMENT if name in os.environ}
    os.environ.clear()
    os.environ.update(SAFE_ENV)
    os.environ.update(gpu)  # CUDA reads CUDA_VISIBLE_DEVICES when the child first uses it
    if not gpu_job:
        os.environ.update(NO_GPU)
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


def confine(request: dict[str, Any], read_only: list[str], in_pids_cgroup: bool = False) -> list[str]:
    """Kernel confinement of this child; returns what was applied, e.g. ["landlock-fs", …].

    Reads: `read_only` (Python, grader, system libraries) and the job's `readable`; writes: its
    `workdir` only. Raises Refused when the job `require`s something that could not be applied.
    A user (and network) namespace is made only where it adds something: a per-job process
    limit for a user without a pids cgroup, or no network where seccomp is not available.
    """
    applied: list[str] = []
    if (os.geteuid() != 0 and not in_pids_cgroup) or not seccomp.supported():
        applied += namespaces.enter_user_and_network_namespace()
    if "user-namespace" in applied and os.geteuid() != 0:
        # Counted per user namespace, so this is a limit on this job's processes, not on the user's.
        resource.setrlimit(resource.RLIMIT_NPROC, (int(request["limits"]["processes"]),) * 2)
        applied.append("nproc-per-namespace")
    if namespaces.drop_capabilities():
        applied.append("no-capabilities")
    # The CUDA driver, on its first use in the child, names its threads under /proc/self and listens on
    # an abstract Unix socket of its own (tested on an H200, benchmarks/gpu_diagnose.py): a CUDA job's
    # children may write their own /proc files and make Unix sockets, but connect to none. Other jobs,
    # GPU machine or not, get none of it.
    gpu = uses_gpu(request)
    try:
        applied += landlock.restrict(read=list(read_only) + list(request.get("readable") or ()),
                                     write=[request["workdir"]], read_write_files=paths.read_write_files(gpu),
                                     write_in_place=["/proc/self"] if gpu else [])
    except landlock.LandlockError as exc:
        if "landlock" in (request.get("require") or ()):
            raise Refused(f"Landlock is required (course.yaml sandbox.without_landlock: refuse) but {exc.strerror}")
    if seccomp.deny_sockets(allow_local=gpu):
        applied.append("seccomp-unix-listen-only" if gpu else "seccomp-no-sockets")
    return applied


#: What every child of a fork server is confined by, whatever its kernel: listed before the rest.
BASE = ("process-group", "subreaper", "rlimits", "clean-environment")
