"""Stock `nbgrader autograde` of the generated course raises no false alarm: an untampered notebook
gets no "Attribute 'checksum' for cell … has changed!" warning, a tampered test cell still does, and
the teacher's grading still runs the hidden checks."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("nbgrader") is None or importlib.util.find_spec("ipykernel") is None:
    # found, not imported: importing nbgrader costs every test process about 2 CPU s, so the tests import it
    pytest.skip("nbgrader or ipykernel is not installed", allow_module_level=True)

from grader.integrations.nbgrader import cells  # noqa: E402
from grader.spec import load_course  # noqa: E402
from test_nbgrader_paths import released_losses  # noqa: E402,F401  (a fixture: the course, generated once per run)

pytestmark = pytest.mark.slow  # real nbgrader and a Jupyter kernel per notebook

ASSIGNMENT = "losses"
WARNING = "Attribute 'checksum'"


def nbgrader(course_dir: Path, *args: str) -> str:
    env = dict(os.environ)
    # the kernel is this Python; nbgrader runs `alembic`, a script of whichever environment holds it
    scripts = [str(Path(sys.executable).parent)] + [str(Path(p).parents[2] / "bin") for p in sys.path
                                                    if p.endswith("site-packages") and (Path(p).parents[2] / "bin").is_dir()]
    env["PATH"] = os.pathsep.join([*dict.fromkeys(scripts), env.get("PATH", "")])
    for name in ("TORCHGRADE_COURSE", "TORCHGRADE_HIDDEN_CHECKS"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, env=env, timeout=600,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def course_dir(released_losses, tmp_path_factory) -> Path:
    """The losses module as an nbgrader course, generated, with two submissions: alice's notebook as
    released with the teacher's answers in its solution cells, mallory's with a test cell edited."""
    course_file, released = released_losses
    course = load_course(course_file)
    assert all(any(c.hidden for c in e.checks) for e in course.exercises)  # every test cell has hidden checks
    folder = tmp_path_factory.mktemp("course") / "nbgrader"
    shutil.copytree(released, folder)
    release = json.loads((folder / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    source = json.loads((folder / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in source["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")}
    for student in ("alice", "mallory"):
        notebook = json.loads(json.dumps(release))
        for cell in notebook["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("solution"):
                cell["source"] = answers[meta["grade_id"]]
            if student == "mallory" and meta.get("grade_id") == cells.test_grade_id("bce_loss"):
                cell["source"] = "1.0  # full marks, please"
        target = folder / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        (target / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(notebook))
        (target / "timestamp.txt").write_text("2026-03-01 12:00:00.000000 UTC")
    return folder


def test_the_test_cells_are_released_exactly_as_the_teacher_wrote_them(course_dir):
    def tests(path: Path) -> dict[str, str]:
        notebook = json.loads(path.read_text())
        return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in notebook["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade")}  # a str, or nbformat's list of lines
    source = tests(course_dir / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert source and source == tests(course_dir / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


@pytest.fixture(scope="module")
def autograded(course_dir) -> dict[str, str]:
    """`nbgrader autograde` of the class, once (each run starts nbgrader afresh): student → what it printed while
    grading that student, from its "Creating/updating student" line to the next student's."""
    output = nbgrader(course_dir, "autograde", ASSIGNMENT)
    starts = list(re.finditer(r"Creating/updating student with ID '(\w+)'", output))
    assert [m.group(1) for m in starts] == ["alice", "mallory"], output[-3000:]
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
    output = autograded["mallory"]
    assert f"{WARNING} for cell {cells.test_grade_id('bce_loss')} has changed" in output
    assert output.count(WARNING) == 1
