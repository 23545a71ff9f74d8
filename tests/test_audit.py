"""torchgrade audit: every catalogued mistake must lose points, every accepted variant must not.

Graded through the real sandbox on tests/audit_course, a course whose relu is checked on positive
inputs only, so its catalogued mistake `abs` survives.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.audit import run_audit, stamp_problem, write_stamp
from grader.cli import main
from grader.plan import build_plan
from grader.spec import load_course

HERE = Path(__file__).resolve().parent
AUDIT_COURSE = HERE / "audit_course"


@pytest.fixture
def course_copy(tmp_path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(AUDIT_COURSE, target)
    return target


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    course = load_course(AUDIT_COURSE / "course.yaml")
    plan = build_plan(course, hidden=True, workdir=tmp_path_factory.mktemp("plan"))
    return run_audit(course, plan, jobs=1)


def test_a_mistake_that_loses_no_points_fails_the_audit(audited):
    assert not audited.ok
    assert [(o.exercise, o.id) for o in audited.survivors] == [("relu", "abs")]


def test_the_audit_says_which_checks_kill_which_mistakes(audited):
    square = next(e for e in audited.exercises if e.exercise == "square")
    assert square.kills("values") == ["doubled"] and square.kills("at_zero") == ["doubled"]
    relu = next(e for e in audited.exercises if e.exercise == "relu")
    assert relu.kills("values") == ["negated"]


def test_accepted_variants_and_the_solutions_get_full_marks(audited):
    assert audited.refused == []
    assert all(e.solution.full_marks for e in audited.exercises)
    assert {(o.exercise, o.id) for e in audited.exercises for o in e.accepted} == {
        ("relu", "clamp"), ("square", "pow"), ("loss_for_two_classes", "spelled_out")}


def test_a_questions_catalogue_is_graded_as_answers(audited):
    question = next(e for e in audited.exercises if e.exercise == "loss_for_two_classes")
    assert [(o.id, o.ok, sorted(o.lost)) for o in question.outcomes] == [
        ("logits_loss", True, ["question"]), ("spelled_out", True, [])]


def test_a_variant_from_a_teacher_only_file_is_graded_under_the_functions_name(audited):
    square = next(e for e in audited.exercises if e.exercise == "square")
    assert [o.id for o in square.mistakes if o.ok] == ["doubled"]
    assert [o.id for o in square.accepted if o.ok] == ["pow"]


def test_the_command_exits_1_and_names_the_surviving_mistake(course_copy, tmp_path):
    report = tmp_path / "audit.json"
    result = CliRunner().invoke(main, ["audit", "--course", str(course_copy / "course.yaml"), "-j", "1",
                                       "--json", str(report), "--no-cache"])
    assert result.exit_code == 1, result.output
    assert "mistake abs loses no points" in result.output
    assert "relu:abs" in result.output and "Audit failed." in result.output
    data = json.loads(report.read_text())
    relu = next(e for e in data["exercises"] if e["id"] == "relu")
    assert relu["kills"] == {"values": ["negated"]}
    assert not (course_copy / ".torchgrade-audit.json").exists()  # a red audit stamps nothing


def test_an_accepted_variant_that_loses_points_fails_the_audit(course_copy):
    yaml_file = course_copy / "exercises" / "square.yaml"
    yaml_file.write_text(yaml_file.read_text() + "  - id: forgot_square\n    code: |\n"
                         "      def square(x):\n          return x\n")
    course = load_course(course_copy / "course.yaml")
    plan = build_plan(course, hidden=True, exercises=["square"], workdir=course_copy / "plan")
    audit = run_audit(course, plan, exercises=["square"], jobs=1)
    assert not audit.ok and audit.survivors == []
    assert [(o.id, sorted(o.lost)) for o in audit.refused] == [("forgot_square", ["values"])]  # x = x² at 0 and 1


def test_a_green_audit_stamps_the_course_and_validate_require_audit_checks_the_stamp(course_copy):
    relu = course_copy / "exercises" / "relu.yaml"
    relu.write_text(relu.read_text().replace("range: [0.5, 10]", "range: [-10, 10]"))
    runner = CliRunner()
    validate = ["validate", "--course", str(course_copy / "course.yaml"), "--require-audit"]
    refused = runner.invoke(main, validate)
    assert refused.exit_code == 2 and "has not been audited" in refused.output
    assert runner.invoke(main, ["validate", "--course", str(course_copy / "course.yaml")]).exit_code == 0
    audited = runner.invoke(main, ["audit", "--course", str(course_copy / "course.yaml"), "-j", "1", "--no-cache"])
    assert audited.exit_code == 0, audited.output
    assert runner.invoke(main, validate).exit_code == 0
    (course_copy / "solutions" / "ops.py").write_text((course_copy / "solutions" / "ops.py").read_text() + "\n# edited\n")
    changed = runner.invoke(main, validate)
    assert changed.exit_code == 2 and "changed since its last audit" in changed.output


def test_a_stamp_is_about_the_files_not_the_folder(course_copy):
    course = load_course(course_copy / "course.yaml")
    write_stamp(course, {})
    assert stamp_problem(course) is None
    catalogue = course_copy / "audit" / "ops_mistakes.py"
    catalogue.write_text(catalogue.read_text() + "\n")
    assert "changed since its last audit" in stamp_problem(load_course(course_copy / "course.yaml"))


def test_an_audit_of_some_exercises_writes_no_stamp(course_copy):
    result = CliRunner().invoke(main, ["audit", "--course", str(course_copy / "course.yaml"), "-k", "square",
                                       "-j", "1", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert not (course_copy / ".torchgrade-audit.json").exists()


def test_a_mistake_that_only_fails_to_run_fails_the_audit(course_copy):
    """A mistake killed by its own NameError proves nothing about the checks."""
    yaml_file = course_copy / "exercises" / "square.yaml"
    text = yaml_file.read_text().replace("accepted:\n", "  - id: undefined_helper\n    feedback: f\n    code: |\n"
                                         "      def square(x):\n          return helper(x)\naccepted:\n")
    yaml_file.write_text(text)
    course = load_course(course_copy / "course.yaml")
    plan = build_plan(course, hidden=True, exercises=["square"], workdir=course_copy / "plan")
    audit = run_audit(course, plan, exercises=["square"], jobs=1)
    assert not audit.ok
    (broken,) = audit.broken
    assert broken.id == "undefined_helper" and "NameError" in broken.broken
