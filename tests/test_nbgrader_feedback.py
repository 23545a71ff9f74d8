"""The pictures a check's feedback names reach the student through nbgrader's feedback HTML.

`nbgrader generate_feedback` converts the autograded notebook to HTML and copies no folder named
`feedback`, so the fast path puts the pictures into the test cell's outputs, where the HTML embeds them.
"""
from __future__ import annotations

import base64
import importlib.util

import pytest

from test_plots import GOOD_ACTIVATION, GOOD_SOFTMAX, grade_plots

if importlib.util.find_spec("nbformat") is None or importlib.util.find_spec("nbconvert") is None:
    # found, not imported: importing them costs every test process about 1.5 CPU s, so the test imports them
    pytest.skip("nbformat or nbconvert is not installed", allow_module_level=True)

from grader.integrations.nbgrader.gradebook import graded_cell_outputs  # noqa: E402
from grader.scoring import CheckResult, ExerciseResult  # noqa: E402


def test_a_failing_plots_pictures_are_in_the_test_cell_and_in_the_feedback_html(grade_files):
    swapped = GOOD_ACTIVATION.replace("a.plot(x.detach(), y.detach())", "a.plot(x.detach(), x.grad)") \
        .replace("b.plot(x.detach(), x.grad)", "b.plot(x.detach(), y.detach())")
    result = grade_plots(grade_files, swapped + GOOD_SOFTMAX)
    exercise = next(e for e in result.exercises if e.id == "plot_activation")
    figure = next(c for c in exercise.checks if c.name == "figure")
    assert figure.status == "failed" and figure.attachments, "the failing plot check drew no picture"

    outputs = graded_cell_outputs(exercise)
    assert outputs[0]["output_type"] == "stream" and "Your axes are swapped" in outputs[0]["text"]
    assert outputs[-1]["output_type"] == "execute_result"
    assert float(outputs[-1]["data"]["text/plain"]) == exercise.score
    pictures = [o for o in outputs if o["output_type"] == "display_data"]
    assert len(pictures) == len(figure.attachments)
    for name, data in figure.attachments.items():
        caption = f"feedback/{name}"
        assert caption in outputs[0]["text"]  # the feedback names it …
        assert any(p["data"]["text/plain"] == caption and base64.b64decode(p["data"]["image/png"]) == data
                   for p in pictures)  # … and the cell holds it, byte for byte

    import nbconvert
    import nbformat

    cell = nbformat.v4.new_code_cell("grade_in_kernel('plot_activation')", outputs=outputs)
    notebook = nbformat.v4.new_notebook(cells=[cell])
    html, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)  # what generate_feedback runs
    for data in figure.attachments.values():
        assert base64.b64encode(data).decode("ascii") in html


def test_only_pictures_of_checks_that_did_not_pass_go_in():
    """A passing check's feedback is not shown (a self-check draws the gradient norms of passing work too)."""
    passed = CheckResult("gradient_norms", "experiment", "passed", 4, 4, "See feedback/norms.png.",
                         attachments={"norms.png": b"passed"})
    failed = CheckResult("figure", "plot", "failed", 0, 6, "See feedback/diff.png.", attachments={"diff.png": b"failed"})
    outputs = graded_cell_outputs(ExerciseResult("plot_activation", "Plot", (passed, failed)))
    pictures = [base64.b64decode(o["data"]["image/png"]) for o in outputs if o["output_type"] == "display_data"]
    assert pictures == [b"failed"]


def test_a_picture_two_failing_checks_name_is_shown_once():
    figure = CheckResult("figure", "plot", "failed", 0, 6, "See feedback/side-by-side.png.",
                         attachments={"side-by-side.png": b"picture"})
    style = CheckResult("style", "plot", "failed", 0, 2, "See feedback/side-by-side.png.",
                        attachments={"side-by-side.png": b"picture"})
    outputs = graded_cell_outputs(ExerciseResult("plot_activation", "Plot", (figure, style)))
    assert [o["output_type"] for o in outputs] == ["stream", "stream", "display_data", "execute_result"]
