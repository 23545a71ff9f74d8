"""The safe, fast path: grade an nbgrader assignment's submitted notebooks without running them.

Each submitted notebook's code is extracted (grader.notebook: definitions only) and graded by
the isolated grader — a forked sandbox child per notebook from a warm server, no Jupyter kernel
— and the scores and feedback are written into nbgrader's gradebook through nbgrader's API.
Nothing in the notebook runs in a process that judges or records a score, so a cell that
replaces the grader's functions or torch's changes nothing but its own sandbox.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ...batch import grade_many
from ...intake import Submission
from ...release.answers import questions
from ...run import build_plan
from ...scoring import SubmissionResult
from ...spec import Course
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
              jobs: int = 1, on_result: Callable[[StudentResult], None] | None = None) -> list[StudentResult]:
    """Grade every (or the named) student's submission of `assignment`; record it in the gradebook."""
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
    results = {student: {} for student in chosen}  # type: dict[str, dict[str, SubmissionResult | None]]
    for layout in layouts:
        _grade_notebook(course, coursedir, assignment, layout, chosen, jobs, results)
    out = [StudentResult(student, results[student]) for student in chosen]
    asked = {e.id for e in questions(course)}
    solution_cells = {e.id: solution_cell_id(e, asked) for e in course.exercises}
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb, warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy's autoflush warning (its own autograde prints it too)
        warnings.filterwarnings("ignore", message=".*not in session.*")
        for student_result in out:
            _record(gb, coursedir, assignment, layouts, solution_cells, student_result)
            if on_result is not None:
                on_result(student_result)
    return out


def _grade_notebook(course: Course, coursedir, assignment: str, layout: NotebookLayout, students: list[str],
                    jobs: int, results: dict) -> None:
    paths = {s: Path(coursedir.format_path(coursedir.submitted_directory, s, assignment)) / f"{layout.name}.ipynb"
             for s in students}
    present = [s for s in students if paths[s].is_file()]
    for student in students:
        results[student][layout.name] = None
    if not layout.exercises or not present:
        return
    submissions = [Submission(student, paths[student], tuple(course.modules)) for student in present]
    with tempfile.TemporaryDirectory(prefix="torchgrade-plan-") as workdir:  # gone when the notebook is graded
        plan = build_plan(course, hidden=True, exercises=list(layout.exercises), workdir=Path(workdir))
        for result in grade_many(plan, submissions, jobs=jobs):
            results[result.submission][layout.name] = result


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
        if by_exercise is not None:
            target = autograded / f"{layout.name}.ipynb"
            if target.exists():
                os.chmod(target, 0o644)  # nbgrader leaves autograded notebooks read-only
            write_autograded_notebook(submitted / f"{layout.name}.ipynb", target, coursedir.db_url, assignment,
                                      by_exercise)
