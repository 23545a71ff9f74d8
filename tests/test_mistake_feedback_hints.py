"""Without a matching mistake, the hint is chosen by what went wrong, never by the kind of check alone;
and the numbers in feedback read right."""
from __future__ import annotations

import math

import torch

from grader.checks.base import CaseVerdict
from grader.checks.compare import compare_values
from grader.kinds.distribution.judge import _known_ratio
from grader.kinds.forbid.judge import judge_case as forbid_judge
from grader.scoring import score_check


def check(exercise, label):
    return next(c for c in exercise.checks if c.label == label)


def feedback(exercise, label, message, key):
    verdict = CaseVerdict("c0", "a case", False, message, key)
    return score_check(exercise, check(exercise, label), [verdict]).feedback


def test_an_error_raised_by_the_maths_is_not_told_to_use_no_grad(course):
    kaiming = course.exercise("kaiming_uniform_")
    text = feedback(kaiming, "in_place", "Your function raised RuntimeError: uniform_ expects to return a "
                                         "[from, to) range, but found from=1 > to=-1", "error")
    assert "no_grad" not in text and "Hint:" not in text


def test_a_write_into_a_tensor_that_requires_grad_is_told_to_use_no_grad(course):
    kaiming = course.exercise("kaiming_uniform_")
    text = feedback(kaiming, "in_place", "Your function raised RuntimeError: a leaf Variable that requires grad "
                                         "is being used in an in-place operation.", "error")
    assert "Hint: write into the tensor inside `with torch.no_grad():`" in text


def test_the_grader_has_its_own_no_grad_hint_where_the_exercise_has_none(course):
    gain = course.exercise("calculate_gain")
    assert "in_place_grad" not in gain.hints
    text = feedback(gain, gain.checks[0].label, "Your function raised RuntimeError: a view of a leaf Variable that requires "
                                    "grad is being used in an in-place operation.", "error")
    assert "torch.no_grad()" in text


def test_a_wrong_gradient_is_not_told_to_keep_the_loss_connected(course):
    bce = course.exercise("bce_loss")
    wrong_maths = feedback(bce, "gradient", "The gradient with respect to p is wrong.\n3 of 10 elements differ.",
                           "gradient")
    assert "connected" not in wrong_maths
    cut = feedback(bce, "gradient", "The result of your function is not connected to its inputs.", "graph_cut")
    assert "Hint: the loss must stay connected to p" in cut


def test_backward_raising_gets_no_hint_written_for_a_wrong_gradient(course):
    sigmoid = course.exercise("sigmoid")
    text = feedback(sigmoid, "gradient", "Back-propagating through your function raised RuntimeError: one of the "
                                         "variables needed for gradient computation has been modified", "gradient")
    assert sigmoid.hints["gradient"].strip() not in text


def test_a_checks_own_hint_is_kept_for_its_own_failures_only(course):
    normal = course.exercise("normal_")
    generator = check(normal, "generator")
    assert generator.hint
    assert generator.hint.strip() in feedback(normal, "generator", "With a generator given: other values", "values")
    assert generator.hint.strip() not in feedback(normal, "generator", "Your function raised TypeError: x", "error")


def test_a_relative_difference_is_never_computed_against_an_expected_zero():
    problem = compare_values(torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.5, 0.0, 1.0]), 1e-6, 1e-5)
    assert "e+300" not in problem.message and "relative difference" not in problem.message
    assert "the expected value is 0 wherever yours differs" in problem.message


def test_the_relative_difference_leaves_out_the_expected_zeros():
    problem = compare_values(torch.tensor([0.0, 2.0]), torch.tensor([1e-3, 3.0]), 1e-6, 1e-5)
    assert "greatest relative difference 0.5 at [1]" in problem.message


def test_a_spread_near_three_fifths_reads_three_fifths():
    assert _known_ratio(0.6) == " (close to 3/5)"
    assert _known_ratio(1 / math.sqrt(2)) == " (close to 1/√2)"
    assert _known_ratio(5 / 3) == " (close to 5/3)"


def test_the_forbid_message_has_no_placeholder_spellings(course):
    sigmoid = course.exercise("sigmoid")
    forbid = check(sigmoid, "forbid")
    from grader.checks.base import Prepared
    verdict = forbid_judge(Prepared(sigmoid, forbid, [], []), type("Case", (), {"id": "c", "label": "x"})(),
                           {"ops": ["aten.sigmoid.default"], "recorder_intact": True})
    assert not verdict.passed and "torch.f" not in verdict.message and "x.f()" not in verdict.message
    assert "aten.sigmoid" in verdict.message


def test_a_wrong_gradient_with_right_values_is_told_so(course):
    sigmoid = course.exercise("sigmoid")
    verdict = CaseVerdict("c0", "x: float64 (7,) on cpu", False, "The gradient with respect to x is wrong.", "gradient")
    text = score_check(sigmoid, check(sigmoid, "gradient"), [verdict], values="right").feedback
    assert "values are right" in text and f"Hint: {sigmoid.hints['gradient'].strip()}" in text


def test_a_wrong_gradient_with_wrong_values_gets_the_values_hint(course):
    tanh = course.exercise("tanh")
    verdict = CaseVerdict("c0", "x: float64 (7,) on cpu", False, "The gradient with respect to x is wrong.", "gradient")
    text = score_check(tanh, check(tanh, "gradient"), [verdict], values="wrong").feedback
    assert "values are wrong too" in text
    assert tanh.hints["gradient"].strip() not in text


def test_whether_the_values_are_right_comes_from_the_values_checks():
    from grader.scoring import values_verdict
    ok = CaseVerdict("a", "a", True)
    wrong = CaseVerdict("b", "b", False, "2 of 7 elements differ", "values")
    dtype = CaseVerdict("c", "c", False, "Expected dtype float64", "dtype")
    assert values_verdict([("values", [ok]), ("gradient", [wrong])]) == "right"
    assert values_verdict([("values", [ok, wrong])]) == "wrong"
    assert values_verdict([("values", [dtype])]) is None
    assert values_verdict([("gradient", [wrong])]) is None
