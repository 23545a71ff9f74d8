"""torchgrade's results → nbgrader's gradebook database and autograded notebooks, through nbgrader's API.

For each torchgrade test cell (`test_<exercise>`) the exercise's score becomes the cell's
`auto_score`, and its feedback the `auto_comment` of the exercise's solution cell — what
formgrader shows and `nbgrader export` sums. The autograded copy of a notebook is the submitted
one with its locked cells restored by nbgrader's own OverwriteCells and each test cell's output
set to torchgrade's feedback and score, as if it had run; formgrader and `nbgrader
generate_feedback` read it from there.
"""
from __future__ import annotations

import base64
import datetime
import shutil
from dataclasses import dataclass
from pathlib import Path

from ...scoring import ExerciseResult
from . import cells
from .feedback import exercise_feedback


@dataclass(frozen=True)
class NotebookLayout:
    """One notebook of an nbgrader assignment, as generate_assignment recorded it."""

    name: str
    exercises: tuple[str, ...]   # exercise ids, from the test cells `test_<id>`
    solution_cells: frozenset[str]


def assignment_layout(gb, assignment: str) -> list[NotebookLayout]:
    """The notebooks of `assignment` and the torchgrade exercises each one tests."""
    prefix = cells.test_grade_id("")
    out = []
    for notebook in gb.find_assignment(assignment).notebooks:
        exercises = tuple(c.name[len(prefix):] for c in notebook.grade_cells if c.name.startswith(prefix))
        out.append(NotebookLayout(notebook.name, exercises, frozenset(c.name for c in notebook.solution_cells)))
    return out


def record_submission(gb, assignment: str, student: str, timestamp: datetime.datetime | None) -> None:
    gb.update_or_create_student(student)
    if timestamp is not None:
        gb.update_or_create_submission(assignment, student, timestamp=timestamp)
    else:
        gb.update_or_create_submission(assignment, student)


def record_scores(gb, assignment: str, student: str, layout: NotebookLayout, solution_cell: dict[str, str],
                  results: dict[str, ExerciseResult] | None, missing_message: str = "") -> None:
    """Scores and comments of one submitted notebook; `results` None: the notebook was not submitted.

    `solution_cell` maps an exercise to the solution cell that answers it: that cell's comment is
    the feedback of its exercises."""
    comments: dict[str, list[str]] = {}
    for exercise_id in layout.exercises:
        grade = gb.find_grade(cells.test_grade_id(exercise_id), layout.name, assignment, student)
        result = (results or {}).get(exercise_id)
        grade.auto_score = result.score if result is not None else 0.0
        grade.needs_manual_grade = grade.manual_score is not None  # a human's score is reviewed, never replaced
        cell = solution_cell.get(exercise_id)
        if cell in layout.solution_cells:
            comments.setdefault(cell, []).append(exercise_feedback(result) if result is not None else missing_message)
    for cell, texts in comments.items():
        comment = gb.find_comment(cell, layout.name, assignment, student)
        comment.auto_comment = "\n\n".join(dict.fromkeys(texts))
    gb.db.commit()


def write_autograded_notebook(submitted: Path, target: Path, db_url: str, assignment: str,
                              results: dict[str, ExerciseResult]) -> Path | None:
    """The submitted notebook as formgrader expects it in autograded/; None if it cannot be read."""
    import nbformat
    from nbgrader.preprocessors import OverwriteCells

    try:
        nb = nbformat.read(str(submitted), as_version=nbformat.NO_CONVERT)
    except Exception:
        return None
    resources = {"nbgrader": {"notebook": submitted.stem, "assignment": assignment, "db_url": db_url}}
    nb, _ = OverwriteCells().preprocess(nb, resources)
    by_test = {cells.test_grade_id(e): r for e, r in results.items()}
    for cell in nb.cells:
        result = by_test.get(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", ""))
        if cell.cell_type == "code" and result is not None:
            cell.outputs = graded_cell_outputs(result)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target


def graded_cell_outputs(result: ExerciseResult) -> list:
    """The feedback, the pictures it names (of checks that did not pass), then the score: a test cell's outputs.

    The pictures go into the notebook itself: `nbgrader generate_feedback` turns it into the HTML a
    student gets, and copies no folder named `feedback` along (nbgrader's `CourseDirectory.ignore`),
    so a picture left beside the notebook would never reach the student."""
    import nbformat

    outputs = [nbformat.v4.new_output("stream", name="stdout", text=exercise_feedback(result) + "\n")]
    shown: set[str] = set()
    for check in result.checks:
        if check.status == "passed":
            continue  # its feedback is not shown, so neither is a picture it names
        for name, data in check.attachments.items():
            caption = f"feedback/{Path(name).name}"
            if Path(name).suffix.lower() != ".png" or caption in shown:
                continue  # two checks of one plot (figure, style) name the same pictures: shown once
            shown.add(caption)
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=f"{caption}:\n"))
            outputs.append(nbformat.v4.new_output(
                "display_data", data={"image/png": base64.b64encode(data).decode("ascii"), "text/plain": caption}))
    outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(result.score))},
                                          execution_count=None))
    return outputs


def copy_submission_files(submitted_dir: Path, autograded_dir: Path) -> None:
    """What nbgrader autograde copies too (timestamp.txt, data files); notebooks are written apart."""
    autograded_dir.mkdir(parents=True, exist_ok=True)
    for item in submitted_dir.iterdir():
        if item.is_file() and not item.is_symlink() and item.suffix != ".ipynb":
            shutil.copyfile(item, autograded_dir / item.name)
