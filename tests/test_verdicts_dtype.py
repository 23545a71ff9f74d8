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


# float64 input deserves float64 arithmetic: a float32 chain of operations (≈ 1e-7 and more relative, far more
# where 1 − s cancels) fails torch's float64 rtol of 1e-7 once the absolute tolerance no longer hides it below 1
# (atol 1e-12, was 1e-7); one constant held in float32 (0.01 as 0.0099999998, 2.2e-8 relative) passes.
FLOAT32_INSIDE = """
import torch

def sigmoid_grad(x):
    e = torch.exp(-x.abs().float())         # a stable sigmoid, but in float32
    s = torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return (s * (1 - s)).to(x.dtype)
"""


def test_float64_results_computed_in_float32_fail_and_say_so(grade_files):
    result = grade_files({"activations.py": FLOAT32_INSIDE}, exercises=["sigmoid_grad"])
    values = check_of(result, "sigmoid_grad", "values")
    assert values.status == "failed"
    assert "float64" in values.feedback.split("First failing case:")[1].split("\n")[0], values.feedback
    assert "is a float32 number" in values.feedback and "torch.tensor" in values.feedback


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
    return x * torch.where(x > 0, 1.0, negative_slope).to(x.dtype)   # the slope held in float32: 2.2e-8 relative

def leaky_relu_grad(x, negative_slope=0.01):
    return torch.where(x > 0, 1.0, negative_slope).to(x.dtype)
"""


def test_right_float64_formulas_and_a_constant_held_in_float32_pass(grade_files):
    exercises = ["sigmoid_grad", "tanh", "tanh_grad", "softmax", "leaky_relu", "leaky_relu_grad"]
    result = grade_files({"activations.py": RIGHT_FLOAT64_STYLES}, exercises=exercises)
    for exercise in exercises:
        values = check_of(result, exercise, "values")
        assert values.status == "passed", (exercise, values.feedback)


def test_the_float32_diagnosis_is_given_for_float32_rounding_only():
    from grader.checks.compare import DEFAULT_TOLERANCE, compare_values
    rtol, atol = DEFAULT_TOLERANCE["float64"]
    x = torch.linspace(-10, 10, 101, dtype=torch.float64)
    s = torch.sigmoid(x)
    expected = s * (1 - s)
    s32 = torch.sigmoid(x.float())
    problem = compare_values(expected, (s32 * (1 - s32)).double(), rtol, atol)
    assert problem is not None and problem.hint_key == "dtype" and "is a float32 number" in problem.message
    biased = compare_values(expected, expected * (1 + 5e-7), rtol, atol)   # a small constant off
    assert biased is not None and "off by at most 5e-07 relative" in biased.message
    zero_one = (expected > 0.1).double()
    assert "float32" not in compare_values(zero_one, 1 - zero_one, rtol, atol).message  # float32 numbers, far off
    wrong = expected * 1.01                  # a wrong formula: no float32 story
    problem = compare_values(expected, wrong, rtol, atol)
    assert problem is not None and problem.hint_key == "values" and "float32" not in problem.message
    few_ulps = expected * (1 + 4 * torch.finfo(torch.float64).eps)
    assert compare_values(expected, few_ulps, rtol, atol) is None
    assert compare_values(expected, expected * (1 + 2.2e-8), rtol, atol) is None  # one float32 constant
    assert compare_values(expected.float(), (expected * 1.01).float(), *DEFAULT_TOLERANCE["float32"]).hint_key == "values"


def test_the_float32_diagnosis_is_not_given_for_a_clamp_or_an_epsilon():
    from grader.checks.compare import DEFAULT_TOLERANCE, compare_values
    rtol, atol = DEFAULT_TOLERANCE["float64"]
    x = torch.tensor([-100.0, -30.0, -1.0, 0.0, 1.0, 30.0], dtype=torch.float64)
    clamped = compare_values(torch.sigmoid(x), torch.sigmoid(x.clamp(-20, 20)), rtol, atol)
    assert clamped is not None and "float32" not in clamped.message
    e = torch.exp(x - x.max())
    epsilon = compare_values(e / e.sum(), e / (e.sum() + 1e-6), rtol, atol)
    assert epsilon is not None and "an epsilon" in epsilon.message and "is a float32 number" not in epsilon.message


def test_a_near_miss_in_float64_shows_enough_digits_to_read_the_difference():
    from grader.checks.compare import DEFAULT_TOLERANCE, compare_values
    expected = torch.tensor([0.01, 0.5], dtype=torch.float64)
    problem = compare_values(expected, expected * (1 + 3e-7), *DEFAULT_TOLERANCE["float64"])
    worst = next(line for line in problem.message.splitlines() if line.startswith("Worst"))
    shown = worst.split("expected ")[1].split(", got ")
    assert shown[0] != shown[1].rstrip("."), worst
