"""distribution: a random initialiser's values against the reference's, by their distribution.

A random routine has no single right output, so each case fills a fresh tensor in the child (the
global RNG seeded, no generator passed: the generator check owns that promise) and compares a
fixed sample of at most SAMPLE values with a sample of the reference's on the same shape, drawn
here from an independent seed:

- a two-sample Kolmogorov–Smirnov test at KS_ALPHA (ks.py): a right implementation fails one
  case with probability 1e-9, so a check of 20 cases with 2e-8; with 16 384 (or 9 216) values a
  standard deviation off by √2 gives D ≈ 0.083 against a threshold of 0.036 (0.048);
- with `bounds: true` (uniform routines), the exact interval of the reference's own
  Tensor.uniform_(low, high) call: no value outside it (beyond float rounding), and both ends
  reached within reach_fraction(n) of the width (missed by a right sample with chance 1e-12);
- repeated values: at most twice the reference's count plus 1 % of the sample, so copies of
  one row or column (weights that never break symmetry) fail however their marginal looks.

The tests prove the stated rates: across 200 seeds the reference never fails, the listed
mistakes always do.
"""
from __future__ import annotations

import math
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from grader.cases import DTYPES
from grader.checks.base import CaseVerdict, Context, Prepared, SpecProblem, call_key
from grader.checks.init_cases import InitCase, build_init_cases, case_seed, fail, init_call, produced_values, raised_verdict
from grader.recording import sample_of
from grader.spec import Exercise, resolve_callable
from grader.spec.checks import CheckBase

from ..record import FillRecord
from .ks import KS_ALPHA, ks_statistic, ks_threshold, reach_fraction

SAMPLE = 16384
DEFAULT_DTYPES = ["float32"]
ROUNDING_ULPS = 4  # how far past a bound float rounding of `low + u·(high − low)` may land


