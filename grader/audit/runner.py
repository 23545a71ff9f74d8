"""Grade every catalogued variant of a course through the sandbox, one variant per submission.

The plan is built once (hidden checks included); each variant is a submission holding one module,
the solutions' copy of it with the variant appended (so it replaces the exercise's function and
nothing else), and is graded on its own exercise alone by the warm fork servers that grade a class.
"""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..intake import Submission
from ..pool import WorkerPool
from ..entry import PRELOAD
from ..plan import Plan
from ..run import grade_submission
from ..scoring import ExerciseResult
from ..spec import Course, Exercise, Variant, variant_source

Role = Literal["mistake", "accepted", "solution"]


class AuditError(Exception):
    """The audit cannot run on this course as it is; the message is for the teacher."""


@dataclass(frozen=True)
class VariantOutcome:
    """How one variant (or the solutions) fared on its exercise."""

    exercise: str
    role: Role
    id: str
    score: float
    max_score: float
    #: the checks that cost it points: label → the first line of their feedback
    lost: dict[str, str] = field(default_factory=dict)
    #: why the variant's code does not run as written (it cannot import, or names something undefined):
    #: a mistake that dies only of that proves nothing about the checks
    broken: str | None = None

    @property
    def full_marks(self) -> bool:
        return self.score >= self.max_score

    @property
    def ok(self) -> bool:
        """A mistake must lose points (and run); an accepted variant and the solutions must not lose any."""
        return (not self.full_marks and self.broken is None) if self.role == "mistake" else self.full_marks


@dataclass(frozen=True)
class ExerciseAudit:
    exercise: str
    checks: tuple[str, ...]
    solution: VariantOutcome
    outcomes: tuple[VariantOutcome, ...]
    catalogued: bool = True  # False for a question: its options are its catalogue

    @property
    def mistakes(self) -> list[VariantOutcome]:
        return [o for o in self.outcomes if o.role == "mistake"]

    @property
    def accepted(self) -> list[VariantOutcome]:
        return [o for o in self.outcomes if o.role == "accepted"]

    def kills(self, check: str) -> list[str]:
        """The mistakes this check takes points from."""
        return [o.id for o in self.mistakes if check in o.lost]

    @property
    def silent_checks(self) -> list[str]:
        """Checks that kill none of the catalogued mistakes."""
        return [c for c in self.checks if not self.kills(c)]

    @property
    def ok(self) -> bool:
        return self.solution.ok and all(o.ok for o in self.outcomes)


@dataclass(frozen=True)
class Audit:
    course: str
    exercises: tuple[ExerciseAudit, ...]
    complete: bool  # every exercise of the course was audited (a stamp is written only then)

    @property
    def ok(self) -> bool:
        return all(e.ok for e in self.exercises)

    @property
    def survivors(self) -> list[VariantOutcome]:
        """Mistakes that lose no points."""
        return [o for e in self.exercises for o in e.mistakes if o.full_marks]

    @property
    def broken(self) -> list[VariantOutcome]:
        """Mistakes that lose points only because their code does not run."""
        return [o for e in self.exercises for o in e.mistakes if o.broken is not None]

    @property
    def refused(self) -> list[VariantOutcome]:
        """Accepted variants (and solutions) that lost points."""
        return [o for e in self.exercises for o in (e.solution, *e.accepted) if not o.ok]


