"""Stock `nbgrader autograde` of the generated course raises no false alarm: an untampered notebook
gets no "Attribute 'checksum' for cell … has changed!" warning, a tampered test cell still does, and
the teacher's grading still runs the hidden checks."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

if importlib.util.find_spec("nbgrader") is None or importlib.util.find_spec("ipykernel") is None:
    # found, not imported: importing nbgrader costs every test process about 2 CPU s, so the tests import it
    pytest.skip("nbgrader or ipykernel is not installed", allow_module_level=True)

from grader.integrations.nbgrader import cells  # noqa: E402
from grader.spec import load_course  # noqa: E402
from test_nbgrader_paths import STUDENTS, TAMPERED, released_losses, stock_autograded  # noqa: E402,F401  (fixtures: once per run)

pytestmark = pytest.mark.slow  # real nbgrader and a Jupyter kernel per notebook

ASSIGNMENT = "losses"
WARNING = "Attribute 'checksum'"


@pytest.fixture(scope="module")
def course_dir(released_losses, stock_autograded) -> Path:
    """The losses module as an nbgrader course, generated, after stock `nbgrader autograde` of its class
    (test_nbgrader_paths.py's): alice's notebook as released with the teacher's answers in its solution cells,
    bob's with his own answers and bce_loss's test cell edited (test_nbgrader_paths.py's TAMPERED)."""
    course = load_course(released_losses[0])
    assert all(any(c.hidden for c in e.checks) for e in course.exercises)  # every test cell has hidden checks
    return stock_autograded[0]


def test_the_test_cells_are_released_exactly_as_the_teacher_wrote_them(released_losses):
    def tests(path: Path) -> dict[str, str]:
        notebook = json.loads(path.read_text())
        return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in notebook["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade")}  # a str, or nbformat's list of lines
    released = released_losses[1]
    source = tests(released / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert source and source == tests(released / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


@pytest.fixture(scope="module")
def autograded(stock_autograded) -> dict[str, str]:
    """`nbgrader autograde` of the class, once (each run starts nbgrader afresh): student → what it printed while
    grading that student, from its "Creating/updating student" line to the next student's."""
    output = stock_autograded[1]
    starts = list(re.finditer(r"Creating/updating student with ID '(\w+)'", output))
    assert sorted(m.group(1) for m in starts) == sorted(STUDENTS), output[-3000:]
    assert WARNING not in output[:starts[0].start()], output[-3000:]  # every warning is in a student's part
    return {m.group(1): output[m.start():(starts[i + 1].start() if i + 1 < len(starts) else len(output))]
            for i, m in enumerate(starts)}


def test_autograding_an_untampered_notebook_prints_no_checksum_warning(course_dir, autograded):
    output = autograded["alice"]
    assert WARNING not in output, output[-3000:]
    notebook = json.loads((course_dir / "autograded" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    shown = "".join("".join(o.get("text", "")) for c in notebook["cells"]
                    if c["metadata"].get("nbgrader", {}).get("grade") for o in c.get("outputs", []))
    assert "(hidden)" in shown  # the teacher's grading ran the hidden checks


def test_a_tampered_test_cell_is_still_reported_and_restored(autograded):
    assert set(TAMPERED["bob"]) == {cells.test_grade_id("bce_loss")}
    output = autograded["bob"]
    assert f"{WARNING} for cell {cells.test_grade_id('bce_loss')} has changed" in output
    assert output.count(WARNING) == 1
