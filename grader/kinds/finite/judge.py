"""The finite kind in the grader: one call per case, and a verdict from the counts the probe sent back."""
from __future__ import annotations

from typing import Any

import torch

from grader.cases import Case, build_cases
from grader.checks.base import CaseVerdict, Context, Prepared, error_verdict, for_this_machine, make_call
from grader.spec import Exercise
from grader.spec.checks import CheckBase

from .record import FiniteRecord

#: inputs up to this many numbers are shown whole in feedback; larger ones by their range
SHOWN = 12


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    """The check's cases (CUDA ones where there is a GPU), each a call of the finite probe; nothing expected."""
    cases = for_this_machine(ctx, build_cases(ctx.course, exercise, check))
    return Prepared(exercise, check, cases, [make_call(exercise, check, case, "finite") for case in cases])


def judge_case(prepared: Prepared, case: Case, result: FiniteRecord) -> CaseVerdict:
    """Pass when the output is a tensor of finite numbers; otherwise say how many are not, the first, and
    the input that made them. The record comes from the learner's process: what is not a count fails."""
    if "error" in result:
        return error_verdict(case, result)
    if result.get("tensor") is not True:
        return CaseVerdict(case.id, case.label, False,
                           f"Your function returned {_text(result.get('type'))}, not a tensor.", "not_tensor")
    nan, inf, total = (_count(result.get(name)) for name in ("nan", "inf", "total"))
    if nan is None or inf is None or total is None:
        return CaseVerdict(case.id, case.label, False, "The grader could not read what your function returned.",
                           "error")
    if nan == 0 and inf == 0:
        return CaseVerdict(case.id, case.label, True)
    counts = " and ".join(f"{n} {word}" for n, word in ((nan, "nan"), (inf, "inf")) if n)
    first = result.get("first")
    where = f", the first at index {list(first)}" if isinstance(first, list) and len(first) <= 8 and all(
        type(i) is int for i in first) else ""
    return CaseVerdict(case.id, case.label, False,
                       f"Your function returned {counts} among its {total} numbers{where}, for {_inputs(case)}. "
                       f"On inputs this large a formula that is right on paper overflows: rewrite it so that no "
                       f"step leaves the range of {case.dtype} (for exp, subtract the maximum first).", "nan")


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _text(value: Any) -> str:
    return f"a {value[:60]}" if isinstance(value, str) and value else "something else"


def _inputs(case: Case) -> str:
    """'x = [[1000.0, 0.0, -1000.0]]': the case's tensors, whole when small, else their range."""
    parts = []
    for name, tensor in case.args.items():
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            continue
        if tensor.numel() <= SHOWN:
            parts.append(f"{name} = {tensor.tolist()}")
        elif tensor.numel():
            parts.append(f"{name} in [{float(tensor.min()):.6g}, {float(tensor.max()):.6g}]")
    return ", ".join(parts) or "this case"
