"""What the grader does where the machine cannot give a protection: grade with a warning, or refuse.

The teacher chooses in course.yaml, per protection:

    sandbox: {without_landlock: warn | refuse, without_own_user: warn | refuse, without_ipc_namespace: warn | refuse}

Landlock (the files a child may read and write), a uid of the child's own (what the kernel lets it do
to the grader's processes and files' metadata), an IPC namespace of its own (SysV shared memory and
queues that die with it). The check runs in the grader's process (same kernel as its children)
before anything is graded; a child asked to `require` a protection refuses on its own as well, so
no code path grades unconfined by mistake.
"""
from __future__ import annotations

from pathlib import Path

import os
from typing import Any

from . import identity, landlock, paths

WARNING = ("warning: this kernel has no Landlock (Linux ≥ 5.13 with CONFIG_SECURITY_LANDLOCK and "
           "'landlock' in the lsm= boot list), so the graded code can READ any file this user can "
           "(solutions/, other submissions, results) and write outside its folder. Grading goes on; "
           "time, memory, output, process and network limits still apply. Set "
           "`sandbox: {without_landlock: refuse}` in course.yaml to refuse instead.")
REFUSAL = ("torchgrade refuses to grade: course.yaml says `sandbox: {without_landlock: refuse}` and this "
           "kernel has no Landlock (Linux ≥ 5.13 with CONFIG_SECURITY_LANDLOCK and 'landlock' in the "
           "lsm= boot list). Grade on a machine with a newer kernel, or set without_landlock: warn.")


class SandboxRefused(RuntimeError):
    """Grading would not be confined as the course requires; the message is for the teacher."""


#: The course setting for each protection a child may `require`.
SETTINGS = {"landlock": "without_landlock", "own-user": "without_own_user", "ipc-namespace": "without_ipc_namespace"}


def required(sandbox: Any) -> tuple[str, ...]:
    """The `Job.require` for a course's sandbox policy (course.yaml `sandbox:`); a bare string is the
    `without_landlock` setting alone."""
    if isinstance(sandbox, str):
        return ("landlock",) if sandbox == "refuse" else ()
    return tuple(name for name, setting in SETTINGS.items() if getattr(sandbox, setting, "warn") == "refuse")


#: Why each protection matters, for the warning when it is missing.
MISSING = {
    "own-user": ("graded code runs with the grader's own uid, so the kernel lets it signal, trace or lower the "
                 "limits of the grader's processes, and change the modes and times of the grader's files (a "
                 "seccomp filter and Landlock's signal scope refuse most of it, not all)"),
    "ipc-namespace": ("graded code shares SysV shared memory, semaphores and message queues with every other "
                      "process of this machine, so it can leave some behind for later submissions"),
}


def missing_protections() -> dict[str, str]:
    """The protections besides Landlock that children of this process cannot get, each with the reason."""
    missing: dict[str, str] = {}
    if os.geteuid() != 0:
        missing["own-user"] = "the grader does not run as root, so it cannot give graded code a uid of its own"
        if not _user_namespaces():
            missing["ipc-namespace"] = "user namespaces are disabled on this machine"
        return missing
    caps = _effective_capabilities()
    if not identity.wanted():
        missing["own-user"] = "switched off with TORCHGRADE_NO_OWN_USER=1"
    elif not all(caps >> bit & 1 for bit in (0, 6, 7, 21)):  # CHOWN, SETGID, SETUID, SYS_ADMIN
        missing["own-user"] = "the grader runs as root without the capabilities to change uid and make mounts"
    if not caps >> 21 & 1:
        missing["ipc-namespace"] = "the grader runs as root without CAP_SYS_ADMIN"
    return missing


def _effective_capabilities() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def _user_namespaces() -> bool:
    try:
        with open("/proc/sys/user/max_user_namespaces") as limit:
            return int(limit.read()) > 0
    except (OSError, ValueError):
        return False


def check_all(sandbox: Any) -> list[str]:
    """Warnings for the protections missing here whose setting is `warn`; raises SandboxRefused for the
    first whose setting is `refuse`. Landlock first, as `check`."""
    warnings = [w for w in [check(getattr(sandbox, "without_landlock", "warn"))] if w]
    for name, reason in missing_protections().items():
        setting = SETTINGS[name]
        if getattr(sandbox, setting, "warn") == "refuse":
            raise SandboxRefused(f"torchgrade refuses to grade: course.yaml says `sandbox: {{{setting}: refuse}}` "
                                 f"and {reason}. Grade as root (in a container, for instance), or set {setting}: warn.")
        warnings.append(f"warning: {reason}: {MISSING[name]}. Grading goes on. Set `sandbox: {{{setting}: refuse}}` "
                        f"in course.yaml to refuse instead.")
    return warnings


def check(without_landlock: str) -> str | None:
    """None where Landlock is available; the warning under `warn`; raises SandboxRefused under `refuse`."""
    if landlock.abi() >= 1:
        return None
    if without_landlock == "refuse":
        raise SandboxRefused(REFUSAL)
    return WARNING


def exposure(course_root: Path) -> str | None:
    """A warning when the course folder lies inside a folder graded code may read (e.g. site-packages)."""
    roots = paths.read_only()
    if paths.covers(roots, course_root):
        inside = next(r for r in roots if paths.covers([r], course_root))
        return (f"warning: the course folder {course_root} lies inside {inside}, which graded code may read "
                f"(it holds Python or the grader), so it could read solutions/ and the exercises. "
                f"Move the course elsewhere.")
    return None
