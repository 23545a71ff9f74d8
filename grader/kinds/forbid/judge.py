"""forbid: the learner's function must not reach the built-in it is asked to write.

Detected at the dispatcher, where `torch.sigmoid`, `x.sigmoid()`, `torch.special.expit`,
`torch.ops.aten.sigmoid` and `getattr(torch, "sig" + "moid")` all arrive as aten.sigmoid. The recorder
is in place during every call of the exercise (values, gradient, device and hidden cases alike), and
this check judges all of them: no input and no sign of being watched tells the function when it is
checked. "autograd" in the list forbids asking autograd for the derivative (derivative exercises).
"""
from __future__ import annotations

from grader.cases import Case, build_cases
from grader.checks.base import CaseVerdict, Context, Prepared, make_call, unrecorded_verdict
from grader.spec import Exercise
from grader.spec.checks import CheckBase

from .record import ForbidRecord

#: One case: the check's verdict covers every call of the exercise (grader.probes.core.forbid_probe).
CASES_PER_CHECK = 1
AUTOGRAD = "autograd"


def forbidden_ops(exercise: Exercise, check: CheckBase) -> list[str]:
    ops = getattr(check, "ops", None)
    return list(ops if ops is not None else exercise.forbid)


def _base(op: str) -> str:
    return op.removeprefix("aten.").split(".")[0].rstrip("_") or op


def _named(op: str) -> str:
    if op == AUTOGRAD:
        return "autograd (torch.autograd.grad, .backward(), torch.autograd.functional, torch.func)"
    return f"torch's built-in {op.removeprefix('aten.')} ({op})"


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    cases = [c for c in build_cases(ctx.course, exercise, check) if c.device == "cpu"][:CASES_PER_CHECK]
    return Prepared(exercise, check, cases, [make_call(exercise, check, case, "forbid") for case in cases])


def judge_case(prepared: Prepared, case: Case, result: ForbidRecord) -> CaseVerdict:
    forbidden = {_base(op): op for op in forbidden_ops(prepared.exercise, prepared.check)}
    ops = result.get("ops")
    if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops):  # no list, no proof of none
        return CaseVerdict(case.id, case.label, False, "The grader could not read which operators your function "
                                                       "reached, so it could not check it for forbidden calls.",
                           "error")
    reached = sorted({forbidden[_base(op)] for op in ops if _base(op) in forbidden})
    if reached:
        names = ", ".join(_named(op) for op in reached)
        spelled = "" if reached == [AUTOGRAD] else (
            ", whichever way it was spelled (a torch function, a tensor method, torch.nn.functional, "
            "torch.ops.aten …)")
        calls = result.get("calls")
        on = f" on at least one of the {calls} inputs it was called with" if calls else ""
        return CaseVerdict(case.id, case.label, False,
                           f"Your function reached {names}{on}{spelled}. This exercise asks you to compute it "
                           f"yourself.", "forbid")
    return unrecorded_verdict(case, result,
                              "Your function changed PyTorch's dispatch mode stack or ran operators past it (_DisableTorchDispatch, no_dispatch, a dispatch key guard), so its calls could not be checked.")