class UniformCalls(TorchDispatchMode):
    """Records the (low, high) of every Tensor.uniform_ the reference makes."""

    def __init__(self) -> None:
        super().__init__()
        self.intervals: list[tuple[float, float]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.overloadpacket is torch.ops.aten.uniform_:
            low = args[1] if len(args) > 1 else kwargs.get("from", 0.0)
            high = args[2] if len(args) > 2 else kwargs.get("to", 1.0)
            self.intervals.append((float(low), float(high)))
        return func(*args, **kwargs)


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    cases = build_init_cases(ctx.course, exercise, check, DEFAULT_DTYPES, devices=["cpu"])
    prepared = Prepared(exercise, check, cases, [])
    for case in cases:
        call, expected = prepare_case(ctx, exercise, check, case)
        prepared.calls.append(call)
        prepared.expected[call["key"]] = expected
    return prepared


def prepare_case(ctx: Context, exercise: Exercise, check: CheckBase, case: InitCase) -> tuple[dict, dict]:
    """One case's call for the child and its expectation (the reference's sample)."""
    reference = resolve_callable(ctx.course.root, exercise.reference)
    return init_call(check, case, "init_sample", sample=SAMPLE), reference_sample(exercise, check, reference, case)


def reference_sample(exercise: Exercise, check: CheckBase, reference, case: InitCase) -> dict[str, Any]:
    """The reference's sorted sample on the case's shape (an independent seed), its bounds and repeats."""
    tensor = torch.empty(case.shape, dtype=DTYPES[case.dtype])
    recorder = UniformCalls()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(case_seed(case.seed, "reference"))
            with recorder if check.bounds else nullcontext():  # type: ignore[attr-defined]
                reference(tensor, **case.kwargs)
    except Exception as exc:
        raise SpecProblem(f"{exercise.id}: the reference raised {type(exc).__name__}: {exc} on {case.label}") from None
    bounds = None
    if check.bounds:  # type: ignore[attr-defined]
        if len(set(recorder.intervals)) != 1:
            raise SpecProblem(f"{exercise.id}: 'bounds: true' needs a reference that draws with Tensor.uniform_(low, "
                              f"high) exactly once; {exercise.reference} made {len(recorder.intervals)} such calls "
                              f"on {case.label}")
        bounds = recorder.intervals[0]
    values = torch.from_numpy(sorted_float64(sample_of(tensor, SAMPLE)))
    return {"sorted": values, "bounds": bounds, "repeats": repeats(values.numpy())}


def sorted_float64(values: torch.Tensor) -> np.ndarray:
    """Sorted in the sample's own precision (numpy's sort of float32 is fast), then widened exactly."""
    if values.dtype in (torch.float16, torch.bfloat16):
        values = values.to(torch.float32)
    return np.sort(values.numpy()).astype(np.float64)


def repeats(sorted_values: np.ndarray) -> int:
    return int(np.count_nonzero(sorted_values[1:] == sorted_values[:-1]))


def judge_case(prepared: Prepared, case: InitCase, result: FillRecord) -> CaseVerdict:
    if "error" in result:
        return raised_verdict(case, result)
    values, problem = produced_values(case, result)
    if problem is not None:
        return fail(case, problem, "values")
    sample = sorted_float64(values)
    if not np.isfinite(sample).all():
        bad = int(np.count_nonzero(~np.isfinite(sample)))
        return fail(case, f"{bad} of {sample.size} sampled values are nan or inf.", "nan")
    expected = prepared.expected[call_key(prepared.check, case)]
    reference = expected["sorted"].numpy()
    bounds = expected["bounds"]
    problem = (outside_problem(sample, bounds, case.dtype) if bounds else None) or repeats_problem(sample, expected) \
        or (reach_problem(sample, bounds) if bounds else None)
    if problem:
        return fail(case, problem, "values")
    d, limit = ks_statistic(sample, reference), ks_threshold(sample.size, reference.size)
    if d > limit:
        return fail(case, distribution_message(sample, reference, d, limit), "values")
    return CaseVerdict(case.id, case.label, True)


def repeats_problem(sample: np.ndarray, expected: dict[str, Any]) -> str | None:
    allowed = 2 * expected["repeats"] + sample.size // 100
    if repeats(sample) <= allowed:
        return None
    return (f"{repeats(sample)} of your {sample.size} sampled values repeat another one (a right implementation: "
            f"about {expected['repeats']}). Are rows or columns copies of each other? Every element must be its own "
            f"random draw: units that start with equal weights get equal gradients and stay equal, so "
            f"initialisation must break that symmetry.")


def outside_problem(sample: np.ndarray, bounds: tuple[float, float], dtype: str) -> str | None:
    low, high = bounds
    slack = ROUNDING_ULPS * torch.finfo(DTYPES[dtype]).eps * max(abs(low), abs(high))
    outside = (sample < low - slack) | (sample > high + slack)
    if not outside.any():
        return None
    worst = sample[outside][np.argmax(np.abs(sample[outside] - (low + high) / 2))]
    return (f"{int(outside.sum())} of {sample.size} sampled values lie outside [{low:.6g}, {high:.6g}], the "
            f"interval this uniform distribution must stay in (e.g. {worst:.6g}).")


def reach_problem(sample: np.ndarray, bounds: tuple[float, float]) -> str | None:
    low, high = bounds
    reach = reach_fraction(sample.size) * (high - low)
    if sample[0] <= low + reach and sample[-1] >= high - reach:
        return None
    return (f"Your values span [{sample[0]:.6g}, {sample[-1]:.6g}], but they should fill [{low:.6g}, {high:.6g}]: "
            f"{sample.size} uniform values come within {reach:.3g} of both ends (except with probability 1e-12).")


def distribution_message(sample: np.ndarray, reference: np.ndarray, d: float, limit: float) -> str:
    mine, theirs = (float(sample.mean()), float(sample.std())), (float(reference.mean()), float(reference.std()))
    text = (f"Your values do not follow the expected distribution: the largest gap between their cumulative "
            f"distribution and a right implementation's is {d:.4f} (two-sample Kolmogorov–Smirnov; a right "
            f"implementation exceeds {limit:.4f} with probability {KS_ALPHA:g}).\n"
            f"Yours: mean {mine[0]:.4g}, standard deviation {mine[1]:.4g}, range [{sample[0]:.4g}, {sample[-1]:.4g}]. "
            f"Expected: mean {theirs[0]:.4g}, standard deviation {theirs[1]:.4g}, "
            f"range about [{reference[0]:.4g}, {reference[-1]:.4g}].")
    if theirs[1] > 0 and mine[1] > 0:
        ratio = mine[1] / theirs[1]
        text += f"\nYour spread is {ratio:.3g} × the expected one" + _known_ratio(ratio) + "."
    return text


def _known_ratio(ratio: float) -> str:
    known = [(r, label) for value, name, inverse in ((math.sqrt(2), "√2", "1/√2"), (2.0, "2", "1/2"), (3.0, "3", "1/3"),
                                                     (math.sqrt(3), "√3", "1/√3"), (5 / 3, "5/3", "3/5"))
             for r, label in ((value, name), (1 / value, inverse))]
    error, label = min((abs(ratio / r - 1), label) for r, label in known)
    return f" (close to {label})" if error < 0.04 else ""
