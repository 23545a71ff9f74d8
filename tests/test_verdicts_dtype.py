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
