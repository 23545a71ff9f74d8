"""Real nbgrader, both paths, on one small course: stock `nbgrader autograde` (test cells in the
student's kernel) and `torchgrade nbgrader autograde` (extracted code in the sandbox, scores
written into nbgrader's gradebook). Both must give what `torchgrade grade` gives."""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

if importlib.util.find_spec("nbgrader") is None or importlib.util.find_spec("ipykernel") is None:
    # found, not imported: importing nbgrader costs every test process about 2 CPU s, so the tests import it
    pytest.skip("nbgrader or ipykernel is not installed", allow_module_level=True)

from conftest import made_once_per_run  # noqa: E402
from grader.integrations.nbgrader import cells  # noqa: E402
from grader.integrations.nbgrader.autograde import autograde, load_coursedir  # noqa: E402
from grader.integrations.nbgrader.build import build_course_dir  # noqa: E402
from grader.intake import Submission  # noqa: E402
from grader.run import grade_submission  # noqa: E402
from grader.spec import load_course  # noqa: E402

pytestmark = pytest.mark.slow  # real nbgrader and a Jupyter kernel per stock-path notebook

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "losses"
EXERCISES = ("bce_loss", "cross_entropy")

# The student's code per solution cell; a notebook not listed here keeps the teacher's solution.
PARTLY_WRONG = {  # bce_loss forgets to clamp the logs (nan at p = 0 or 1); cross_entropy sums
    "bce_loss": """
        def bce_loss(p, target):
            return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()
    """,
    "cross_entropy": """
        def cross_entropy(logits, target):
            rows = torch.arange(logits.shape[0], device=logits.device)
            return (torch.logsumexp(logits, dim=1) - logits[rows, target]).sum()
    """,
}
BROKEN = {  # a syntax error, and a helper that does not exist
    "bce_loss": """
        def bce_loss(p, target)
            return 0
    """,
    "cross_entropy": """
        def cross_entropy(logits, target):
            return my_helper(logits, target)
    """,
}
WRONG_ANSWER = """
    def bce_loss(p, target):
        return torch.zeros((), dtype=p.dtype, device=p.device)
"""
CHEATER = {  # a wrong answer, and code that attacks the grader and torch from the notebook
    "bce_loss": """
        import grader.integrations.nbgrader.kernel as _kernel
        _kernel.grade_in_kernel = lambda *args, **kwargs: None  # stock nbgrader: no output means full marks

        def _rig(function):
            import torch, grader.checks.compare as compare, grader.scoring as scoring
            torch.allclose = lambda *a, **k: True
            torch.isnan = lambda x: torch.zeros_like(x, dtype=torch.bool)
            torch.testing.assert_close = lambda *a, **k: None
            for name in dir(compare):
                if callable(getattr(compare, name)):
                    setattr(compare, name, lambda *a, **k: None)
            scoring.score_check = lambda exercise, check, verdicts: None
            return function

        @_rig
        def bce_loss(p, target):
            return torch.zeros((), dtype=p.dtype, device=p.device)
    """,
}
STUDENTS = {"alice": {}, "bob": PARTLY_WRONG, "carol": BROKEN, "mallory": CHEATER}


@pytest.fixture(scope="session")
def released_losses(tmp_path_factory) -> tuple[Path, Path]:
    """(course.yaml, nbgrader course directory) of the course's losses module alone (one assignment, two exercises:
    kernels are slow), after `nbgrader generate_assignment`. Made once per run: with -n, by the first worker that
    asks, in the folder the workers share (the run's base temporary folder), under a lock; tests copy the course
    directory (test_nbgrader_checksums.py and test_boundary_nbgrader.py too)."""
    with made_once_per_run(tmp_path_factory, "losses-released") as shared:
        root, released = shared / "losses-course", shared / "losses-released"
        if not released.is_dir():
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(REPO / "exercises" / "losses", root / "exercises" / "losses")
            shutil.copytree(REPO / "solutions", root / "solutions")
            (root / "course.yaml").write_text("name: Losses\nseed: 2026\nmodules: [losses]\n"
                                              "exercises: [exercises/losses/*.yaml]\n")
            staging = shared / "losses-released.partial"
            shutil.rmtree(staging, ignore_errors=True)
            build_course_dir(load_course(root / "course.yaml"), staging)
            _nbgrader(staging, "generate_assignment", ASSIGNMENT)
            os.replace(staging, released)
    return root / "course.yaml", released


