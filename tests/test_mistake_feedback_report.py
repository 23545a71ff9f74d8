"""`torchgrade report`: per exercise, how many students matched each catalogued mistake, and the most
common failing cases no mistake explains; a table and a bar chart."""
from __future__ import annotations

import json

from click.testing import CliRunner

from grader.cli import main
from grader.report import write_results
from grader.report.class_report import MISCONCEPTIONS, render_html, render_markdown, render_text, summarise
from grader.scoring import CheckResult, ExerciseResult, SubmissionResult


def failed(name: str, case: str, mistake: str | None = None) -> CheckResult:
    words = "Your values match 1 − tanh(x).\n" if mistake else ""
    return CheckResult(name, name, "failed", 0.0, 1.0, f"{words}2 of 4 cases failed. First failing case: {case}\nx",
                       mistake=mistake)


def passed(name: str) -> CheckResult:
    return CheckResult(name, name, "passed", 1.0, 1.0, "All 4 cases passed.")


def student(name: str, *checks: CheckResult) -> SubmissionResult:
    return SubmissionResult(name, (ExerciseResult("tanh_grad", "tanh'", tuple(checks)),))


CLASS = [
    # matched on two checks: one student, counted once
    student("ann", failed("values", "x: float32 (7,) on cpu", "square_missing"),
            failed("derivative", "x: float64 (50,) on cpu", "square_missing")),
    student("ben", failed("values", "x: float32 (7,) on cpu", "square_missing"), passed("derivative")),
    student("cat", failed("values", "x: float32 (7,) on cpu", "tanh_squared"), passed("derivative")),
    student("dan", failed("values", "x: float64 (0,) on cpu"), failed("derivative", "x: float64 (50,) on cpu")),
    student("eve", failed("values", "x: float64 (0,) on cpu"), passed("derivative")),
    student("fay", passed("values"), passed("derivative")),
]


def test_each_student_counts_once_per_matched_mistake():
    (tanh,) = summarise(CLASS).misconceptions
    assert tanh.mistakes == (("square_missing", 2), ("tanh_squared", 1))


def test_failing_cases_that_match_no_mistake_are_counted_by_check_and_case():
    (tanh,) = summarise(CLASS).misconceptions
    assert tanh.unmatched == (("values: x: float64 (0,) on cpu", 2), ("derivative: x: float64 (50,) on cpu", 1))


def test_the_text_markdown_and_html_show_the_counts():
    summary = summarise(CLASS)
    assert "tanh_grad: square_missing 2, tanh_squared 1" in render_text(summary)
    markdown = render_markdown(summary)
    assert "| tanh_grad | square_missing | 2 |" in markdown
    assert "| tanh_grad | values: x: float64 (0,) on cpu | 2 |" in markdown
    assert f"]({MISCONCEPTIONS})" in markdown
    assert "<td>square_missing</td><td>2</td>" in render_html(summary)


def test_a_class_without_matches_says_so_and_draws_no_chart(tmp_path):
    summary = summarise([student("fay", passed("values"))])
    assert summary.misconceptions == ()
    assert "- none matched" in render_markdown(summary) and MISCONCEPTIONS not in render_markdown(summary)


def test_the_report_command_reads_the_mistake_from_results_json_and_draws_the_chart(tmp_path):
    for result in CLASS:
        write_results(result, tmp_path)
    data = json.loads((tmp_path / "ann" / "results.json").read_text())
    assert data["exercises"][0]["checks"][0]["mistake"] == "square_missing"
    outcome = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    assert "tanh_grad: square_missing 2, tanh_squared 1" in outcome.output
    chart = tmp_path / MISCONCEPTIONS
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert "| tanh_grad | square_missing | 2 |" in (tmp_path / "report.md").read_text()


def test_the_example_class_report_counts_bobs_misconceptions(plans, server, repo, tmp_path):
    from grader.run import grade_submission
    plan = plans(("neuron", "leaky_relu_grad", "tanh_grad"), True)
    results = [grade_submission(plan, repo / "examples" / name, server, tmp_path) for name in ("alice", "bob")]
    counts = {m.exercise: dict(m.mistakes) for m in summarise(results).misconceptions}
    assert counts["neuron"] == {"bias_missing": 1}
    assert counts["leaky_relu_grad"] == {"zero_below": 1}
