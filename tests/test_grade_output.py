"""What `torchgrade grade` prints: one line per submission and a short class summary; the full
feedback with --verbose or `torchgrade show OUT/<submission>`."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.report import render_class_brief, render_lines, write_results
from grader.report.class_report import summarise
from grader.resume import write_sidecar
from grader.scoring import CheckResult, ExerciseResult, SubmissionResult

REPO = Path(__file__).resolve().parents[1]


def result(name: str, failures: dict[str, str], grade_s: float | None = 1.25) -> SubmissionResult:
    """Three exercises of 4 points; `failures` maps an exercise to its failing feedback."""
    exercises = tuple(
        ExerciseResult(ex, ex, (CheckResult("values", "values", "failed" if ex in failures else "passed",
                                            0.0 if ex in failures else 4.0, 4.0, failures.get(ex, "All passed.")),))
        for ex in ("sigmoid", "relu", "softmax"))
    return SubmissionResult(name, exercises, {"grade_s": grade_s} if grade_s else {})


CLASS = [
    result("ann", {}),
    result("ben", {"relu": "2 of 6 cases failed. First failing case: relu(x: float32[7])\nrelu changed its input x.",
                   "softmax": "1 of 3 cases failed.\nsoftmax overflows."}, grade_s=2.5),
    result("cat", {"sigmoid": "1 of 1 cases failed. First failing case: sigmoid(x)\nsee feedback/x.png"}, grade_s=None),
]


def test_one_line_per_submission_with_score_time_and_first_failing_exercise():
    lines = render_lines(CLASS).splitlines()
    assert len(lines) == 1 + len(CLASS)
    assert lines[0].split() == ["submission", "score", "time", "first", "failure"]
    ann, ben, cat = lines[1:]
    assert ann.split()[:5] == ["ann", "12", "/", "12", "1.2"] and ann.rstrip().endswith("-")
    assert "4 / 12" in ben and "2.5 s" in ben and "relu::values: relu changed its input x." in ben
    assert "softmax" not in ben  # the first failing exercise only
    assert "reused" in cat and "sigmoid::values" in cat


def test_class_summary_is_a_few_lines_naming_the_exercises_fewest_got_right():
    text = render_class_brief(summarise(CLASS))
    assert len(text.splitlines()) <= 5
    assert text.startswith("Class: 3 submissions, mean 8.00 / 12")
    assert "Fewest full marks: relu 67%, sigmoid 67%, softmax 67%" in text


def write_class(out: Path) -> None:
    for item in CLASS:
        write_results(item, out)
        write_sidecar(out / item.submission, "key", "course", item.details)


def test_show_prints_the_full_feedback_of_one_submission(tmp_path):
    write_class(tmp_path)
    for target in (tmp_path / "ben", tmp_path / "ben" / "results.json"):
        outcome = CliRunner().invoke(main, ["show", str(target)])
        assert outcome.exit_code == 0, outcome.output
        assert "relu changed its input x." in outcome.output and "softmax overflows." in outcome.output


def test_show_names_pictures_where_they_were_written(tmp_path, monkeypatch):
    write_class(tmp_path)
    monkeypatch.chdir(tmp_path)
    outcome = CliRunner().invoke(main, ["show", "cat"])
    assert "see cat/feedback/x.png" in outcome.output


def test_show_refuses_a_folder_without_results(tmp_path):
    outcome = CliRunner().invoke(main, ["show", str(tmp_path)])
    assert outcome.exit_code == 2 and "holds no readable results.json" in outcome.output


@pytest.fixture(scope="module")
def small_course(tmp_path_factory) -> Path:
    """The repository's course with two exercises (fast to grade, same rules)."""
    root = tmp_path_factory.mktemp("course")
    for folder in ("exercises", "solutions", "examples"):
        shutil.copytree(REPO / folder, root / folder)
    data = yaml.safe_load((REPO / "course.yaml").read_text())
    data["exercises"] = ["exercises/activations/relu.yaml", "exercises/activations/sigmoid.yaml"]
    (root / "course.yaml").write_text(yaml.safe_dump(data))
    return root


def test_grade_prints_a_line_per_submission_and_verbose_prints_the_feedback(small_course, tmp_path):
    subs = [str(small_course / p) for p in ("solutions", "examples/bob", "examples/starter")]
    course = ["--course", str(small_course / "course.yaml")]
    quiet = CliRunner().invoke(main, ["grade", *subs, "--out", str(tmp_path / "out"), "--jobs", "1", *course])
    assert quiet.exit_code == 0, quiet.output
    lines = quiet.stdout.splitlines()  # progress lines go to stderr
    assert len(lines) <= 3 + 1 + 1 + 5 + 3, quiet.output
    assert [line.split()[0] for line in lines[:4]] == ["submission", "bob", "solutions", "starter"]
    assert "relu::values: Your function writes into x" in lines[1]  # the catalogued mistake's own words
    assert "changed its input" not in "\n".join(lines[4:])  # the full feedback is not printed
    loud = CliRunner().invoke(main, ["grade", *subs, "--out", str(tmp_path / "out"), "--verbose", *course])
    assert loud.exit_code == 0, loud.output
    assert "✗ relu::values" in loud.output and "Hint:" in loud.output
