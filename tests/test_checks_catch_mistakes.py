"""Each check kind catches its mistake, and correct work in other styles gets full marks.

Submissions are graded through the real sandbox (see conftest.grade_files).
"""
from __future__ import annotations

import pytest

from conftest import check_of, scores

STABLE_SIGMOID = """
import torch

def _s(x):
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
"""


def failed_checks(result, exercise_id):
    exercise = next(e for e in result.exercises if e.id == exercise_id)
    return {c.name for c in exercise.checks if c.status != "passed"}


def full(result, exercise_id):
    exercise = next(e for e in result.exercises if e.id == exercise_id)
    return exercise.score == exercise.max_score


# --- values -------------------------------------------------------------------------------------

def test_sigmoid_that_overflows_to_nan_fails_stability_and_names_the_input(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def sigmoid(x):
            return torch.exp(x) / (1 + torch.exp(x))
    """}, exercises=["sigmoid"])
    assert "stability" in failed_checks(result, "sigmoid")
    feedback = check_of(result, "sigmoid", "stability").feedback
    assert "nan" in feedback and "expected 1, got nan for x[" in feedback
    assert "Hint:" in feedback


def test_naive_softmax_overflows_to_nan_and_fails_stability(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def softmax(x, dim=-1):
            e = torch.exp(x)
            return e / e.sum(dim=dim, keepdim=True)
    """}, exercises=["softmax"])
    assert failed_checks(result, "softmax") >= {"stability"}
    assert "values" not in failed_checks(result, "softmax")


def test_softmax_over_the_wrong_dim_fails_values(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def softmax(x, dim=-1):
            e = torch.exp(x - x.amax(dim=0, keepdim=True))
            return e / e.sum(dim=0, keepdim=True)
    """}, exercises=["softmax"])
    assert "values" in failed_checks(result, "softmax")


def test_leaky_relu_derivative_without_the_slope_fails(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def leaky_relu_grad(x, negative_slope=0.01):
            return (x > 0).to(x.dtype)
    """}, exercises=["leaky_relu_grad"])
    assert {"values", "derivative"} <= failed_checks(result, "leaky_relu_grad")
    assert {"forbid", "device"}.isdisjoint(failed_checks(result, "leaky_relu_grad"))


def test_prelu_broadcasting_on_the_last_dim_fails(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def prelu(x, weight):
            return torch.where(x >= 0, x, weight * x)
    """}, exercises=["prelu"])
    assert "values" in failed_checks(result, "prelu")


def test_bce_that_sums_instead_of_averaging_fails(grade_files):
    result = grade_files({"losses.py": """
        import torch
        def bce_loss(p, target):
            return -(target * torch.log(p).clamp_min(-100) + (1 - target) * torch.log(1 - p).clamp_min(-100)).sum()
    """}, exercises=["bce_loss"])
    assert "values" in failed_checks(result, "bce_loss")


def test_neuron_without_bias_fails(grade_files):
    result = grade_files({"activations.py": STABLE_SIGMOID + """
def neuron(x, w, b):
    return _s(x @ w)
"""}, exercises=["neuron"])
    assert "values" in failed_checks(result, "neuron")


def test_relu_that_modifies_its_input_fails_and_says_so(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def relu(x):
            x[x < 0] = 0
            return x
    """}, exercises=["relu"])
    feedback = check_of(result, "relu", "values").feedback
    assert check_of(result, "relu", "values").status == "failed"
    assert "changed its input x" in feedback


def test_derivative_returned_as_float32_for_float64_input_fails_on_dtype(grade_files):
    result = grade_files({"activations.py": STABLE_SIGMOID + """
def sigmoid_grad(x):
    s = _s(x)
    return (s * (1 - s)).float()
"""}, exercises=["sigmoid_grad"])
    feedback = check_of(result, "sigmoid_grad", "values").feedback
    assert "Expected dtype float64" in feedback and "got float32" in feedback


def test_empty_and_3d_inputs_are_part_of_values(course):
    from grader.cases import build_cases
    sigmoid = course.exercise("sigmoid")
    cases = build_cases(course, sigmoid, sigmoid.checks[0])
    shapes = {tuple(c.args["x"].shape) for c in cases}
    assert any(0 in s for s in shapes) and any(len(s) >= 3 for s in shapes)
    assert {c.dtype for c in cases} == {"float32", "float64"}


