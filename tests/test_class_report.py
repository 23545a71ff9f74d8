"""The class summary and `torchgrade report DIR`: gradebook, Markdown/HTML report, histogram PNG."""
from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from grader.cli import main
from grader.report import write_results
from grader.report.class_report import render_markdown, render_text, summarise
from grader.resume import write_sidecar
from grader.scoring import CheckResult, ExerciseResult, SubmissionResult


def result(name: str, scores: dict[str, float], **details) -> SubmissionResult:
    """Each exercise worth 10 points in one check."""
    exercises = tuple(
        ExerciseResult(ex, ex, (CheckResult("values", "values", "passed" if s == 10 else "failed", s, 10.0, ""),))
        for ex, s in scores.items())
    return SubmissionResult(name, exercises, dict(details))


CLASS = [
    result("ann", {"sigmoid": 10, "relu": 10}, grade_s=0.5),
    result("ben", {"sigmoid": 10, "relu": 4}, grade_s=2.5),
    result("cat", {"sigmoid": 0, "relu": 10}, grade_s=11.0, stopped=[{"step": "sigmoid", "reason": "timeout"}]),
    result("dan", {"sigmoid": 10, "relu": 0}, grade_s=1.0, output_truncated=True),
]


def test_summary_gives_each_exercise_its_mean_and_share_of_full_marks():
    summary = summarise(CLASS)
    stats = {e.id: e for e in summary.exercises}
    assert stats["sigmoid"].mean == 7.5 and stats["sigmoid"].full_marks == 0.75
    assert stats["relu"].mean == 6.0 and stats["relu"].full_marks == 0.5
    assert summary.max_score == 20 and summary.mean == (20 + 14 + 10 + 10) / 4


def test_summary_names_the_slowest_submissions_first():
    assert [name for name, _ in summarise(CLASS, slowest=2).slowest] == ["cat", "ben"]


def test_summary_lists_the_submissions_that_hit_a_limit():
    limited = {(item.submission, item.what) for item in summarise(CLASS).limited}
    assert ("cat", "sigmoid: timeout") in limited
    assert any(name == "dan" and "truncated" in what for name, what in limited)
    assert not any(name in ("ann", "ben") for name, _ in limited)
    text = render_text(summarise(CLASS))
    assert "cat: sigmoid: timeout" in text and "sigmoid" in text and "75%" in text


def test_markdown_report_has_the_exercise_table_and_the_histogram():
    text = render_markdown(summarise(CLASS))
    assert "| sigmoid | 7.50 | 10 | 75% |" in text
    assert "![" in text and "histogram.png" in text


def write_class(out, results) -> None:
    for item in results:
        write_results(item, out)
        write_sidecar(out / item.submission, "key", "course", item.details)


def test_report_command_writes_gradebook_report_and_histogram(tmp_path):
    write_class(tmp_path, CLASS)
    outcome = CliRunner().invoke(main, ["report", str(tmp_path), "--format", "html"])
    assert outcome.exit_code == 0, outcome.output
    with open(tmp_path / "gradebook.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["submission"], r["sigmoid"], r["relu"], r["score"]) for r in rows] == [
        ("ann", "10", "10", "20"), ("ben", "10", "4", "14"), ("cat", "0", "10", "10"), ("dan", "10", "0", "10")]
    html = (tmp_path / "report.html").read_text()
    assert "sigmoid" in html and "cat: sigmoid: timeout" in html and "histogram.png" in html
    assert (tmp_path / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the timings come from the sidecars, since results.json keeps the shape docs/reference/results-schema.md gives
    assert json.loads((tmp_path / "cat" / "results.json").read_text()).keys() == {
        "submission", "score", "max_score", "exercises"}
    assert "cat 11.0 s" in outcome.output


def test_report_command_writes_markdown_by_default(tmp_path):
    write_class(tmp_path, CLASS[:2])
    outcome = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    assert "| relu | 7.00 | 10 | 50% |" in (tmp_path / "report.md").read_text()


def test_report_command_refuses_a_folder_without_results(tmp_path):
    outcome = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert outcome.exit_code == 2 and "no <submission>/results.json" in outcome.output
