"""Expected values per case: computed here from teacher code, or read from a student bundle's file.

In the teacher's course every kind that needs the reference (values, gradient, derivative) calls
it here, in the grader's process. A student bundle has no teacher code: `torchgrade release`
stores the expected values of the public cases in `expected/<exercise>.pt`, named by the
exercise's `expected:` field, and the same kinds read them from there. Both paths go through
`expected_by_case`, so a bundle prepares exactly what the teacher's course prepares.

The file is `{"format": 1, "cases": {call key: {"inputs": fingerprint, "expected": value}}}`;
the fingerprint of each case's inputs guards against a bundle made by a grader that draws
different inputs (its values would fail right work), which is refused instead.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import torch

from ..cases import Case
from ..spec import Exercise
from ..spec.checks import CheckBase
from .base import Context, Prepared, SpecProblem, call_key

FORMAT = 1


def expected_by_case(ctx: Context, exercise: Exercise, check: CheckBase, cases: list[Case],
                     compute: Callable[[Case], Any], what: str) -> dict[str, Any]:
    """{call key: expected value} for each case: read from the exercise's `expected` file where it
    names one (`compute` is then never called), else `compute(case)`; `what` names the computation
    for a teacher ("the reference", "autograd of torch.sigmoid") when it raises."""
    if exercise.expected is not None:
        return {call_key(check, case): _stored(ctx, exercise, check, case) for case in cases}
    out: dict[str, Any] = {}
    for case in cases:
        try:
            out[call_key(check, case)] = compute(case)
        except Exception as exc:
            raise SpecProblem(f"{exercise.id}: {what} raised {type(exc).__name__}: {exc} "
                              f"on the case {case.label}") from None
    return out


def stored_form(prepared: list[Prepared]) -> dict[str, Any]:
    """What `torchgrade release` saves for one exercise: every prepared case's expected value."""
    cases = {}
    for item in prepared:
        for case in item.cases:
            key = call_key(item.check, case)
            if key in item.expected:
                cases[key] = {"inputs": fingerprint(case), "expected": item.expected[key]}
    return {"format": FORMAT, "cases": cases}


def fingerprint(case: Case) -> str:
    """A digest of a case's inputs (names, dtypes, shapes, bytes), keywords, dtype and device."""
    digest = hashlib.sha256(repr((sorted(case.kwargs.items()), case.dtype, case.device)).encode())
    for name in sorted(case.args):
        tensor = case.args[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _stored(ctx: Context, exercise: Exercise, check: CheckBase, case: Case) -> Any:
    path = Path(ctx.course.root) / str(exercise.expected)
    key = call_key(check, case)
    try:
        entry = _load(str(path.resolve()), path.stat().st_mtime_ns)["cases"].get(key)
    except Exception as exc:
        raise SpecProblem(f"{exercise.id}: {exercise.expected} cannot be read ({type(exc).__name__}: {exc})") from None
    if entry is None or entry.get("inputs") != fingerprint(case):
        why = "has no value for" if entry is None else "was computed for other inputs than"
        raise SpecProblem(f"{exercise.id}: {exercise.expected} {why} the case {key} ({case.label}); the bundle was "
                          f"made by another version of torchgrade or of the exercise. Ask for a new bundle.")
    return entry["expected"]


@lru_cache(maxsize=64)
def _load(path: str, mtime_ns: int) -> dict[str, Any]:
    data = torch.load(path, weights_only=True)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("cases"), dict):
        raise ValueError(f"not a torchgrade expected-values file of format {FORMAT}")
    return data