# --- derivative ---------------------------------------------------------------------------------

def test_softmax_jacobian_with_the_wrong_sign_fails(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def softmax_jacobian(x):
            s = torch.exp(x - x.max()); s = s / s.sum()
            return torch.outer(s, s) - torch.diag(s)
    """}, exercises=["softmax_jacobian"])
    assert {"values", "derivative"} <= failed_checks(result, "softmax_jacobian")


def test_relu_grad_follows_autograd_at_zero(grade_files):
    one_at_zero = grade_files({"activations.py": """
        import torch
        def relu_grad(x):
            return (x >= 0).to(x.dtype)
    """}, exercises=["relu_grad"], name="ge")
    assert "derivative" in failed_checks(one_at_zero, "relu_grad")
    zero_at_zero = grade_files({"activations.py": """
        import torch
        def relu_grad(x):
            return (x > 0).to(x.dtype)
    """}, exercises=["relu_grad"], name="gt")
    assert full(zero_at_zero, "relu_grad")


# --- gradient -----------------------------------------------------------------------------------

def test_detach_that_cuts_the_whole_graph_is_named(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def relu(x):
            return x.detach().clamp(min=0)
    """}, exercises=["relu"])
    feedback = check_of(result, "relu", "gradient").feedback
    assert "not connected to its inputs in the autograd graph" in feedback
    assert check_of(result, "relu", "values").status == "passed"


def test_partial_detach_fails_gradient_only(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def leaky_relu(x, negative_slope=0.01):
            return torch.where(x > 0, x, negative_slope * x.detach())
    """}, exercises=["leaky_relu"])
    assert failed_checks(result, "leaky_relu") == {"gradient"}


def test_numpy_round_trip_cuts_the_graph(grade_files):
    result = grade_files({"activations.py": """
        import numpy as np, torch
        def relu(x):
            return torch.from_numpy(np.maximum(x.detach().numpy(), 0))
    """}, exercises=["relu"])
    assert "autograd graph" in check_of(result, "relu", "gradient").feedback


# --- forbid -------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", [
    "torch.sigmoid(x)", "x.sigmoid()", "torch.special.expit(x)", "torch.ops.aten.sigmoid(x)",
    "getattr(torch, 'sig' + 'moid')(x)", "torch.nn.functional.sigmoid(x)", "torch.nn.Sigmoid()(x)",
    "x.clone().sigmoid_()",
])
def test_every_spelling_of_the_forbidden_sigmoid_is_caught(grade_files, spelling):
    result = grade_files({"activations.py": f"""
        import torch
        def sigmoid(x):
            return {spelling}
    """}, exercises=["sigmoid"], hidden=False, name=f"s{abs(hash(spelling))}")
    assert failed_checks(result, "sigmoid") == {"forbid"}, spelling
    assert "aten.sigmoid" in check_of(result, "sigmoid", "forbid").feedback


def test_private_softmax_is_caught(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def softmax(x, dim=-1):
            return torch._softmax(x, dim, False)
    """}, exercises=["softmax"], hidden=False)
    assert failed_checks(result, "softmax") == {"forbid"}


def test_forbidden_cross_entropy_is_caught(grade_files):
    result = grade_files({"losses.py": """
        import torch
        def cross_entropy(logits, target):
            return torch.nn.functional.cross_entropy(logits, target)
    """}, exercises=["cross_entropy"], hidden=False)
    assert failed_checks(result, "cross_entropy") == {"forbid"}


# --- device -------------------------------------------------------------------------------------

