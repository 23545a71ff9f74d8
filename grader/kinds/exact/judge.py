"""exact: a deterministic initialiser or helper against the reference, with no tolerance to hide behind.

Each case calls the learner's function on a fresh tensor of the case's shape (or on keywords
alone) and the reference likewise, here. What the reference does is what is expected:

- it fills the tensor (zeros_, ones_, constant_): every element equal, in the tensor's dtype;
- it returns Python numbers (fan_in_and_fan_out, calculate_gain): ints equal, floats equal up
  to FLOAT_ULPS units in the last place, so sqrt(2 / (1 + a²)) and sqrt(2) / sqrt(1 + a²) both
  pass while 1 for tanh's 5/3 does not;
- it raises (fans of a 1-D tensor, an unknown nonlinearity): the learner raises the same
  exception class or a subclass of it.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from grader.cases import DTYPES
from grader.checks.base import CaseVerdict, Context, Prepared, SpecProblem, call_key
from grader.checks.compare import compare_values, describe_record
from grader.checks.init_cases import InitCase, build_init_cases, fail, init_call, produced_values, raised_verdict
from grader.spec import Exercise, resolve_callable
from grader.spec.checks import CheckBase

from .record import FillRecord

DEFAULT_DTYPES = ["float32", "float64"]
FLOAT_ULPS = 4
PREFILLS = ("nan", "inf")


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    reference = resolve_callable(ctx.course.root, exercise.reference)
    cases = build_init_cases(ctx.course, exercise, check, DEFAULT_DTYPES, devices=["cpu"])
    # Each tensor case again on a tensor holding nan, then inf: a fill computed from the old values
    # (tensor.mul_(0), tensor * 0 + 1) is right only on finite ones.
    cases += [dataclasses.replace(case, id=f"{case.id}-{prefill}", prefill=prefill)
              for prefill in PREFILLS for case in cases if case.shape is not None]
    prepared = Prepared(exercise, check, cases, [init_call(check, case, "init_exact") for case in cases])
    for case in cases:
        prepared.expected[call_key(check, case)] = expected_outcome(exercise, reference, case)
    return prepared


def expected_outcome(exercise: Exercise, reference, case: InitCase) -> dict[str, Any]:
    args = [] if case.shape is None else [torch.full(case.shape, case.before(), dtype=DTYPES[case.dtype])]
    try:
        out = reference(*args, **case.kwargs)
    except Exception as exc:
        return {"raises": type(exc).__name__, "message": str(exc)}
    if isinstance(out, torch.Tensor):
        return {"tensor": out.detach().clone()}
    if isinstance(out, bool) or not isinstance(out, (int, float, tuple, list)):
        raise SpecProblem(f"{exercise.id}: the reference returned a {type(out).__name__} on {case.label}; "
                          f"the exact kind compares tensors, numbers and tuples of numbers")
    return {"value": out}


def judge_case(prepared: Prepared, case: InitCase, result: FillRecord) -> CaseVerdict:
    expected = prepared.expected[call_key(prepared.check, case)]
    if "raises" in expected:
        return _judge_raise(case, result, expected)
    if "error" in result:
        return raised_verdict(case, result)
    if "tensor" in expected:
        values, problem = produced_values(case, result)
        if problem is not None:
            return fail(case, problem, "values")
        problem = compare_values(expected["tensor"], values, 0.0, 0.0)
        return CaseVerdict(case.id, case.label, True) if problem is None else fail(case, problem.message, "values")
    return _judge_value(case, result["output"], expected["value"])


def _judge_raise(case: InitCase, result: dict[str, Any], expected: dict[str, Any]) -> CaseVerdict:
    name = expected["raises"]
    if "error" in result and name in result.get("raised", []):
        return CaseVerdict(case.id, case.label, True)
    if "error" in result:
        return fail(case, f"Your function raised {result['error']['type']}: {result['error']['message']}; expected "
                          f"{name}, as torch.nn.init does (\"{expected['message']}\").", "error")
    return fail(case, f"Your function returned {describe_record(result['output'])}; expected it to raise {name}, as "
                      f"torch.nn.init does: \"{expected['message']}\". A silent answer to a meaningless question "
                      f"hides the bug that asked it.", "values")


def _judge_value(case: InitCase, record: dict[str, Any], want: Any) -> CaseVerdict:
    if isinstance(want, (tuple, list)):
        items = record.get("items") if record["kind"] == "sequence" else None
        if items is None or len(items) != len(want):
            return fail(case, f"Expected a tuple of {len(want)} ints {tuple(want)}, got {describe_record(record)}.",
                        "not_tensor")
        got = []
        for item in items:
            if item["kind"] != "number" or item.get("type") != "int":
                return fail(case, f"Expected a tuple of Python ints {tuple(want)}, got an item that is "
                                  f"{describe_record(item)}: use int(...), or multiply ints (math.prod, tensor.shape).",
                            "not_tensor")
            got.append(int(item["value"]))
        if tuple(got) != tuple(want):
            return fail(case, f"Expected {tuple(want)}, got {tuple(got)}.", "values")
        return CaseVerdict(case.id, case.label, True)
    if record["kind"] != "number":
        return fail(case, f"Expected a Python number ({want!r}), got {describe_record(record)}. Compute it with "
                          f"Python's math module (math.sqrt), not with tensors.", "not_tensor")
    got = float(record["value"])
    # written so that nan is never close: `abs(nan - want) > tolerance` is False, which would pass it
    if got != float(want) and not abs(got - float(want)) <= FLOAT_ULPS * math.ulp(float(want)):
        return fail(case, f"Expected {float(want)!r}, got {got!r}.", "values")
    return CaseVerdict(case.id, case.label, True)
