"""`torchgrade nbgrader autograde` records each student as soon as they are graded, the ungradable too."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("nbgrader")

from nbgrader.api import Gradebook  # noqa: E402

from grader.integrations.nbgrader.autograde import autograde, load_coursedir  # noqa: E402
from test_nbgrader_paths import ASSIGNMENT, generated, small_course  # noqa: E402,F401  (module fixtures)

pytestmark = pytest.mark.slow  # nbgrader generate_assignment once for the module


def with_malformed_notebook(generated: Path, target: Path) -> Path:
    """The generated class plus 'bert', whose notebook has a cell whose metadata is a list."""
    folder = shutil.copytree(generated, target)
    notebook = json.loads((folder / "submitted" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    notebook["cells"][1]["metadata"] = ["not", "an", "object"]
    bert = folder / "submitted" / "bert" / ASSIGNMENT
    bert.mkdir(parents=True)
    (bert / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(notebook))
    return folder


def recorded(folder: Path, student: str) -> tuple[float, str]:
    coursedir = load_coursedir(folder)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        comments = " ".join(c.auto_comment or "" for n in submission.notebooks for c in n.comments)
        return submission.score, comments


def test_a_malformed_notebook_is_recorded_with_the_reason_and_the_class_goes_on(generated, small_course, tmp_path):
    folder = with_malformed_notebook(generated, tmp_path / "course")
    results = autograde(small_course, folder, ASSIGNMENT, jobs=1)
    assert [r.student for r in results] == ["alice", "bert", "bob", "carol", "mallory"]
    score, comment = recorded(folder, "bert")
    assert score == 0 and "could not be graded" in comment and "has metadata that is a list" in comment
    assert recorded(folder, "alice")[0] == results[0].score > 0


def test_each_student_is_in_the_gradebook_as_soon_as_graded(generated, small_course, tmp_path):
    from nbgrader.api import MissingEntry

    folder = with_malformed_notebook(generated, tmp_path / "course")
    seen: list[str] = []

    def then_fail(result) -> None:
        assert recorded(folder, result.student)[0] == result.score  # recorded before it is reported
        seen.append(result.student)
        if len(seen) == 2:
            raise RuntimeError("the run dies here")

    with pytest.raises(RuntimeError, match="the run dies here"):
        autograde(small_course, folder, ASSIGNMENT, students=["alice", "bob", "carol"], jobs=1, on_result=then_fail)
    assert seen == ["alice", "bob"]
    with pytest.raises(MissingEntry):
        recorded(folder, "carol")
