"""The plan: a course's checks prepared once — cases, the child's calls, the reference's expected values
and each catalogued mistake's outputs — and reused for every submission graded against it.
"""
from __future__ import annotations

import functools
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch

from . import kinds, wire
from .checks import Context, Prepared
from .checks.mistakes import MistakeOutputs, mistake_outputs
from .entry import PRELOAD
from .sandbox import Limits, gpu
from .spec import Course, Exercise
from .spec.models import QUESTION_TARGET


@dataclass
class Plan:
    """The chosen exercises' checks prepared once: `prepared` by exercise id, the child's calls in
    `tasks_file` (inside `workdir`), and the catalogued mistakes' outputs."""

    course: Course
    context: Context
    hidden: bool
    prepared: dict[str, list[Prepared]]
    tasks_file: Path
    workdir: Path
    exercises: tuple[Exercise, ...] = field(default=())
    #: each catalogued mistake's outputs on the cases it is compared on (checks.mistakes): exercise id →
    #: call key → [(mistake id, outputs)]
    mistakes: MistakeOutputs = field(default_factory=dict)

    def limits(self, threads: int = 1, module: str | None = None) -> Limits:
        """The sandbox's limits for the children of `module`, or (None) for the whole submission.

        Each learner module has a time budget of its own, max(60 s, time_s × (its exercises in the course
        + 4), the wall backstop), across every child it needs: what one module's code spends (sleeping in
        every exercise, say) never costs another module's exercises, whichever runs first or beside it,
        so the verdicts do not depend on the order the modules run in. It counts the course's exercises,
        not the plan's, so that checking some exercises (`check -k`) gives them the time a full grading
        does. A submission's budget is the sum of its modules'."""
        lim = self.course.limits
        in_course = exercises_by_module(self.course.exercises)

        def share(name: str) -> float:
            return max(60.0, lim.time_s * (len(in_course.get(name, ())) + 4), lim.wall_backstop_s)

        total = share(module) if module is not None else sum(map(share, exercises_by_module(self.exercises)))
        return Limits(step_s=lim.wall_backstop_s, step_cpu_s=lim.time_s, total_s=total,
                      memory_mb=lim.memory_mb, file_mb=lim.file_mb, output_kb=lim.output_kb,
                      processes=lim.processes, threads=threads)


def exercises_by_module(exercises: Iterable[Exercise]) -> dict[str, list[str]]:
    """Exercise ids by learner module: the modules in the order of their first exercise, each one's in order."""
    groups: dict[str, list[str]] = {}
    for exercise in exercises:
        groups.setdefault(exercise.module, []).append(exercise.id)
    return groups


@functools.cache
def cuda_available() -> bool:
    """Whether CUDA cases run: torch sees a GPU, and a sandboxed child can use it (checked once per run).

    Where the child cannot, grading goes on as on a machine without a GPU (CUDA cases left out, the
    device check on the simulated GPU), so no learner loses points to the machine; the teacher is told.
    TORCHGRADE_NO_CUDA=1 grades without the GPU on purpose.
    """
    if os.environ.get("TORCHGRADE_NO_CUDA") == "1" or not torch.cuda.is_available():
        return False
    problem = gpu.problem_in_sandbox(PRELOAD)
    if problem:
        print(f"torchgrade: this machine has a GPU, but CUDA does not work inside the grader's sandbox "
              f"({problem}). Grading as on a machine without a GPU: the CUDA cases are left out and the "
              f"device checks run on a GPU simulated on the CPU, so every score is what a CPU-only machine gives. "
              f"See docs/explanation/gpu.md.", file=sys.stderr)
        return False
    return True


def build_plan(course: Course, *, hidden: bool, exercises: list[str] | None = None,
               cuda: bool | None = None, workdir: Path | None = None) -> Plan:
    """Prepare every check of the chosen exercises; hidden checks only when `hidden`."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="torchgrade-plan-"))
    workdir.mkdir(parents=True, exist_ok=True)
    context = Context(course=course, cuda=cuda_available() if cuda is None else cuda, feedback_dir=None,
                      hidden=hidden)
    chosen = tuple(e for e in course.exercises if exercises is None or e.id in exercises)
    prepared: dict[str, list[Prepared]] = {}
    mistakes: MistakeOutputs = {}
    tasks: dict[str, Any] = {}
    for exercise in chosen:
        items = [kinds.judge(check.kind).prepare(context, exercise, check)
                 for check in exercise.checks if hidden or not check.hidden]
        prepared[exercise.id] = items
        outputs = mistake_outputs(context, exercise, items)
        if outputs:
            mistakes[exercise.id] = outputs
        tasks[exercise.id] = {"module": exercise.module, "function": exercise.function_name,
                              "signature": None if exercise.function_name == QUESTION_TARGET else exercise.signature,
                              "calls": [call for item in items for call in item.calls]}
    tasks_file = workdir / f"tasks{wire.SUFFIX}"
    wire.dump(tasks, tasks_file)
    return Plan(course, context, hidden, prepared, tasks_file, workdir, chosen, mistakes)



def checks_of(plan: Plan, exercise: Exercise) -> list:
    """The checks the plan prepared for `exercise`, in order."""
    return [p.check for p in plan.prepared[exercise.id]]
