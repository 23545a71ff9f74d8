"""The safe, fast path: grade an nbgrader assignment's submitted notebooks without running them.

Each submitted notebook's code is extracted (grader.notebook: definitions only) and graded by
the isolated grader — a forked sandbox child per notebook from a warm server, no Jupyter kernel
— and the scores and feedback are written into nbgrader's gradebook through nbgrader's API.
Nothing in the notebook runs in a process that judges or records a score, so a cell that
replaces the grader's functions or torch's changes nothing but its own sandbox.

Each student is recorded as soon as their notebooks are graded: a run that fails or is killed
later loses no student already done, and a rerun records the rest (and the same again). A notebook
that could not be graded is recorded with 0 points and the reason in its comments, never skipped.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from ...batch import could_not_grade, threads_per_child, why_not_graded
from ...grading import Grader, start_servers
from ...intake import Submission
from ...release.answers import questions
from ...scoring import ExerciseResult, SubmissionResult
from ...spec import Course
from ...text import shown, unicode_safe

if TYPE_CHECKING:
    from ...grading import WorkerPool
from .build import solution_cell_id
from .gradebook import (NotebookLayout, assignment_layout, copy_submission_files, record_scores, record_submission,
                        write_autograded_notebook)
from .kernel import COURSE_ENV


class AutogradeError(Exception):
    """The assignment cannot be autograded; the message is for a teacher."""


@dataclass(frozen=True)
class StudentResult:
    student: str
    notebooks: dict[str, SubmissionResult | None]  # notebook name → result (None: not submitted)

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.notebooks.values() if r is not None), 6)


def load_coursedir(course_dir: Path):
    """nbgrader's CourseDirectory, configured by the course's nbgrader_config.py as nbgrader would."""
    from nbgrader.coursedir import CourseDirectory

    config, _ = _read_config(Path(course_dir).resolve())
    return CourseDirectory(config=config)


def configured_course_file(course_dir: Path) -> Path | None:
    """The course.yaml that the course directory's nbgrader_config.py names (via $TORCHGRADE_COURSE)."""
    _, environ = _read_config(Path(course_dir).resolve())
    return Path(environ[COURSE_ENV]) if environ.get(COURSE_ENV) else None


