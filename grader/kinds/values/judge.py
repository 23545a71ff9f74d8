"""values: the learner's output against the reference's, case by case.

Also checks what the contract promises besides the numbers: a tensor of the input's dtype,
shape and device, no nan where the reference is finite, and inputs left unmodified.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.cases import Case, build_cases
from grader.checks.base import (CaseVerdict, Context, Prepared, call_key, error_verdict, for_this_machine, make_call,
                                ordered_args, signature_order)
from grader.checks.compare import compare_tensor, tolerance_for
from grader.checks.expected import expected_by_case
from grader.checks.mistakes import Output, plain, record_tensor, same
from grader.spec import Exercise, resolve_callable
from grader.spec.checks import CheckBase

from ..device.judge import is_device_error
from .record import CallRecord


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    cases = for_this_machine(ctx, build_cases(ctx.course, exercise, check))
    prepared = Prepared(exercise, check, cases, [make_call(exercise, check, case, "call") for case in cases])

    def reference_output(case: Case) -> Any:
        reference = resolve_callable(ctx.course.root, exercise.reference)
        return reference(*ordered_args(exercise, case), **case.kwargs)

    prepared.expected.update(expected_by_case(ctx, exercise, check, cases, reference_output, "the reference"))
    return prepared


def judge_case(prepared: Prepared, case: Case, result: CallRecord) -> CaseVerdict:
    if "error" in result:
        if case.device == "cuda" and is_device_error(result["error"]):
            return _left_to_device_check(case)
        return error_verdict(case, result)
    expected = prepared.expected[call_key(prepared.check, case)]
    rtol, atol = tolerance_for(prepared.check, case.dtype)
    problem = compare_tensor(expected, result["output"], rtol, atol, case.args, expect_device=case.device)
    if problem is not None and problem.hint_key == "device" and case.device == "cuda":
        return _left_to_device_check(case)
    if problem is not None:
        return CaseVerdict(case.id, case.label, False, problem.message, problem.hint_key)
    changed = result.get("inputs_changed")
    if not isinstance(changed, list):  # the call probe always says; no word proves nothing
        return CaseVerdict(case.id, case.label, False, "The grader could not tell whether your function left its "
                                                       "inputs as they were, so this case could not be checked.",
                           "error")
    if changed:
        names = ", ".join(str(name) for name in changed)
        return CaseVerdict(case.id, case.label, False,
                           f"Your function changed its input {names}; it must leave its arguments as they were.",
                           "modified_input")
    return CaseVerdict(case.id, case.label, True)


def mistake_output(function: Callable, exercise: Exercise, prepared: Prepared, case: Case) -> Output | None:
    """A catalogued mistake on the case, as the child would report it: its output and the inputs it wrote
    into; None where it returns no plain tensor (grader.checks.mistakes)."""
    order = signature_order(exercise)
    names = sorted(case.args, key=lambda n: order.index(n) if n in order else len(order))
    args = [case.args[n].clone() if isinstance(case.args[n], torch.Tensor) else case.args[n] for n in names]
    with torch.no_grad():
        value = plain(function(*args, **case.kwargs))
    if value is None:
        return None
    changed = tuple(n for n, a in zip(names, args) if isinstance(a, torch.Tensor)
                    and not same(a, case.args[n], 0.0, 0.0))
    return Output(value, changed)


def matches_mistake(record: CallRecord, theirs: Output, expected: Any, rtol: float, atol: float) -> bool:
    """The learner's output is the mistake's, where the mistake's output is wrong or both wrote into the
    same inputs."""
    got = record_tensor(record.get("output"))
    if got is None or not same(got, theirs.value, rtol, atol):
        return False
    wrong_output = not (isinstance(expected, torch.Tensor) and same(theirs.value, expected, rtol, atol))
    both_changed = bool(theirs.changed) and set(theirs.changed) == set(record.get("inputs_changed") or ())
    return wrong_output or both_changed


def agrees_with_mistake(record: CallRecord, theirs: Output, rtol: float, atol: float) -> bool:
    """The learner's output on a case is the mistake's, right or wrong."""
    got = record_tensor(record.get("output"))
    return got is not None and same(got, theirs.value, rtol, atol)


def _left_to_device_check(case: Case) -> CaseVerdict:
    """Device mistakes cost the device check alone, on a GPU machine as on a CPU-only one (where the
    device check proxies CUDA on meta), so a submission scores the same on both."""
    return CaseVerdict(case.id, case.label, True, "A device problem on CUDA is graded by the device check.")
