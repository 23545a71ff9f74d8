"""What the grader does on a kernel without Landlock: grade with a warning, or refuse.

The teacher chooses in course.yaml (`sandbox: {without_landlock: warn | refuse}`). The check runs
in the grader's process (same kernel as its children) before anything is graded; a child asked
to `require` Landlock refuses on its own as well, so no code path grades unconfined by mistake.
"""
from __future__ import annotations

from pathlib import Path

from . import landlock, paths

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


def required(without_landlock: str) -> tuple[str, ...]:
    """The `Job.require` for a course's policy."""
    return ("landlock",) if without_landlock == "refuse" else ()


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
