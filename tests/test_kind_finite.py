"""The finite kind, the small kind docs/teachers/adding-a-kind.md adds in one folder (grader/kinds/finite/),
graded end to end on the course that uses it (tests/finite_course): right work passes, the naive formula
fails on the input that overflows and is told where, and what the child sends is read as untrusted."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader import kinds
from grader.spec import load_course

COURSE = Path(__file__).resolve().parent / "finite_course" / "course.yaml"

STABLE = """
import torch

def log_sum_exp(x):
    return torch.logsumexp(x, dim=-1)
"""

NAIVE = """
import torch

def log_sum_exp(x):
    return torch.log(torch.exp(x).sum(dim=-1))
"""


@pytest.fixture(scope="module")
def finite_course():
    return load_course(COURSE)


def _finite(result):
    exercise = next(e for e in result.exercises if e.id == "log_sum_exp")
    return {c.name: c for c in exercise.checks}


def test_the_kind_is_found_from_its_folder_alone():
    assert "finite" in kinds.names()
    assert kinds.models()["finite"].__module__ == "grader.kinds.finite.model"
    assert kinds.probes()["finite"].__module__ == "grader.kinds.finite.probe"


def test_right_work_in_another_style_passes_the_finite_check(grade_files, finite_course):
    result = grade_files({"ops.py": STABLE}, course=finite_course)
    checks = _finite(result)
    assert checks["finite"].status == "passed" and checks["values"].status == "passed"


def test_the_naive_formula_passes_on_small_inputs_and_fails_where_it_overflows(grade_files, finite_course):
    result = grade_files({"ops.py": NAIVE}, course=finite_course)
    checks = _finite(result)
    assert checks["values"].status == "passed"  # right on paper, and on the random inputs
    assert checks["finite"].status == "failed" and checks["finite"].score == 0
    assert "1000" in checks["finite"].feedback  # the input that overflowed is named
    assert "inf" in checks["finite"].feedback and "subtract the maximum" in checks["finite"].feedback


def test_rebinding_torch_in_the_submission_does_not_hide_an_overflow(grade_files, finite_course):
    """A hostile student rebinds torch.isinf, torch.isnan and Tensor.sum in their module: the probe bound
    its own when the child started, so the overflow is still counted."""
    hostile = NAIVE + """
torch.isinf = lambda x: torch.zeros_like(x, dtype=torch.bool)
torch.isnan = lambda x: torch.zeros_like(x, dtype=torch.bool)
torch.Tensor.sum = lambda self, *a, **k: torch.zeros((), dtype=self.dtype)
"""
    checks = _finite(grade_files({"ops.py": hostile}, course=finite_course))
    assert checks["finite"].status == "failed" and "inf" in checks["finite"].feedback


def test_a_record_that_is_not_counts_fails_the_case_and_never_crashes_the_judge():
    """The record comes from the learner's process: counts that are not counts fail, they never pass."""
    import torch
    from grader.cases import Case
    judge = kinds.judge("finite")
    case = Case("c0", {"x": torch.tensor([1000.0, 0.0])}, {}, "float32", "cpu")
    for forged in ({"tensor": True, "nan": "0", "inf": 0, "total": 2}, {"tensor": True, "nan": 0, "inf": True, "total": 2},
                   {"tensor": True, "nan": 0, "inf": 0, "total": -2}, {"tensor": True}):
        verdict = judge.judge_case(None, case, forged)
        assert not verdict.passed, forged
    verdict = judge.judge_case(None, case, {"tensor": True, "nan": 0, "inf": 1, "total": 2, "first": [0]})
    assert not verdict.passed and "x = [1000.0, 0.0]" in verdict.message and "index [0]" in verdict.message
    refused = judge.judge_case(None, case, {"tensor": "yes"})
    assert not refused.passed and refused.hint_key == "not_tensor"
    assert judge.judge_case(None, case, {"tensor": True, "nan": 0, "inf": 0, "total": 2, "first": None}).passed
