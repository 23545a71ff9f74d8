"""forbid_function: the learner's function must not run the Python function it is asked to write.

torch.nn.init's routines are Python, not aten operators: kaiming_normal_ reaches the dispatcher
as aten.normal_, exactly like a correct `tensor.normal_(0, std)`, so the `forbid` kind cannot
tell them apart. This kind watches Python calls instead (sys.setprofile in the child) and knows
each named function by its code (file, first line, qualified name): `torch.nn.init.zeros_`,
`from torch.nn.init import zeros_ as z`, `getattr(nn.init, "zeros_")`, the deprecated alias
`nn.init.kaiming_normal` and a monkeypatched module attribute all run the same code. A copy of the
routine (its code object with another name, file or line, or its source run again) is known by the
fingerprint of its bytecode, names and constants.
"""
from __future__ import annotations

import inspect

from grader.checks.base import CaseVerdict, Context, Prepared, SpecProblem, unrecorded_verdict
from grader.checks.init_cases import InitCase, build_init_cases, init_call
from grader.recording import code_fingerprint, code_identity
from grader.spec import Exercise, resolve_callable
from grader.spec.checks import CheckBase

from .record import CallsRecord

DEFAULT_DTYPES = ["float32"]


def function_identity(course_root, name: str) -> list:
    """[file, first line, qualified name] of the Python function `name` (decorators unwrapped)."""
    function = inspect.unwrap(resolve_callable(course_root, name))
    code = getattr(function, "__code__", None)
    if code is None:
        raise SpecProblem(f"'{name}' is not a Python function; forbid aten operators with the 'forbid' kind")
    return list(code_identity(code))


def function_fingerprint(course_root, name: str) -> list:
    """["fingerprint", hex] of the Python function `name`: what a renamed or moved copy keeps."""
    function = inspect.unwrap(resolve_callable(course_root, name))
    return list(code_fingerprint(function.__code__))


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    names = list(check.functions)  # type: ignore[attr-defined]
    identities = [function_identity(ctx.course.root, name) for name in names]
    identities += [function_fingerprint(ctx.course.root, name) for name in names]
    names = names + names
    cases = build_init_cases(ctx.course, exercise, check, DEFAULT_DTYPES, devices=["cpu"])
    prepared = Prepared(exercise, check, cases, [init_call(check, case, "init_calls", functions=identities)
                                                 for case in cases])
    prepared.expected["names"] = {tuple(identity): name for identity, name in zip(identities, names)}
    return prepared


def judge_case(prepared: Prepared, case: InitCase, result: CallsRecord) -> CaseVerdict:
    names = prepared.expected["names"]
    called = result.get("called")
    if not isinstance(called, list) or not all(isinstance(identity, list) for identity in called):
        return CaseVerdict(case.id, case.label, False, "The grader could not read which functions your function "
                                                       "called, so it could not check it for forbidden calls.",
                           "error")
    reached = sorted({names[tuple(identity)] for identity in called if tuple(identity) in names})
    if reached:
        return CaseVerdict(case.id, case.label, False,
                           f"Your function called {', '.join(reached)}, the routine this exercise asks you to "
                           f"write (however it was spelled or imported). Write it yourself from tensor operations.",
                           "forbid")
    return unrecorded_verdict(case, result, "Your function replaced Python's profiler (sys.setprofile), so its "
                                            "calls could not be checked.")
