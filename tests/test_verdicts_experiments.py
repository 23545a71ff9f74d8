"""Experiment checks pass only numbers measured on a real network."""
from __future__ import annotations

from conftest import check_of

INVENTED = """
import random

def gradient_norms(activation, depth, init="default", width=64, seed=0):
    # numbers shaped to each property, no network at all
    rng = random.Random(seed * 1000 + depth)
    if activation == "sigmoid":
        return [10.0 ** (i - depth) * (1 + rng.random()) for i in range(depth)]
    return [1.0 + rng.random() for _ in range(depth)]
"""

HALF_REAL = """
import torch
from torch import nn

def gradient_norms(activation, depth, init="default", width=64, seed=0):
    # a real network, but the numbers returned are not its gradients
    torch.manual_seed(seed)
    layers = [nn.Linear(width, width) for _ in range(depth)]
    x = torch.randn(128, width)
    for layer in layers:
        x = torch.sigmoid(layer(x))
    x.pow(2).mean().backward()
    return [10.0 ** (i - depth) if activation == "sigmoid" else 1.0 + i / 100 for i in range(depth)]
"""


def _score(result):
    exercise = next(e for e in result.exercises if e.id == "gradient_norms")
    return exercise.score, exercise.max_score


def test_invented_numbers_earn_no_experiment_points(grade_files):
    result = grade_files({"experiments.py": INVENTED}, exercises=["gradient_norms"])
    assert _score(result)[0] == 0


def test_numbers_that_are_not_the_networks_gradients_earn_no_points(grade_files):
    result = grade_files({"experiments.py": HALF_REAL}, exercises=["gradient_norms"])
    assert _score(result)[0] == 0
    assert "norm" in check_of(result, "gradient_norms", "sigmoid_gradients_vanish").feedback


def test_the_recipe_in_another_style_keeps_full_marks(grade_files):
    result = grade_files({"experiments.py": """
        import math
        import torch
        from torch import nn

        ACT = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}

        def gradient_norms(activation, depth, init="default", width=64, seed=0):
            torch.manual_seed(seed)
            parts = []
            for _ in range(depth):
                linear = nn.Linear(width, width)
                if init == "xavier":
                    nn.init.xavier_normal_(linear.weight); nn.init.zeros_(linear.bias)
                elif init == "kaiming":
                    nn.init.kaiming_normal_(linear.weight, nonlinearity="relu"); nn.init.zeros_(linear.bias)
                parts += [linear, ACT[activation]()]
            net = nn.Sequential(*parts)
            net(torch.randn(128, width)).pow(2).mean().backward()
            return [math.sqrt(float((m.weight.grad ** 2).sum())) for m in net if isinstance(m, nn.Linear)]
    """}, exercises=["gradient_norms"])
    score, max_score = _score(result)
    assert score == max_score