def _read_config(course_dir: Path):
    """The config, and the environment as the config leaves it; this process's own is left as it was."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    saved = dict(os.environ)
    try:
        config = Config()
        if (course_dir / "nbgrader_config.py").is_file():
            config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
        environ = dict(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if "root" not in config.get("CourseDirectory", {}):
        config.CourseDirectory.root = str(course_dir)
    return config, environ


def submitted_students(coursedir, assignment: str) -> list[str]:
    folder = Path(coursedir.root) / coursedir.submitted_directory
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if Path(coursedir.format_path(coursedir.submitted_directory, p.name, assignment)).is_dir())


def autograde(course: Course, course_dir: Path, assignment: str, *, students: list[str] | None = None,
              jobs: int = 1, on_result: Callable[[StudentResult], None] | None = None,
              servers: WorkerPool | None = None) -> list[StudentResult]:
    """Grade every (or the named) student's submission of `assignment`; record each student in the gradebook
    as soon as their notebooks are graded, so a failure later (or a killed run) loses none of them.
    `servers`: fork servers the caller started (and closes), best before loading nbgrader and the course.

    A notebook that could not be graded is recorded as such: 0 points, the reason in its comments."""
    from nbgrader.api import Gradebook, MissingEntry

    coursedir = load_coursedir(course_dir)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            layouts = assignment_layout(gb, assignment)
        except MissingEntry:
            raise AutogradeError(f"nbgrader's gradebook ({coursedir.db_url}) has no assignment '{assignment}': run "
                                 f"`nbgrader generate_assignment {assignment}` in {coursedir.root} first") from None
    known = {e.id for e in course.exercises}
    for layout in layouts:
        unknown = [e for e in layout.exercises if e not in known]
        if unknown:
            raise AutogradeError(f"{layout.name}.ipynb tests {', '.join(unknown)}, which {course.file} does not "
                                 f"define: rebuild the course directory or pass the right --course")
    submitted = submitted_students(coursedir, assignment)
    missing = [s for s in students or () if s not in submitted]
    if missing:
        raise AutogradeError(f"no submission of {assignment} by {', '.join(missing)} under "
                             f"{Path(coursedir.root) / coursedir.submitted_directory}")
    chosen = list(students) if students is not None else submitted
    asked = {e.id for e in questions(course)}
    solution_cells = {e.id: solution_cell_id(e, asked) for e in course.exercises}
    done: dict[str, StudentResult] = {}
    workers = max(1, min(jobs, len(chosen)))
    with contextlib.ExitStack() as stack:
        # warm fork servers shared by every notebook's grader, warming up while the plans are loaded
        gradable = bool(chosen) and any(layout.exercises for layout in layouts)
        if servers is None:
            servers = stack.enter_context(start_servers(workers)) if gradable else None
        graders: dict[str, Grader] = {}  # one per notebook, on the plan of its exercises (hidden checks too)
        for layout in layouts:
            if layout.exercises:  # each plan's folder is gone when the assignment is graded
                graders[layout.name] = stack.enter_context(Grader.open(course, hidden=True, servers=servers,
                                                                       exercises=list(layout.exercises)))
        gb = stack.enter_context(Gradebook(coursedir.db_url, coursedir.course_id))
        # nbgrader's add_submission trips SQLAlchemy's autoflush warning (its own autograde prints it too)
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message=".*not in session.*")
        for student_result in _graded_students(course, coursedir, assignment, layouts, graders, chosen, workers):
            student_result = _record_or_say_why(gb, coursedir, assignment, layouts, graders, solution_cells,
                                                student_result)
            done[student_result.student] = student_result
            if on_result is not None:
                on_result(student_result)
    return [done[student] for student in chosen]


def _graded_students(course: Course, coursedir, assignment: str, layouts: list[NotebookLayout],
                     graders: dict[str, Grader], students: list[str], workers: int) -> Iterator[StudentResult]:
    """Each student's notebooks graded (each inside the batch's boundary), `workers` students at a time on
    the graders' shared servers, yielded as each student is done."""
    if not students:
        return

    def grade(student: str) -> StudentResult:
        folder = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
        notebooks: dict[str, SubmissionResult | None] = {}
        for layout in layouts:
            path = folder / f"{layout.name}.ipynb"
            if layout.name not in graders or not path.is_file():
                notebooks[layout.name] = None
                continue
            notebooks[layout.name] = graders[layout.name].grade(Submission(student, path, tuple(course.modules)),
                                                                threads=threads_per_child(workers))
        return StudentResult(student, notebooks)

    executor = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [executor.submit(grade, student) for student in students]
        for future in as_completed(futures):
            yield future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _record_or_say_why(gb, coursedir, assignment: str, layouts: list[NotebookLayout], graders: dict[str, Grader],
                       solution_cells: dict[str, str], student_result: StudentResult) -> StudentResult:
    """Record the student; if that fails, record them as not graded, with the reason, and return that."""
    student_result = StudentResult(student_result.student, {
        name: None if result is None else dataclasses.replace(result, exercises=tuple(map(_storable, result.exercises)))
        for name, result in student_result.notebooks.items()})
    try:
        _record(gb, coursedir, assignment, layouts, solution_cells, student_result)
        return student_result
    except Exception as exc:
        gb.db.rollback()
        reason = f"recording it in nbgrader's gradebook failed: {why_not_graded(exc)}"
        submission = Submission(student_result.student, Path(student_result.student))
        failed = StudentResult(student_result.student, {
            name: could_not_grade(graders[name].plan, submission, reason) if result is not None else None
            for name, result in student_result.notebooks.items()})
    try:
        _record(gb, coursedir, assignment, layouts, solution_cells, failed)
    except Exception as exc:
        gb.db.rollback()
        print(f"torchgrade: {shown(student_result.student)} could not be recorded in nbgrader's gradebook "
              f"({type(exc).__name__}: {shown(str(exc))[:300]})", file=sys.stderr)
    return failed


def _storable(exercise: ExerciseResult) -> ExerciseResult:
    """The exercise with its feedback as the gradebook's database and notebook can store it (no lone surrogates)."""
    return dataclasses.replace(exercise, checks=tuple(
        dataclasses.replace(check, feedback=unicode_safe(check.feedback)) for check in exercise.checks))


def _record(gb, coursedir, assignment: str, layouts: list[NotebookLayout], solution_cells: dict[str, str],
            student_result: StudentResult) -> None:
    student = student_result.student
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
    autograded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    record_submission(gb, assignment, student, coursedir.get_existing_timestamp(str(submitted)))
    copy_submission_files(submitted, autograded)
    for layout in layouts:
        result = student_result.notebooks.get(layout.name)
        by_exercise = {e.id: e for e in result.exercises} if result is not None else None
        record_scores(gb, assignment, student, layout, solution_cells, by_exercise,
                      missing_message=f"No submitted file: {layout.name}.ipynb")
        if by_exercise is not None and not result.details.get("error"):  # type: ignore[union-attr]
            target = autograded / f"{layout.name}.ipynb"
            if target.exists():
                os.chmod(target, 0o644)  # nbgrader leaves autograded notebooks read-only
            write_autograded_notebook(submitted / f"{layout.name}.ipynb", target, coursedir.db_url, assignment,
                                      by_exercise)
