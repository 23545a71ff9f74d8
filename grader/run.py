"""Grading one submission against a plan: staged, executed in its sandboxed children (execute), and what
they saved judged (judge) — each exercise as soon as the child has saved it, the rest at the end.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from . import wire
from .checks import drawing
from .execute import run_children
from .intake import Submission, stage_submission
from .judge import JUDGING_FAILED, EarlyVerdicts, draws_pictures, judge_exercise, say_why_unread
from .plan import Plan, checks_of
from .sandbox import ForkServer
from .scoring import SubmissionResult, whole_exercise


def grade_submission(plan: Plan, submission: Submission | Path, server: ForkServer, scratch: Path,
                     threads: int = 1, pictures_of_passing_work: bool = True) -> SubmissionResult:
    """The submission's result on `plan`, its children forked from `server`, its files staged under `scratch`.

    `pictures_of_passing_work`: draw feedback pictures (e.g. the gradient norms) for passing checks too,
    as a self-check does; class grading leaves them out, since drawing is a large share of its time."""
    submission = submission if isinstance(submission, Submission) else Submission.from_path(Path(submission))
    home = Path(tempfile.mkdtemp(prefix=f"{submission.name[:40]}-", dir=scratch))
    if draws_pictures(plan):
        drawing.prepare_in_background()  # while the child runs, not after it
    budget = wire.Budget()  # what this submission's records may cost the grader's memory, all together
    early = EarlyVerdicts(plan, pictures_of_passing_work, budget)
    try:
        staged = stage_submission(submission, home / "submission", modules=plan.course.modules, course=plan.course)
        records, failures, details = run_children(plan, staged, home, server, threads, early, budget)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    results = []
    for exercise in plan.exercises:
        try:
            record = records.get(exercise.id)
            failure = failures.get(exercise.id)
            judged = early.verdict(exercise.id, record) if failure is None else None
            results.append(judged or judge_exercise(plan, exercise, record and record.data, failure,
                                                    pictures_of_passing_work))
        except Exception as exc:  # a record the judges choke on costs its exercise, never the class's run
            problem = f"{type(exc).__name__}: {exc}"[:300]
            details.setdefault("judging_failed", []).append({"exercise": exercise.id, "error": problem})
            print(f"torchgrade: {submission.name}: judging {exercise.id} failed ({problem}); scored as an error",
                  file=sys.stderr)
            results.append(whole_exercise(exercise, checks_of(plan, exercise), "error", JUDGING_FAILED))
    return SubmissionResult(submission.name, tuple(say_why_unread(plan, submission, results)), details)
