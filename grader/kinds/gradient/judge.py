"""gradient: autograd through the learner's function against autograd through the reference.

Both sides back-propagate the same fixed random upstream gradient in float64, so every
element of every differentiable input is checked, and a cut graph is named as such.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.cases import Case, build_cases, upstream_gradient
from grader.checks.base import (CaseVerdict, Context, Prepared, call_key, error_verdict, for_this_machine, make_call,
                                signature_order)
from grader.checks.compare import compare_tensor, describe_record, tolerance_for
from grader.checks.expected import expected_by_case
from grader.checks.mistakes import record_tensor, same
from grader.spec import Exercise, resolve_callable
from grader.spec.checks import CheckBase

from .record import GradRecord

GRAPH_CUT = ("The result of your function is not connected to its inputs in the autograd graph, so no "
             "gradient can flow back through it. Did you use .detach(), .item(), .numpy(), torch.tensor(...) "
             "or a Python float on the way?")


def differentiable(exercise: Exercise, check: CheckBase, case: Case) -> list[str]:
    if getattr(check, "wrt", None):
        return [name for name in check.wrt if name in case.args]
    return [name for name, t in case.args.items() if t.is_floating_point()]


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    cases = for_this_machine(ctx, build_cases(ctx.course, exercise, check))
    order = signature_order(exercise)

    def reference_gradient(case: Case) -> dict[str, Any]:
        """{"upstream": the fixed upstream gradient, "grads": {input name: its gradient}}."""
        reference = resolve_callable(ctx.course.root, exercise.reference)
        wrt = differentiable(exercise, check, case)
        names = sorted(case.args, key=lambda n: order.index(n) if n in order else len(order))
        args = [case.args[n].clone().requires_grad_(n in wrt) for n in names]
        out = reference(*args, **case.kwargs)
        upstream = upstream_gradient(case, out.shape, out.dtype)
        grads = torch.autograd.grad(out, [a for n, a in zip(names, args) if n in wrt], upstream, allow_unused=True)
        return {"upstream": upstream.detach(), "grads": {
            n: (torch.zeros_like(case.args[n]) if g is None else g.detach())
            for n, g in zip([n for n in names if n in wrt], grads)}}

    expected = expected_by_case(ctx, exercise, check, cases, reference_gradient, "the reference's gradient")
    calls = [make_call(exercise, check, case, "grad", wrt=differentiable(exercise, check, case),
                       upstream=expected[call_key(check, case)]["upstream"]) for case in cases]
    return Prepared(exercise, check, cases, calls, expected)


def judge_case(prepared: Prepared, case: Case, result: GradRecord) -> CaseVerdict:
    if "error" in result:
        verdict = error_verdict(case, result)
        if result.get("during") == "backward":
            return CaseVerdict(case.id, case.label, False,
                               verdict.message.replace("Your function raised", "Back-propagating through your function raised"),
                               "gradient")
        return verdict
    if result.get("graph_cut"):
        return CaseVerdict(case.id, case.label, False, GRAPH_CUT, "graph_cut")
    if "grads" not in result:
        return CaseVerdict(case.id, case.label, False,
                           f"The gradient could not be checked: your function returned {describe_record(result['output'])}, "
                           f"not a tensor of the expected shape.", "not_tensor")
    rtol, atol = tolerance_for(prepared.check, case.dtype)
    for name, expected in prepared.expected[call_key(prepared.check, case)]["grads"].items():
        record = result["grads"].get(name)
        if record is None:
            return CaseVerdict(case.id, case.label, False,
                               f"No gradient flowed back to {name}: your result does not depend on {name} in the "
                               f"autograd graph. " + GRAPH_CUT.split(". ", 1)[1], "graph_cut")
        problem = compare_tensor(expected, record, rtol, atol, {name: case.args[name]}, expect_device="cpu")
        if problem is not None:
            return CaseVerdict(case.id, case.label, False,
                               f"The gradient with respect to {name} is wrong.\n{problem.message}", "gradient")
    return CaseVerdict(case.id, case.label, True)


def mistake_output(function: Callable, exercise: Exercise, prepared: Prepared, case: Case) -> dict[str, torch.Tensor] | None:
    """A catalogued mistake's gradients on the case, back-propagating the check's upstream gradient; None
    where its output has no autograd history or another shape (grader.checks.mistakes)."""
    expected = prepared.expected[call_key(prepared.check, case)]
    wrt = list(expected["grads"])
    order = signature_order(exercise)
    names = sorted(case.args, key=lambda n: order.index(n) if n in order else len(order))
    args = [case.args[n].clone().requires_grad_(n in wrt) for n in names]
    with torch.enable_grad():
        out = function(*args, **case.kwargs)
        if type(out) is not torch.Tensor or out.grad_fn is None or out.shape != expected["upstream"].shape:
            return None
        leaves = [a for n, a in zip(names, args) if n in wrt]
        grads = torch.autograd.grad(out, leaves, expected["upstream"].to(out.dtype), allow_unused=True)
    return {n: (torch.zeros_like(case.args[n]) if g is None else g.detach())
            for n, g in zip([n for n in names if n in wrt], grads)}


def matches_mistake(record: GradRecord, theirs: dict[str, torch.Tensor], expected: Any, rtol: float,
                    atol: float) -> bool:
    """The learner's gradients are the mistake's, for every input, where the mistake's are not all right."""
    got = {name: record_tensor(value) for name, value in (record.get("grads") or {}).items()}
    want = expected["grads"] if isinstance(expected, dict) else {}
    return bool(got) and set(got) == set(theirs) and all(same(got[n], theirs[n], rtol, atol) for n in theirs) \
        and not all(n in want and same(theirs[n], want[n], rtol, atol) for n in theirs)
