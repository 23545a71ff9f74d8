"""Gradients are judged at the points where the usual formulas break: 0, −0 and every kink.

Each submission is written as a student would, graded through the real sandbox; the gradient at a
kink is what autograd gives for PyTorch's own function (torch.relu, F.leaky_relu, F.prelu).
"""
from __future__ import annotations

import pytest

from conftest import check_of


def failed(result, exercise_id: str) -> set[str]:
    exercise = next(e for e in result.exercises if e.id == exercise_id)
    return {c.name for c in exercise.checks if c.status != "passed"}


def full(result, exercise_id: str) -> bool:
    exercise = next(e for e in result.exercises if e.id == exercise_id)
    return exercise.score == exercise.max_score


def test_sigmoid_fed_exp_of_minus_abs_fails_the_gradient_at_zero(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def sigmoid(x):
            e = torch.exp(-x.abs())
            return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
    """}, exercises=["sigmoid"])
    assert failed(result, "sigmoid") == {"gradient"}
    assert "x[" in check_of(result, "sigmoid", "gradient").feedback


def test_tanh_with_the_sign_put_back_fails_the_gradient_at_zero(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def tanh(x):
            e = torch.exp(-2 * x.abs())
            return torch.sign(x) * (1 - e) / (1 + e)
    """}, exercises=["tanh"])
    assert failed(result, "tanh") == {"gradient"}


@pytest.mark.parametrize("body", ["x.clamp(min=0)", "torch.maximum(x, torch.zeros_like(x))"])
def test_relu_whose_gradient_at_zero_is_not_torch_relus_fails(grade_files, body):
    result = grade_files({"activations.py": f"""
        import torch
        def relu(x):
            return {body}
    """}, exercises=["relu"])
    assert failed(result, "relu") == {"gradient"}


def test_leaky_relu_from_two_clamps_fails_the_gradient_at_zero(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def leaky_relu(x, negative_slope=0.01):
            return x.clamp(min=0) + negative_slope * x.clamp(max=0)
    """}, exercises=["leaky_relu"])
    assert failed(result, "leaky_relu") == {"gradient"}


def test_prelu_that_passes_x_through_at_zero_fails_the_gradient_at_zero(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def prelu(x, weight):
            a = weight.reshape(()) if weight.numel() == 1 else weight.reshape(weight.shape + (1,) * (x.dim() - 2))
            return torch.where(x >= 0, x, a * x)
    """}, exercises=["prelu"])
    assert failed(result, "prelu") == {"gradient"}


def test_what_the_statements_advise_at_the_kinks_gets_full_marks(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def sigmoid(x):
            e = torch.exp(torch.where(x >= 0, -x, x))
            return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
        def tanh(x):
            e = torch.exp(torch.where(x >= 0, -2 * x, 2 * x))
            return torch.where(x >= 0, (1 - e) / (1 + e), (e - 1) / (1 + e))
        def relu(x):
            return torch.where(x > 0, x, 0.0)
        def leaky_relu(x, negative_slope=0.01):
            return torch.where(x > 0, x, negative_slope * x)
    """}, exercises=["sigmoid", "tanh", "relu", "leaky_relu"])
    for exercise in ("sigmoid", "tanh", "relu", "leaky_relu"):
        assert full(result, exercise), exercise


def test_gradient_cases_hold_zero_in_every_dtype(course):
    from grader.cases import build_cases
    exercise = next(e for e in course.exercises if e.id == "relu")
    check = next(c for c in exercise.checks if c.kind == "gradient")
    cases = build_cases(course, exercise, check)
    assert {c.dtype for c in cases} == {"float32", "float64"}
    for case in cases:
        flat = case.args["x"].flatten()
        assert float(flat[0]) == 0.0 and float(flat[1]) == 0.0


def test_tanh_whose_unused_branch_overflows_fails_the_gradient(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def tanh(x):
            pos = (1 - torch.exp(-2 * x)) / (1 + torch.exp(-2 * x))
            neg = (torch.exp(2 * x) - 1) / (torch.exp(2 * x) + 1)
            return torch.where(x >= 0, pos, neg)
    """}, exercises=["tanh"])
    assert "gradient" in failed(result, "tanh")


def test_a_neuron_on_the_textbook_sigmoid_fails_the_gradient_at_large_inputs(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def neuron(x, w, b):
            return 1 / (1 + torch.exp(-(x @ w + b)))
    """}, exercises=["neuron"])
    assert "gradient" in failed(result, "neuron")


BCE_AS_ADVISED = """
import torch
def _log(q):
    safe = torch.where(q > 0, q, torch.ones_like(q))
    return torch.where(q > 0, torch.log(safe), -100.0).clamp(min=-100)
def bce_loss(p, target):
    return -(target * _log(p) + (1 - target) * _log(1 - p)).mean()
"""


def test_bce_written_as_the_statement_advises_for_a_finite_gradient_gets_full_marks(grade_files):
    result = grade_files({"losses.py": BCE_AS_ADVISED}, exercises=["bce_loss"])
    assert full(result, "bce_loss")
    import torch
    namespace: dict = {}
    exec(BCE_AS_ADVISED, namespace)
    p = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64, requires_grad=True)
    namespace["bce_loss"](p, torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64)).backward()
    assert bool(torch.isfinite(p.grad).all())
