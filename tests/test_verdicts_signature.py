"""Signatures are part of the contract: a parameter renamed, missing or out of order is reported before
anything runs, and an error that never passed through the student's code is not shown as theirs."""
from __future__ import annotations

import pytest

from grader.encode import encode_error
from grader.probes.signature import signature_problem


def _feedback(result, exercise_id):
    exercise = next(e for e in result.exercises if e.id == exercise_id)
    return exercise, exercise.checks[0].feedback


def test_a_renamed_parameter_is_reported_with_both_signatures(grade_files):
    result = grade_files({"losses.py": """
        import torch
        def cross_entropy(logits, targets):
            return torch.logsumexp(logits, 1).mean() - logits.gather(1, targets[:, None]).mean()
    """}, exercises=["cross_entropy"])
    exercise, feedback = _feedback(result, "cross_entropy")
    assert exercise.score == 0
    assert "Expected cross_entropy(logits, target); yours is cross_entropy(logits, targets)" in feedback


def test_parameters_in_another_order_are_reported(grade_files):
    result = grade_files({"losses.py": """
        import torch
        def cross_entropy(target, logits):
            return torch.logsumexp(logits, 1).mean() - logits.gather(1, target[:, None]).mean()
    """}, exercises=["cross_entropy"])
    assert "another order" in _feedback(result, "cross_entropy")[1]


@pytest.mark.parametrize("source, expected", [
    ("def softmax(x, dim=-1): pass", None),
    ("def softmax(x, dim): pass", "default"),
    ("def softmax(x): pass", "missing"),
    ("def softmax(input, dim=-1): pass", "missing"),
    ("def softmax(x, dim=-1, *, eps=1e-12): pass", None),
    ("def softmax(x, dim=-1, extra=None, more=2): pass", None),
    ("def softmax(x, dim=-1, *, scale): pass", "extra"),
    ("def softmax(*args, **kwargs): pass", None),
])
def test_the_signature_rule(source, expected):
    names: dict = {}
    exec(source, names)
    problem = signature_problem(names["softmax"], "softmax(x, dim=-1)")
    assert (problem or {}).get("problem") == expected


def test_an_error_that_never_passed_through_the_students_code_names_no_line_of_it(tmp_path):
    try:
        raise TypeError("boom")
    except TypeError as exc:
        error = encode_error(exc, str(tmp_path))
    assert error["where"] == "" and error["outside"]