def test_tensor_created_on_the_cpu_is_caught_through_meta(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def tanh(x):
            one = torch.ones(x.shape, dtype=x.dtype)
            e = torch.exp(torch.where(x >= 0, -2 * x, 2 * x))
            return torch.where(x >= 0, (one - e) / (one + e), (e - one) / (one + e))
    """}, exercises=["tanh"])
    assert failed_checks(result, "tanh") == {"device"}
    assert "torch.ones_like" in check_of(result, "tanh", "device").feedback


def test_item_on_meta_is_not_a_device_error(grade_files):
    result = grade_files({"losses.py": """
        import torch
        def bce_loss(p, target):
            if float(p.min().item()) < 0:
                raise ValueError("p must be a probability")
            logs = target * torch.log(p).clamp_min(-100) + (1 - target) * torch.log(1 - p).clamp_min(-100)
            return -logs.mean()
    """}, exercises=["bce_loss"])
    assert check_of(result, "bce_loss", "device").status == "passed"


# --- correct work in other styles ---------------------------------------------------------------

def test_correct_work_in_other_styles_gets_full_marks(grade_files):
    result = grade_files({
        "activations.py": """
            import torch
            def sigmoid(x):
                pos = 1 / (1 + torch.exp(-x.clamp(min=0)))
                e = torch.exp(x.clamp(max=0))
                return torch.where(x >= 0, pos, e / (1 + e))
            def relu(x):
                return x * (x > 0)
            def softmax(x, dim=-1):
                shift = x.max(dim=dim, keepdim=True).values.detach()
                e = torch.exp(x - shift)
                return e / e.sum(dim=dim, keepdim=True)
        """,
        "losses.py": """
            import torch
            def cross_entropy(logits, target):
                picked = logits.gather(1, target.unsqueeze(1)).squeeze(1)
                return (torch.logsumexp(logits, dim=1) - picked).mean()
        """,
    }, exercises=["sigmoid", "relu", "softmax", "cross_entropy"])
    assert all(e.score == e.max_score for e in result.exercises), {
        e.id: [(c.name, c.feedback) for c in e.checks if c.status != "passed"] for e in result.exercises}


def test_modules_of_a_submission_may_import_each_other(grade_files):
    result = grade_files({
        "activations.py": STABLE_SIGMOID + "\ndef sigmoid(x):\n    return _s(x)\n",
        "losses.py": """
            import torch
            from activations import sigmoid
            def bce_loss(p, target):
                logs = target * torch.log(p).clamp_min(-100) + (1 - target) * torch.log(1 - p).clamp_min(-100)
                return -logs.mean()
        """,
    }, exercises=["sigmoid", "bce_loss"])
    assert scores(result)["bce_loss"] == result.exercises[1].max_score


# --- the comparison itself ------------------------------------------------------------------------

def test_an_infinite_expected_value_is_matched_only_by_the_same_infinity():
    import torch

    from grader.checks.compare import compare_values
    expected = torch.tensor([float("inf"), -float("inf"), 1.0, float("nan")])
    assert compare_values(expected, expected.clone(), 1e-7, 1e-7) is None
    for wrong in ([0.0, -float("inf"), 1.0, float("nan")],             # a finite value for +inf
                  [-float("inf"), -float("inf"), 1.0, float("nan")],   # the other infinity
                  [float("inf"), -float("inf"), 1.1, float("nan")],    # an ordinary difference
                  [float("inf"), -float("inf"), 1.0, 0.0]):            # a number for nan
        problem = compare_values(expected, torch.tensor(wrong), 1e-7, 1e-7)
        assert problem is not None and problem.message.startswith("1 of 4 elements"), wrong
    without_nan = expected[:3]  # identical numbers take the one-call path: the same verdicts
    assert compare_values(without_nan, without_nan.clone(), 0.0, 0.0) is None
    assert compare_values(torch.tensor([0.0]), torch.tensor([-0.0]), 0.0, 0.0) is None
    one_ulp = torch.nextafter(torch.tensor([1.0]), torch.tensor([2.0]))
    assert compare_values(torch.tensor([1.0]), one_ulp, 0.0, 0.0) is not None  # no tolerance: a different float fails
    assert compare_values(torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0]), 0.0, 0.0) is None


@pytest.mark.parametrize("rebinding", ["", "torch.equal = lambda *a, **k: True",
                                       "torch.eq = lambda a, b: torch.ones_like(a, dtype=torch.bool)"])
def test_an_input_changed_in_place_is_seen_whatever_the_submission_rebinds(grade_files, rebinding):
    # the child's own comparison is bound before learner code runs: one line must not hide the change
    result = grade_files({"activations.py": f"""
        import torch
        {rebinding}
        def relu(x):
            x.clamp_(min=0)
            return x.clone()
    """}, exercises=["relu"])
    assert check_of(result, "relu", "values").status == "failed"
