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

import dataclasses
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


def fingerprint(case: Any) -> str:
    """A digest of everything a case is made of (inputs, keywords, dtype, device …), for any kind's case."""
    digest = hashlib.sha256()
    _feed(digest, case)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"tensor:{tensor.dtype}:{tuple(tensor.shape)}:".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif type(value).__module__ == "numpy" and hasattr(value, "tobytes"):
        digest.update(f"array:{getattr(value, 'dtype', '')}:{getattr(value, 'shape', '')}:".encode())
        digest.update(value.tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(f"{type(value).__name__}(".encode())
        for item in dataclasses.fields(value):
            digest.update(f"{item.name}=".encode())
            _feed(digest, getattr(value, item.name))
        digest.update(b")")
    elif isinstance(value, dict):
        digest.update(b"{")
        for key in sorted(value, key=repr):
            _feed(digest, key)
            _feed(digest, value[key])
        digest.update(b"}")
    elif isinstance(value, (list, tuple)):
        digest.update(b"[")
        for item in value:
            _feed(digest, item)
        digest.update(b"]")
    elif callable(value):  # a function a case refers to: its name (a teacher file's module name varies)
        digest.update(f"function:{getattr(value, '__qualname__', type(value).__name__)}".encode())
    else:
        digest.update(repr(value).encode())


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
