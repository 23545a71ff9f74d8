"""What a freshly forked child does to itself before it runs untrusted code.

Order matters: the clean environment, the working directory, stdio and rlimits first, then
`confine`: a uid and an IPC namespace of the child's own (under root) or a user, network and IPC
namespace (otherwise), no capabilities, Landlock, the seccomp filter.
Everything here is irreversible for the child, which is the point.
"""
from __future__ import annotations

import os
import resource
from typing import Any

from . import identity, landlock, namespaces, paths, seccomp, switches


class Refused(Exception):
    """The job requires a confinement this kernel cannot give (e.g. Landlock under `refuse`)."""

#: USER and LOGNAME: getpass.getuser() reads them first, where the child's own uid has no name to look up.
SAFE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
            "USER": "learner", "LOGNAME": "learner"}


def status_bytes(field: str = "VmSize:") -> int:
    """A size from /proc/self/status (VmSize: the address space; VmData: private writable memory)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def apply_rlimits(limits: dict[str, Any], gpu: bool = False, steps: list[str] | tuple[str, ...] = ()) -> None:
    """Memory on top of what the warm interpreter already has; CPU; file size; core dumps off.

    Set from the job's limits, soft and hard alike, never taken from the server: a server whose own
    limits were changed (it should not be possible, see identity.py) passes nothing on. Only a grader
    that is not root, whose server's hard limit is lower, gets that lower limit (it cannot raise it)."""
    def set_exactly(which: int, soft: int, hard: int | None = None) -> None:
        hard = soft if hard is None else hard
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):  # above the hard limit, without the privilege to raise it
            _, current = resource.getrlimit(which)
            if current == resource.RLIM_INFINITY:
                raise
            lower = [current if v == resource.RLIM_INFINITY else min(v, current) for v in (soft, hard)]
            resource.setrlimit(which, (lower[0], lower[1]))

    extra = int(limits["memory_mb"]) * 1024 * 1024
    if gpu:
        # CUDA reserves tens of GB of address space up front and fails under RLIMIT_AS; RLIMIT_DATA
        # counts only private writable memory (every tensor on the CPU), not those reservations.
        set_exactly(resource.RLIMIT_DATA, status_bytes("VmData:") + extra)
        set_exactly(resource.RLIMIT_AS, resource.RLIM_INFINITY)
    else:
        set_exactly(resource.RLIMIT_AS, status_bytes("VmSize:") + extra)
        set_exactly(resource.RLIMIT_DATA, resource.RLIM_INFINITY)
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime) + cpu_seconds(limits, steps)
    set_exactly(resource.RLIMIT_CPU, soft, soft + 1)  # SIGXCPU at soft; SIGKILL a second later if ignored
    set_exactly(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * 1024 * 1024)
    set_exactly(resource.RLIMIT_CORE, 0)


def uses_gpu(request: dict[str, Any]) -> bool:
    """The job asked for CUDA, and this machine has NVIDIA device files."""
    return bool(request.get("gpu")) and bool(paths.gpu_devices())


def cpu_seconds(limits: dict[str, Any], steps: list[str] | tuple[str, ...] = ()) -> int:
    """The CPU time a job's child may use, in whole seconds (at least 1): `cpu_s`, else the sum of its
    scheduled steps' limits (plus a second for starting), else `total_s` + 1."""
    chosen = limits.get("cpu_s")
    if chosen is None:
        total = total_cpu_seconds(limits, steps)
        chosen = total + 1 if total is not None else float(limits["total_s"]) + 1
    return max(1, int(chosen))


