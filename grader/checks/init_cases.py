"""Cases and shared judging for initialiser checks: a tensor to fill (or none), keywords, dtype, device.

An initialiser takes a tensor to fill plus Python numbers and strings, so these checks do not use
`cases.py`'s random inputs: each case is one shape × one keyword set × one dtype × one device,
and the child makes the tensor itself. What the learner produced is judged from the tensor they
were given when they wrote into it, else from what they returned (so "returned a new tensor"
costs the in_place check alone, and "filled in place but returned None" too).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from ..calls import Call
from ..cases import DTYPES
from ..recording import sentinel
from ..spec import Course, Exercise
from ..spec.checks import CheckBase
from .base import CaseVerdict, call_key, learner_error
from .compare import describe_record


@dataclass(frozen=True)
class InitCase:
    """One call of an initialiser: a fresh tensor of `shape` (None: no tensor argument) and keywords."""

    id: str
    shape: tuple[int, ...] | None
    kwargs: dict[str, Any] = field(compare=False)
    dtype: str
    device: str
    seed: int
    #: what the tensor holds before the call: None for the dtype's largest finite value (sentinel), or
    #: "nan" / "inf" / "-inf", so that an initialiser computed from the old values (tensor.mul_(0)) fails
    prefill: str | None = None

    def before(self) -> float:
        """The value every element holds before the learner's call."""
        return sentinel(DTYPES[self.dtype]) if self.prefill is None else float(self.prefill)

    @property
    def args(self) -> dict[str, torch.Tensor]:
        """What the child's tensor is made from, as tensors (for checks.expected.fingerprint): shape and seed."""
        shape = torch.tensor([-1] if self.shape is None else list(self.shape), dtype=torch.int64)
        return {"shape": shape, "seed": torch.tensor([self.seed], dtype=torch.int64)}

    @property
    def label(self) -> str:
        parts = [] if self.shape is None else [f"a {self.dtype} tensor of shape {self.shape}"]
        parts += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        text = ", ".join(parts) or "no arguments"
        if self.prefill is not None:
            text += f" (holding {self.prefill} before the call)"
        return text + ("" if self.device == "cpu" else " on cuda" if self.device == "model" else f" on {self.device}")


def case_seed(course_seed: int, *parts: Any) -> int:
    digest = hashlib.sha256(repr((course_seed,) + parts).encode()).digest()
    return int.from_bytes(digest[:6], "little")


def build_init_cases(course: Course, exercise: Exercise, check: CheckBase, default_dtypes: list[str],
                     devices: list[str] | None = None) -> list[InitCase]:
    shapes = getattr(check, "shapes", None)
    cases: list[InitCase] = []
    for shape in ([None] if shapes is None else [tuple(s) for s in shapes]):
        for kwargs in check.kwargs or [{}]:
            for dtype in (check.dtypes or default_dtypes)[:1 if shape is None else None]:  # no tensor, no dtype
                for device in devices or check.devices:
                    index = len(cases)
                    seed = case_seed(course.seed, exercise.id, check.label, index)
                    cases.append(InitCase(f"{check.label}-{index}", shape, dict(kwargs), dtype, device, seed))
    return cases


def init_call(check: CheckBase, case: InitCase, probe: str, **options: Any) -> Call:
    """A call for the child: the probe makes the tensor itself from shape, dtype and device."""
    return Call(key=call_key(check, case), probe=probe, shape=None if case.shape is None else list(case.shape),
                dtype=case.dtype, device=case.device, kwargs=dict(case.kwargs), seed=case.seed,
                prefill=case.prefill, options=options)


def fail(case: InitCase, message: str, hint_key: str | None) -> CaseVerdict:
    return CaseVerdict(case.id, case.label, False, message, hint_key)


def raised_verdict(case: InitCase, result: dict[str, Any]) -> CaseVerdict:
    """The learner's function raised: say what, and what to do about the usual causes."""
    error = result["error"]
    text = f"Your function raised {learner_error(result)}"
    if "generator" in error["message"] and error["type"] == "TypeError":
        text += ("\nThe contract has a keyword `generator=None`: accept it, and pass it on to every random "
                 "call (torch.rand(..., generator=generator) or tensor.uniform_(a, b, generator=generator)).")
    if "leaf Variable that requires grad" in error["message"]:
        text += ("\nModel weights are nn.Parameters that require grad, and autograd refuses to write into them "
                 "in place. Fill the tensor inside `with torch.no_grad():`.")
    return fail(case, text, "error")


def produced_values(case: InitCase, result: dict[str, Any]) -> tuple[torch.Tensor | None, str | None]:
    """(the values the learner produced, None) or (None, what is wrong with them, for the student).

    The tensor they were given, if they wrote into any of it; else the tensor they returned.
    """
    filled = result.get("filled")
    before = case.before()
    kept = None if filled is None else (filled == before) | (torch.isnan(filled) if math.isnan(before) else False)
    untouched = kept is None or bool(kept.all())
    if not untouched:
        left = int(kept.sum())
        if left:
            return None, (f"{left} of the {filled.numel()} elements checked were never written: they still hold "
                          f"{before:.4g}, the value the tensor had before your call. Fill every element.")
        return filled, None
    record = result.get("output", {"kind": "none"}) if not result.get("same_object") else {"kind": "none"}
    if record["kind"] != "tensor":
        if result.get("same_object"):
            if not math.isfinite(before):
                return None, (f"After your call the tensor still holds {before} everywhere, as before it: what you "
                              f"wrote was computed from its old values (0 · {before} is nan, so tensor.mul_(0) keeps "
                              f"it), or nothing was written. Write every element without using the old values: "
                              f"tensor.zero_(), tensor.fill_(value).")
            return None, "Your function returned the tensor it was given without writing into it."
        return None, (f"Your function left the tensor it was given unchanged and returned "
                      f"{describe_record(record)}. Fill the given tensor in place, and return it.")
    if record["dtype"] != case.dtype or (case.shape is not None and tuple(record["shape"]) != case.shape):
        return None, (f"Your function left the tensor it was given unchanged and returned "
                      f"{describe_record(record)}; expected the given tensor ({case.dtype}, shape {case.shape}), "
                      f"filled in place.")
    return record["value"], None
