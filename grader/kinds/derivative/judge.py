"""derivative: a hand-written derivative (σ'(x), a Jacobian) against autograd of the function.

The expected values come from autograd of `of`, so the convention at a kink (ReLU at 0) is
autograd's, and the statement says so.
"""
from __future__ import annotations

import torch

from grader.cases import Case, build_cases
from grader.checks.base import Context, Prepared, for_this_machine, make_call
from grader.checks.expected import expected_by_case
from grader.spec import Exercise, resolve_callable
from grader.spec.checks import CheckBase

# the same promises as values (dtype, shape, device, numbers, inputs kept), and the same mistakes named
from ..values.judge import judge_case, matches_mistake, mistake_output

__all__ = ["prepare", "judge_case"]


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    cases = for_this_machine(ctx, build_cases(ctx.course, exercise, check))
    prepared = Prepared(exercise, check, cases, [make_call(exercise, check, case, "call") for case in cases])

    def derivative(case: Case) -> torch.Tensor:
        function = resolve_callable(ctx.course.root, check.of)  # type: ignore[attr-defined]
        (x,) = case.args.values()
        return autograd_derivative(function, x, case.kwargs, check.form)  # type: ignore[attr-defined]

    prepared.expected.update(expected_by_case(ctx, exercise, check, cases, derivative,
                                              f"autograd of {check.of}"))  # type: ignore[attr-defined]
    return prepared


def autograd_derivative(function, x: torch.Tensor, kwargs: dict, form: str) -> torch.Tensor:
    if form == "jacobian":
        return torch.autograd.functional.jacobian(lambda t: function(t, **kwargs), x.clone())
    leaf = x.clone().requires_grad_(True)
    out = function(leaf, **kwargs)
    (grad,) = torch.autograd.grad(out, leaf, torch.ones_like(out), allow_unused=True)
    return torch.zeros_like(x) if grad is None else grad.detach()