def total_cpu_seconds(limits: dict[str, Any], steps: list[str] | tuple[str, ...]) -> float | None:
    """The CPU time of all the job's steps together: each step's limit, once per step scheduled (None
    without a per-step limit or a schedule, or where `cpu_s` says otherwise)."""
    if limits.get("cpu_s") is not None:
        return float(limits["cpu_s"])
    if limits.get("step_cpu_s") is None or not steps:
        return None
    return float(limits["step_cpu_s"]) * len(steps)


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
    """Kernel confinement of this child; returns what was applied, e.g. ["own-user", "landlock-fs", …].

    Reads: `read_only` (Python, grader, system libraries) and the job's `readable`; writes: its
    `workdir` only. Under root the child becomes a uid of its own with an IPC namespace of its own
    (identity.py); otherwise it enters a user, network and IPC namespace. Raises Refused when the job
    `require`s something that could not be applied ("landlock", "own-user", "ipc-namespace").
    """
    applied: list[str] = []
    missing: dict[str, str] = {}
    readable = list(request.get("readable") or ())
    workdir = request["workdir"]
    if os.geteuid() == 0:
        if identity.new_ipc_namespace():
            applied.append("ipc-namespace")
        else:
            missing["ipc-namespace"] = "the kernel refused a new IPC namespace"
        if identity.wanted():
            try:
                applied += _become_own_user(request, list(read_only) + readable + [workdir])
            except (identity.Unavailable, OSError) as exc:
                missing["own-user"] = str(exc)
        else:
            missing["own-user"] = "switched off (TORCHGRADE_NO_OWN_USER=1)"
        if not seccomp.supported():
            applied += namespaces.enter_user_and_network_namespace()
    else:
        applied += namespaces.enter_user_and_network_namespace()
        missing["own-user"] = "the grader does not run as root, so no other uid can be given"
        if "ipc-namespace" not in applied:
            missing["ipc-namespace"] = "user namespaces are not available"
    if "user-namespace" in applied and os.geteuid() != 0:
        # Counted per user namespace, so this is a limit on this job's processes, not on the user's.
        resource.setrlimit(resource.RLIMIT_NPROC, (int(request["limits"]["processes"]),) * 2)
        applied.append("nproc-per-namespace")
    for protection in request.get("require") or ():
        if protection in missing:
            raise Refused(f"{REQUIRED[protection]} but {missing[protection]}.")
    if namespaces.drop_capabilities():
        applied.append("no-capabilities")
    # The CUDA driver, on its first use in the child, names its threads under /proc/self and listens on
    # an abstract Unix socket of its own (tested on an H200, benchmarks/gpu_diagnose.py): a CUDA job's
    # children may write their own /proc files and make Unix sockets, but connect to none. Other jobs,
    # GPU machine or not, get none of it.
    gpu = uses_gpu(request)
    try:
        applied += landlock.restrict(read=list(read_only) + readable,
                                     write=[workdir], read_write_files=paths.read_write_files(gpu),
                                     write_in_place=["/proc/self"] if gpu else [])
    except landlock.LandlockError as exc:
        if "landlock" in (request.get("require") or ()):
            raise Refused(f"{REQUIRED['landlock']} but {exc.strerror}")
    single_thread = not gpu and int(request["limits"].get("threads", 1)) == 1
    if seccomp.deny_sockets(allow_local=gpu, shared_uid="own-user" not in applied, threads=not single_thread):
        applied.append("seccomp-unix-listen-only" if gpu else "seccomp-no-sockets")
        applied.append("seccomp-no-keyring-ptrace-prlimit")
        if single_thread:
            applied.append("seccomp-no-threads")
    return applied


#: What a course that requires a protection says, for the refusal.
REQUIRED = {
    "landlock": "Landlock is required (course.yaml sandbox.without_landlock: refuse)",
    "own-user": "a uid of the child's own is required (course.yaml sandbox.without_own_user: refuse)",
    "ipc-namespace": "an IPC namespace of the child's own is required (course.yaml sandbox.without_ipc_namespace: refuse)",
}


def confine_a_copy(writable: list[str]) -> list[str]:
    """What a copy of a job's child does to itself before the learner's code runs in it (one exercise, where
    the child ran the module's import): it may change the file system only beneath the folders `writable`,
    and start no process, so that nothing it does outlives it or reaches what the child or a later copy
    writes. Returns what was applied ("landlock-copy", "seccomp-no-processes")."""
    applied = []
    try:
        if landlock.restrict_changes(writable):
            applied.append("landlock-copy")
    except landlock.LandlockError:
        pass
    if seccomp.deny_processes():
        applied.append("seccomp-no-processes")
    return applied


def _become_own_user(request: dict[str, Any], needed: list[str]) -> list[str]:
    """Under root: the child's own uid and gid, with its work folder handed over and every path it needs
    reachable; raises identity.Unavailable where that cannot be done (the child then stays root,
    without capabilities, and says so)."""
    applied: list[str] = []
    identity.open_to_others(list(request.get("readable") or ()))
    if identity.make_reachable(needed, hide=list(request.get("hidden") or ())):
        applied.append("mount-view")
    uid = gid = identity.own_id()
    identity.hand_over(request["workdir"], uid, gid)
    # Counted per uid, and the uid is this job's alone: a per-job limit, for a grader run as root too.
    resource.setrlimit(resource.RLIMIT_NPROC, (int(request["limits"]["processes"]),) * 2)
    identity.become(uid, gid)
    return applied + ["own-user", "nproc-per-user"]


#: What every child of a fork server is confined by, whatever its kernel: listed before the rest.
BASE = ("process-group", "subreaper", "rlimits", "clean-environment")
