"""Grading one submission against a plan: staged, executed in its sandboxed children (execute), and what
they saved judged (judge) — each exercise as soon as the child has saved it, the rest at the end.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import wire
from .checks import drawing
from .execute import Lender, read_saved, run_children
from .intake import Submission, stage_submission
from .judge import JUDGING_FAILED, EarlyVerdicts, drawn_in_judging, judge_exercise, say_why_unread
from .plan import Plan, checks_of
from .sandbox import ForkServer
from .records import Record
from .scoring import ExerciseResult, SubmissionResult, whole_exercise
from .spec import Exercise


@dataclass(frozen=True)
class Staged:
    """A submission's modules copied into a folder of their own under the scratch folder, ready for a child."""

    submission: Submission
    home: Path      # removed once the submission is graded
    folder: Path    # the staged modules: the child's import path

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def stage(plan: Plan, submission: Submission | Path, scratch: Path) -> Staged:
    """Copy the submission's modules (a notebook: its extracted modules) under `scratch`; needs no fork server,
    so it can be done while the servers start or while another submission's child runs."""
    submission = submission if isinstance(submission, Submission) else Submission.from_path(Path(submission))
    home = Path(tempfile.mkdtemp(prefix=f"{submission.name[:40]}-", dir=scratch))
    try:
        folder = stage_submission(submission, home / "submission", modules=plan.course.modules, course=plan.course)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    return Staged(submission, home, folder)


def grade_submission(plan: Plan, submission: Submission | Path, server: ForkServer, scratch: Path,
                     threads: int = 1, pictures_of_passing_work: bool = True,
                     staged: Staged | None = None, lender: Lender | None = None) -> SubmissionResult:
    """The submission's result on `plan`, its children forked from `server`, its files staged under `scratch`.

    `pictures_of_passing_work`: draw feedback pictures (e.g. the gradient norms) for passing checks too,
    as a self-check does; class grading leaves them out, since drawing is a large share of its time.
    `staged`: the submission already staged (`stage`); it is removed once graded, as a folder staged here is.
    `lender`: idle servers this submission may borrow, to run its modules' children several at once."""
    drawn = drawn_in_judging(plan)
    if drawn:
        drawing.prepare_in_background()  # while the child runs, not after it
    # what the records read early (judged while the child runs) may hold together: a quarter of what one record
    # may; past it they are read at the end, like the rest
    early = EarlyVerdicts(plan, pictures_of_passing_work, wire.Budget(wire.MAX_COST // 4))
    try:
        staged = staged or stage(plan, submission, scratch)
        saved, failures, details = run_children(plan, staged.folder, staged.home, server, threads, early,
                                                first=drawn, lender=lender)
        name = staged.submission.name
        results = []
        for exercise in plan.exercises:  # each record read, judged and let go before the next is read
            record = read_saved(exercise.id, saved, failures, early)
            results.append(_judged(plan, exercise, record, failures.get(exercise.id), early,
                                   pictures_of_passing_work, details, name))
    finally:
        early.close()
        if staged is not None:
            staged.remove()
    return SubmissionResult(name, tuple(say_why_unread(plan, staged.submission, results)), details)


def _judged(plan: Plan, exercise: Exercise, record: Record | None, failure: tuple[str, str] | None,
            early: EarlyVerdicts, pictures_of_passing_work: bool, details: dict, name: str) -> ExerciseResult:
    """The exercise's result: its early verdict where the record is the one judged early, else judged now;
    a record the judges choke on costs its exercise, never the class's run."""
    try:
        judged = early.verdict(exercise.id, record) if failure is None else None
        return judged or judge_exercise(plan, exercise, record and record.data, failure, pictures_of_passing_work)
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"[:300]
        details.setdefault("judging_failed", []).append({"exercise": exercise.id, "error": problem})
        print(f"torchgrade: {name}: judging {exercise.id} failed ({problem}); scored as an error", file=sys.stderr)
        return whole_exercise(exercise, checks_of(plan, exercise), "error", JUDGING_FAILED)