@pytest.fixture(scope="module")
def small_course(released_losses):
    """The course's losses module alone: one assignment, two exercises (kernels are slow)."""
    return load_course(released_losses[0])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # the kernel is this Python; nbgrader runs `alembic`, a script of whichever environment holds it
    scripts = [str(Path(sys.executable).parent)] + [str(Path(p).parents[2] / "bin") for p in sys.path
                                                    if p.endswith("site-packages") and (Path(p).parents[2] / "bin").is_dir()]
    env["PATH"] = os.pathsep.join([*dict.fromkeys(scripts), env.get("PATH", "")])
    for name in ("TORCHGRADE_COURSE", "TORCHGRADE_HIDDEN_CHECKS"):
        env.pop(name, None)
    return env


def _nbgrader(course_dir: Path, *args: str, timeout: float = 600) -> str:
    """What `nbgrader *args` printed in `course_dir`, which must succeed."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, env=_env(), timeout=timeout,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def generated(released_losses, tmp_path_factory) -> Path:
    """A course directory after `nbgrader generate_assignment`, with every student's submission."""
    return _with_submissions(_copy(released_losses[1], tmp_path_factory.mktemp("generated") / "course"), STUDENTS)


def _with_submissions(folder: Path, students: dict[str, dict[str, str]],
                      tampered: dict[str, dict[str, str]] | None = None) -> Path:
    """`folder` with each student's released notebook submitted, its solution cells filled by _fill and the test
    cells of tampered[student] ({grade id: source}) replaced."""
    release = json.loads((folder / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    source = json.loads((folder / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    for student, answers in students.items():
        notebook = _fill(release, source, answers)
        for cell in notebook["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in (tampered or {}).get(student, {}):
                cell["source"] = tampered[student][grade_id]
        target = folder / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        (target / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(notebook))
        (target / "timestamp.txt").write_text("2026-03-01 12:00:00.000000 UTC")
    return folder


def _fill(release: dict, source: dict, answers: dict[str, str]) -> dict:
    """The released notebook with each solution cell answered (by the teacher's code if not in answers)."""
    teacher = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in source["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")}
    notebook = json.loads(json.dumps(release))
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = textwrap.dedent(answers[grade_id]).strip() if grade_id in answers else teacher[grade_id]
    return notebook


#: Test cells edited in the stock run's class (test_nbgrader_checksums.py reads the warning): bob's bce_loss test cell
#: says "full marks". Restored by nbgrader, it grades bob's half-right bce_loss as torchgrade does.
TAMPERED = {"bob": {cells.test_grade_id("bce_loss"): "1.0  # full marks, please"}}


@pytest.fixture(scope="session")
def stock_autograded(released_losses, tmp_path_factory) -> tuple[Path, str]:
    """(course directory, what it printed) of one stock `nbgrader autograde` of STUDENTS, with the test cells in
    TAMPERED edited, the one both this file and test_nbgrader_checksums.py read: each run starts nbgrader and a
    Jupyter kernel per notebook afresh. Made once per run, as released_losses is; tests only read it."""
    with made_once_per_run(tmp_path_factory, "losses-stock-autograded") as shared:
        folder, printed = shared / "losses-stock-autograded", shared / "losses-stock-autograded.txt"
        if not folder.is_dir():
            staging = shared / "losses-stock-autograded.partial"
            shutil.rmtree(staging, ignore_errors=True)
            _copy(released_losses[1], staging)
            _with_submissions(staging, STUDENTS, TAMPERED)
            printed.write_text(_nbgrader(staging, "autograde", ASSIGNMENT))
            os.replace(staging, folder)
    return folder, printed.read_text()


def _copy(generated: Path, target: Path) -> Path:
    shutil.copytree(generated, target)
    return target


def _gradebook_scores(course_dir: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    coursedir = load_coursedir(course_dir)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        return {student: {e: gb.find_grade(cells.test_grade_id(e), ASSIGNMENT, ASSIGNMENT, student).score
                          for e in EXERCISES} for student in STUDENTS}


@pytest.fixture(scope="module")
def stock(stock_autograded) -> dict[str, dict[str, float]]:
    return _gradebook_scores(stock_autograded[0])


@pytest.fixture(scope="module")
def fast_dir(generated, small_course, tmp_path_factory) -> Path:
    folder = _copy(generated, tmp_path_factory.mktemp("fast") / "course")
    autograde(small_course, folder, ASSIGNMENT, jobs=2)
    return folder


@pytest.fixture(scope="module")
def expected(generated, small_course, plans, server, tmp_path_factory) -> dict[str, dict[str, float]]:
    """`torchgrade grade` on each submitted notebook."""
    plan = plans(None, True, small_course)
    scratch = tmp_path_factory.mktemp("scratch")
    out = {}
    for student in STUDENTS:
        notebook = generated / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        result = grade_submission(plan, Submission.from_path(notebook, modules=small_course.modules), server, scratch)
        out[student] = {e.id: e.score for e in result.exercises}
    return out


def test_stock_nbgrader_scores_equal_torchgrade_grade(stock, expected):
    for student in ("alice", "bob", "carol"):
        assert stock[student] == pytest.approx(expected[student]), student
    assert expected["alice"] == {"bce_loss": 10.0, "cross_entropy": 10.0}  # the teacher's code: full marks
    assert expected["carol"] == {"bce_loss": 0.0, "cross_entropy": 0.0}


def test_stock_nbgrader_gives_partial_credit_for_a_half_right_exercise(stock, small_course):
    assert "bob" in TAMPERED  # his bce_loss test cell says full marks: nbgrader grades with the teacher's
    top = small_course.exercise("bce_loss").max_score
    assert 0 < stock["bob"]["bce_loss"] < top


def test_stock_path_trusts_the_kernel_so_a_cell_can_fake_its_score(stock, expected):
    # Why `torchgrade nbgrader autograde` exists: in the stock path the test cell runs in the
    # student's kernel, and a cell above it replaced the function it calls.
    assert expected["mallory"]["bce_loss"] < stock["mallory"]["bce_loss"] == 10.0


def test_fast_path_scores_equal_torchgrade_grade(fast_dir, expected):
    assert _gradebook_scores(fast_dir) == {s: pytest.approx(expected[s]) for s in STUDENTS}


def test_monkeypatching_the_grader_or_torch_gains_nothing_on_the_fast_path(fast_dir, small_course, plans, server,
                                                                         tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "losses.py").write_text("import torch\n" + textwrap.dedent(WRONG_ANSWER))
    plain = grade_submission(plans(("bce_loss",), True, small_course), folder, server, tmp_path)
    cheater = _gradebook_scores(fast_dir)["mallory"]
    assert cheater["bce_loss"] == plain.exercises[0].score
    assert cheater["bce_loss"] < small_course.exercise("bce_loss").max_score / 2


def test_fast_path_feedback_is_in_the_gradebook_and_the_autograded_notebook(fast_dir):
    from nbgrader.api import Gradebook

    coursedir = load_coursedir(fast_dir)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        comment = gb.find_comment("bce_loss", ASSIGNMENT, ASSIGNMENT, "bob").auto_comment
        grade = gb.find_grade("test_bce_loss", ASSIGNMENT, ASSIGNMENT, "bob")
        assert comment.startswith(f"bce_loss: {grade.auto_score:g} / 10 points") and "✗ stability" in comment
        assert not grade.needs_manual_grade
    notebook = json.loads((fast_dir / "autograded" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    test_cell = next(c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_bce_loss")
    assert "".join(test_cell["outputs"][0]["text"]) == comment + "\n"
    assert float("".join(test_cell["outputs"][1]["data"]["text/plain"])) == grade.auto_score


def test_formgrader_lists_fast_path_submissions_as_autograded(fast_dir):
    from nbgrader.apps.api import NbGraderAPI

    api = NbGraderAPI(coursedir=load_coursedir(fast_dir))
    assert api.get_autograded_students(ASSIGNMENT) == set(STUDENTS)


def test_nbgrader_export_totals_the_fast_path_scores(fast_dir, expected):
    _nbgrader(fast_dir, "export", "--to", "grades.csv")
    with open(fast_dir / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(STUDENTS)
    for student, row in rows.items():
        assert float(row["raw_score"]) == pytest.approx(sum(expected[student].values()))
        assert float(row["max_score"]) == 20.0


def test_autograde_leaves_no_plan_folder_behind(generated, small_course, tmp_path, monkeypatch):
    import tempfile
    folder = _copy(generated, tmp_path / "course")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    autograde(small_course, folder, ASSIGNMENT, students=["alice"], jobs=1)
    assert not list(temporary.glob("torchgrade-plan-*"))


def test_autograde_grades_with_the_callers_warm_servers_and_leaves_them_running(generated, small_course, server,
                                                                                expected, tmp_path, monkeypatch):
    """The command line starts its servers before it loads the course; autograde must use them, not start its own."""
    import grader.integrations.nbgrader.autograde as fast
    from grader.pool import WorkerPool

    def no_new_servers(*args, **kwargs):
        raise AssertionError("autograde started fork servers of its own")

    monkeypatch.setattr(fast, "start_servers", no_new_servers)
    folder = _copy(generated, tmp_path / "course")
    pool = WorkerPool.of([server])
    results = autograde(small_course, folder, ASSIGNMENT, students=["alice"], jobs=2, servers=pool)
    assert {e.id: e.score for e in results[0].notebooks[ASSIGNMENT].exercises} == expected["alice"]
    assert pool.get() is server and server._process is not None and server._process.poll() is None  # still running
