"""`torchgrade nbgrader build`: the nbgrader course directory made from course.yaml."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.integrations.nbgrader import cells
from grader.integrations.nbgrader.build import (ANSWERS_CELL, BuildError, assignments, build_course_dir,
                                                solution_cell_id, statement_cell_id)
from grader.intake import Submission
from grader.release.answers import questions
from grader.run import grade_submission


@pytest.fixture(scope="module")
def course_dir(course, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nbgrader-course")
    build_course_dir(course, folder)
    return folder


def _cells(course_dir: Path, module: str) -> list[dict]:
    return json.loads((course_dir / "source" / module / f"{module}.ipynb").read_text())["cells"]


def _by_id(course_dir: Path, module: str) -> dict[str, dict]:
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in _cells(course_dir, module) if "nbgrader" in c["metadata"]}


def test_one_source_notebook_per_module_and_a_config(course, course_dir):
    assert (course_dir / "nbgrader_config.py").is_file()
    config = (course_dir / "nbgrader_config.py").read_text()
    assert str(course.file.resolve()) in config and "TORCHGRADE_COURSE" in config
    modules = {e.module for e in course.exercises}
    assert {a.name for a in assignments(course)} == modules
    for module in modules:
        assert (course_dir / "source" / module / f"{module}.ipynb").is_file()


def test_notebooks_are_valid_nbformat(course, course_dir):
    nbformat = pytest.importorskip("nbformat")
    for assignment in assignments(course):
        nbformat.validate(nbformat.read(str(course_dir / "source" / assignment.name / assignment.notebook), 4))


def test_each_exercise_has_locked_statement_solution_and_test_cell_with_its_points(course, course_dir):
    asked = {e.id for e in questions(course)}
    for exercise in course.exercises:
        found = _by_id(course_dir, exercise.module)
        statement = found[statement_cell_id(exercise, asked)]
        assert statement["cell_type"] == "markdown" and statement["metadata"]["nbgrader"]["locked"]
        assert exercise.title in statement["source"]
        solution = found[solution_cell_id(exercise, asked)]["metadata"]["nbgrader"]
        assert solution["solution"] and not solution["grade"]
        test = found[cells.test_grade_id(exercise.id)]["metadata"]["nbgrader"]
        assert test["grade"] and test["locked"] and not test["solution"] and test["schema_version"] == 3
        assert test["points"] == pytest.approx(exercise.max_score)


def test_solution_cell_holds_the_reference_body_between_the_markers(course_dir, repo):
    source = _by_id(course_dir, "activations")["sigmoid"]["source"]
    head, _, rest = source.partition(cells.BEGIN_SOLUTION)
    body, _, tail = rest.partition(cells.END_SOLUTION)
    assert head.startswith("def sigmoid(x):")
    assert "torch.exp" in body and "torch.exp" not in head  # the answer is only between the markers
    assert body.strip().splitlines()[-1].strip() in (repo / "solutions" / "activations.py").read_text()
    assert tail.strip() == ""


def test_a_helper_of_the_solution_is_hidden_inside_the_function_that_uses_it(course_dir, repo):
    if not (repo / "solutions" / "initializers.py").is_file():
        pytest.skip("the course has no initializers")
    source = _by_id(course_dir, "initializers")["kaiming_normal_"]["source"]
    hidden = source.split(cells.BEGIN_SOLUTION)[1]
    assert "def _fan(" in hidden and "def _fan(" not in source.split(cells.BEGIN_SOLUTION)[0]


def test_questions_share_one_answers_cell_after_their_statements(course, course_dir):
    asked = questions(course)
    if not asked:
        pytest.skip("the course asks no questions")
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in _cells(course_dir, asked[0].module)]
    answers = ids.index(ANSWERS_CELL)
    assert all(ids.index(f"{e.id}_statement") < answers < ids.index(cells.test_grade_id(e.id)) for e in asked)
    source = _by_id(course_dir, asked[0].module)[ANSWERS_CELL]["source"]
    assert "ANSWERS = {" in source.split(cells.BEGIN_SOLUTION)[1]
    assert all(line.startswith("#") or not line for line in source.split(cells.BEGIN_SOLUTION)[0].splitlines())


def test_test_cells_hold_no_hidden_test_markers_and_the_config_switches_hidden_checks_on(course, course_dir):
    for exercise in course.exercises:
        source = _by_id(course_dir, exercise.module)[cells.test_grade_id(exercise.id)]["source"]
        assert "HIDDEN TESTS" not in source  # nbgrader would strip them from the student's copy: a new checksum
        assert source.startswith(cells.TEST_MARKER) and source.endswith(f"grade_in_kernel({exercise.id!r})")
    assert "os.environ.setdefault('TORCHGRADE_HIDDEN_CHECKS', \"1\")" in (course_dir / "nbgrader_config.py").read_text()


def test_a_function_comes_after_the_exercise_functions_its_solution_calls(course_dir):
    order = [c["metadata"]["nbgrader"]["grade_id"] for c in _cells(course_dir, "activations")
             if c["metadata"].get("nbgrader", {}).get("solution")]
    assert order.index("sigmoid") < order.index("neuron")
    assert order.index("softmax") < order.index("softmax_jacobian")


def test_build_refuses_to_overwrite_a_hand_edited_notebook_unless_forced(course, tmp_path):
    build_course_dir(course, tmp_path)
    notebook = tmp_path / "source" / "losses" / "losses.ipynb"
    notebook.write_text(notebook.read_text().replace("Binary", "Edited"))
    build_course_dir(course, tmp_path / "other")  # another folder is fine
    with pytest.raises(BuildError, match="--force"):
        build_course_dir(course, tmp_path)
    build_course_dir(course, tmp_path, force=True)
    assert "Edited" not in notebook.read_text()


def test_the_teachers_source_notebooks_score_full_marks(course, course_dir, plans, server, tmp_path):
    plan = plans(None, True)
    for assignment in assignments(course):
        notebook = course_dir / "source" / assignment.name / assignment.notebook
        result = grade_submission(plan, Submission.from_path(notebook, modules=course.modules), server, tmp_path)
        wanted = {e.id for e in assignment.exercises}
        graded = {e.id: (e.score, e.max_score) for e in result.exercises if e.id in wanted}
        assert graded and all(score == top for score, top in graded.values()), graded


def test_a_test_cell_run_outside_a_kernel_does_nothing():
    # Code extracted from a notebook never contains test cells, but a module that imports and calls
    # the test cell's function outside Jupyter must still import cleanly.
    from grader.integrations.nbgrader.kernel import grade_in_kernel

    assert grade_in_kernel("sigmoid", hidden=True) is None


def test_cli_build_writes_the_course_dir_and_names_the_next_step(repo, tmp_path):
    from click.testing import CliRunner

    from grader.cli import main

    result = CliRunner().invoke(main, ["nbgrader", "build", "--course-dir", str(tmp_path / "nb"),
                                       "--course", str(repo / "course.yaml")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "nb" / "source" / "losses" / "losses.ipynb").is_file()
    assert "nbgrader generate_assignment" in result.output


def test_cli_autograde_before_generate_assignment_tells_the_teacher_what_to_run(course, repo, tmp_path):
    pytest.importorskip("nbgrader")
    from click.testing import CliRunner

    from grader.cli import main

    build_course_dir(course, tmp_path)
    result = CliRunner().invoke(main, ["nbgrader", "autograde", "losses", "--course-dir", str(tmp_path),
                                       "--course", str(repo / "course.yaml")])
    assert result.exit_code == 1
    assert "nbgrader generate_assignment losses" in result.output