def run_audit(course: Course, plan: Plan, *, exercises: list[str] | None = None, jobs: int = 1,
              pool: WorkerPool | None = None) -> Audit:
    """Grade the solutions and every catalogued variant of the chosen exercises (default: all those `plan`,
    built with the hidden checks, prepares)."""
    if not plan.hidden:
        raise AuditError("the audit grades with the hidden checks too: build its plan with hidden=True")
    chosen = [e for e in course.exercises if (exercises is None or e.id in exercises) and e.id in plan.prepared]
    solutions = Path(course.root) / course.solutions
    if not solutions.is_dir():
        raise AuditError(f"{solutions} does not exist: the audit fills every module with the course's solutions "
                         f"(course.yaml: solutions: <folder>)")
    scratch = Path(tempfile.mkdtemp(prefix="torchgrade-audit-"))
    try:
        jobs_list: list[tuple[Plan, Submission, Exercise, Role, str]] = []
        for exercise in chosen:
            sub_plan = dataclasses.replace(plan, exercises=(exercise,))
            base = _base_source(solutions, exercise)
            variants: list[tuple[Role, Variant | None]] = [("solution", None)]
            variants += [("mistake", m) for m in exercise.mistakes] + [("accepted", a) for a in exercise.accepted]
            for role, variant in variants:
                name = f"{exercise.id}--{role}--{variant.id if variant else 'solutions'}"
                folder = scratch / "variants" / name
                folder.mkdir(parents=True)
                source = base if variant is None else variant_source(variant, exercise.function_name, base,
                                                                      course.root, exercise.id)
                (folder / f"{exercise.module}.py").write_text(source, encoding="utf-8")
                jobs_list.append((sub_plan, Submission.from_path(folder, modules=course.modules), exercise, role,
                                  variant.id if variant else "solutions"))
        results = _grade_all([(p, s) for p, s, *_ in jobs_list], jobs, pool, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    by_exercise: dict[str, list[VariantOutcome]] = {}
    for (_, _, exercise, role, ident), result in zip(jobs_list, results):
        by_exercise.setdefault(exercise.id, []).append(_outcome(exercise, role, ident, result))
    audits = []
    for exercise in chosen:
        outcomes = by_exercise[exercise.id]
        labels = tuple(p.check.label for p in plan.prepared[exercise.id])
        audits.append(ExerciseAudit(exercise.id, labels, outcomes[0], tuple(outcomes[1:]),
                                    catalogued=exercise.checks[0].answered_in is None))
    return Audit(course.name, tuple(audits), complete=len(chosen) == len(course.exercises))


def _base_source(solutions: Path, exercise: Exercise) -> str:
    path = solutions / f"{exercise.module}.py"
    if not path.is_file():
        raise AuditError(f"{exercise.id}: {path} does not exist, so the audit has no module to put its variants in")
    return path.read_text(encoding="utf-8")


def _grade_all(items: list[tuple[Plan, Submission]], jobs: int, pool: WorkerPool | None,
               scratch: Path) -> list[ExerciseResult]:
    """Each submission on its own one-exercise plan, `jobs` at a time on warm fork servers."""
    from ..batch import threads_per_child
    own = pool is None
    pool = pool or WorkerPool(max(1, min(jobs, len(items))), PRELOAD)
    workers = max(1, min(pool.jobs, len(items)))
    threads = threads_per_child(workers)

    def grade(item: tuple[Plan, Submission]) -> ExerciseResult:
        plan, submission = item
        server = pool.get()
        try:
            result = grade_submission(plan, submission, server, scratch, threads=threads,
                                      pictures_of_passing_work=False)
        finally:
            pool.put(server)
        (exercise_result,) = result.exercises
        return exercise_result

    try:
        with ThreadPoolExecutor(max_workers=workers) as executor:
            return list(executor.map(grade, items))
    finally:
        if own:
            pool.close()


def _outcome(exercise: Exercise, role: Role, ident: str, result: ExerciseResult) -> VariantOutcome:
    lost = {c.name: " ".join(c.feedback.strip().splitlines()[:2])[:300] or c.status
            for c in result.checks if c.score < c.max_score}
    return VariantOutcome(exercise.id, role, ident, result.score, result.max_score, lost, _broken(result))


#: Errors that say the variant's code itself is broken, not that it computes something wrong.
BROKEN_CODE = ("NameError", "ImportError", "ModuleNotFoundError", "SyntaxError", "IndentationError")


def _broken(result: ExerciseResult) -> str | None:
    for check in result.checks:
        if check.status != "error":
            continue
        for line in check.feedback.splitlines():
            if line.startswith("Importing") or any(f"raised {name}" in line for name in BROKEN_CODE):
                return line.strip()[:300]
    return None
