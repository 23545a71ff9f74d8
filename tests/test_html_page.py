"""The self-check's HTML page: one self-contained file with each failing check's feedback beside its
pictures, looked at in a real browser (headless Chromium) — the picture is drawn, the text is there."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.report import render_page, write_page
from grader.scoring import CheckResult, ExerciseResult, SubmissionResult

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium) to look at the page")

MAGENTA = (1.0, 0.0, 1.0)
FEEDBACK = ("1 of 4 cases failed. First failing case: plot_activation('tanh', path)\n"
            "Your right axes shows no grid: ax.grid(True).\n"
            "See feedback/plot_activation-tanh-side-by-side.png (your plot beside the reference).")


def png(colour: tuple[float, float, float], size: int = 240) -> bytes:
    """A square picture of one colour (one a page background never has)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(size / 100, size / 100), dpi=100)
    FigureCanvasAgg(figure)
    figure.patch.set_facecolor(colour)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=colour)
    return buffer.getvalue()


def failing_plot_result() -> SubmissionResult:
    plot = ExerciseResult("plot_activation", "Plot an activation and its derivative", (
        CheckResult("style", "plot", "failed", 0.0, 2.0, FEEDBACK,
                    attachments={"plot_activation-tanh-side-by-side.png": png(MAGENTA)}),))
    sigmoid = ExerciseResult("sigmoid", "The sigmoid", (CheckResult("values", "values", "passed", 4.0, 4.0, "All passed."),))
    return SubmissionResult("carol", (sigmoid, plot))


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp)


def test_the_page_is_self_contained_and_names_no_file(tmp_path):
    page = render_page(failing_plot_result())
    sources = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]*)""", page)
    assert sources and all(s.startswith(("data:image/png;base64,", "#")) for s in sources), sources
    assert "feedback/" not in page
    assert "Your right axes shows no grid" in page
    assert "<link" not in page and "<script" not in page


def test_a_passing_submission_gets_a_page_that_says_so():
    result = SubmissionResult("dora", (ExerciseResult("sigmoid", "The sigmoid", (
        CheckResult("values", "values", "passed", 4.0, 4.0, "All passed."),)),))
    assert "Every check passed." in render_page(result)


def test_a_passing_check_with_a_note_is_shown_with_it():
    from grader.scoring import with_note
    passed = CheckResult("values", "values", "passed", 4.0, 4.0, "All passed.")
    result = SubmissionResult("dora", (ExerciseResult("sigmoid_grad", "The sigmoid's derivative", (
        with_note(passed, "it switched gradient tracking off"),)),))
    page = render_page(result)
    assert "Every check passed." in page and "it switched gradient tracking off" in page


def test_feedback_text_is_escaped_not_run_as_html():
    hostile = ExerciseResult("relu", "ReLU", (CheckResult("values", "values", "failed", 0.0, 4.0,
                                                          "got <script>alert(1)</script>"),))
    page = render_page(SubmissionResult("eve", (hostile,)))
    assert "<script>" not in page and "&lt;script&gt;" in page


@needs_chromium
def test_chromium_shows_the_picture_and_the_feedback(tmp_path):
    page = write_page(failing_plot_result(), tmp_path / "feedback page.html")
    shot = tmp_path / "shot.png"
    done = chromium(f"--screenshot={shot}", "--window-size=1400,1000", "--hide-scrollbars", page.as_uri(), tmp=tmp_path)
    assert shot.is_file(), done.stderr[-2000:]
    from matplotlib.image import imread
    pixels = imread(shot)[..., :3]
    magenta = ((pixels[..., 0] > 0.9) & (pixels[..., 1] < 0.1) & (pixels[..., 2] > 0.9)).sum()
    assert magenta > 150 * 150, f"the inlined picture is not drawn ({magenta} magenta pixels)"
    dom = chromium("--dump-dom", page.as_uri(), tmp=tmp_path).stdout
    assert "Your right axes shows no grid: ax.grid(True)." in dom
    assert "plot_activation::style" in dom


def test_check_html_writes_the_page_with_the_plot_pictures(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outcome = CliRunner().invoke(main, ["check", str(repo / "examples" / "bob"), "--course", str(repo / "course.yaml"),
                                        "-k", "plot_activation", "--html", "page.html"])
    assert outcome.exit_code == 1, outcome.output
    page = (tmp_path / "page.html").read_text()
    assert page.count("<img src='data:image/png;base64,") >= 2
    assert "plot_activation::figure" in page and "feedback/" not in page
    assert "page.html" in outcome.output


pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def bundle(student_bundle) -> Path:
    """The course's student bundle, released once per run (tests/conftest.py); tests that change it use a copy."""
    return student_bundle


def test_the_pytest_plugin_writes_the_page_in_a_student_bundle(pytester, bundle, repo):
    shutil.copytree(bundle, pytester.path, dirs_exist_ok=True)
    shutil.copy(repo / "examples" / "bob" / "plots.py", pytester.path / "plots.py")
    outcome = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "plot_activation",
                                           "--torchgrade-html", "page.html")
    outcome.assert_outcomes(failed=2, passed=1)
    page = (pytester.path / "page.html").read_text()
    assert "plot_activation::figure" in page and page.count("data:image/png;base64,") >= 2
    assert "the feedback with its pictures, on one page" in outcome.stdout.str()


def test_a_notebook_test_cell_shows_the_pictures_its_feedback_names(repo):
    """Stock nbgrader's path: the kernel's grader sends the pictures along, and its text names no file."""
    pytest.importorskip("IPython")
    from grader.integrations.nbgrader.session import KernelGrader
    grader = KernelGrader(str(repo / "course.yaml"))
    try:
        reply = grader.grade("plot_activation", False, [(repo / "examples" / "bob" / "plots.py").read_text()])
    finally:
        grader.close()
    assert reply["score"] < reply["max_score"]
    names = [name for name, _ in reply["pictures"]]
    assert any(name.endswith("side-by-side.png") for name in names)
    assert "feedback/" not in reply["text"] and f"the picture {names[0]} (below)" in reply["text"]
