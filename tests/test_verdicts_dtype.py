"""A result's dtype and type are judged from the numbers that came back, not from what the object
says of itself."""
from __future__ import annotations

import torch

from conftest import check_of
from grader.checks.compare import compare_tensor

LIAR = """
import torch

class Tensor(torch.Tensor):  # named like the real thing, and says it is float64
    @property
    def dtype(self):
        return torch.float64

def _sigmoid(x):
    e = torch.exp(torch.where(x >= 0, -x, x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))

def sigmoid_grad(x):
    s = _sigmoid(x)
    return (s * (1 - s)).float().as_subclass(Tensor)
"""


def test_a_tensor_subclass_that_lies_about_its_dtype_fails_the_dtype_check(grade_files):
    result = grade_files({"activations.py": LIAR}, exercises=["sigmoid_grad"])
    values = check_of(result, "sigmoid_grad", "values")
    assert values.status == "failed"
    assert "Expected dtype float64" in values.feedback or "plain torch.Tensor" in values.feedback


def test_the_grader_reads_dtype_and_shape_from_the_numbers_not_the_record():
    expected = torch.zeros(3, dtype=torch.float64)
    record = {"kind": "tensor", "type": "Tensor", "device": "cpu", "dtype": "float64", "shape": [3],
              "value": torch.zeros(3, dtype=torch.float32)}
    problem = compare_tensor(expected, record, 1e-7, 1e-7)
    assert problem is not None and problem.hint_key == "dtype"
    record = dict(record, value=torch.zeros(4, dtype=torch.float64))
    assert compare_tensor(expected, record, 1e-7, 1e-7).hint_key == "shape"


# float64 input deserves float64 arithmetic: float32 rounding (≈ 6e-8 relative) is told apart from the few
# ulps by which right float64 formulas differ (the default tolerance once let it through).
FLOAT32_INSIDE = {
    "sigmoid_grad": """
import torch

def sigmoid_grad(x):
    e = torch.exp(-x.abs().float())         # a stable sigmoid, but in float32
    s = torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return (s * (1 - s)).to(x.dtype)
""",
    "leaky_relu": """
import torch

def leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, x, torch.tensor(negative_slope) * x)   # torch.tensor(0.01) is float32
""",
}


def test_float64_results_computed_in_float32_fail_and_say_so(grade_files):
    for exercise, code in FLOAT32_INSIDE.items():
        result = grade_files({"activations.py": code}, exercises=[exercise], name=exercise)
        values = check_of(result, exercise, "values")
        assert values.status == "failed", exercise
        assert "float64" in values.feedback.split("First failing case:")[1].split("\n")[0], values.feedback
        assert "float32" in values.feedback and "torch.tensor" in values.feedback


RIGHT_FLOAT64_STYLES = """
import math
import torch

def _sigmoid(x):
    e = torch.exp(-x.abs())                 # exp(-|x|): stable either side, exact at 0
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))

def sigmoid_grad(x):
    e = torch.exp(-x.abs())
    return e / (1 + e) ** 2                 # the same number another way: no 1 - s cancellation

def tanh(x):
    return 2 * _sigmoid(2 * x) - 1          # tanh from the sigmoid: cancels near 0, a few ulps

def tanh_grad(x):
    c = torch.cosh(x.clamp(-350, 350))
    return 1 / (c * c)                      # sech², not 1 − tanh²

def softmax(x, dim=-1):
    shifted = x - x.amax(dim=dim, keepdim=True)
    return torch.exp(shifted - torch.logsumexp(shifted, dim=dim, keepdim=True))

def leaky_relu(x, negative_slope=0.01):
    return torch.maximum(x, x * negative_slope) if negative_slope <= 1 else torch.minimum(x, x * negative_slope)
"""


def test_right_float64_formulas_that_differ_by_ulps_still_pass(grade_files):
    exercises = ["sigmoid_grad", "tanh", "tanh_grad", "softmax", "leaky_relu"]
    result = grade_files({"activations.py": RIGHT_FLOAT64_STYLES}, exercises=exercises)
    for exercise in exercises:
        values = check_of(result, exercise, "values")
        assert values.status == "passed", (exercise, values.feedback)


def test_the_float32_diagnosis_is_given_for_float32_rounding_only():
    from grader.checks.compare import DEFAULT_TOLERANCE, compare_values
    rtol, atol = DEFAULT_TOLERANCE["float64"]
    expected = torch.linspace(-3, 3, 101, dtype=torch.float64).sigmoid()
    rounded = expected.float().double()
    problem = compare_values(expected, rounded, rtol, atol)
    assert problem is not None and problem.hint_key == "dtype" and "is a float32 number" in problem.message
    slope = torch.tensor(0.01, dtype=torch.float32).double() / 0.01   # a float32 constant inside
    problem = compare_values(expected, expected * slope, rtol, atol)
    assert problem is not None and "off by at most 2.2e-08 relative" in problem.message
    zero_one = (expected > 0.5).double()
    assert "float32" not in compare_values(zero_one, 1 - zero_one, rtol, atol).message  # float32 numbers, far off
    wrong = expected * 1.01                  # a wrong formula: no float32 story
    problem = compare_values(expected, wrong, rtol, atol)
    assert problem is not None and problem.hint_key == "values" and "float32" not in problem.message
    few_ulps = expected * (1 + 4 * torch.finfo(torch.float64).eps)
    assert compare_values(expected, few_ulps, rtol, atol) is None
    assert compare_values(expected.float(), rounded.float() * 1.01, *DEFAULT_TOLERANCE["float32"]).hint_key == "values"


def test_the_float32_diagnosis_is_not_given_for_a_clamp_or_an_epsilon():
    from grader.checks.compare import DEFAULT_TOLERANCE, compare_values
    rtol, atol = DEFAULT_TOLERANCE["float64"]
    x = torch.tensor([-100.0, -30.0, -1.0, 0.0, 1.0, 30.0], dtype=torch.float64)
    clamped = compare_values(torch.sigmoid(x), torch.sigmoid(x.clamp(-20, 20)), rtol, atol)
    assert clamped is not None and "float32" not in clamped.message
    e = torch.exp(x - x.max())
    epsilon = compare_values(e / e.sum(), e / (e.sum() + 1e-7), rtol, atol)
    assert epsilon is not None and "an epsilon" in epsilon.message and "is a float32 number" not in epsilon.message


def test_a_near_miss_in_float64_shows_enough_digits_to_read_the_difference():
    from grader.checks.compare import DEFAULT_TOLERANCE, compare_values
    expected = torch.tensor([0.01, 0.5], dtype=torch.float64)
    problem = compare_values(expected, torch.tensor([0.01, 0.5], dtype=torch.float32).double(), *DEFAULT_TOLERANCE["float64"])
    worst = next(line for line in problem.message.splitlines() if line.startswith("Worst"))
    shown = worst.split("expected ")[1].split(", got ")
    assert shown[0] != shown[1].rstrip("."), worst
