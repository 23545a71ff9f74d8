"""`torchgrade nbgrader autograde` records each student as soon as they are graded, the ungradable too."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

if importlib.util.find_spec("nbgrader") is None:
    # found, not imported: importing nbgrader costs every test process about 2 CPU s, so the tests import it
    pytest.skip("nbgrader is not installed", allow_module_level=True)

from grader.integrations.nbgrader.autograde import autograde, load_coursedir  # noqa: E402
from test_nbgrader_paths import ASSIGNMENT, generated, released_losses, small_course  # noqa: E402,F401  (fixtures)

pytestmark = pytest.mark.slow  # nbgrader generate_assignment once for the module


def with_malformed_notebook(generated: Path, target: Path) -> Path:
    """The generated class plus 'bert', whose notebook has a cell whose metadata is a list, and 'bess', whose
    bce_loss raises an exception whose message holds a lone surrogate."""
    folder = shutil.copytree(generated, target)
    notebook = json.loads((folder / "submitted" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    malformed = json.loads(json.dumps(notebook))
    malformed["cells"][1]["metadata"] = ["not", "an", "object"]
    surrogate = json.loads(json.dumps(notebook))
    surrogate["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                               "source": "def bce_loss(p, target):\n    raise ValueError('bad \\udcff byte')\n"})
    for student, content in (("bert", malformed), ("bess", surrogate)):
        (folder / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        (folder / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(content))
    return folder


def recorded(folder: Path, student: str) -> tuple[float, str]:
    from nbgrader.api import Gradebook

    coursedir = load_coursedir(folder)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        comments = " ".join(c.auto_comment or "" for n in submission.notebooks for c in n.comments)
        return submission.score, comments


@pytest.fixture(scope="module")
def malformed_class(generated, small_course, tmp_path_factory):
    """(course directory, the command's result) of `torchgrade nbgrader autograde` of the generated class with bert
    and bess, once for the module: the tests only read its gradebook."""
    from click.testing import CliRunner

    from grader.cli import main

    folder = with_malformed_notebook(generated, tmp_path_factory.mktemp("malformed") / "course")
    run = CliRunner().invoke(main, ["nbgrader", "autograde", ASSIGNMENT, "--course-dir", str(folder),
                                    "--course", str(small_course.file), "--jobs", "1"])
    return folder, run


def test_a_malformed_notebook_is_recorded_with_the_reason_and_the_class_goes_on(malformed_class):
    folder, run = malformed_class
    assert run.exit_code == 1 and "Could not grade 1 of them: bert" in run.output, run.output
    score, comment = recorded(folder, "bert")
    assert score == 0 and "could not be graded" in comment and "has metadata that is a list" in comment
    for student in ("alice", "bob", "carol", "mallory"):
        assert recorded(folder, student)[0] == autograded_score(run.output, student)
    score, comment = recorded(folder, "bess")
    assert "bad \\xff byte" in comment and "could not be graded" not in comment and score > 0


def autograded_score(output: str, student: str) -> float:
    """The score the command printed for the student."""
    return float(next(line.split()[1] for line in output.splitlines() if line.split()[:1] == [student]))


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


KILLER = '''
import os, signal, sys
from pathlib import Path
import grader.integrations.nbgrader.autograde as fast
from grader.spec import load_course
course_file, folder, assignment = sys.argv[1:]
record, recorded = fast._record, []

def record_then_die(*args, **kwargs):
    if len(recorded) == 2:
        os.killpg(0, signal.SIGKILL)                     # mid-class: two students recorded, the third not
    record(*args, **kwargs)
    recorded.append(1)

fast._record = record_then_die
fast.autograde(load_course(course_file), Path(folder), assignment, jobs=1)
'''


def scores(folder: Path, students: list[str]) -> dict[str, float]:
    return {student: recorded(folder, student)[0] for student in students}


def test_autograde_killed_mid_class_resumes_to_the_same_gradebook(generated, small_course, malformed_class, tmp_path):
    import subprocess
    import sys

    clean = malformed_class[0]  # the same class graded without a kill
    students = sorted(p.name for p in (clean / "submitted").iterdir())  # in the order autograde grades them
    folder = with_malformed_notebook(generated, tmp_path / "killed")
    (tmp_path / "killer.py").write_text(KILLER)
    killed = subprocess.run([sys.executable, str(tmp_path / "killer.py"), str(small_course.file), str(folder),
                             ASSIGNMENT], capture_output=True, text=True, timeout=600, start_new_session=True)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert recorded(folder, students[0])[0] == scores(clean, students)[students[0]]   # kept across the kill
    autograde(small_course, folder, ASSIGNMENT, jobs=1)
    assert scores(folder, students) == scores(clean, students)
